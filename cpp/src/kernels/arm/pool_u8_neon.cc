// pool_u8 (max / average / global average pooling, NHWC u8) for baseline aarch64 Advanced SIMD:
// 16 channels per pass, then 8, then a 1..7-channel tail through zero-filled stack copies (x is
// never read outside a pixel's C channels, y never written outside them). The valid taps of a
// window are computed once per output pixel as ranges [kh0, kh1) x [kw0, kw1) — exactly the taps
// the reference visits.
// Exactness (pool_u8.h):
// * max: `umax` over the valid taps starting from qmin, then `umin` with qmax (integer, exact;
//   zero-filled tail lanes cannot win against qmin >= 0 and are discarded anyway).
// * avg / global avg: x - in_zp formed by `usubl` (exact in int16, [-255, 255]) and added into int32
//   lanes with `saddw` (the reference's int32 sum). Then `scvtf`, `fdiv` by (float)divisor (IEEE,
//   never a reciprocal), `fmul` by mult (no FMA), `fmaxnm`/`fminnm` clamp (no NaN can occur; the
//   sign of a zero rounds to the same integer), `fcvtns` (nearest, ties to even) + out_zp, narrowed
//   exactly ([0, 255]). divisor = KH * KW with count_include_pad, else the number of valid taps,
//   and 1 when that is 0 (as the reference).
#include <arm_neon.h>

#include <cstring>

#include "kernels/pool_u8.h"

namespace qrt::kernels {
namespace neon {
namespace {

// The taps [k0, k1) of a window starting at input coordinate i0 (may be negative) with dilation d
// that fall inside [0, n).
inline void valid_taps(ptrdiff_t i0, size_t K, size_t d, size_t n, size_t* k0, size_t* k1) {
  const ptrdiff_t sd = static_cast<ptrdiff_t>(d), sn = static_cast<ptrdiff_t>(n);
  size_t lo = i0 >= 0 ? 0 : static_cast<size_t>((-i0 + sd - 1) / sd);
  size_t hi = i0 >= sn ? 0 : static_cast<size_t>((sn - 1 - i0) / sd + 1);
  if (hi > K) hi = K;
  if (lo > hi) lo = hi;
  *k0 = lo;
  *k1 = hi;
}

struct Window {
  size_t kh0, kh1, kw0, kw1;
  ptrdiff_t ih0, iw0;
  size_t taps() const { return (kh1 - kh0) * (kw1 - kw0); }
};

// Loads channels [c, c + 8) of a pixel, or only `cnt` of them (zero-filled) for the tail.
template <bool TAIL>
inline uint8x8_t load8(const uint8_t* p, size_t cnt) {
  if constexpr (TAIL) {
    uint8_t t[8] = {};
    std::memcpy(t, p, cnt);
    return vld1_u8(t);
  } else {
    return vld1_u8(p);
  }
}

template <bool TAIL>
inline void store8(uint8_t* p, uint8x8_t v, size_t cnt) {
  if constexpr (TAIL) {
    uint8_t t[8];
    vst1_u8(t, v);
    std::memcpy(p, t, cnt);
  } else {
    vst1_u8(p, v);
  }
}

// Calls f(pixel pointer at channel c) for every valid tap of the window.
template <class F>
__attribute__((always_inline)) inline void for_taps(const PoolU8Params& p, const uint8_t* x,
                                                    const Window& wd, size_t c, F&& f) {
  if (wd.kw0 >= wd.kw1) return;
  const size_t xstep = p.dilation_w * p.C;
  for (size_t kh = wd.kh0; kh < wd.kh1; ++kh) {
    const size_t ih = static_cast<size_t>(wd.ih0 + static_cast<ptrdiff_t>(kh * p.dilation_h));
    const size_t iw = static_cast<size_t>(wd.iw0 + static_cast<ptrdiff_t>(wd.kw0 * p.dilation_w));
    const uint8_t* xp = x + (ih * p.W + iw) * p.C + c;
    for (size_t kw = wd.kw0; kw < wd.kw1; ++kw, xp += xstep) f(xp);
  }
}

struct Requant {
  float32x4_t mult, lo, hi;
  int32x4_t ozp;
  uint8x8_t izp;
  explicit Requant(const PoolU8Params& p) {
    mult = vdupq_n_f32(p.mult);
    lo = vdupq_n_f32(static_cast<float>(p.qmin - p.out_zero_point));
    hi = vdupq_n_f32(static_cast<float>(p.qmax - p.out_zero_point));
    ozp = vdupq_n_s32(p.out_zero_point);
    izp = vdup_n_u8(static_cast<uint8_t>(p.in_zero_point));
  }
  // 8 channel sums (two int32x4) -> 8 u8.
  uint8x8_t operator()(int32x4_t s0, int32x4_t s1, float32x4_t div) const {
    float32x4_t r0 = vmulq_f32(vdivq_f32(vcvtq_f32_s32(s0), div), mult);
    float32x4_t r1 = vmulq_f32(vdivq_f32(vcvtq_f32_s32(s1), div), mult);
    r0 = vminnmq_f32(vmaxnmq_f32(r0, lo), hi);
    r1 = vminnmq_f32(vmaxnmq_f32(r1, lo), hi);
    const int32x4_t q0 = vaddq_s32(vcvtnq_s32_f32(r0), ozp);
    const int32x4_t q1 = vaddq_s32(vcvtnq_s32_f32(r1), ozp);
    return vmovn_u16(vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(q0)),
                                  vmovn_u32(vreinterpretq_u32_s32(q1))));
  }
};

// Accumulates (x - zp) of 8 channels into two int32x4.
inline void accumulate(int32x4_t& s0, int32x4_t& s1, uint8x8_t x, uint8x8_t zp) {
  const int16x8_t d = vreinterpretq_s16_u16(vsubl_u8(x, zp));
  s0 = vaddw_s16(s0, vget_low_s16(d));
  s1 = vaddw_high_s16(s1, d);
}

template <class F>
void for_pixels(const PoolU8Params& p, size_t oh_begin, size_t oh_end, F&& f) {
  Window wd;
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    wd.ih0 = static_cast<ptrdiff_t>(oh * p.stride_h) - static_cast<ptrdiff_t>(p.pad_top);
    valid_taps(wd.ih0, p.KH, p.dilation_h, p.H, &wd.kh0, &wd.kh1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      wd.iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
      valid_taps(wd.iw0, p.KW, p.dilation_w, p.W, &wd.kw0, &wd.kw1);
      f(wd, (oh * p.OW + ow) * p.C);
    }
  }
}

