// AVX2 + FMA depthwise convolution (NHWC): the AVX-512 kernel's structure with ymm — per output
// pixel the valid tap window once, channels 32 at a time (4 accumulators), then 8 at a time, then
// a vmaskmovps tail; two neighbouring pixels with the same window run together (pixel_pair).
// Accumulators start from the bias; taps in (ky, kx) order.
#include <immintrin.h>

#include "kernels/dwconv_f32.h"

namespace qrt::kernels::avx2 {
namespace {

struct Window {
  size_t ky0, ky1, kx0, kx1;
};

inline void tap_range(size_t o, size_t s, size_t d, size_t pad, size_t in, size_t k, size_t* k0,
                      size_t* k1) {
  size_t base = o * s;
  size_t lo = base >= pad ? 0 : (pad - base + d - 1) / d;
  size_t hi = base + (k - 1) * d < pad + in ? k : (pad + in > base ? (pad + in - base + d - 1) / d : 0);
  *k0 = lo < k ? lo : k;
  *k1 = hi > *k0 ? hi : *k0;
}

// f(input, weights) for each tap of the window, in (ky, kx) order; in_off: the window's origin.
template <class F>
__attribute__((always_inline)) inline void for_each_tap(const DwConvF32Shape& s, const Window& w,
                                                        const float* in_base, long in_off,
                                                        const float* wts, F&& f) {
  const size_t C = s.C;
  for (size_t ky = w.ky0; ky < w.ky1; ++ky) {
    const long row_off = in_off + static_cast<long>(ky * s.dilation_h * s.W * C);
    const float* wrow = wts + ky * s.KW * C;
    for (size_t kx = w.kx0; kx < w.kx1; ++kx)
      f(in_base + (row_off + static_cast<long>(kx * s.dilation_w * C)), wrow + kx * C);
  }
}

template <int NV, bool kTail>
inline void pixel_block(const DwConvF32Shape& s, const Window& w, const float* in_base, long in_off,
                        const float* wts, const float* bias, __m256 vmin, __m256 vmax, float* out,
                        __m256i tail) {
  auto load = [&](const float* p, int v) {
    return (kTail && v == NV - 1) ? _mm256_maskload_ps(p, tail) : _mm256_loadu_ps(p);
  };
  __m256 acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = bias ? load(bias + 8 * v, v) : _mm256_setzero_ps();
  for_each_tap(s, w, in_base, in_off, wts, [&](const float* ip, const float* wp) __attribute__((always_inline)) {
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_fmadd_ps(load(ip + 8 * v, v), load(wp + 8 * v, v), acc[v]);
  });
  for (int v = 0; v < NV; ++v) {
    __m256 x = _mm256_min_ps(vmax, _mm256_max_ps(vmin, acc[v]));
    if (kTail && v == NV - 1) {
      _mm256_maskstore_ps(out + 8 * v, tail, x);
    } else {
      _mm256_storeu_ps(out + 8 * v, x);
    }
  }
}

// Two output pixels with the same tap window (the input of the second `step` floats further on),
// NV full vectors of channels each: 2 NV accumulators share each weight load. One pixel alone is
// bound by the FMA latency (each accumulator a chain of KH x KW dependent FMAs, 4 chains of 4
// cycles); two pixels fill both FMA pipes. Each output's sum is the one pixel_block computes (from
// the bias, taps in (ky, kx) order).
template <int NV>
inline void pixel_pair(const DwConvF32Shape& s, const Window& w, const float* in_base, long in_off,
                       long step, const float* wts, const float* bias, __m256 vmin, __m256 vmax,
                       float* out) {
  __m256 a0[NV], a1[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) a0[v] = a1[v] = bias ? _mm256_loadu_ps(bias + 8 * v) : _mm256_setzero_ps();
  const size_t C = s.C;
  for_each_tap(s, w, in_base, in_off, wts, [&](const float* ip, const float* wp) __attribute__((always_inline)) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m256 wv = _mm256_loadu_ps(wp + 8 * v);
      a0[v] = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8 * v), wv, a0[v]);
      a1[v] = _mm256_fmadd_ps(_mm256_loadu_ps(ip + step + 8 * v), wv, a1[v]);
    }
  });
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    _mm256_storeu_ps(out + 8 * v, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a0[v])));
    _mm256_storeu_ps(out + C + 8 * v, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a1[v])));
  }
}

}  // namespace

void dwconv_f32_avx2(const DwConvF32Shape& s, const float* input, const float* weights,
                     const float* bias, float fmin, float fmax, float* output, size_t oy_begin,
                     size_t oy_end) {
  const size_t OW = s.out_w(), C = s.C;
  const __m256 vmin = _mm256_set1_ps(fmin), vmax = _mm256_set1_ps(fmax);
  const int rem = static_cast<int>(C % 8);
  const __m256i tail =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
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
      if (ox + 1 < OW) {
        Window w1 = w;
        tap_range(ox + 1, s.stride_w, s.dilation_w, s.pad_left, s.W, s.KW, &w1.kx0, &w1.kx1);
        if (w1.kx0 == w.kx0 && w1.kx1 == w.kx1) {  // same taps: pixels ox and ox + 1 together
          const long step = static_cast<long>(s.stride_w * C);
          for (; c + 32 <= C; c += 32)
            pixel_pair<4>(s, w, input, off + static_cast<long>(c), step, weights + c,
                          bias ? bias + c : nullptr, vmin, vmax, out + c);
          for (; c + 8 <= C; c += 8)
            pixel_pair<1>(s, w, input, off + static_cast<long>(c), step, weights + c,
                          bias ? bias + c : nullptr, vmin, vmax, out + c);
          if (c < C) {
            pixel_block<1, true>(s, w, input, off + static_cast<long>(c), weights + c,
                                 bias ? bias + c : nullptr, vmin, vmax, out + c, tail);
            pixel_block<1, true>(s, w, input, off + step + static_cast<long>(c), weights + c,
                                 bias ? bias + c : nullptr, vmin, vmax, out + C + c, tail);
          }
          ++ox;
          continue;
        }
      }
      for (; c + 32 <= C; c += 32)
        pixel_block<4, false>(s, w, input, off + static_cast<long>(c), weights + c,
                              bias ? bias + c : nullptr, vmin, vmax, out + c, tail);
      for (; c + 8 <= C; c += 8)
        pixel_block<1, false>(s, w, input, off + static_cast<long>(c), weights + c,
                              bias ? bias + c : nullptr, vmin, vmax, out + c, tail);
      if (c < C)
        pixel_block<1, true>(s, w, input, off + static_cast<long>(c), weights + c,
                             bias ? bias + c : nullptr, vmin, vmax, out + c, tail);
    }
  }
}

extern const DwConvF32Kernel dwconv_f32_avx2_kernel = {"dwconv_f32_c32_avx2", cpu::Isa::kAvx2,
                                                       dwconv_f32_avx2};

}  // namespace qrt::kernels::avx2
