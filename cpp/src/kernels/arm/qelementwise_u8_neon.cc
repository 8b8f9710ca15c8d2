// qelementwise_u8 (quantized add / mul) for baseline aarch64 Advanced SIMD: 16 elements per step,
// the last 1..15 through zero-filled stack copies (never reading past a[n-1] / b[n-1] nor writing
// past y[n-1]). Each 16-byte block is loaded before it is stored, so y may alias a or b.
// Exactness (qelementwise_u8.h), operation by operation:
// * x - zp for u8 x and zp in [0, 255]: `uxtl` to 16 bits and a 16-bit `sub` give the exact value
//   (in [-255, 255]); `sxtl` to int32 and `scvtf` keep it exact.
// * add: `fmul` by a_mult, `fmul` by b_mult, one `fadd` (never `fmla`; -ffp-contract=off keeps
//   GCC from fusing vmulq_f32 + vaddq_f32, which it implements as plain operators).
// * mul: (a - a_zp) * (b - b_zp) with `smull` on int16 (exact, |.| <= 65025), `scvtf` (exact below
//   2^24), one `fmul`.
// * clamp: `fmaxnm` / `fminnm` with the bound second: for a quiet NaN r (inf - inf when the
//   multipliers are huge) they return the bound, as the reference's r > lo ? r : lo does;
//   otherwise they differ from it only in the sign of a zero, which rounds to the same integer.
//   `fcvtns` rounds to nearest, ties to even; + out_zp lies in [0, 255] and is narrowed exactly.
#include <arm_neon.h>

#include <cstring>

#include "kernels/qelementwise_u8.h"

namespace qrt::kernels {
namespace neon {
namespace {

struct Consts {
  int16x8_t azp, bzp;
  float32x4_t am, bm, m, lo, hi;
  int32x4_t ozp;
};

Consts consts(const QElementwiseU8Params& p) {
  Consts c;
  c.azp = vdupq_n_s16(static_cast<int16_t>(p.a_zero_point));
  c.bzp = vdupq_n_s16(static_cast<int16_t>(p.b_zero_point));
  c.am = vdupq_n_f32(p.a_mult);
  c.bm = vdupq_n_f32(p.b_mult);
  c.m = vdupq_n_f32(p.mult);
  c.lo = vdupq_n_f32(static_cast<float>(p.qmin - p.out_zero_point));
  c.hi = vdupq_n_f32(static_cast<float>(p.qmax - p.out_zero_point));
  c.ozp = vdupq_n_s32(p.out_zero_point);
  return c;
}

// x - zp for 8 u8 values, as int16 (exact: in [-255, 255]).
inline int16x8_t centered(uint8x8_t x, int16x8_t zp) {
  return vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(x)), zp);
}

inline uint16x4_t finish4(const Consts& c, float32x4_t r) {
  r = vminnmq_f32(vmaxnmq_f32(r, c.lo), c.hi);
  return vmovn_u32(vreinterpretq_u32_s32(vaddq_s32(vcvtnq_s32_f32(r), c.ozp)));
}

inline float32x4_t add4(const Consts& c, int16x4_t da, int16x4_t db) {
  const float32x4_t va = vmulq_f32(vcvtq_f32_s32(vmovl_s16(da)), c.am);
  const float32x4_t vb = vmulq_f32(vcvtq_f32_s32(vmovl_s16(db)), c.bm);
  return vaddq_f32(va, vb);
}

inline float32x4_t mul4(const Consts& c, int16x4_t da, int16x4_t db) {
  return vmulq_f32(vcvtq_f32_s32(vmull_s16(da, db)), c.m);
}

template <bool MUL>
inline uint8x16_t block16(const Consts& c, uint8x16_t a, uint8x16_t b) {
  const int16x8_t a0 = centered(vget_low_u8(a), c.azp), a1 = centered(vget_high_u8(a), c.azp);
  const int16x8_t b0 = centered(vget_low_u8(b), c.bzp), b1 = centered(vget_high_u8(b), c.bzp);
  float32x4_t r[4];
  if constexpr (MUL) {
    r[0] = mul4(c, vget_low_s16(a0), vget_low_s16(b0));
    r[1] = mul4(c, vget_high_s16(a0), vget_high_s16(b0));
    r[2] = mul4(c, vget_low_s16(a1), vget_low_s16(b1));
    r[3] = mul4(c, vget_high_s16(a1), vget_high_s16(b1));
  } else {
    r[0] = add4(c, vget_low_s16(a0), vget_low_s16(b0));
    r[1] = add4(c, vget_high_s16(a0), vget_high_s16(b0));
    r[2] = add4(c, vget_low_s16(a1), vget_low_s16(b1));
    r[3] = add4(c, vget_high_s16(a1), vget_high_s16(b1));
  }
  const uint16x8_t lo = vcombine_u16(finish4(c, r[0]), finish4(c, r[1]));
  const uint16x8_t hi = vcombine_u16(finish4(c, r[2]), finish4(c, r[3]));
  return vcombine_u8(vmovn_u16(lo), vmovn_u16(hi));
}

template <bool MUL>
void apply(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
           uint8_t* y, size_t n) {
  const Consts c = consts(p);
  const uint8x16_t bs = vdupq_n_u8(n && b_scalar ? b[0] : 0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint8x16_t av = vld1q_u8(a + i);
    const uint8x16_t bv = b_scalar ? bs : vld1q_u8(b + i);
    vst1q_u8(y + i, block16<MUL>(c, av, bv));
  }
  if (i < n) {
    uint8_t ta[16] = {}, tb[16] = {}, ty[16];
    std::memcpy(ta, a + i, n - i);
    if (!b_scalar) std::memcpy(tb, b + i, n - i);
    const uint8x16_t bv = b_scalar ? bs : vld1q_u8(tb);
    vst1q_u8(ty, block16<MUL>(c, vld1q_u8(ta), bv));
    std::memcpy(y + i, ty, n - i);
  }
}

void add(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  apply<false>(p, a, b, b_scalar, y, n);
}

void mul(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  apply<true>(p, a, b, b_scalar, y, n);
}

}  // namespace
}  // namespace neon

extern const QElementwiseU8Kernel qelementwise_u8_neon = {"qelementwise_u8_neon", cpu::Isa::kNeon,
                                                          neon::add, neon::mul};

}  // namespace qrt::kernels
