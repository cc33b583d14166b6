#include "ir/kernel_btf.hpp"
#include "ir/program_type.hpp"

#include <llvm/DebugInfo/BTF/BTFParser.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_map>

namespace bpfvet::ir {

namespace {

constexpr uint64_t MaxFileSize = uint64_t(256) << 20;
constexpr int MaxTypeChain = 64;  // typedef/qualifier chains and nested arrays; BTF may be cyclic
constexpr uint32_t LastKnownKind = uint32_t(BtfKind::Enum64);

template <typename Record>
const Record* trailing(const llvm::BTF::CommonType* type) {
    return reinterpret_cast<const Record*>(reinterpret_cast<const char*>(type) + sizeof(llvm::BTF::CommonType));
}

bool is_modifier(BtfKind kind) {
    return kind == BtfKind::Typedef || kind == BtfKind::Volatile || kind == BtfKind::Const ||
           kind == BtfKind::Restrict || kind == BtfKind::TypeTag;
}

// Kinds whose `type` field refers to another type.
bool refers_to_type(BtfKind kind) {
    return kind == BtfKind::Pointer || is_modifier(kind) || kind == BtfKind::Function ||
           kind == BtfKind::FunctionProto || kind == BtfKind::Variable || kind == BtfKind::DeclTag;
}

// A minimal relocatable ELF holding `btf` as .BTF and an empty .BTF.ext (LLVM's
// BTFParser insists on both), in the byte order the BTF magic shows:
//   [ELF header][.BTF][.BTF.ext][.shstrtab][pad][4 section headers]
class ElfWriter {
public:
    explicit ElfWriter(bool little) : little_(little) {}
    void u8(uint8_t v) { bytes_.push_back(char(v)); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void raw(const void* data, size_t size) {
        const char* p = static_cast<const char*>(data);
        bytes_.insert(bytes_.end(), p, p + size);
    }
    void align(size_t to) {
        while (bytes_.size() % to) bytes_.push_back(0);
    }
    [[nodiscard]] size_t size() const { return bytes_.size(); }
    std::vector<char> take() { return std::move(bytes_); }

private:
    void put(uint64_t v, int width) {
        for (int i = 0; i < width; ++i) {
            int shift = little_ ? 8 * i : 8 * (width - 1 - i);
            bytes_.push_back(char((v >> shift) & 0xff));
        }
    }
    bool little_;
    std::vector<char> bytes_;
};

std::vector<char> wrap_in_elf(const uint8_t* btf, size_t size, bool little) {
    constexpr uint16_t EmBpf = 247;
    constexpr char names[] = "\0.BTF\0.BTF.ext\0.shstrtab";  // offsets 1, 6, 15
    constexpr uint32_t NameBtf = 1, NameBtfExt = 6, NameShstrtab = 15;
    constexpr size_t HeaderSize = 64, SectionHeaderSize = 64, ExtSize = 32;
    const uint64_t btf_offset = HeaderSize;
    const uint64_t ext_offset = (btf_offset + size + 7) / 8 * 8;
    const uint64_t names_offset = ext_offset + ExtSize;
    const uint64_t headers_offset = (names_offset + sizeof(names) + 7) / 8 * 8;

    ElfWriter out(little);
    out.raw("\x7f" "ELF", 4);
    out.u8(2);              // ELFCLASS64
    out.u8(little ? 1 : 2); // ELFDATA2LSB / MSB
    out.u8(1);              // EV_CURRENT
    for (int i = 0; i < 9; ++i) out.u8(0);
    out.u16(1);  // ET_REL
    out.u16(EmBpf);
    out.u32(1);
    out.u64(0);  // entry
    out.u64(0);  // program headers
    out.u64(headers_offset);
    out.u32(0);  // flags
    out.u16(HeaderSize);
    out.u16(0);
    out.u16(0);
    out.u16(SectionHeaderSize);
    out.u16(4);  // sections
    out.u16(3);  // .shstrtab
    out.raw(btf, size);
    out.align(8);
    // Empty .BTF.ext: magic, version 1, flags 0, header length 32, six empty ranges.
    out.u16(0xeb9f);
    out.u8(1);
    out.u8(0);
    out.u32(uint32_t(ExtSize));
    for (int i = 0; i < 6; ++i) out.u32(0);
    out.raw(names, sizeof(names));
    out.align(8);
    auto section = [&](uint32_t name, uint32_t type, uint64_t offset, uint64_t length) {
        out.u32(name);
        out.u32(type);
        out.u64(0);  // flags
        out.u64(0);  // address
        out.u64(offset);
        out.u64(length);
        out.u32(0);  // link
        out.u32(0);  // info
        out.u64(1);  // alignment
        out.u64(0);  // entry size
    };
    section(0, 0, 0, 0);
    section(NameBtf, 1, btf_offset, size);            // SHT_PROGBITS
    section(NameBtfExt, 1, ext_offset, ExtSize);
    section(NameShstrtab, 3, names_offset, sizeof(names));  // SHT_STRTAB
    return out.take();
}

std::string error_text(llvm::Error error) { return llvm::toString(std::move(error)); }

}  // namespace

struct KernelBtf::Parsed {
    std::vector<char> elf;  // owns the bytes the parser's string table points into
    std::unique_ptr<llvm::MemoryBuffer> buffer;
    std::unique_ptr<llvm::object::ObjectFile> object;
    llvm::BTFParser parser;
    std::unordered_multimap<std::string_view, uint32_t> by_name;

