#include "ir/elf_loader.hpp"

#include "ir/btf_finalize.hpp"
#include "ir/btf_types.hpp"
#include "ir/validator.hpp"

#include <llvm/BinaryFormat/ELF.h>
#include <llvm/DebugInfo/BTF/BTFParser.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace bpfvet::ir {
namespace {

using llvm::object::ELF64LEObjectFile;
using llvm::object::ELFSectionRef;
using llvm::object::ELFSymbolRef;

std::string message_of(llvm::Error error) { return llvm::toString(std::move(error)); }

// A function symbol inside an executable section, in slots.
struct FunctionSymbol {
    std::string name;
    uint32_t start = 0;
    uint32_t end = 0;
    bool global = false;
};

// A relocation's target, resolved to what the loader needs.
struct Relocation {
    std::string symbol;
    uint8_t symbol_type = llvm::ELF::STT_NOTYPE;
    bool undefined = false;
    uint64_t symbol_section = 0;  // section index of the symbol's definition
    uint64_t symbol_value = 0;
};

struct CodeSection {
    uint64_t index = 0;
    std::string name;
    std::vector<Instruction> code;
    std::vector<FunctionSymbol> functions;  // sorted by start
    std::map<uint32_t, Relocation> relocations;  // by slot
    // LDDW slots whose relocation names no map or global data (an arena
    // variable, an undefined symbol): the defect of every program that holds
    // them, not of the object.
    std::map<uint32_t, std::string> unresolved;
};

// Where a referenced map lives: a section plus byte offset.
struct MapKey {
    uint64_t section = 0;
    uint64_t offset = 0;
    auto operator<=>(const MapKey&) const = default;
};

bool is_global_data_section(std::string_view name) {
    return name == ".data" || name == ".rodata" || name == ".bss" || name.starts_with(".data.") ||
           name.starts_with(".rodata.") || name.starts_with(".bss.");
}

bool is_legacy_maps_section(std::string_view name) { return name == "maps" || name.starts_with("maps/"); }

class Loader {
public:
    Loader(const ELF64LEObjectFile& elf, std::string file, const LoadLimits& limits)
        : elf_(elf), file_(std::move(file)), limits_(limits) {}

    Expected<Object> run();

private:
    std::unexpected<LoadError> fail(std::string section, std::string message, std::optional<size_t> pc = {}) const {
        return std::unexpected(LoadError{file_, std::move(section), pc, std::move(message)});
    }
    Expected<void> check_structure();
    Expected<void> read_sections();
    Expected<void> read_symbols();
    Expected<void> read_relocations();
    Expected<void> read_legacy_maps(const ELFSectionRef& section);
    Expected<void> read_btf_maps(const ELFSectionRef& section);
    void add_btf_map(const BtfMapFields& fields, uint64_t section, bool is_inner);
    Expected<void> read_global_data(const ELFSectionRef& section);
    Expected<void> apply_map_relocations(CodeSection& section);
    Expected<Program> link_program(const CodeSection& section, const FunctionSymbol& entry);
    // Where the call or function pointer at slot s of `section` leads; nullopt
    // when it is neither, or resolves to nothing of ours (undefined, a map).
    struct CallTarget {
        const CodeSection* section = nullptr;
        int64_t slot = 0;
    };
    std::optional<CallTarget> call_target(const CodeSection& section, uint32_t s) const;
    // Every call target starts a function, as the kernel's check_subprogs
    // sees it, whether or not a symbol names it: split functions there.
    void split_functions_at_call_targets();
    std::vector<uint8_t> finalized_btf() const;
    // Whether `symbol` is a kernel function: BTF declares it FUNC with extern
    // linkage, which is how libbpf tells a kfunc from a missing function.
    [[nodiscard]] bool is_kernel_function(const std::string& symbol) const {
        if (!btf_) return false;
        auto signature = BtfTypes(*btf_).function_signature(symbol);
        return signature && signature->external;
    }
    void attach_btf(Program& program, const std::vector<std::pair<const CodeSection*, uint32_t>>& origin);
    std::string section_name(uint64_t index) const {
        auto it = section_names_.find(index);
        return it == section_names_.end() ? fmt::format("#{}", index) : it->second;
    }

