// AVX-512 depthwise convolution (NHWC): per output pixel, the valid tap window is computed once,
// then channels go 64 at a time (4 zmm accumulators, so each tap's address math is shared by 4
// FMAs), then 16 at a time, then one masked vector for the channel tail. Accumulators start
// from the bias; taps in (ky, kx) order; clamp as in dwconv_f32.h.
#include <immintrin.h>

#include "kernels/dwconv_f32.h"

// GCC 12 reports _mm512_undefined_ps() inside max/min intrinsics as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qrt::kernels::avx512 {
namespace {

struct Window {
  size_t ky0, ky1, kx0, kx1;  // valid tap ranges [ky0, ky1) x [kx0, kx1)
};

// First tap index k with o*s + k*d >= pad, and one past the last with o*s + k*d - pad < in.
inline void tap_range(size_t o, size_t s, size_t d, size_t pad, size_t in, size_t k, size_t* k0,
                      size_t* k1) {
  size_t base = o * s;
  size_t lo = base >= pad ? 0 : (pad - base + d - 1) / d;
  size_t hi = base + (k - 1) * d < pad + in ? k : (pad + in > base ? (pad + in - base + d - 1) / d : 0);
  *k0 = lo < k ? lo : k;
  *k1 = hi > *k0 ? hi : *k0;
}

// in_base + in_off = input pixel of tap (0, 0) at channel c (may lie outside the image: only
// offsets of valid taps are ever added before dereferencing, so no out-of-range pointer is formed).
template <int NV>
inline void pixel_block(const DwConvF32Shape& s, const Window& w, const float* in_base, long in_off,
                        const float* wts, const float* bias, __m512 vmin, __m512 vmax, float* out,
                        __mmask16 tail) {
  __m512 acc[NV];
  for (int v = 0; v < NV; ++v) {
    __mmask16 m = v == NV - 1 ? tail : 0xffff;
    acc[v] = bias ? _mm512_maskz_loadu_ps(m, bias + 16 * v) : _mm512_setzero_ps();
  }
  const size_t C = s.C;
  for (size_t ky = w.ky0; ky < w.ky1; ++ky) {
    long row_off = in_off + static_cast<long>(ky * s.dilation_h * s.W * C);
    const float* wrow = wts + ky * s.KW * C;
    for (size_t kx = w.kx0; kx < w.kx1; ++kx) {
      const float* ip = in_base + (row_off + static_cast<long>(kx * s.dilation_w * C));
      const float* wp = wrow + kx * C;
      for (int v = 0; v < NV; ++v) {
        __mmask16 m = v == NV - 1 ? tail : 0xffff;
        acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip + 16 * v),
                                 _mm512_maskz_loadu_ps(m, wp + 16 * v), acc[v]);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    __mmask16 m = v == NV - 1 ? tail : 0xffff;
    __m512 x = _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[v]));
    _mm512_mask_storeu_ps(out + 16 * v, m, x);
  }
}

}  // namespace

void dwconv_f32_avx512(const DwConvF32Shape& s, const float* input, const float* weights,
                       const float* bias, float fmin, float fmax, float* output, size_t oy_begin,
                       size_t oy_end) {
  const size_t OW = s.out_w(), C = s.C;
  const __m512 vmin = _mm512_set1_ps(fmin), vmax = _mm512_set1_ps(fmax);
  for (size_t oy = oy_begin; oy < oy_end; ++oy) {
    Window w;
    tap_range(oy, s.stride_h, s.dilation_h, s.pad_top, s.H, s.KH, &w.ky0, &w.ky1);
    for (size_t ox = 0; ox < OW; ++ox) {
      tap_range(ox, s.stride_w, s.dilation_w, s.pad_left, s.W, s.KW, &w.kx0, &w.kx1);
      long iy0 = static_cast<long>(oy * s.stride_h) - static_cast<long>(s.pad_top);
      long ix0 = static_cast<long>(ox * s.stride_w) - static_cast<long>(s.pad_left);
      long off = (iy0 * static_cast<long>(s.W) + ix0) * static_cast<long>(C);
      float* out = output + (oy * OW + ox) * C;
      size_t c = 0;
      for (; c + 64 <= C; c += 64)
        pixel_block<4>(s, w, input, off + static_cast<long>(c), weights + c, bias ? bias + c : nullptr, vmin, vmax,
                       out + c, 0xffff);
      for (; c + 16 <= C; c += 16)
        pixel_block<1>(s, w, input, off + static_cast<long>(c), weights + c, bias ? bias + c : nullptr, vmin, vmax,
                       out + c, 0xffff);
      if (c < C)
        pixel_block<1>(s, w, input, off + static_cast<long>(c), weights + c, bias ? bias + c : nullptr, vmin, vmax,
                       out + c, static_cast<__mmask16>((1u << (C - c)) - 1));
    }
  }
}

extern const DwConvF32Kernel dwconv_f32_avx512_kernel = {"dwconv_f32_c64_avx512",
                                                         cpu::Isa::kAvx512, dwconv_f32_avx512};

}  // namespace qrt::kernels::avx512
