#include "jit/merge_byte_compares.hpp"

#include <llvm/IR/DataLayout.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PatternMatch.h>
#include <llvm/IR/ValueHandle.h>
#include <llvm/Transforms/Utils/Local.h>

#include <algorithm>
#include <map>
#include <vector>

namespace bpfvet::jit {
namespace {

using namespace llvm::PatternMatch;

// A tree of logical ANDs of `icmp eq`s (all must match) or of logical ORs of
// `icmp ne`s (any mismatch): the same question in De Morgan's two forms.
struct TreeKind {
    bool conjunction;
    llvm::CmpInst::Predicate predicate;
};

bool split(llvm::Value* value, const TreeKind& kind, llvm::Value*& left, llvm::Value*& right) {
    return kind.conjunction ? match(value, m_LogicalAnd(m_Value(left), m_Value(right)))
                            : match(value, m_LogicalOr(m_Value(left), m_Value(right)));
}

// A compare of one loaded value with a constant, at a constant byte offset from a base pointer.
struct ByteCompare {
    llvm::Value* leaf;  // the icmp
    llvm::LoadInst* load;
    llvm::Value* base;
    int64_t offset;
    unsigned bytes;
    uint64_t constant;
};

constexpr size_t max_leaves = 64;

// The leaves of the tree at `root`: inner nodes are logical operations of the
// same kind in the same block used only inside the tree. In left-to-right order.
void collect_leaves(llvm::Value* node, llvm::Instruction* root, const TreeKind& kind, std::vector<llvm::Value*>& leaves) {
    llvm::Value *left = nullptr, *right = nullptr;
    auto* instruction = llvm::dyn_cast<llvm::Instruction>(node);
    bool inner = instruction && (node == root || (instruction->hasOneUse() && instruction->getParent() == root->getParent())) &&
                 split(node, kind, left, right);
    if (!inner || leaves.size() >= max_leaves) {
        leaves.push_back(node);
        return;
    }
    collect_leaves(left, root, kind, leaves);
    collect_leaves(right, root, kind, leaves);
}

std::optional<ByteCompare> as_byte_compare(llvm::Value* leaf, const TreeKind& kind, llvm::BasicBlock* block,
                                           const llvm::DataLayout& layout) {
    llvm::CmpInst::Predicate predicate;
    llvm::Value* loaded = nullptr;
    const llvm::APInt* constant = nullptr;
    if (!match(leaf, m_ICmp(predicate, m_Value(loaded), m_APInt(constant))) || predicate != kind.predicate)
        return std::nullopt;
    auto* load = llvm::dyn_cast<llvm::LoadInst>(loaded);
    if (!load || !load->isSimple() || load->getParent() != block || !load->getType()->isIntegerTy()) return std::nullopt;
    unsigned bits = load->getType()->getIntegerBitWidth();
    if (bits != 8 && bits != 16 && bits != 32) return std::nullopt;
    llvm::APInt offset(layout.getIndexTypeSizeInBits(load->getPointerOperandType()), 0);
    llvm::Value* base = load->getPointerOperand()->stripAndAccumulateConstantOffsets(layout, offset, true);
    return ByteCompare{leaf, load, base, offset.getSExtValue(), bits / 8, constant->getZExtValue()};
}

// No write to memory from the first of `loads` to `root` (all in root's block).
bool no_write_between(const std::vector<const ByteCompare*>& loads, llvm::Instruction* root) {
    llvm::Instruction* first = root;
    for (const ByteCompare* compare : loads)
        if (compare->load->comesBefore(first)) first = compare->load;
    for (auto it = first->getIterator(); &*it != root; ++it)
        if (it->mayWriteToMemory()) return false;
    return true;
}

// Merges what it can in the tree at `root`; true when it changed something.
bool merge_tree(llvm::Instruction* root, const TreeKind& kind, const llvm::DataLayout& layout) {
    std::vector<llvm::Value*> leaves;
    collect_leaves(root, root, kind, leaves);
    if (leaves.size() < 2) return false;
    std::map<llvm::Value*, std::vector<ByteCompare>> by_base;
    for (llvm::Value* leaf : leaves)
        if (auto compare = as_byte_compare(leaf, kind, root->getParent(), layout)) by_base[compare->base].push_back(*compare);

    std::vector<llvm::Value*> merged;          // the wide compares
    std::vector<llvm::Value*> replaced_leaves; // the narrow compares they stand for
    llvm::IRBuilder<> builder(root);
    for (auto& [base, compares] : by_base) {
        std::sort(compares.begin(), compares.end(), [](const ByteCompare& a, const ByteCompare& b) { return a.offset < b.offset; });
        for (size_t start = 0; start < compares.size();) {
            bool done = false;
            for (unsigned width : {8u, 4u, 2u}) {
                // Leaves that tile [offset, offset + width) exactly, in order.
                std::vector<const ByteCompare*> run;
                int64_t next = compares[start].offset;
                for (size_t i = start; i < compares.size() && next < compares[start].offset + int64_t(width); ++i) {
                    if (compares[i].offset != next) break;
                    run.push_back(&compares[i]);
                    next += compares[i].bytes;
                }
                if (run.size() < 2 || next != compares[start].offset + int64_t(width) || !no_write_between(run, root))
                    continue;
                uint64_t constant = 0;
                for (const ByteCompare* compare : run)
                    constant |= compare->constant << (8 * (compare->offset - compares[start].offset));
                auto* type = builder.getIntNTy(width * 8);
                llvm::Value* address = compares[start].offset == 0
                                           ? base
                                           : builder.CreateConstGEP1_64(builder.getInt8Ty(), base, uint64_t(compares[start].offset));
                llvm::Value* wide = builder.CreateAlignedLoad(type, address, llvm::Align(1), "merged");
                merged.push_back(builder.CreateICmp(kind.predicate, wide, llvm::ConstantInt::get(type, constant)));
                for (const ByteCompare* compare : run) replaced_leaves.push_back(compare->leaf);
                start += run.size();
                done = true;
                break;
            }
            if (!done) ++start;
        }
    }
    if (merged.empty()) return false;
    // The new tree: the wide compares, then the other leaves in their order (a
    // logical operation keeps a later leaf's poison masked as before).
    llvm::Value* tree = nullptr;
    auto add = [&](llvm::Value* leaf) {
        tree = !tree ? leaf : kind.conjunction ? builder.CreateLogicalAnd(tree, leaf) : builder.CreateLogicalOr(tree, leaf);
    };
    for (llvm::Value* wide : merged) add(wide);
    for (llvm::Value* leaf : leaves)
        if (std::find(replaced_leaves.begin(), replaced_leaves.end(), leaf) == replaced_leaves.end()) add(leaf);
    root->replaceAllUsesWith(tree);
    llvm::RecursivelyDeleteTriviallyDeadInstructions(root);
    return true;
}

bool is_tree_root(llvm::Instruction& instruction, const TreeKind& kind) {
    llvm::Value *left = nullptr, *right = nullptr;
    if (!instruction.getType()->isIntegerTy(1) || !split(&instruction, kind, left, right)) return false;
    // An inner node of a larger tree is handled with its root.
    if (instruction.hasOneUse()) {
        auto* user = llvm::dyn_cast<llvm::Instruction>(*instruction.user_begin());
        if (user && user->getParent() == instruction.getParent() && split(user, kind, left, right)) return false;
    }
    return true;
}

}  // namespace

llvm::PreservedAnalyses MergeByteComparesPass::run(llvm::Function& function, llvm::FunctionAnalysisManager&) {
    const llvm::DataLayout& layout = function.getParent()->getDataLayout();
    if (!layout.isLittleEndian()) return llvm::PreservedAnalyses::all();
    const TreeKind kinds[] = {{true, llvm::CmpInst::ICMP_EQ}, {false, llvm::CmpInst::ICMP_NE}};
    bool changed = false;
    for (auto& block : function) {
        // Weak handles: merging one tree may delete another root that became dead.
        std::vector<std::pair<llvm::WeakVH, TreeKind>> roots;
        for (auto& instruction : block)
            for (const TreeKind& kind : kinds)
                if (is_tree_root(instruction, kind)) roots.emplace_back(&instruction, kind);
        for (auto& [root, kind] : roots)
            if (auto* instruction = llvm::dyn_cast_or_null<llvm::Instruction>(static_cast<llvm::Value*>(root)))
                changed |= merge_tree(instruction, kind, layout);
    }
    return changed ? llvm::PreservedAnalyses::none() : llvm::PreservedAnalyses::all();
}

}  // namespace bpfvet::jit