template <bool TAIL>
inline void max8(const PoolU8Params& p, const uint8_t* x, const Window& wd, size_t c, size_t cnt,
                 uint8_t* yp) {
  uint8x8_t m = vdup_n_u8(static_cast<uint8_t>(p.qmin));
  for_taps(p, x, wd, c, [&](const uint8_t* xp) { m = vmax_u8(m, load8<TAIL>(xp, cnt)); });
  store8<TAIL>(yp + c, vmin_u8(m, vdup_n_u8(static_cast<uint8_t>(p.qmax))), cnt);
}

void max_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const uint8x16_t qmin = vdupq_n_u8(static_cast<uint8_t>(p.qmin));
  const uint8x16_t qmax = vdupq_n_u8(static_cast<uint8_t>(p.qmax));
  for_pixels(p, oh_begin, oh_end, [&](const Window& wd, size_t yoff) {
    uint8_t* yp = y + yoff;
    size_t c = 0;
    for (; c + 16 <= p.C; c += 16) {
      uint8x16_t m = qmin;
      for_taps(p, x, wd, c, [&](const uint8_t* xp) { m = vmaxq_u8(m, vld1q_u8(xp)); });
      vst1q_u8(yp + c, vminq_u8(m, qmax));
    }
    if (c + 8 <= p.C) max8<false>(p, x, wd, c, 8, yp), c += 8;
    if (c < p.C) max8<true>(p, x, wd, c, p.C - c, yp);
  });
}

template <bool TAIL>
inline void avg8(const PoolU8Params& p, const Requant& rq, const uint8_t* x, const Window& wd,
                 size_t c, size_t cnt, float32x4_t div, uint8_t* yp) {
  int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
  for_taps(p, x, wd, c, [&](const uint8_t* xp) { accumulate(s0, s1, load8<TAIL>(xp, cnt), rq.izp); });
  store8<TAIL>(yp + c, rq(s0, s1, div), cnt);
}

void avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  const Requant rq(p);
  for_pixels(p, oh_begin, oh_end, [&](const Window& wd, size_t yoff) {
    uint8_t* yp = y + yoff;
    size_t divisor = p.count_include_pad ? p.KH * p.KW : wd.taps();
    if (divisor == 0) divisor = 1;
    const float32x4_t div = vdupq_n_f32(static_cast<float>(static_cast<int32_t>(divisor)));
    size_t c = 0;
    for (; c + 16 <= p.C; c += 16) {
      int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
      for_taps(p, x, wd, c, [&](const uint8_t* xp) {
        const uint8x16_t v = vld1q_u8(xp);
        accumulate(s0, s1, vget_low_u8(v), rq.izp);
        accumulate(s2, s3, vget_high_u8(v), rq.izp);
      });
      vst1q_u8(yp + c, vcombine_u8(rq(s0, s1, div), rq(s2, s3, div)));
    }
    if (c + 8 <= p.C) avg8<false>(p, rq, x, wd, c, 8, div, yp), c += 8;
    if (c < p.C) avg8<true>(p, rq, x, wd, c, p.C - c, div, yp);
  });
}

void global_avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y) {
  const Requant rq(p);
  const size_t HW = p.H * p.W;
  const float32x4_t div =
      vdupq_n_f32(static_cast<float>(static_cast<int32_t>(HW > 0 ? HW : 1)));
  size_t c = 0;
  for (; c + 16 <= p.C; c += 16) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < HW; ++i) {
      const uint8x16_t v = vld1q_u8(x + i * p.C + c);
      accumulate(s0, s1, vget_low_u8(v), rq.izp);
      accumulate(s2, s3, vget_high_u8(v), rq.izp);
    }
    vst1q_u8(y + c, vcombine_u8(rq(s0, s1, div), rq(s2, s3, div)));
  }
  for (; c < p.C; c += 8) {
    const size_t cnt = p.C - c < 8 ? p.C - c : 8;
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
    if (cnt == 8) {
      for (size_t i = 0; i < HW; ++i) accumulate(s0, s1, vld1_u8(x + i * p.C + c), rq.izp);
      store8<false>(y + c, rq(s0, s1, div), 8);
    } else {
      for (size_t i = 0; i < HW; ++i) accumulate(s0, s1, load8<true>(x + i * p.C + c, cnt), rq.izp);
      store8<true>(y + c, rq(s0, s1, div), cnt);
    }
  }
}

}  // namespace
}  // namespace neon

extern const PoolU8Kernel pool_u8_neon = {"pool_u8_neon", cpu::Isa::kNeon, neon::max_pool,
                                          neon::avg_pool, neon::global_avg_pool};

}  // namespace qrt::kernels
