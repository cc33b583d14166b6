#include "elf_writer.hpp"

#include "ir/assembler.hpp"

#include <cstring>
#include <elf.h>
#include <fstream>

namespace bpfvet::generator {
namespace {

// R_BPF_64_64 (<elf.h>): an LDDW's 64-bit immediate, as clang relocates map references.

template <typename T>
void append(std::vector<uint8_t>& out, const T& value) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    out.insert(out.end(), bytes, bytes + sizeof value);
}

// A string table: names appended once, offsets returned.
struct StringTable {
    std::vector<uint8_t> bytes{0};
    uint32_t add(const std::string& name) {
        auto offset = uint32_t(bytes.size());
        bytes.insert(bytes.end(), name.begin(), name.end());
        bytes.push_back(0);
        return offset;
    }
};

Elf64_Sym symbol(uint32_t name, unsigned char binding, unsigned char type, uint16_t section, uint64_t value,
                 uint64_t size) {
    Elf64_Sym s{};
    s.st_name = name;
    s.st_info = ELF64_ST_INFO(binding, type);
    s.st_shndx = section;
    s.st_value = value;
    s.st_size = size;
    return s;
}

}  // namespace

std::expected<std::vector<uint8_t>, std::string> elf_object(const GeneratedProgram& generated) {
    const std::string text = generated.text();
    auto assembled = ir::assemble(text);  // maps left unrelocated: imm 0, references recorded
    if (!assembled) return std::unexpected(assembled.error().to_string());
    auto program = ir::assemble_program(text);
    if (!program) return std::unexpected(program.error().to_string());

    enum : uint16_t { Code = 1, Relocations, License, Maps, Symbols, Strings, SectionNames, SectionCount };
    StringTable strings, section_names;

    // Symbols: subprograms (local), then the entry, the maps and the license (global).
    std::vector<Elf64_Sym> symbols{Elf64_Sym{}};
    for (size_t f = 1; f < program->functions.size(); ++f) {
        const auto& function = program->functions[f];
        symbols.push_back(symbol(strings.add(function.name), STB_LOCAL, STT_FUNC, Code, uint64_t(function.start) * 8,
                                 uint64_t(function.end - function.start) * 8));
    }
    const auto first_global = uint32_t(symbols.size());
    const auto& entry = program->functions.front();
    symbols.push_back(symbol(strings.add(entry.name), STB_GLOBAL, STT_FUNC, Code, 0, uint64_t(entry.end) * 8));
    const auto first_map = uint32_t(symbols.size());
    constexpr uint32_t MapDefinitionSize = 5 * sizeof(uint32_t);  // struct bpf_map_def
    std::vector<uint8_t> maps;
    for (size_t i = 0; i < generated.maps.size(); ++i) {
        const auto& map = generated.maps[i];
        symbols.push_back(symbol(strings.add(map.name), STB_GLOBAL, STT_OBJECT, Maps, i * MapDefinitionSize,
                                 MapDefinitionSize));
        for (uint32_t field : {uint32_t(map.type), map.key_size, map.value_size, map.max_entries, map.flags})
            append(maps, field);
    }
    symbols.push_back(symbol(strings.add("_license"), STB_GLOBAL, STT_OBJECT, License, 0, 4));

    std::vector<uint8_t> code, relocations, symbol_bytes;
    for (const auto& insn : assembled->instructions) append(code, ir::encode_slot(insn));
    for (const auto& [name, slots] : assembled->map_references) {
        uint32_t index = 0;
        while (index < generated.maps.size() && generated.maps[index].name != name) ++index;
        if (index == generated.maps.size()) return std::unexpected("no map named " + name);
        for (size_t slot : slots) {
            Elf64_Rel rel{};
            rel.r_offset = slot * 8;
            rel.r_info = ELF64_R_INFO(first_map + index, R_BPF_64_64);
            append(relocations, rel);
        }
    }
    for (const auto& s : symbols) append(symbol_bytes, s);
    const std::vector<uint8_t> license = {'G', 'P', 'L', 0};

    // Header, then each section's bytes 8-aligned, then the section headers.
    std::vector<uint8_t> out(sizeof(Elf64_Ehdr), 0);
    std::vector<Elf64_Shdr> headers(SectionCount, Elf64_Shdr{});
    auto place = [&](uint16_t index, const std::string& name, uint32_t type, uint64_t flags,
                     const std::vector<uint8_t>& bytes) -> Elf64_Shdr& {
        while (out.size() % 8) out.push_back(0);
        Elf64_Shdr& h = headers[index];
        h.sh_name = section_names.add(name);
        h.sh_type = type;
        h.sh_flags = flags;
        h.sh_offset = out.size();
        h.sh_size = bytes.size();
        h.sh_addralign = type == SHT_STRTAB ? 1 : 8;
        out.insert(out.end(), bytes.begin(), bytes.end());
        return h;
    };
    place(Code, generated.section, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, code);
    Elf64_Shdr& rel = place(Relocations, ".rel" + generated.section, SHT_REL, 0, relocations);
    rel.sh_link = Symbols;
    rel.sh_info = Code;
    rel.sh_entsize = sizeof(Elf64_Rel);
    place(License, "license", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, license);
    place(Maps, "maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, maps);
    Elf64_Shdr& symtab = place(Symbols, ".symtab", SHT_SYMTAB, 0, symbol_bytes);
    symtab.sh_link = Strings;
    symtab.sh_info = first_global;
    symtab.sh_entsize = sizeof(Elf64_Sym);
    place(Strings, ".strtab", SHT_STRTAB, 0, strings.bytes);
    place(SectionNames, ".shstrtab", SHT_STRTAB, 0, section_names.bytes);  // its own name added before its bytes are copied
    while (out.size() % 8) out.push_back(0);
    const uint64_t headers_offset = out.size();
    for (const auto& h : headers) append(out, h);

    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_REL;
    header.e_machine = EM_BPF;
    header.e_version = EV_CURRENT;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_shoff = headers_offset;
    header.e_shentsize = sizeof(Elf64_Shdr);
    header.e_shnum = SectionCount;
    header.e_shstrndx = SectionNames;
    std::memcpy(out.data(), &header, sizeof header);
    return out;
}

std::expected<void, std::string> write_elf(const GeneratedProgram& program, const std::string& path) {
    auto bytes = elf_object(program);
    if (!bytes) return std::unexpected(bytes.error());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()), std::streamsize(bytes->size()));
    if (!out) return std::unexpected(path + ": cannot write");
    return {};
}

}  // namespace bpfvet::generator
