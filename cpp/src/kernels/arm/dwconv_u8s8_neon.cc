// dwconv_u8s8 for baseline aarch64 Advanced SIMD: direct NHWC depthwise convolution, 16 channels
// per pass (then one 8-channel pass, then a 1..7-channel tail through stack copies).
// Packed weights: int16, [KH*KW][round_up(C, 8)], sign-extended once at load and zero beyond C
// (so the 8-lane loads of the tail stay inside the buffer).
// Exactness (dwconv_u8s8.h): per valid tap, `usubl` (vsubl_u8) forms x - in_zp in 16 bits; the
// true value is in [-255, 255], so the 16-bit pattern read as int16 is exact; `smlal`/`smlal2`
// (vmlal_s16) add (x - zp) * w (|.| <= 255 * 128, exact) into int32 lanes with wrap-around,
// i.e. modulo 2^32 like the reference, in any order. Taps in the padding are skipped (they
// contribute exactly 0 by the contract). The epilogue is the reference's float sequence: scvtf,
// fmul by scale, fmax/fmin clamp (no NaN can occur; the sign of a zero rounds to the same integer),
// fcvtns (nearest, ties to even) + out_zp, narrowed exactly ([0, 255]). Loads of x stay inside the
// pixel's C channels (tails are memcpy'd), bias/scale are read only at [0, C), y is written only
// at the computed pixels' C channels. The valid tap ranges [kh0, kh1) x [kw0, kw1) are computed once
// per output pixel (no bounds test per tap). Pixel-outer: weights are reloaded from L1 per pixel.
#include <arm_neon.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace neon {
namespace {

inline size_t cpad(size_t C) { return (C + 7) / 8 * 8; }

size_t packed_size(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/) { return KH * KW * cpad(C) * 2; }

void pack(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/, const int8_t* w, void* packed) {
  int16_t* o = static_cast<int16_t*>(packed);
  const size_t cp = cpad(C);
  for (size_t t = 0; t < KH * KW; ++t)
    for (size_t c = 0; c < cp; ++c) o[t * cp + c] = c < C ? w[t * C + c] : int16_t(0);
}

struct Ctx {
  const DwConvU8S8Params* p;
  const uint8_t* x;
  const int16_t* w;
  size_t cp;           // packed channel stride
  uint8x8_t zp8;       // in_zero_point
  float32x4_t lo, hi;  // qmin - out_zp, qmax - out_zp
  int32x4_t ozp;
};

// The taps [k0, k1) of a window starting at input coordinate i0 (may be negative) with dilation d
// that fall inside [0, n): exactly those the reference does not skip.
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
  ptrdiff_t ih0, iw0;  // the window's top-left input coordinate (may be negative)
};

// One output pixel, channels [c0, c0 + 8 * NV) (TAIL: NV = 1 and only `cnt` < 8 channels exist).
template <int NV, bool TAIL>
__attribute__((always_inline)) inline void pixel(const Ctx& k, const Window& wd, size_t c0,
                                                 size_t cnt, uint8_t* yp) {
  const DwConvU8S8Params& p = *k.p;
  int32x4_t acc[2 * NV];
  {
    int32_t b[8 * NV] = {};
    if (p.bias) std::memcpy(b, p.bias + c0, (TAIL ? cnt : 8 * NV) * 4);
#pragma GCC unroll 4
    for (int j = 0; j < 2 * NV; ++j) acc[j] = vld1q_s32(b + 4 * j);
  }
  const size_t xstep = p.dilation_w * p.C;
  const size_t kh1 = wd.kw0 < wd.kw1 ? wd.kh1 : wd.kh0;  // no pointer to a column outside x
  for (size_t kh = wd.kh0; kh < kh1; ++kh) {
    const size_t ih = static_cast<size_t>(wd.ih0 + static_cast<ptrdiff_t>(kh * p.dilation_h));
    const size_t iw = static_cast<size_t>(wd.iw0 + static_cast<ptrdiff_t>(wd.kw0 * p.dilation_w));
    const uint8_t* xp = k.x + (ih * p.W + iw) * p.C + c0;
    const int16_t* wp = k.w + (kh * p.KW + wd.kw0) * k.cp + c0;
    for (size_t kw = wd.kw0; kw < wd.kw1; ++kw, xp += xstep, wp += k.cp) {
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) {
        uint8x8_t xv;
        if constexpr (TAIL) {
          uint8_t t[8] = {};
          std::memcpy(t, xp, cnt);
          xv = vld1_u8(t);
        } else {
          xv = vld1_u8(xp + 8 * j);
        }
        const int16_t* wj = wp + 8 * j;
        const int16x8_t d = vreinterpretq_s16_u16(vsubl_u8(xv, k.zp8));
        const int16x8_t wv = vld1q_s16(wj);
        acc[2 * j] = vmlal_s16(acc[2 * j], vget_low_s16(d), vget_low_s16(wv));
        acc[2 * j + 1] = vmlal_high_s16(acc[2 * j + 1], d, wv);
      }
    }
  }
  float sc[8 * NV];
  if constexpr (TAIL) {
    std::memset(sc, 0, sizeof(sc));
    std::memcpy(sc, p.scale + c0, cnt * 4);
  } else {
    std::memcpy(sc, p.scale + c0, sizeof(sc));
  }
  uint16x4_t q[2 * NV];
