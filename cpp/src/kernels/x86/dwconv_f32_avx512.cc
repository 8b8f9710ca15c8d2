// AVX-512 depthwise convolution (NHWC): per output pixel, the valid tap window is computed once,
// then channels go 64 at a time (4 zmm accumulators, so each tap's address math is shared by 4
// FMAs). The channels left over (C % 64: 1-4 vectors, the last one masked) go through groups of
// 2-8 horizontally adjacent pixels whose windows are whole, so that each tap's weight vectors
// are loaded once for the group and 8-12 independent FMA chains hide the FMA latency: one pixel
// at a time, C = 32 (MobileNetV2's first depthwise layer) ran 2 chains of 9 dependent FMAs per
// pixel and took 0.81x ONNX Runtime's time. Pixels at the image edges and runs too short for a
// group go one at a time. Every output element gets the same FMAs in the same order either way:
// accumulators start from the bias; taps in (ky, kx) order; clamp as in dwconv_f32.h.
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

// P pixels (input pixels in_step floats apart, output pixels C apart) x NV vectors of the
// channels at in_base + in_off / wts / out, all P with the window w. pixel_block is not this with
// P = 1: GCC's code for that form ran the 64-channel blocks 7-10 % slower (qrt_bench
// float_dwconv, 56x56x128 and 14x14x576, both builds alternated three times).
template <int P, int NV>
inline void pixel_group(const DwConvF32Shape& s, const Window& w, const float* in_base, long in_off,
                        long in_step, const float* wts, const float* bias, __m512 vmin, __m512 vmax,
                        float* out, __mmask16 tail) {
  __m512 acc[P][NV];
  for (int v = 0; v < NV; ++v) {
    __mmask16 m = v == NV - 1 ? tail : 0xffff;
    __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + 16 * v) : _mm512_setzero_ps();
    for (int p = 0; p < P; ++p) acc[p][v] = b;
  }
  const size_t C = s.C;
  for (size_t ky = w.ky0; ky < w.ky1; ++ky) {
    long row_off = in_off + static_cast<long>(ky * s.dilation_h * s.W * C);
    const float* wrow = wts + ky * s.KW * C;
    for (size_t kx = w.kx0; kx < w.kx1; ++kx) {
      const float* ip = in_base + (row_off + static_cast<long>(kx * s.dilation_w * C));
      const float* wp = wrow + kx * C;
      __m512 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? tail : 0xffff, wp + 16 * v);
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < NV; ++v) {
          __mmask16 m = v == NV - 1 ? tail : 0xffff;
          acc[p][v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip + p * in_step + 16 * v), wv[v], acc[p][v]);
        }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < NV; ++v) {
      __mmask16 m = v == NV - 1 ? tail : 0xffff;
      _mm512_mask_storeu_ps(out + p * C + 16 * v, m, _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[p][v])));
    }
}

// The leftover channels [c, C) of output pixels [ox, ox_end) of row oy (window rows ky0..ky1):
// groups of P pixels where the whole horizontal window lies inside the input, single pixels
// elsewhere.
template <int NV>
void leftover_channels(const DwConvF32Shape& s, size_t ky0, size_t ky1, long iy0, size_t OW, size_t c,
                       const float* input, const float* weights, const float* bias, __m512 vmin,
                       __m512 vmax, float* out_row) {
  constexpr int P = NV == 1 ? 8 : NV == 4 ? 2 : 4;
  const size_t C = s.C, rem = C - c;
  const __mmask16 tail = static_cast<__mmask16>(rem % 16 ? (1u << (rem % 16)) - 1 : 0xffff);
  const long in_step = static_cast<long>(s.stride_w * C);
  const float* b = bias ? bias + c : nullptr;
  for (size_t ox = 0; ox < OW;) {
    Window w{ky0, ky1, 0, 0};
    tap_range(ox, s.stride_w, s.dilation_w, s.pad_left, s.W, s.KW, &w.kx0, &w.kx1);
    const long ix0 = static_cast<long>(ox * s.stride_w) - static_cast<long>(s.pad_left);
    const long off = (iy0 * static_cast<long>(s.W) + ix0) * static_cast<long>(C) + static_cast<long>(c);
    // The windows of ox .. ox + P - 1 are whole when the first starts inside the image and the
    // last ends inside it (the interior is one contiguous run of pixels).
    const bool whole = w.kx0 == 0 && w.kx1 == s.KW && ox + P <= OW &&
                       ix0 + static_cast<long>((P - 1) * s.stride_w + (s.KW - 1) * s.dilation_w) <
                           static_cast<long>(s.W);
    if (whole) {
      pixel_group<P, NV>(s, w, input, off, in_step, weights + c, b, vmin, vmax, out_row + ox * C + c, tail);
      ox += P;
    } else {
      pixel_block<NV>(s, w, input, off, weights + c, b, vmin, vmax, out_row + ox * C + c, tail);
      ++ox;
    }
  }
}

}  // namespace

void dwconv_f32_avx512(const DwConvF32Shape& s, const float* input, const float* weights,
                       const float* bias, float fmin, float fmax, float* output, size_t oy_begin,
                       size_t oy_end) {
  const size_t OW = s.out_w(), C = s.C;
  const __m512 vmin = _mm512_set1_ps(fmin), vmax = _mm512_set1_ps(fmax);
  const size_t c64 = C / 64 * 64, left = (C - c64 + 15) / 16;  // leftover vectors, 0..4
  for (size_t oy = oy_begin; oy < oy_end; ++oy) {
    Window w;
    tap_range(oy, s.stride_h, s.dilation_h, s.pad_top, s.H, s.KH, &w.ky0, &w.ky1);
    const long iy0 = static_cast<long>(oy * s.stride_h) - static_cast<long>(s.pad_top);
    float* out_row = output + oy * OW * C;
    if (c64)
      for (size_t ox = 0; ox < OW; ++ox) {
        tap_range(ox, s.stride_w, s.dilation_w, s.pad_left, s.W, s.KW, &w.kx0, &w.kx1);
        long ix0 = static_cast<long>(ox * s.stride_w) - static_cast<long>(s.pad_left);
        long off = (iy0 * static_cast<long>(s.W) + ix0) * static_cast<long>(C);
        float* out = out_row + ox * C;
        for (size_t c = 0; c < c64; c += 64)
          pixel_block<4>(s, w, input, off + static_cast<long>(c), weights + c, bias ? bias + c : nullptr, vmin,
                         vmax, out + c, 0xffff);
      }
    switch (left) {
      case 1: leftover_channels<1>(s, w.ky0, w.ky1, iy0, OW, c64, input, weights, bias, vmin, vmax, out_row); break;
      case 2: leftover_channels<2>(s, w.ky0, w.ky1, iy0, OW, c64, input, weights, bias, vmin, vmax, out_row); break;
      case 3: leftover_channels<3>(s, w.ky0, w.ky1, iy0, OW, c64, input, weights, bias, vmin, vmax, out_row); break;
      case 4: leftover_channels<4>(s, w.ky0, w.ky1, iy0, OW, c64, input, weights, bias, vmin, vmax, out_row); break;
      default: break;
    }
  }
}

extern const DwConvF32Kernel dwconv_f32_avx512_kernel = {"dwconv_f32_c64_avx512",
                                                         cpu::Isa::kAvx512, dwconv_f32_avx512};

}  // namespace qrt::kernels::avx512
