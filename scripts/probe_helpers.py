#!/usr/bin/env python3
"""Asks the running kernel which helpers each program type may call, and which
helpers accept packet memory, are GPL-only or might sleep: the facts of
analyzer/helper_table.cpp, measured (needs root: bpf(2) PROG_LOAD).

Each probe loads a tiny program calling one helper and reads the verifier's
answer: "program of this type cannot use helper" means the type's
*_func_proto does not offer it; any other answer (a wrong argument) means it
does. Packet access: a tc/XDP/... program passes a proven packet pointer in
every argument register; "helper access to the packet is not allowed" means
the helper has no pkt_access.

    sudo python3 scripts/probe_helpers.py            # one line per helper
    sudo python3 scripts/probe_helpers.py --json out.json
"""
import argparse
import ctypes
import json
import struct

SYS_BPF = 321
BPF_PROG_LOAD = 5
libc = ctypes.CDLL(None, use_errno=True)

# bpf_prog_type -> (name, expected attach type); tracing, struct_ops, ext and lsm
# need an attach target and are left out.
PROGRAM_TYPES = {
    1: ("socket_filter", 0), 2: ("kprobe", 0), 3: ("sched_cls", 0), 4: ("sched_act", 0), 5: ("tracepoint", 0),
    6: ("xdp", 0), 7: ("perf_event", 0), 8: ("cgroup_skb", 0), 9: ("cgroup_sock", 2), 10: ("lwt_in", 0),
    11: ("lwt_out", 0), 12: ("lwt_xmit", 0), 13: ("sock_ops", 0), 14: ("sk_skb", 0), 15: ("cgroup_device", 0),
    16: ("sk_msg", 0), 17: ("raw_tracepoint", 0), 18: ("cgroup_sock_addr", 10), 19: ("lwt_seg6local", 0),
    20: ("lirc_mode2", 0), 21: ("sk_reuseport", 0), 22: ("flow_dissector", 0), 23: ("cgroup_sysctl", 0),
    24: ("raw_tracepoint_writable", 0), 25: ("cgroup_sockopt", 22), 30: ("sk_lookup", 36), 31: ("syscall", 0),
    32: ("netfilter", 45),
}
SLEEPABLE = {31}
# Where the packet's data and data_end are read, and the load opcode, per type with packet pointers.
PACKET_FIELDS = {3: (76, 80, 0x61), 4: (76, 80, 0x61), 6: (0, 4, 0x61), 8: (76, 80, 0x61), 10: (76, 80, 0x61),
                 11: (76, 80, 0x61), 12: (76, 80, 0x61), 14: (76, 80, 0x61), 16: (0, 8, 0x79),
                 19: (76, 80, 0x61), 21: (0, 8, 0x79), 22: (76, 80, 0x61)}


def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", op, dst | (src << 4), off, imm)


def load(prog_type, code, license=b"GPL", attach_type=0, flags=0):
    """The verifier's last line for `code`, or "" when it was accepted."""
    code_buffer = ctypes.create_string_buffer(code)
    license_buffer = ctypes.create_string_buffer(license)
    log = ctypes.create_string_buffer(1 << 16)
    attr = bytearray(144)
    struct.pack_into("<IIQQIIQ", attr, 0, prog_type, len(code) // 8, ctypes.addressof(code_buffer),
                     ctypes.addressof(license_buffer), 1, 1 << 16, ctypes.addressof(log))
    struct.pack_into("<I", attr, 44, flags)
    struct.pack_into("<I", attr, 68, attach_type)
    attr_buffer = ctypes.create_string_buffer(bytes(attr))
    fd = libc.syscall(SYS_BPF, BPF_PROG_LOAD, attr_buffer, len(attr))
    if fd >= 0:
        libc.close(fd)
        return ""
    lines = [line for line in log.value.decode(errors="replace").splitlines()
             if line and not line.startswith("processed")]
    return lines[-1] if lines else f"errno {ctypes.get_errno()}"


def call_only(helper):
    return insn(0x85, imm=helper) + insn(0xb7) + insn(0x95)


def with_packet(prog_type, helper):
    data, end, op = PACKET_FIELDS[prog_type]
    call = [insn(0xbf, 1, 7), insn(0xbf, 2, 7), insn(0xbf, 3, 7), insn(0xbf, 4, 7), insn(0xbf, 5, 7),
            insn(0x85, imm=helper), insn(0xb7), insn(0x95)]
    head = [insn(0xbf, 6, 1), insn(op, 7, 6, data), insn(op, 8, 6, end), insn(0xbf, 4, 7),
            insn(0x07, 4, imm=64), insn(0x2d, 4, 8, len(call) - 2)]
    return b"".join(head + call)


def offered(line):
    return "cannot use helper" not in line and "unknown func" not in line and not line.startswith("errno")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the facts as JSON to this file")
    args = parser.parse_args()
    facts = {}
    for helper in range(1, 212):
        types = []
        for prog_type, (name, attach) in PROGRAM_TYPES.items():
            flags = 1 << 4 if prog_type in SLEEPABLE else 0
            if offered(load(prog_type, call_only(helper), attach_type=attach, flags=flags)):
                types.append(name)
        fact = {"types": types}
        tried = [t for t in PROGRAM_TYPES if PROGRAM_TYPES[t][0] in types and t not in SLEEPABLE]
        if tried:
            t, attach = tried[0], PROGRAM_TYPES[tried[0]][1]
            fact["gpl_only"] = "GPL" in load(t, call_only(helper), b"Proprietary", attach)
            fact["might_sleep"] = "might sleep" in load(t, call_only(helper), attach_type=attach)
        packet_types = [t for t in PACKET_FIELDS if PROGRAM_TYPES[t][0] in types]
        if packet_types:
            fact["pkt_access"] = "helper access to the packet" not in load(packet_types[0],
                                                                          with_packet(packet_types[0], helper))
        facts[helper] = fact
        flags = [k for k in ("gpl_only", "might_sleep", "pkt_access") if fact.get(k)]
        print(helper, " ".join(flags) or "-", ",".join(types) or "(no type)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(facts, out, indent=1)


if __name__ == "__main__":
    main()