    const ELF64LEObjectFile& elf_;
    std::string file_;
    LoadLimits limits_;
    Object object_;
    std::map<uint64_t, std::string> section_names_;
    std::map<uint64_t, CodeSection> code_sections_;
    std::map<MapKey, uint32_t> map_at_;            // map sections: symbol offset -> map index
    std::map<uint64_t, uint32_t> data_map_of_section_;  // global data section -> map index
    std::optional<llvm::BTFParser> btf_;
    struct LegacyMap {
        uint32_t index;                   // into object_.maps
        uint32_t id;                      // iproute2's own map id (0 in libbpf's layout)
        std::optional<uint32_t> inner_id; // iproute2's inner map id
    };
    std::vector<LegacyMap> legacy_maps_;  // every legacy definition, in file order
};

// LLVM's object iterators trust section and relocation headers (a bad entry
// size or symbol index aborts or reads out of bounds), so malformed files are
// caught here first, with a message naming the section.
Expected<void> Loader::check_structure() {
    const auto& file = elf_.getELFFile();
    auto sections = file.sections();
    if (!sections) return fail("", "unreadable section table: " + message_of(sections.takeError()));
    const uint64_t file_size = file.getBufSize();
    const size_t count = sections->size();
    using Sym = llvm::object::ELF64LE::Sym;
    for (size_t index = 0; index < count; ++index) {
        const auto& header = (*sections)[index];
        std::string where = fmt::format("#{}", index);
        if (auto name = file.getSectionName(header); name && !name->empty()) where = name->str();
        else if (!name) llvm::consumeError(name.takeError());
        if (header.sh_type != llvm::ELF::SHT_NOBITS && header.sh_type != llvm::ELF::SHT_NULL &&
            (header.sh_offset > file_size || header.sh_size > file_size - header.sh_offset))
            return fail(where, fmt::format("section contents ({} bytes at offset {}) go past the end of the file", header.sh_size, header.sh_offset));
        if (header.sh_type == llvm::ELF::SHT_SYMTAB && (header.sh_entsize != sizeof(Sym) || header.sh_size % sizeof(Sym) != 0))
            return fail(where, fmt::format("symbol table entry size {} is not {}", header.sh_entsize, sizeof(Sym)));
        const bool rel = header.sh_type == llvm::ELF::SHT_REL, rela = header.sh_type == llvm::ELF::SHT_RELA;
        if (!rel && !rela) continue;
        const uint64_t entry = rel ? sizeof(llvm::object::ELF64LE::Rel) : sizeof(llvm::object::ELF64LE::Rela);
        if (header.sh_entsize != entry || header.sh_size % entry != 0)
            return fail(where, fmt::format("relocation entry size {} is not {}", header.sh_entsize, entry));
        if (header.sh_link >= count || (*sections)[header.sh_link].sh_type != llvm::ELF::SHT_SYMTAB)
            return fail(where, fmt::format("relocation section links to section {}, which is not a symbol table", header.sh_link));
        if (header.sh_info >= count)
            return fail(where, fmt::format("relocation section applies to section {}, which does not exist", header.sh_info));
        // `.rel<name>` must apply to `<name>`: a mismatch means corrupted headers.
        auto rel_name = file.getSectionName(header);
        auto target_name = file.getSectionName((*sections)[header.sh_info]);
        if (!rel_name || !target_name) {
            std::string why = !rel_name ? message_of(rel_name.takeError()) : message_of(target_name.takeError());
            return fail(where, "unreadable section name: " + why);
        }
        const std::string_view prefix = rel ? ".rel" : ".rela";
        if (rel_name->starts_with(prefix) && rel_name->substr(prefix.size()) != *target_name)
            return fail(rel_name->str(), fmt::format("relocation section applies to section '{}', not the '{}' its name says",
                                                     target_name->str(), rel_name->substr(prefix.size()).str()));
        const uint64_t symbols = (*sections)[header.sh_link].sh_size / sizeof(Sym);
        auto check_symbols = [&](auto entries) -> Expected<void> {
            if (!entries) return fail(where, "unreadable relocations: " + message_of(entries.takeError()));
            for (const auto& r : *entries)
                if (r.getSymbol(false) >= symbols)
                    return fail(where, fmt::format("relocation at offset {} names symbol {}, but there are only {}", uint64_t(r.r_offset), r.getSymbol(false), symbols));
            return {};
        };
        if (auto r = rel ? check_symbols(file.rels(header)) : check_symbols(file.relas(header)); !r) return r;
    }
    // Every symbol must have a readable name and a real section.
    for (const ELFSymbolRef symbol : elf_.symbols()) {
        if (auto name = symbol.getName(); !name) return fail(".symtab", "symbol with an unreadable name: " + message_of(name.takeError()));
        if (auto sec = symbol.getSection(); !sec) return fail(".symtab", "symbol with a bad section index: " + message_of(sec.takeError()));
    }
    return {};
}

Expected<void> Loader::read_sections() {
    for (const ELFSectionRef section : elf_.sections()) {
        auto name_or = section.getName();
        if (!name_or) return fail(fmt::format("#{}", section.getIndex()), "unreadable section name: " + message_of(name_or.takeError()));
        std::string name = name_or->str();
        section_names_[section.getIndex()] = name;
        const auto type = section.getType();
        const auto flags = section.getFlags();
        if (type == llvm::ELF::SHT_NOBITS) {
            if (is_global_data_section(name) && section.getSize() > 0)
                if (auto r = read_global_data(section); !r) return r;
            continue;
        }
        if (type != llvm::ELF::SHT_PROGBITS) continue;
        if (section.getSize() > limits_.max_file_bytes) return fail(name, "section size is larger than the file");
        if (flags & llvm::ELF::SHF_EXECINSTR) {
            auto contents = section.getContents();
            if (!contents) return fail(name, "unreadable contents: " + message_of(contents.takeError()));
            auto code = decode_bytes({reinterpret_cast<const uint8_t*>(contents->data()), contents->size()});
            if (!code) return fail(name, code.error());
            if (code->empty()) continue;
            code_sections_[section.getIndex()] = CodeSection{section.getIndex(), name, std::move(*code), {}, {}};
        } else if (name == "license") {
            auto contents = section.getContents();
            if (!contents) return fail(name, "unreadable contents: " + message_of(contents.takeError()));
            object_.license = std::string(contents->data(), strnlen(contents->data(), contents->size()));
        } else if (name == "version") {
            auto contents = section.getContents();
            if (!contents || contents->size() != 4) return fail(name, "the version section must hold one 32-bit number");
            uint32_t version = 0;
            std::memcpy(&version, contents->data(), 4);
            object_.kernel_version = version;
        } else if (is_legacy_maps_section(name)) {
            if (auto r = read_legacy_maps(section); !r) return r;
        } else if (name == ".maps") {
            if (auto r = read_btf_maps(section); !r) return r;
        } else if (is_global_data_section(name) && section.getSize() > 0) {
            if (auto r = read_global_data(section); !r) return r;
        }
    }
    return {};
}

Expected<void> Loader::read_global_data(const ELFSectionRef& section) {
    std::string name = section_name(section.getIndex());
    MapDefinition map;
    map.name = name;
    map.type = MapType::Array;
    map.key_size = 4;
    map.value_size = uint32_t(section.getSize());
    map.max_entries = 1;
    map.is_global_data = true;
    map.read_only = name.starts_with(".rodata");
    if (section.getType() == llvm::ELF::SHT_NOBITS) {
        map.initial_value.assign(section.getSize(), 0);
    } else {
        auto contents = section.getContents();
        if (!contents) return fail(name, "unreadable contents: " + message_of(contents.takeError()));
        map.initial_value.assign(contents->bytes_begin(), contents->bytes_end());
    }
    data_map_of_section_[section.getIndex()] = uint32_t(object_.maps.size());
    object_.maps.push_back(std::move(map));
    return {};
}

// struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, [inner_map_idx, numa_node] }:
// each symbol in the section is one definition, all of the same size.
Expected<void> Loader::read_legacy_maps(const ELFSectionRef& section) {
    const std::string name = section_name(section.getIndex());
    auto contents = section.getContents();
    if (!contents) return fail(name, "unreadable contents: " + message_of(contents.takeError()));
    std::vector<std::pair<uint64_t, std::string>> symbols;
    for (const ELFSymbolRef symbol : elf_.symbols()) {
        auto sec = symbol.getSection();
        if (!sec || *sec == elf_.section_end() || (*sec)->getIndex() != section.getIndex()) continue;
        if (symbol.getELFType() == llvm::ELF::STT_SECTION) continue;
        auto sym_name = symbol.getName();
        auto value = symbol.getValue();
        if (!sym_name || !value) return fail(name, "unreadable map symbol");
        symbols.emplace_back(*value, sym_name->str());
    }
    if (symbols.empty()) return {};
    std::ranges::sort(symbols);
    const size_t definition_size = contents->size() / symbols.size();
    if (definition_size < 5 * sizeof(uint32_t) || contents->size() % symbols.size() != 0)
        return fail(name, fmt::format("legacy map definitions of {} bytes for {} maps are malformed", contents->size(), symbols.size()));
    for (const auto& [offset, sym_name] : symbols) {
        if (offset % definition_size != 0 || offset + definition_size > contents->size())
            return fail(name, fmt::format("map '{}' at offset {} does not fit the section", sym_name, offset));
        auto field = [&](size_t i) {
            uint32_t v = 0;
            if ((i + 1) * 4 <= definition_size) std::memcpy(&v, contents->data() + offset + i * 4, 4);
            return v;
        };
        MapDefinition map;
        map.name = sym_name;
        map.type = MapType(field(0));
        map.key_size = field(1);
        map.value_size = field(2);
        map.max_entries = field(3);
        map.flags = field(4);
        // Two layouts name the inner map of a map-in-map differently:
        //  - libbpf's bpf_map_def (28 bytes): inner_map_idx (field 5) counts legacy
        //    definitions across every maps section;
        //  - iproute2's bpf_elf_map (36 bytes, Cilium): field 5 is the map's own id and
        //    inner_id (field 7) names the inner map by that id.
        // Both are resolved after all sections are read.
        const bool iproute2_layout = definition_size >= 9 * 4;
        LegacyMap legacy{uint32_t(object_.maps.size()), iproute2_layout ? field(5) : 0, std::nullopt};
        if (map.type == MapType::ArrayOfMaps || map.type == MapType::HashOfMaps) {
            if (iproute2_layout) {
                if (field(7) != 0) legacy.inner_id = field(7);
            } else if (definition_size >= 6 * 4) {
                map.inner_map = field(5);
            }
        }
        legacy_maps_.push_back(legacy);
        map_at_[{section.getIndex(), offset}] = uint32_t(object_.maps.size());
        object_.maps.push_back(std::move(map));
    }
    return {};
}

// Whether the kernel lets a map of this type hold its value's special fields
// (map_check_btf of Linux 6.18). Graph roots and kptrs are left to the kernel.
bool holds_special_fields(const MapDefinition& map) {
    using K = SpecialField::Kind;
    for (const SpecialField& field : map.special_fields) {
        switch (field.kind) {
        case K::SpinLock:
        case K::ResSpinLock:
            if (map.type != MapType::Hash && map.type != MapType::Array && map.type != MapType::CgroupStorage &&
                map.type != MapType::SkStorage && map.type != MapType::InodeStorage &&
                map.type != MapType::TaskStorage && map.type != MapType::CgrpStorage)
                return false;
            break;
        case K::Timer:
        case K::Workqueue:
        case K::TaskWork:
            if (map.type != MapType::Hash && map.type != MapType::LruHash && map.type != MapType::Array) return false;
            break;
        default: break;
        }
    }
    return true;
}

void Loader::add_btf_map(const BtfMapFields& fields, uint64_t section, bool is_inner) {
    MapDefinition map;
    map.name = is_inner ? fields.name + ".inner" : fields.name;
    map.type = MapType(fields.type);
    map.key_size = fields.key_size;
    map.value_size = fields.value_size;
    map.max_entries = fields.max_entries;
    map.flags = fields.flags;
    map.btf_key_type = fields.key_type;
    map.btf_value_type = fields.value_type;
    if (btf_) map.special_fields = BtfTypes(*btf_).special_fields(fields.value_type);
    if (!holds_special_fields(map)) {
        // The kernel refuses to create such a map with its BTF (map_check_btf:
        // EOPNOTSUPP); libbpf then creates it without: no types, no fields.
        map.special_fields.clear();
        map.btf_key_type = map.btf_value_type = 0;
    }
    const uint32_t index = uint32_t(object_.maps.size());
    if (!is_inner) map_at_[{section, fields.section_offset}] = index;
    object_.maps.push_back(std::move(map));
    for (const auto& inner : fields.inner) {
        BtfMapFields named = inner;
        named.name = fields.name;
        add_btf_map(named, section, true);
        object_.maps[index].inner_map = index + 1;
    }
}

Expected<void> Loader::read_btf_maps(const ELFSectionRef& section) {
    if (!btf_) return fail(".maps", "BTF-defined maps need a .BTF section, and this object has none or it is unreadable");
    BtfTypes types(*btf_);
    auto maps = types.map_definitions(".maps");
    if (!maps) return fail(".maps", maps.error());
    // Clang leaves DATASEC variable offsets unset in objects (libbpf fixes them
    // up the same way): the ELF symbol of each map gives its real offset.
    std::map<std::string, uint64_t> symbol_offsets;
    for (const ELFSymbolRef symbol : elf_.symbols()) {
        auto sec = symbol.getSection();
        if (!sec) {
            llvm::consumeError(sec.takeError());
            continue;
        }
        if (*sec == elf_.section_end() || (*sec)->getIndex() != section.getIndex()) continue;
        auto name = symbol.getName();
        auto value = symbol.getValue();
        if (name && value) symbol_offsets[name->str()] = *value;
        if (!name) llvm::consumeError(name.takeError());
        if (!value) llvm::consumeError(value.takeError());
    }
    for (auto fields : *maps) {
        auto offset = symbol_offsets.find(fields.name);
        if (offset == symbol_offsets.end()) return fail(".maps", fmt::format("map '{}' has no symbol in .maps", fields.name));
        fields.section_offset = uint32_t(offset->second);
        add_btf_map(fields, section.getIndex(), false);
    }
    return {};
}

Expected<void> Loader::read_symbols() {
    for (const ELFSymbolRef symbol : elf_.symbols()) {
        // Old clang marked program entries as global NOTYPE symbols; local
        // NOTYPE symbols are branch labels (LBB0_3) and are skipped.
        const bool function = symbol.getELFType() == llvm::ELF::STT_FUNC ||
                              (symbol.getELFType() == llvm::ELF::STT_NOTYPE && symbol.getBinding() == llvm::ELF::STB_GLOBAL);
        if (!function) continue;
        auto sec = symbol.getSection();
        if (!sec) return fail("", "function symbol with an unreadable section: " + message_of(sec.takeError()));
        if (*sec == elf_.section_end()) continue;
        auto it = code_sections_.find((*sec)->getIndex());
        if (it == code_sections_.end()) continue;
        auto name = symbol.getName();
        auto value = symbol.getValue();
        if (!name || !value) return fail(it->second.name, "unreadable function symbol");
        const uint64_t size = symbol.getSize();
        const uint64_t slots = it->second.code.size();
        if (*value % 8 != 0 || size % 8 != 0 || *value / 8 > slots || size / 8 > slots - *value / 8)
            return fail(it->second.name, fmt::format("function symbol '{}' (offset {}, size {}) does not fit its section of {} bytes",
                                                     name->str(), *value, size, slots * 8));
        it->second.functions.push_back({name->str(), uint32_t(*value / 8), uint32_t((*value + size) / 8),
                                        symbol.getBinding() == llvm::ELF::STB_GLOBAL});
    }
    for (auto& [index, section] : code_sections_) {
        auto& fns = section.functions;
        std::ranges::sort(fns, {}, &FunctionSymbol::start);
        // A symbol without a size runs to the next symbol or the end of the section.
        for (size_t i = 0; i < fns.size(); ++i) {
            uint32_t limit = i + 1 < fns.size() ? fns[i + 1].start : uint32_t(section.code.size());
            if (fns[i].end <= fns[i].start) fns[i].end = limit;
            if (fns[i].end > limit)
                return fail(section.name, fmt::format("function '{}' overlaps the next function", fns[i].name));
        }
    }
    return {};
}

Expected<void> Loader::read_relocations() {
    for (const ELFSectionRef rel_section : elf_.sections()) {
        auto target = rel_section.getRelocatedSection();
        if (!target) return fail(section_name(rel_section.getIndex()), "bad relocation section: " + message_of(target.takeError()));
        if (*target == elf_.section_end()) continue;
        auto it = code_sections_.find((*target)->getIndex());
        if (it == code_sections_.end()) continue;
        CodeSection& code = it->second;
        for (const auto& relocation : rel_section.relocations()) {
            const uint64_t offset = relocation.getOffset();
            if (offset % 8 != 0 || offset / 8 >= code.code.size())
                return fail(code.name, fmt::format("relocation at byte offset {} is outside the code", offset));
            auto symbol_it = relocation.getSymbol();
            if (symbol_it == elf_.symbol_end()) return fail(code.name, "relocation without a symbol", offset / 8);
            ELFSymbolRef symbol(*symbol_it);
            Relocation r;
            auto name = symbol.getName();
            if (!name) return fail(code.name, "relocation symbol with an unreadable name: " + message_of(name.takeError()), offset / 8);
            r.symbol = name->str();
            r.symbol_type = symbol.getELFType();
            auto value = symbol.getValue();
            if (!value) return fail(code.name, "unreadable relocation symbol value", offset / 8);
            r.symbol_value = *value;
            auto sec = symbol.getSection();
            if (!sec) return fail(code.name, "relocation symbol with a bad section: " + message_of(sec.takeError()), offset / 8);
            r.undefined = *sec == elf_.section_end();
            if (!r.undefined) {
                r.symbol_section = (*sec)->getIndex();
                if (r.symbol_type == llvm::ELF::STT_SECTION) r.symbol = section_name(r.symbol_section);
            }
            code.relocations[uint32_t(offset / 8)] = std::move(r);
        }
    }
    return {};
}

// LDDW references to maps and global data become our pseudo forms with map indices.
Expected<void> Loader::apply_map_relocations(CodeSection& section) {
    for (auto& [slot, relocation] : section.relocations) {
        Instruction& insn = section.code[slot];
        if (!insn.is_lddw()) continue;
        if (slot + 1 >= section.code.size()) return fail(section.name, "truncated LDDW: its second slot is missing", slot);
        if (relocation.undefined) {
            section.unresolved[slot] = fmt::format("LDDW refers to '{}', which the object does not define", relocation.symbol);
            continue;
        }
        if (code_sections_.contains(relocation.symbol_section)) continue;  // a function pointer: linked later
        if (auto data = data_map_of_section_.find(relocation.symbol_section); data != data_map_of_section_.end()) {
            int64_t offset = int64_t(relocation.symbol_value) + insn.imm;
            const auto& map = object_.maps[data->second];
            if (offset < 0 || uint64_t(offset) > map.value_size) {
                section.unresolved[slot] =
                    fmt::format("reference to offset {} of {} ({} bytes) is out of range", offset, map.name, map.value_size);
                continue;
            }
            insn.src = uint8_t(LddwKind::MapValue);
            insn.imm = int32_t(data->second);
            section.code[slot + 1].imm = int32_t(offset);
            continue;
        }
        uint64_t offset = relocation.symbol_value + (relocation.symbol_type == llvm::ELF::STT_SECTION ? uint32_t(insn.imm) : 0);
        auto map = map_at_.find({relocation.symbol_section, offset});
        if (map == map_at_.end()) {
            section.unresolved[slot] = fmt::format("LDDW refers to '{}' in section {}, which is not a map or global data",
                                                   relocation.symbol, section_name(relocation.symbol_section));
            continue;
        }
        insn.src = uint8_t(LddwKind::MapFd);
        insn.imm = int32_t(map->second);
        section.code[slot + 1].imm = 0;
    }
    return {};
}

// Lays out the entry function, then every function it calls (transitively),
// and rewrites call and function-pointer immediates for the new layout.
std::optional<Loader::CallTarget> Loader::call_target(const CodeSection& section, uint32_t s) const {
    const Instruction& original = section.code[s];
    const bool is_call = original.is_local_call();
    const bool is_function_pointer = original.is_lddw() && s + 1 < section.code.size();
    if (!is_call && !is_function_pointer) return std::nullopt;
    if (auto relocation = section.relocations.find(s); relocation != section.relocations.end()) {
        const Relocation& r = relocation->second;
        if (r.undefined) return std::nullopt;
        auto code = code_sections_.find(r.symbol_section);
        if (code == code_sections_.end()) return std::nullopt;  // a map reference, already applied
        if (is_call)
            return CallTarget{&code->second, int64_t(r.symbol_value / 8) +
                                                 (r.symbol_type == llvm::ELF::STT_SECTION ? original.imm + 1 : 0)};
        return CallTarget{&code->second, (int64_t(r.symbol_value) + original.imm) / 8};
    }
    if (!is_call && LddwKind(original.src) != LddwKind::Function) return std::nullopt;
    return CallTarget{&section, int64_t(s) + 1 + original.imm};
}

void Loader::split_functions_at_call_targets() {
    std::map<const CodeSection*, std::set<uint32_t>> targets;
    for (const auto& [index, section] : code_sections_)
        for (uint32_t s = 0; s < section.code.size(); ++s)
            if (auto target = call_target(section, s);
                target && target->slot > 0 && size_t(target->slot) < target->section->code.size())
                targets[target->section].insert(uint32_t(target->slot));
    for (auto& [index, section] : code_sections_) {
        auto found = targets.find(&section);
        if (found == targets.end()) continue;
        for (uint32_t target : found->second) {
            auto covering = std::ranges::find_if(section.functions, [&](const FunctionSymbol& f) {
                return target > f.start && target < f.end;
            });
            if (covering == section.functions.end()) continue;  // a start already, or no symbol covers it
            FunctionSymbol tail{fmt::format("{}+{}", section.name, target), target, covering->end, false};
            covering->end = target;
            section.functions.insert(covering + 1, std::move(tail));
        }
    }
}

Expected<Program> Loader::link_program(const CodeSection& entry_section, const FunctionSymbol& entry) {
    struct Placed {
        const CodeSection* section;
        FunctionSymbol function;
        uint32_t new_start;
    };
    std::vector<Placed> placed;
    std::map<std::pair<uint64_t, uint32_t>, uint32_t> new_start_of;  // (section, start) -> new start
    Program program;
    program.section = entry_section.name;
    program.name = entry.name;
    std::vector<std::pair<const CodeSection*, uint32_t>> origin;  // per new slot

    auto find_function = [&](const CodeSection& section, uint32_t target) -> std::optional<FunctionSymbol> {
        for (const auto& f : section.functions)
            if (target >= f.start && target < f.end) {
                if (target == f.start) return f;
                return std::nullopt;  // the middle of a function
            }
        // No symbol covers it: the anonymous function runs to the next symbol or the end.
        uint32_t end = uint32_t(section.code.size());
        for (const auto& f : section.functions)
            if (f.start > target) { end = std::min(end, f.start); }
        if (target >= section.code.size()) return std::nullopt;
        return FunctionSymbol{fmt::format("{}+{}", section.name, target), target, end, false};
    };
    auto place = [&](const CodeSection& section, const FunctionSymbol& fn) -> Expected<uint32_t> {
        auto key = std::pair{section.index, fn.start};
        if (auto it = new_start_of.find(key); it != new_start_of.end()) return it->second;
        uint32_t start = uint32_t(program.instructions.size());
        if (start + (fn.end - fn.start) > limits_.max_instructions)
            return fail(entry_section.name, fmt::format("program '{}' exceeds {} instructions", entry.name, limits_.max_instructions));
        // An LDDW the loader could not resolve makes this program unloadable.
        if (auto bad = section.unresolved.lower_bound(fn.start); bad != section.unresolved.end() && bad->first < fn.end)
            return fail(entry_section.name, bad->second, start + (bad->first - fn.start));
        new_start_of[key] = start;
        placed.push_back({&section, fn, start});
        for (uint32_t s = fn.start; s < fn.end; ++s) {
            program.instructions.push_back(section.code[s]);
            origin.emplace_back(&section, s);
        }
        program.functions.push_back({.name = fn.name, .start = start, .end = uint32_t(program.instructions.size())});
        return start;
    };
    if (auto r = place(entry_section, entry); !r) return std::unexpected(r.error());

    for (size_t next = 0; next < placed.size(); ++next) {
        const Placed current = placed[next];
        const CodeSection& section = *current.section;
        for (uint32_t s = current.function.start; s < current.function.end; ++s) {
            const Instruction& original = section.code[s];
            const uint32_t new_pc = current.new_start + (s - current.function.start);
            const bool is_call = original.is_local_call();
            const bool is_function_pointer = original.is_lddw() && s + 1 < section.code.size();
            if (!is_call && !is_function_pointer) continue;
            if (auto relocation = section.relocations.find(s);
                relocation != section.relocations.end() && relocation->second.undefined) {
                if (is_call && is_kernel_function(relocation->second.symbol)) {
                    Instruction& insn = program.instructions[new_pc];
                    insn.src = uint8_t(CallKind::Kfunc);
                    insn.imm = 0;
                    program.kfunc_calls.push_back({new_pc, relocation->second.symbol});
                } else if (is_call) {
                    program.unresolved_calls.push_back({new_pc, relocation->second.symbol});
                }
                continue;
            }
            auto resolved = call_target(section, s);
            if (!resolved) continue;
            const CodeSection* target_section = resolved->section;
            const int64_t target = resolved->slot;
            if (target < 0 || size_t(target) >= target_section->code.size())
                return fail(section.name, fmt::format("call target {} is outside section {}", target, target_section->name), s);
            auto callee = find_function(*target_section, uint32_t(target));
            if (!callee)
                return fail(section.name, fmt::format("call target {} is inside a function of {}, not at its start", target, target_section->name), s);
            auto new_target = place(*target_section, *callee);
            if (!new_target) return std::unexpected(new_target.error());
            Instruction& insn = program.instructions[new_pc];
            insn.imm = int32_t(int64_t(*new_target) - int64_t(new_pc) - 1);
            if (is_function_pointer) {
                insn.src = uint8_t(LddwKind::Function);
                program.instructions[new_pc + 1].imm = 0;
            }
        }
    }
    attach_btf(program, origin);
    return program;
}

std::vector<uint8_t> Loader::finalized_btf() const {
    std::optional<llvm::StringRef> raw;
    std::map<std::string, uint64_t, std::less<>> section_sizes;
    std::map<std::string, uint64_t> section_index;
    for (const auto& section : elf_.sections()) {
        auto name = section.getName();
        if (!name) {
            llvm::consumeError(name.takeError());
            continue;
        }
        section_sizes[name->str()] = section.getSize();
        section_index[name->str()] = section.getIndex();
        if (*name != ".BTF") continue;
        auto contents = section.getContents();
        if (!contents) {
            llvm::consumeError(contents.takeError());
            return {};
        }
        raw = *contents;
    }
    if (!raw) return {};
    DatasecLayout layout;
    layout.section_size = [&](std::string_view name) -> std::optional<uint64_t> {
        auto it = section_sizes.find(name);
        return it == section_sizes.end() ? std::nullopt : std::optional(it->second);
    };
    // Symbol values by (section index, name), the first definition winning:
    // built once, as a DATASEC of a large object names thousands of variables.
    std::map<std::pair<uint64_t, std::string>, uint64_t> symbol_values;
    for (const ELFSymbolRef symbol : elf_.symbols()) {
        auto sec = symbol.getSection();
        auto sym_name = symbol.getName();
        auto value = symbol.getValue();
        if (!sec || !sym_name || !value) {
            if (!sec) llvm::consumeError(sec.takeError());
            if (!sym_name) llvm::consumeError(sym_name.takeError());
            if (!value) llvm::consumeError(value.takeError());
            continue;
        }
        if (*sec != elf_.section_end()) symbol_values.try_emplace({(*sec)->getIndex(), sym_name->str()}, *value);
    }
    layout.symbol_offset = [&](std::string_view section, std::string_view name) -> std::optional<uint64_t> {
        auto index = section_index.find(std::string(section));
        if (index == section_index.end()) return std::nullopt;
        auto found = symbol_values.find({index->second, std::string(name)});
        return found == symbol_values.end() ? std::nullopt : std::optional(found->second);
    };
    const auto* bytes = reinterpret_cast<const uint8_t*>(raw->data());
    return finalize_btf(std::span(bytes, raw->size()), layout);
}

void Loader::attach_btf(Program& program, const std::vector<std::pair<const CodeSection*, uint32_t>>& origin) {
    program.location_of.assign(program.instructions.size(), -1);
    if (!btf_) return;
    BtfTypes types(*btf_);
    program.function_info = true;
    for (Function& function : program.functions) {
        auto signature = types.function_signature(function.name);
        if (!signature) {
            program.function_info = false;
            continue;
        }
        function.global = signature->global;
        function.parameters = std::move(signature->parameters);
        function.returns_value = signature->returns_value;
        function.btf_type_id = signature->type_id;
    }
    std::map<std::tuple<std::string, uint32_t, uint32_t>, int32_t> known;
    for (size_t pc = 0; pc < origin.size(); ++pc) {
        auto [section, slot] = origin[pc];
        llvm::object::SectionedAddress address{uint64_t(slot) * 8, section->index};
        if (const auto* line = btf_->findLineInfo(address)) {
            SourceLocation location{btf_->findString(line->FileNameOff).str(), line->getLine(), line->getCol(),
                                    btf_->findString(line->LineOff).str()};
            auto key = std::tuple{location.file, location.line, location.column};
            auto [it, inserted] = known.try_emplace(key, int32_t(program.locations.size()));
            if (inserted) program.locations.push_back(std::move(location));
            program.location_of[pc] = it->second;
        }
        if (const auto* relocation = btf_->findFieldReloc(address))
            program.core_relocations.push_back({uint32_t(pc), relocation->TypeID,
                                                btf_->findString(relocation->OffsetNameOff).str(), relocation->RelocKind});
    }
}

Expected<Object> Loader::run() {
    object_.path = file_;
    const auto machine = elf_.getELFFile().getHeader().e_machine;
    if (machine != llvm::ELF::EM_BPF)
        return fail("", fmt::format("not a BPF object (ELF machine {}, expected EM_BPF 247)", uint16_t(machine)));
    if (elf_.getELFFile().getHeader().e_type != llvm::ELF::ET_REL)
        return fail("", "not a relocatable object (BPF programs are loaded from ET_REL files)");
    if (auto r = check_structure(); !r) return std::unexpected(r.error());
    bool has_btf = false;
    for (const auto& section : elf_.sections())
        if (auto name = section.getName(); name && *name == ".BTF") has_btf = true;
        else if (!name) llvm::consumeError(name.takeError());
    if (has_btf) {
        btf_.emplace();
        if (auto error = btf_->parse(elf_)) return fail(".BTF", "malformed BTF: " + message_of(std::move(error)));
    }
    if (auto r = read_sections(); !r) return std::unexpected(r.error());
    for (const auto& legacy : legacy_maps_) {
        auto& map = object_.maps[legacy.index];
        if (legacy.inner_id) {
            auto inner = std::ranges::find_if(legacy_maps_, [&](const LegacyMap& m) { return m.id == *legacy.inner_id; });
            if (inner == legacy_maps_.end())
                return fail("maps", fmt::format("map '{}' names inner map id {}, which no map has", map.name, *legacy.inner_id));
            map.inner_map = inner->index;
            continue;
        }
        if (!map.inner_map) continue;
        if (*map.inner_map >= legacy_maps_.size())
            return fail("maps", fmt::format("map '{}' names inner map {}, but there are only {} legacy maps", map.name, *map.inner_map, legacy_maps_.size()));
        map.inner_map = legacy_maps_[*map.inner_map].index;
    }
    if (auto r = read_symbols(); !r) return std::unexpected(r.error());
    if (btf_) object_.btf = finalized_btf();
    if (auto r = read_relocations(); !r) return std::unexpected(r.error());
    for (auto& [index, section] : code_sections_)
        if (auto r = apply_map_relocations(section); !r) return std::unexpected(r.error());
    split_functions_at_call_targets();

    // Programs: each global function of a program section; `.text` holds
    // subprograms, unless the object has no other program section (libbpf's
    // rule for objects whose only code is in .text).
    const bool only_text = std::ranges::all_of(code_sections_, [](const auto& e) { return e.second.name == ".text"; });
    for (const auto& [index, section] : code_sections_) {
        if (section.name == ".text" && !only_text) continue;
        std::vector<FunctionSymbol> entries;
        for (const auto& f : section.functions)
            if (f.global) entries.push_back(f);
        if (entries.empty() && section.name != ".text") {
            // Old objects: a section without global functions is one program,
            // named after its first function or, lacking one, after the section.
            if (!section.functions.empty() && section.functions.front().start == 0)
                entries.push_back(section.functions.front());
            else
                entries.push_back({section.name, 0,
                                   section.functions.empty() ? uint32_t(section.code.size()) : section.functions.front().start, true});
        }
        for (const auto& entry : entries) {
            auto program = link_program(section, entry);
            if (!program) {
                // The program cannot be linked (a call into nowhere): its own
                // rejection, as the kernel's; the other programs stay checkable.
                Program broken;
                broken.section = section.name;
                broken.name = entry.name;
                broken.defects.push_back({program.error().pc.value_or(0), program.error().message});
                program = std::move(broken);
            } else {
                program->defects = validate(*program);
                for (auto& defect : program->defects) {
                    // Name the function the defect is in, when it is not the entry.
                    const Function* fn = program->function_at(defect.pc);
                    if (fn && fn->name != program->name) defect.message += fmt::format(" (in function '{}')", fn->name);
                }
            }
            auto guess = program_type_from_section(section.name);
            program->type = guess.type;
            program->attach_target = guess.attach_target;
            object_.programs.push_back(std::move(*program));
        }
    }
    // Map-in-map inner indices must point at real maps.
    for (const auto& map : object_.maps)
        if (map.inner_map && *map.inner_map >= object_.maps.size())
            return fail("", fmt::format("map '{}' has an inner map that does not exist", map.name));
    return std::move(object_);
}

}  // namespace

