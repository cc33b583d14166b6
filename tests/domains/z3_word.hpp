#pragma once
// A Z3 bit-vector term that behaves like domains::Word<Bits>: the domain algorithms are templates
// over the word type, so instantiating them with Z3Word<Bits> yields, as a formula, exactly what
// the code computes for every input at once.
#include <z3++.h>

#include <cstdint>

#include "domains/word.hpp"

namespace bpfvet::domains::proof {

template <unsigned Bits>
class Z3Word {
 public:
  static constexpr unsigned bits = Bits;
  using Bool = z3::expr;
  using Half = Z3Word<(Bits >= 2 ? Bits / 2 : 1)>;

  explicit Z3Word(const z3::expr& e) : e_(e) {}
  static Z3Word variable(z3::context& c, const std::string& name) { return Z3Word(c.bv_const(name.c_str(), Bits)); }
  static Z3Word value(z3::context& c, uint64_t v) { return Z3Word(c.bv_val(v & all_ones<Bits>, Bits)); }
  [[nodiscard]] const z3::expr& expr() const { return e_; }
  [[nodiscard]] z3::context& ctx() const { return e_.ctx(); }

  friend Z3Word operator+(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ + b.e_); }
  friend Z3Word operator-(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ - b.e_); }
  friend Z3Word operator*(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ * b.e_); }
  friend Z3Word operator&(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ & b.e_); }
  friend Z3Word operator|(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ | b.e_); }
  friend Z3Word operator^(const Z3Word& a, const Z3Word& b) { return Z3Word(a.e_ ^ b.e_); }
  friend Z3Word operator~(const Z3Word& a) { return Z3Word(~a.e_); }
  friend Z3Word operator-(const Z3Word& a) { return Z3Word(-a.e_); }
  friend z3::expr operator==(const Z3Word& a, const Z3Word& b) { return a.e_ == b.e_; }
  friend z3::expr operator!=(const Z3Word& a, const Z3Word& b) { return a.e_ != b.e_; }
  friend Z3Word operator<<(const Z3Word& a, unsigned k) { return Z3Word(z3::shl(a.e_, value(a.ctx(), k).e_)); }
  friend Z3Word operator>>(const Z3Word& a, unsigned k) {
    return k >= Bits ? value(a.ctx(), 0) : Z3Word(z3::lshr(a.e_, a.ctx().bv_val(k, Bits)));
  }

 private:
  z3::expr e_;
};

template <unsigned Bits>
Z3Word<Bits> constant_like(const Z3Word<Bits>& w, uint64_t c) { return Z3Word<Bits>::value(w.ctx(), c); }
template <unsigned Bits>
z3::expr ult(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return z3::ult(a.expr(), b.expr()); }
template <unsigned Bits>
z3::expr ule(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return z3::ule(a.expr(), b.expr()); }
template <unsigned Bits>
z3::expr slt(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return z3::slt(a.expr(), b.expr()); }
template <unsigned Bits>
z3::expr sle(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return z3::sle(a.expr(), b.expr()); }
template <unsigned Bits>
Z3Word<Bits> select(const z3::expr& c, const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return Z3Word<Bits>(z3::ite(c, a.expr(), b.expr())); }
inline z3::expr select(const z3::expr& c, const z3::expr& a, const z3::expr& b) { return z3::ite(c, a, b); }
template <unsigned Bits>
Z3Word<Bits> shl(const Z3Word<Bits>& a, const Z3Word<Bits>& k) { return Z3Word<Bits>(z3::shl(a.expr(), k.expr())); }
template <unsigned Bits>
Z3Word<Bits> lshr(const Z3Word<Bits>& a, const Z3Word<Bits>& k) { return Z3Word<Bits>(z3::lshr(a.expr(), k.expr())); }
template <unsigned Bits>
Z3Word<Bits> ashr(const Z3Word<Bits>& a, const Z3Word<Bits>& k) { return Z3Word<Bits>(z3::ashr(a.expr(), k.expr())); }
template <unsigned Bits>
Z3Word<Bits> ashr(const Z3Word<Bits>& a, unsigned k) { return ashr(a, Z3Word<Bits>::value(a.ctx(), k >= Bits ? Bits - 1 : k)); }
template <unsigned Bits>
Z3Word<Bits> udiv(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return Z3Word<Bits>(z3::udiv(a.expr(), b.expr())); }
template <unsigned Bits>
Z3Word<Bits> urem(const Z3Word<Bits>& a, const Z3Word<Bits>& b) { return Z3Word<Bits>(z3::urem(a.expr(), b.expr())); }
template <unsigned Bits>
z3::expr umul_overflows(const Z3Word<Bits>& a, const Z3Word<Bits>& b) {
  return !z3::expr(a.ctx(), Z3_mk_bvmul_no_overflow(a.ctx(), a.expr(), b.expr(), false));
}
template <unsigned Bits>
z3::expr smul_overflows(const Z3Word<Bits>& a, const Z3Word<Bits>& b) {
  const z3::expr no_overflow(a.ctx(), Z3_mk_bvmul_no_overflow(a.ctx(), a.expr(), b.expr(), true));
  const z3::expr no_underflow(a.ctx(), Z3_mk_bvmul_no_underflow(a.ctx(), a.expr(), b.expr()));
  return !(no_overflow && no_underflow);
}
template <unsigned Bits>
typename Z3Word<Bits>::Half low_half(const Z3Word<Bits>& a) {
  return typename Z3Word<Bits>::Half(a.expr().extract(Z3Word<Bits>::Half::bits - 1, 0));
}
template <class W, unsigned HalfBits>
W zero_extend_to(const Z3Word<HalfBits>& h) { return W(z3::zext(h.expr(), W::bits - HalfBits)); }
template <class W, unsigned HalfBits>
W sign_extend_to(const Z3Word<HalfBits>& h) { return W(z3::sext(h.expr(), W::bits - HalfBits)); }
template <unsigned Bits>
bool known_zero(const Z3Word<Bits>&) { return false; }

}  // namespace bpfvet::domains::proof
