// Names of the operations, for diagnostics and test output: one table each.
#include "domains/concrete.hpp"

namespace bpfvet::domains {

const char* name(BinaryOp op) {
  static constexpr const char* names[] = {"add", "sub", "mul", "udiv", "umod", "sdiv", "smod",
                                          "and", "or", "xor", "lsh", "rsh", "arsh"};
  return names[static_cast<int>(op)];
}

const char* name(UnaryOp op) {
  static constexpr const char* names[] = {"neg", "bswap16", "bswap32", "bswap64", "zext8", "zext16",
                                          "zext32", "sext8", "sext16", "sext32"};
  return names[static_cast<int>(op)];
}

const char* name(Comparison c) {
  static constexpr const char* names[] = {"jeq", "jne", "jgt", "jge", "jlt", "jle",
                                          "jsgt", "jsge", "jslt", "jsle", "jset"};
  return names[static_cast<int>(c)];
}

}  // namespace bpfvet::domains