#pragma GCC unroll 4
  for (int j = 0; j < 2 * NV; ++j) {
    const float32x4_t r = vmulq_f32(vcvtq_f32_s32(acc[j]), vld1q_f32(sc + 4 * j));
    const int32x4_t qi = vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(r, k.lo), k.hi)), k.ozp);
    q[j] = vmovn_u32(vreinterpretq_u32_s32(qi));  // in [0, 255]: exact
  }
  if constexpr (NV == 2) {
    vst1q_u8(yp + c0, vcombine_u8(vmovn_u16(vcombine_u16(q[0], q[1])),
                                  vmovn_u16(vcombine_u16(q[2], q[3]))));
  } else if constexpr (!TAIL) {
    vst1_u8(yp + c0, vmovn_u16(vcombine_u16(q[0], q[1])));
  } else {
    uint8_t t[8];
    vst1_u8(t, vmovn_u16(vcombine_u16(q[0], q[1])));
    std::memcpy(yp + c0, t, cnt);
  }
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  Ctx k;
  k.p = &p;
  k.x = x;
  k.w = static_cast<const int16_t*>(packed);
  k.cp = cpad(p.C);
  k.zp8 = vdup_n_u8(static_cast<uint8_t>(p.in_zero_point));
  k.lo = vdupq_n_f32(static_cast<float>(p.qmin - p.out_zero_point));
  k.hi = vdupq_n_f32(static_cast<float>(p.qmax - p.out_zero_point));
  k.ozp = vdupq_n_s32(p.out_zero_point);
  Window wd;
  for (size_t oh = oh_begin; oh < oh_end; ++oh) {
    wd.ih0 = static_cast<ptrdiff_t>(oh * p.stride_h) - static_cast<ptrdiff_t>(p.pad_top);
    valid_taps(wd.ih0, p.KH, p.dilation_h, p.H, &wd.kh0, &wd.kh1);
    for (size_t ow = 0; ow < p.OW; ++ow) {
      wd.iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
      valid_taps(wd.iw0, p.KW, p.dilation_w, p.W, &wd.kw0, &wd.kw1);
      uint8_t* yp = y + (oh * p.OW + ow) * p.C;
      size_t c = 0;
      for (; c + 16 <= p.C; c += 16) pixel<2, false>(k, wd, c, 16, yp);
      if (c + 8 <= p.C) pixel<1, false>(k, wd, c, 8, yp), c += 8;
      if (c < p.C) pixel<1, true>(k, wd, c, p.C - c, yp);
    }
  }
}

}  // namespace
}  // namespace neon

extern const DwConvU8S8Kernel dwconv_u8s8_c16_neon = {"dwconv_u8s8_c16_neon", cpu::Isa::kNeon,
                                                      neon::packed_size, neon::pack, neon::run};

}  // namespace qrt::kernels