Expected<Object> load_object_from_memory(std::span<const uint8_t> bytes, const std::string& name, const LoadLimits& limits) {
    if (bytes.empty()) return std::unexpected(LoadError{name, "", {}, "the file is empty"});
    if (bytes.size() > limits.max_file_bytes)
        return std::unexpected(LoadError{name, "", {}, fmt::format("the file is {} bytes, over the limit of {}", bytes.size(), limits.max_file_bytes)});
    llvm::MemoryBufferRef buffer(llvm::StringRef(reinterpret_cast<const char*>(bytes.data()), bytes.size()), name);
    auto binary = llvm::object::ObjectFile::createObjectFile(buffer);
    if (!binary) return std::unexpected(LoadError{name, "", {}, "not a valid ELF object: " + message_of(binary.takeError())});
    const auto* elf = llvm::dyn_cast<ELF64LEObjectFile>(binary->get());
    if (!elf) return std::unexpected(LoadError{name, "", {}, "not a 64-bit little-endian ELF object (BPF objects are ELF64 LE)"});
    return Loader(*elf, name, limits).run();
}

namespace {

// A directory opens as a stream whose size reads as 2^63-1, and a fifo or a
// device may never end: only regular files are objects.
std::optional<std::string> not_a_regular_file(const std::string& path) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (error) return fmt::format("cannot open the file: {}", error.message());
    switch (status.type()) {
        case std::filesystem::file_type::regular: return std::nullopt;
        case std::filesystem::file_type::directory: return "is a directory, not an object file";
        case std::filesystem::file_type::fifo: return "is a fifo, not an object file";
        case std::filesystem::file_type::socket: return "is a socket, not an object file";
        case std::filesystem::file_type::block:
        case std::filesystem::file_type::character: return "is a device, not an object file";
        default: return "is not a regular file";
    }
}

}  // namespace

Expected<Object> load_object(const std::string& path, const LoadLimits& limits) {
    if (auto why = not_a_regular_file(path)) return std::unexpected(LoadError{path, "", {}, *why});
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return std::unexpected(LoadError{path, "", {}, fmt::format("cannot open the file: {}", std::strerror(errno))});
    const auto size = uint64_t(in.tellg());
    if (size > limits.max_file_bytes)
        return std::unexpected(LoadError{path, "", {}, fmt::format("the file is {} bytes, over the limit of {}", size, limits.max_file_bytes)});
    std::vector<uint8_t> bytes(size);
    in.seekg(0);
    if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
        return std::unexpected(LoadError{path, "", {}, "cannot read the file"});
    return load_object_from_memory(bytes, path, limits);
}

}  // namespace bpfvet::ir
