// Compile the 64-bit instances once here so that errors in rarely used paths show up when the
// library builds, not first in a user's translation unit.
#include "domains/branch.hpp"

namespace bpfvet::domains {

template class BasicTnum<64>;
template class BasicTnum<32>;
template class BasicInterval<64, false>;
template class BasicInterval<64, true>;
template class BasicInterval<32, false>;
template class BasicInterval<32, true>;
template class BasicScalar<64>;
template class BasicScalar<32>;
template Scalar apply<64>(BinaryOp, const Scalar&, const Scalar&, OperandWidth);
template Scalar apply<64>(UnaryOp, const Scalar&, OperandWidth);
template Scalar truncate_to_half<64>(const Scalar&);
template BranchOutcome evaluate<64>(Comparison, const Scalar&, const Scalar&, OperandWidth);
template std::optional<RefinedOperands> refine<64>(Comparison, const Scalar&, const Scalar&, OperandWidth, bool);

static_assert(sizeof(Scalar) <= 64, "Scalar should stay within a cache line");

}  // namespace bpfvet::domains
