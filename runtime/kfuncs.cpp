#include "runtime/kfuncs.hpp"

#include "runtime/helper_support.hpp"

#include <array>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace bpfvet::runtime {
namespace {

using namespace helper_support;

// The kernel's BPF_MAX_LOOPS: the longest range a number iterator accepts.
constexpr int64_t MaxIterations = 8 * 1024 * 1024;
// BITS_ITER_NR_WORDS_MAX: bpf_iter_bits copies at most this many u64 words.
constexpr uint32_t MaxBitWords = 511;

// struct bpf_iter_num (8 bytes) as the kernel lays it out (bpf_iter_num_kern).
struct NumberIterator {
    int32_t current;  // the element `next` last returned (starts one below)
    int32_t end;
};
static_assert(sizeof(NumberIterator) == 8);

// struct bpf_iter_bits (16 bytes): one word is kept inline, more are copied
// to an allocation freed by destroy (bpf_iter_bits_kern).
struct BitsIterator {
    union {
        uint64_t* words;
        uint64_t word;
    };
    int32_t bit_count;
    int32_t bit;  // the bit `next` last returned; -1 before the first
};
static_assert(sizeof(BitsIterator) == 16);

uint64_t iter_num_new(uint64_t it, uint64_t start, uint64_t end, uint64_t, uint64_t, RunContext*) {
    auto* s = as_pointer<NumberIterator>(it);
    const auto first = int32_t(start), last = int32_t(end);
    if (first > last) {
        s->current = s->end = 0;
        return error(-EINVAL);
    }
    if (int64_t(last) - int64_t(first) > MaxIterations) {
        s->current = s->end = 0;
        return error(-E2BIG);
    }
    s->current = int32_t(uint32_t(first) - 1);  // `next` increments first
    s->end = last;
    return 0;
}

uint64_t iter_num_next(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    auto* s = as_pointer<NumberIterator>(it);
    // 32-bit wrap-around as the kernel computes s->cur + 1.
    if (int64_t(int32_t(uint32_t(s->current) + 1)) >= int64_t(s->end)) {
        s->current = s->end = 0;
        return 0;
    }
    s->current = int32_t(uint32_t(s->current) + 1);
    return reinterpret_cast<uint64_t>(&s->current);
}

uint64_t iter_num_destroy(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    auto* s = as_pointer<NumberIterator>(it);
    s->current = s->end = 0;
    return 0;
}

uint64_t iter_bits_new(uint64_t it, uint64_t source, uint64_t word_count, uint64_t, uint64_t, RunContext* context) {
    auto* s = as_pointer<BitsIterator>(it);
    const auto words = uint32_t(word_count);
    s->bit_count = 0;
    s->word = 0;
    s->bit = -1;
    if (source == 0 || words == 0) return error(-EINVAL);
    if (words > MaxBitWords) return error(-E2BIG);
    const uint64_t bytes = uint64_t(words) * 8;
    const uint8_t* from = probe_kernel_source(*context, source, bytes);
    if (words == 1) {
        if (from == nullptr) return error(-EFAULT);
        std::memcpy(&s->word, from, 8);
        s->bit_count = 64;
        return 0;
    }
    if (from == nullptr) return error(-EFAULT);
    auto* copy = static_cast<uint64_t*>(std::malloc(bytes));
    if (copy == nullptr) return error(-ENOMEM);
    std::memcpy(copy, from, bytes);
    s->words = copy;
    s->bit_count = int32_t(bytes * 8);
    return 0;
}

uint64_t iter_bits_next(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    auto* s = as_pointer<BitsIterator>(it);
    if (s->bit_count == 0 || s->bit >= s->bit_count) return 0;
    const uint64_t* words = s->bit_count == 64 ? &s->word : s->words;
    int32_t bit = s->bit + 1;
    // find_next_bit: the next set bit at or after `bit`, or bit_count.
    while (bit < s->bit_count) {
        const uint64_t rest = words[bit / 64] >> (bit % 64);
        if (rest != 0) {
            bit += std::countr_zero(rest);
            break;
        }
        bit = (bit / 64 + 1) * 64;
    }
    if (bit >= s->bit_count) {
        s->bit = s->bit_count;
        return 0;
    }
    s->bit = bit;
    return reinterpret_cast<uint64_t>(&s->bit);
}

uint64_t iter_bits_destroy(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    auto* s = as_pointer<BitsIterator>(it);
    if (s->bit_count > 64) std::free(s->words);
    return 0;
}

struct KfuncImplementation {
    std::string_view name;
    HelperFunction function;
};
constexpr auto implementations = std::to_array<KfuncImplementation>({
    {"bpf_iter_bits_destroy", iter_bits_destroy},
    {"bpf_iter_bits_new", iter_bits_new},
    {"bpf_iter_bits_next", iter_bits_next},
    {"bpf_iter_num_destroy", iter_num_destroy},
    {"bpf_iter_num_new", iter_num_new},
    {"bpf_iter_num_next", iter_num_next},
});

}  // namespace

HelperFunction find_kfunc_implementation(std::string_view name) {
    for (const auto& row : implementations)
        if (row.name == name) return row.function;
    return nullptr;
}

}  // namespace bpfvet::runtime