    [[nodiscard]] const llvm::BTF::CommonType* at(uint32_t id) const {
        return id == 0 ? nullptr : parser.findType(id);
    }
};

KernelBtf::KernelBtf(std::unique_ptr<Parsed> parsed, std::string origin)
    : parsed_(std::move(parsed)), origin_(std::move(origin)) {}

KernelBtf::~KernelBtf() = default;

std::expected<std::shared_ptr<const KernelBtf>, std::string> KernelBtf::load(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::unexpected(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::vector<uint8_t> bytes;
    // /sys files report a size that need not match their content: read to the end.
    std::array<char, 1 << 16> chunk{};
    while (file) {
        file.read(chunk.data(), chunk.size());
        bytes.insert(bytes.end(), chunk.data(), chunk.data() + file.gcount());
        if (bytes.size() > MaxFileSize)
            return std::unexpected(fmt::format("{}: larger than {} MiB, not kernel BTF", path, MaxFileSize >> 20));
    }
    if (file.bad()) return std::unexpected(fmt::format("{}: read error", path));
    return parse(bytes, path);
}

std::expected<std::shared_ptr<const KernelBtf>, std::string> KernelBtf::parse(const std::vector<uint8_t>& bytes,
                                                                               std::string origin) {
    auto fail = [&](std::string message) { return std::unexpected(fmt::format("{}: {}", origin, message)); };
    const uint8_t* btf = bytes.data();
    size_t size = bytes.size();
    std::unique_ptr<llvm::object::ObjectFile> source;  // an ELF given as input: .BTF is taken from it
    if (size >= 4 && std::memcmp(btf, "\x7f" "ELF", 4) == 0) {
        llvm::MemoryBufferRef ref(llvm::StringRef(reinterpret_cast<const char*>(btf), size), origin);
        auto object = llvm::object::ObjectFile::createObjectFile(ref);
        if (!object) return fail("not a readable ELF object: " + error_text(object.takeError()));
        source = std::move(*object);
        bool found = false;
        for (const auto& section : source->sections()) {
            auto name = section.getName();
            if (!name) return fail("bad section name: " + error_text(name.takeError()));
            if (*name != ".BTF") continue;
            auto contents = section.getContents();
            if (!contents) return fail(".BTF section: " + error_text(contents.takeError()));
            btf = reinterpret_cast<const uint8_t*>(contents->data());
            size = contents->size();
            found = true;
            break;
        }
        if (!found) return fail("the ELF object has no .BTF section");
    }
    if (size < 24) return fail(fmt::format("{} bytes are too short for a BTF header", size));
    bool little;
    if (btf[0] == 0x9f && btf[1] == 0xeb) little = true;
    else if (btf[0] == 0xeb && btf[1] == 0x9f) little = false;
    else return fail(fmt::format("bad BTF magic 0x{:02x}{:02x} (expected 0xeb9f)", btf[1], btf[0]));

    auto parsed = std::make_unique<Parsed>();
    parsed->elf = wrap_in_elf(btf, size, little);
    source.reset();
    parsed->buffer = llvm::MemoryBuffer::getMemBuffer(
        llvm::StringRef(parsed->elf.data(), parsed->elf.size()), origin, /*RequiresNullTerminator=*/false);
    auto object = llvm::object::ObjectFile::createObjectFile(parsed->buffer->getMemBufferRef());
    if (!object) return fail("internal: the wrapped BTF is no ELF: " + error_text(object.takeError()));
    parsed->object = std::move(*object);
    llvm::BTFParser::ParseOptions options;
    options.LoadTypes = true;
    if (llvm::Error error = parsed->parser.parse(*parsed->object, options))
        return fail("malformed BTF: " + error_text(std::move(error)));

    // Check what the parser does not: known kinds, and references to types that exist.
    const size_t count = parsed->parser.typesCount();
    if (count <= 1) return fail("the BTF holds no types");
    auto bad_reference = [&](uint32_t id, uint32_t to) {
        return fail(fmt::format("malformed BTF: type {} refers to type {}, but there are only {}", id, to, count));
    };
    parsed->by_name.reserve(count);
    for (uint32_t id = 1; id < count; ++id) {
        const auto* type = parsed->parser.findType(id);
        const uint32_t kind = type->getKind();
        if (kind == 0 || kind > LastKnownKind)
            return fail(fmt::format("malformed BTF: type {} has unknown kind {}", id, kind));
        const BtfKind k = BtfKind(kind);
        if (refers_to_type(k) && type->Type >= count) return bad_reference(id, type->Type);
        if (k == BtfKind::Struct || k == BtfKind::Union) {
            const auto* members = trailing<llvm::BTF::BTFMember>(type);
            for (uint32_t i = 0; i < type->getVlen(); ++i)
                if (members[i].Type >= count) return bad_reference(id, members[i].Type);
        } else if (k == BtfKind::FunctionProto) {
            const auto* params = trailing<llvm::BTF::BTFParam>(type);
            for (uint32_t i = 0; i < type->getVlen(); ++i)
                if (params[i].Type >= count) return bad_reference(id, params[i].Type);
        } else if (k == BtfKind::Array) {
            const auto* array = trailing<llvm::BTF::BTFArray>(type);
            if (array->ElemType >= count || array->IndexType >= count) return bad_reference(id, array->ElemType);
        }
        llvm::StringRef name = parsed->parser.findString(type->NameOff);
        if (!name.empty()) parsed->by_name.emplace(std::string_view(name.data(), name.size()), id);
    }
    return std::shared_ptr<const KernelBtf>(new KernelBtf(std::move(parsed), std::move(origin)));
}

size_t KernelBtf::type_count() const { return parsed_->parser.typesCount(); }

std::optional<BtfType> KernelBtf::type(uint32_t id) const {
    if (id == 0) return BtfType{};
    const auto* raw = parsed_->at(id);
    if (!raw) return std::nullopt;
    BtfType out;
    out.kind = BtfKind(raw->getKind());
    llvm::StringRef name = parsed_->parser.findString(raw->NameOff);
    out.name = std::string_view(name.data(), name.size());
    out.vlen = uint16_t(raw->getVlen());
    out.kind_flag = (raw->Info >> 31) != 0;
    switch (out.kind) {
    case BtfKind::Int:
    case BtfKind::Enum:
    case BtfKind::Enum64:
    case BtfKind::Struct:
    case BtfKind::Union:
    case BtfKind::Float:
    case BtfKind::DataSection: out.size = raw->Size; break;
    default:
        if (refers_to_type(out.kind)) out.type = raw->Type;
        break;
    }
    return out;
}

std::optional<uint32_t> KernelBtf::find(BtfKind kind, std::string_view name) const {
    auto [first, last] = parsed_->by_name.equal_range(name);
    std::optional<uint32_t> found;
    for (auto it = first; it != last; ++it) {
        const auto* raw = parsed_->at(it->second);
        if (raw && BtfKind(raw->getKind()) == kind && (!found || it->second < *found)) found = it->second;
    }
    return found;
}

uint32_t KernelBtf::skip_modifiers(uint32_t id) const {
    for (int i = 0; i < MaxTypeChain; ++i) {
        const auto* raw = parsed_->at(id);
        if (!raw || !is_modifier(BtfKind(raw->getKind()))) return id;
        id = raw->Type;
    }
    return id;
}

std::vector<BtfMember> KernelBtf::members(uint32_t struct_id) const {
    std::vector<BtfMember> out;
    const auto* raw = parsed_->at(struct_id);
    if (!raw) return out;
    const BtfKind kind = BtfKind(raw->getKind());
    if (kind != BtfKind::Struct && kind != BtfKind::Union) return out;
    const bool bitfields = (raw->Info >> 31) != 0;
    const auto* members = trailing<llvm::BTF::BTFMember>(raw);
    out.reserve(raw->getVlen());
    for (uint32_t i = 0; i < raw->getVlen(); ++i) {
        llvm::StringRef name = parsed_->parser.findString(members[i].NameOff);
        BtfMember member{std::string_view(name.data(), name.size()), members[i].Type, members[i].Offset, 0};
        if (bitfields) {
            member.bit_offset = members[i].Offset & 0xffffff;
            member.bitfield_size = members[i].Offset >> 24;
        }
        out.push_back(member);
    }
    return out;
}

std::vector<BtfParam> KernelBtf::params(uint32_t proto_id) const {
    std::vector<BtfParam> out;
    const auto* raw = parsed_->at(proto_id);
    if (!raw || BtfKind(raw->getKind()) != BtfKind::FunctionProto) return out;
    const auto* params = trailing<llvm::BTF::BTFParam>(raw);
    for (uint32_t i = 0; i < raw->getVlen(); ++i) {
        llvm::StringRef name = parsed_->parser.findString(params[i].NameOff);
        out.push_back({std::string_view(name.data(), name.size()), params[i].Type});
    }
    return out;
}

std::vector<BtfEnumerator> KernelBtf::enumerators(uint32_t enum_id) const {
    std::vector<BtfEnumerator> out;
    const auto* raw = parsed_->at(enum_id);
    if (!raw || BtfKind(raw->getKind()) != BtfKind::Enum) return out;
    const bool is_signed = (raw->Info >> 31) != 0;
    const auto* values = trailing<llvm::BTF::BTFEnum>(raw);
    for (uint32_t i = 0; i < raw->getVlen(); ++i) {
        llvm::StringRef name = parsed_->parser.findString(values[i].NameOff);
        const int64_t value = is_signed ? int64_t(values[i].Val) : int64_t(uint32_t(values[i].Val));
        out.push_back({std::string_view(name.data(), name.size()), value});
    }
    return out;
}

std::optional<BtfArray> KernelBtf::array(uint32_t id) const {
    const auto* raw = parsed_->at(id);
    if (!raw || BtfKind(raw->getKind()) != BtfKind::Array) return std::nullopt;
    const auto* array = trailing<llvm::BTF::BTFArray>(raw);
    return BtfArray{array->ElemType, array->Nelems};
}

std::optional<uint64_t> KernelBtf::size_of(uint32_t id) const {
    uint64_t multiplier = 1;
    for (int i = 0; i < MaxTypeChain; ++i) {
        id = skip_modifiers(id);
        const auto* raw = parsed_->at(id);
        if (!raw) return std::nullopt;
        switch (BtfKind(raw->getKind())) {
        case BtfKind::Int:
        case BtfKind::Enum:
        case BtfKind::Enum64:
        case BtfKind::Struct:
        case BtfKind::Union:
        case BtfKind::Float: return multiplier * raw->Size;
        case BtfKind::Pointer: return multiplier * 8;
        case BtfKind::Array: {
            const auto* array = trailing<llvm::BTF::BTFArray>(raw);
            multiplier *= array->Nelems;
            if (multiplier > (uint64_t(1) << 32)) return std::nullopt;
            id = array->ElemType;
            break;
        }
        default: return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<BtfAttachTarget> btf_attach_target(std::string_view section) {
    section = without_autoload_marker(section);
    const size_t slash = section.find('/');
    if (slash == std::string_view::npos || slash + 1 == section.size()) return std::nullopt;
    const std::string_view prefix = section.substr(0, slash), target = section.substr(slash + 1);
    for (std::string_view function : {"fentry", "fexit", "fmod_ret"})
        if (prefix == function || prefix == fmt::format("{}.s", function)) return BtfAttachTarget{BtfKind::Function, std::string(target)};
    if (prefix == "lsm" || prefix == "lsm.s" || prefix == "lsm_cgroup")
        return BtfAttachTarget{BtfKind::Function, fmt::format("bpf_lsm_{}", target)};
    if (prefix == "tp_btf") return BtfAttachTarget{BtfKind::Typedef, fmt::format("btf_trace_{}", target)};
    if (prefix == "iter" || prefix == "iter.s") return BtfAttachTarget{BtfKind::Function, fmt::format("bpf_iter_{}", target)};
    return std::nullopt;
}

std::string_view btf_kind_name(BtfKind kind) {
    static constexpr std::array<std::string_view, 20> names{
        "void",  "int",     "ptr",      "array", "struct", "union",    "enum",  "fwd",      "typedef", "volatile",
        "const", "restrict", "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64"};
    size_t index = size_t(kind);
    return index < names.size() ? names[index] : "unknown";
}

std::string KernelBtf::describe(uint32_t id) const {
    std::string stars;
    auto t = type(id);
    for (int i = 0; t && t->kind == BtfKind::Pointer && i < MaxTypeChain; ++i) {
        stars += "*";
        id = t->type;
        t = type(id);
    }
    if (!stars.empty()) return describe_named(id) + " " + stars;
    return describe_named(id);
}

std::string KernelBtf::describe_named(uint32_t id) const {
    auto t = type(id);
    if (!t) return fmt::format("type #{}", id);
    if (t->kind == BtfKind::Void) return "void";
    if (t->kind == BtfKind::Pointer) return "ptr";
    if (t->name.empty()) return fmt::format("{} (anonymous, #{})", btf_kind_name(t->kind), id);
    if (t->kind == BtfKind::Struct || t->kind == BtfKind::Union || t->kind == BtfKind::Enum ||
        t->kind == BtfKind::Enum64)
        return fmt::format("{} {}", btf_kind_name(t->kind), t->name);
    return std::string(t->name);
}

}  // namespace bpfvet::ir
