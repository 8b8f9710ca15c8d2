// im2col for u8 NHWC activations, feeding gemm_u8s8 for k x k (grouped) convolutions.
//
// Contract (ref/im2col_u8_ref.cc is the specification; SIMD variants equal it byte for byte):
//   Output pixel p = oh * OW + ow (p in [p_begin, p_end)) becomes row (p - p_begin) of `out`
//   (row stride ldo >= K = KH * KW * Cg), with k ordered (kh, kw, c):
//     out[p - p_begin][(kh * KW + kw) * Cg + c] = x[ih][iw][c_begin + c]      if 0 <= ih < H, 0 <= iw < W
//                                               = zero_point                  otherwise (padding)
//     ih = oh * stride_h - pad_top + kh * dilation_h, iw = ow * stride_w - pad_left + kw * dilation_w
//   This matches conv weights stored [O][KH][KW][C/group] (OIHW weights transposed to OHWI), i.e.
//   the B matrix of gemm_u8s8 with K = KH*KW*Cg, and padding by the input zero point keeps the
//   GEMM's a_zero_point folding exact. x is H x W x C_total (pixel stride C_total); group g uses
//   c_begin = g * Cg. Bytes of `out` beyond K in each row are not written.
// The copy is of bytes, so it serves f32 activations too: Conv2d passes C_total, Cg and c_begin in
// bytes (4 per f32 channel) and zero_point 0, the bytes of 0.0f.
// Threading: distinct [p_begin, p_end) ranges may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct Im2ColU8Params {
  size_t H = 0, W = 0, C_total = 0;  // input image
  size_t c_begin = 0, Cg = 0;        // channel slice of this group
  size_t KH = 1, KW = 1;
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by OH/OW
  size_t dilation_h = 1, dilation_w = 1;
  size_t OH = 0, OW = 0;
  uint8_t zero_point = 0;
};

struct Im2ColU8Kernel {
  const char* name;
  cpu::Isa isa;
  void (*run)(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
              size_t p_end);
};

const std::vector<const Im2ColU8Kernel*>& im2col_u8_variants();
const Im2ColU8Kernel& select_im2col_u8();

}  // namespace qrt::kernels
