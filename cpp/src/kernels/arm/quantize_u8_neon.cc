// quantize_u8 for baseline aarch64 Advanced SIMD: 16 floats per step (4 q registers), then 4 per
// step, then a zero-padded stack copy of the last 1..3 (never reading past x[n-1], never writing
// past q[n-1]). Equal to the reference bit for bit (quantize_u8.h), operation by operation:
// * minmax: `fmin`/`fmax` (vminq_f32/vmaxq_f32) propagate NaN, and +-Inf reaches lo or hi, so the
//   input is finite iff the final lo and hi are (no separate exponent test). For finite inputs
//   fmin/fmax give the true min/max of {+0, x...} except that fmin orders -0 below +0; the
//   reference's strict comparisons from +0 never keep a -0, so a zero result is returned as +0.
//   Any other min/max is a unique value, whatever the lane order.
// * quantize: v = x / scale with `fdiv` (never a reciprocal); the clamps use `fmaxnm`/`fminnm`
//   with the bound as the other operand: for a (quiet) NaN v they return the bound, like the
//   reference's (v > lo) ? v : lo, so NaN gives q = 0; otherwise they equal the reference except
//   for the sign of a zero, which rounds to the same integer. `fcvtns` (vcvtnq_s32_f32) rounds to
//   nearest, ties to even, like nearbyint in the default mode; + zp in [0, 255], narrowed exactly.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "kernels/quantize_u8.h"

namespace qrt::kernels {
namespace neon {
namespace {

bool minmax(const float* x, size_t n, float* lo, float* hi) {
  float32x4_t l0 = vdupq_n_f32(0.0f), l1 = l0, l2 = l0, l3 = l0;
  float32x4_t h0 = l0, h1 = l0, h2 = l0, h3 = l0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
    const float32x4_t v2 = vld1q_f32(x + i + 8), v3 = vld1q_f32(x + i + 12);
    l0 = vminq_f32(l0, v0), h0 = vmaxq_f32(h0, v0);
    l1 = vminq_f32(l1, v1), h1 = vmaxq_f32(h1, v1);
    l2 = vminq_f32(l2, v2), h2 = vmaxq_f32(h2, v2);
    l3 = vminq_f32(l3, v3), h3 = vmaxq_f32(h3, v3);
  }
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    l0 = vminq_f32(l0, v), h0 = vmaxq_f32(h0, v);
  }
  if (i < n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // +0 padding cannot change min(+0, ...) / max
    std::memcpy(t, x + i, (n - i) * 4);
    const float32x4_t v = vld1q_f32(t);
    l0 = vminq_f32(l0, v), h0 = vmaxq_f32(h0, v);
  }
  float l = vminvq_f32(vminq_f32(vminq_f32(l0, l1), vminq_f32(l2, l3)));
  const float h = vmaxvq_f32(vmaxq_f32(vmaxq_f32(h0, h1), vmaxq_f32(h2, h3)));
  if (l == 0.0f) l = 0.0f;  // -0 -> +0 (see above)
  *lo = l;
  *hi = h;
  return std::isfinite(l) && std::isfinite(h);
}

inline uint16x4_t quant4(float32x4_t x, float32x4_t scale, float32x4_t lo, float32x4_t hi,
                         int32x4_t zp) {
  float32x4_t v = vdivq_f32(x, scale);
  v = vminnmq_f32(vmaxnmq_f32(v, lo), hi);
  // zp + round(v) is in [0, 255]: narrowing keeps the exact value.
  return vmovn_u32(vreinterpretq_u32_s32(vaddq_s32(vcvtnq_s32_f32(v), zp)));
}

void quantize(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q) {
  const float32x4_t s = vdupq_n_f32(scale);
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(-zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(255 - zero_point));
  const int32x4_t zp = vdupq_n_s32(zero_point);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint16x8_t w0 = vcombine_u16(quant4(vld1q_f32(x + i), s, lo, hi, zp),
                                       quant4(vld1q_f32(x + i + 4), s, lo, hi, zp));
    const uint16x8_t w1 = vcombine_u16(quant4(vld1q_f32(x + i + 8), s, lo, hi, zp),
                                       quant4(vld1q_f32(x + i + 12), s, lo, hi, zp));
    vst1q_u8(q + i, vcombine_u8(vmovn_u16(w0), vmovn_u16(w1)));
  }
  for (; i + 4 <= n; i += 4) {
    const uint16x4_t w = quant4(vld1q_f32(x + i), s, lo, hi, zp);
    const uint8x8_t b = vmovn_u16(vcombine_u16(w, w));
    const uint32_t four = vget_lane_u32(vreinterpret_u32_u8(b), 0);
    std::memcpy(q + i, &four, 4);
  }
  if (i < n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(t, x + i, (n - i) * 4);
    const uint16x4_t w = quant4(vld1q_f32(t), s, lo, hi, zp);
    uint8_t b[8];
    vst1_u8(b, vmovn_u16(vcombine_u16(w, w)));
    std::memcpy(q + i, b, n - i);
  }
}

}  // namespace
}  // namespace neon

extern const QuantizeU8Kernel quantize_f32u8_neon = {"quantize_f32u8_neon", cpu::Isa::kNeon,
                                                     neon::minmax, neon::quantize};

}  // namespace qrt::kernels
