// fp32 depthwise convolution, NHWC, one image per call (callers loop over the batch).
//
//   out[oy][ox][c] = clamp( bias[c] + sum_{ky,kx} in[iy][ix][c] * w[ky][kx][c], fmin, fmax )
//   iy = oy * stride_h - pad_top  + ky * dilation_h,   ix = ox * stride_w - pad_left + kx * dilation_w
// Taps whose (iy, ix) fall outside the input are skipped (zero padding). Channel multiplier 1.
// Layouts: input H x W x C with pixel stride C (rows W*C); weights [KH][KW][C] (the ONNX
// [C][1][KH][KW] tensor transposed once at prepare time); bias [C] or null; output OH x OW x C.
// Any KH/KW (3x3 and 5x5 are the common cases), stride, dilation and padding are accepted.
// Arithmetic: fp32 FMA accumulation starting from the bias, taps in (ky, kx) order. The reference
// (ref/dwconv_f32_ref.cc) accumulates in fp64; variants are tested against it with
//   |out - ref| <= (KH*KW + 2) * 2^-23 * (|bias| + sum |in * w|).
// The clamp is  r = fmin > r ? fmin : r;  r = fmax < r ? fmax : r  (NaN passes through).
// Threading: run() computes output rows [oy_begin, oy_end); disjoint row ranges may run
// concurrently. Never reads outside the input / weights / bias, never writes outside the rows.
#pragma once

#include <cstddef>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct DwConvF32Shape {
  size_t H = 0, W = 0, C = 0;          // input
  size_t KH = 3, KW = 3;
  size_t stride_h = 1, stride_w = 1;
  size_t dilation_h = 1, dilation_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  // Output size implied by the above (0 when the kernel does not fit).
  size_t out_h() const { return out_dim(H, KH, stride_h, dilation_h, pad_top + pad_bottom); }
  size_t out_w() const { return out_dim(W, KW, stride_w, dilation_w, pad_left + pad_right); }
  static size_t out_dim(size_t in, size_t k, size_t s, size_t d, size_t pad) {
    size_t span = (k - 1) * d + 1;
    return in + pad < span ? 0 : (in + pad - span) / s + 1;
  }
};

using DwConvF32Fn = void (*)(const DwConvF32Shape& s, const float* input, const float* weights,
                             const float* bias, float fmin, float fmax, float* output,
                             size_t oy_begin, size_t oy_end);

struct DwConvF32Kernel {
  const char* name;
  cpu::Isa isa;
  DwConvF32Fn run;
};

// Runnable variants, best first, reference last (QRT_ISA cap not applied).
const std::vector<const DwConvF32Kernel*>& dwconv_f32_variants();
// The best variant allowed by the CPU and the QRT_ISA cap (never null).
const DwConvF32Kernel& select_dwconv_f32();

}  // namespace qrt::kernels
