// u8 pooling on NHWC activations (one image per call): max pool, average pool, global average.
//
// Contract (ref/pool_u8_ref.cc is the specification; SIMD variants equal it bit for bit).
// Window of output (oh, ow): ih = oh * stride_h - pad_top + kh * dilation_h (likewise iw), taps
// with 0 <= ih < H and 0 <= iw < W are "valid".
//   max pool:  y = min(max(max over valid taps of x, qmin), qmax). Padding never wins (as -inf in
//              ONNX). A window without a valid tap (impossible when pad < kernel extent) gives qmin.
//              Input and output share scale and zero point (max commutes with the affine map).
//   avg pool:  sum = sum over valid taps of (x - in_zp)  (int32; padded taps would add 0)
//              divisor = count_include_pad ? KH * KW : number of valid taps (>= 1; else y = clamp(out_zp))
//              r = ((float)sum / (float)divisor) * mult,   mult = in_scale / out_scale
//              (IEEE divide, then multiply: two roundings, no FMA)
//              y = out_zp + nearbyint(min(max(r, qmin - out_zp), qmax - out_zp))
//   global avg: avg pool with one window covering H x W: divisor = H * W (y has C elements).
// x is H x W x C, y is OH x OW x C (pixel stride C). Row range [oh_begin, oh_end) for threading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct PoolU8Params {
  size_t H = 0, W = 0, C = 0;
  size_t KH = 1, KW = 1;
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  size_t dilation_h = 1, dilation_w = 1;  // max pool only (avg pool: must be 1)
  size_t OH = 0, OW = 0;
  bool count_include_pad = false;         // avg pool
  int32_t in_zero_point = 0, out_zero_point = 0;
  int32_t qmin = 0, qmax = 255;
  float mult = 1.0f;                      // avg pools: in_scale / out_scale
};

struct PoolU8Kernel {
  const char* name;
  cpu::Isa isa;
  void (*max_pool)(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end);
  void (*avg_pool)(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end);
  // Uses H, W, C, in/out zero points, qmin/qmax and mult; y has C elements.
  void (*global_avg_pool)(const PoolU8Params& p, const uint8_t* x, uint8_t* y);
};

const std::vector<const PoolU8Kernel*>& pool_u8_variants();
const PoolU8Kernel& select_pool_u8();

}  // namespace qrt::kernels
