// Quantized element-wise add and mul: u8 in, u8 out, per-tensor parameters, requantized.
//
// Contract (ref/qelementwise_u8_ref.cc is the specification; SIMD variants equal it bit for bit):
//   b is either n elements (same shape) or one element broadcast to all n (b_scalar = true).
//   add: r = (float)(a[i] - a_zp) * a_mult + (float)(b[i] - b_zp) * b_mult
//            (two float32 multiplies, then one add: three roundings, never an FMA)
//        with a_mult = a_scale / out_scale and b_mult = b_scale / out_scale (computed by the caller)
//   mul: r = (float)((a[i] - a_zp) * (b[i] - b_zp)) * mult     (int product exact; one rounding)
//        with mult = a_scale * b_scale / out_scale
//   then r = min(max(r, qmin - out_zp), qmax - out_zp);  y[i] = (uint8)(out_zp + nearbyint(r))
//   (round half to even). y may alias a or b exactly (in place); n may be 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct QElementwiseU8Params {
  int32_t a_zero_point = 0, b_zero_point = 0, out_zero_point = 0;  // 0..255
  int32_t qmin = 0, qmax = 255;
  float a_mult = 1.0f, b_mult = 1.0f;  // add
  float mult = 1.0f;                   // mul
};

struct QElementwiseU8Kernel {
  const char* name;
  cpu::Isa isa;
  void (*add)(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
              uint8_t* y, size_t n);
  void (*mul)(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
              uint8_t* y, size_t n);
};

const std::vector<const QElementwiseU8Kernel*>& qelementwise_u8_variants();
const QElementwiseU8Kernel& select_qelementwise_u8();

}  // namespace qrt::kernels
