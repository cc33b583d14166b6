#!/usr/bin/env bash
# Installs what bpfvet needs on Debian 12, and only what is missing (idempotent).
set -euo pipefail
packages=(
  cmake make g++ pkg-config
  llvm-19-dev clang-19        # ORC JIT, Object/ELF and BTF reading; compiles corpus C to BPF
  libz3-dev                   # path refinement and domain soundness proofs
  libboost-graph-dev          # CFG IR
  libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  linux-libc-dev              # linux/bpf.h and friends for corpus programs and the kernel oracle
  graphviz                    # optional at run time: `dot` draws `cfg --format svg` and check's HTML graphs
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
