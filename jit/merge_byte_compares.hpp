// An LLVM pass for a pattern eBPF compilers leave behind: a run of adjacent
// narrow loads, each compared with a constant, all of which must match.
//
//   %b0 = load i8, p        %c0 = icmp eq i8 %b0, 101   ; 'e'
//   %b1 = load i8, p + 1    %c1 = icmp eq i8 %b1, 118   ; 'v'
//   ...                                                   (8 bytes of "evil.com")
//   %all = and/select-and of %c0 ... %c7
// becomes
//   %w = load i64, p        %all = icmp eq i64 %w, 0x6d6f632e6c697665
//
// The eBPF backend cannot emit the wide compare itself (the verifier must see
// each byte's bounds), and LLVM's own passes do not merge compares against
// constants. Sound because every narrow load already runs, in the same block,
// with no write to memory between the first of them and the compare: the wide
// load reads exactly the bytes they read, at the point where they are read.
#pragma once

#include <llvm/IR/PassManager.h>

namespace bpfvet::jit {

class MergeByteComparesPass : public llvm::PassInfoMixin<MergeByteComparesPass> {
public:
    llvm::PreservedAnalyses run(llvm::Function& function, llvm::FunctionAnalysisManager& analyses);
};

}  // namespace bpfvet::jit
