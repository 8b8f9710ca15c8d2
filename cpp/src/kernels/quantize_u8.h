// Dynamic quantization of fp32 activations to u8 (for int8-dynamic Dense/MatMul).
//
// Contract (ref/quantize_u8_ref.cc is the specification; SIMD variants equal it bit for bit):
//   minmax(x, n): lo = min(0, min_i x[i]), hi = max(0, max_i x[i]); returns false if any x[i]
//     is NaN or +-Inf (the caller reports an error: a dynamic range cannot be chosen).
//   choose_params(lo, hi): scale = (hi - lo) / 255 (1.0 when hi == lo), zero_point =
//     clamp(nearbyint(-lo / scale), 0, 255)   -- so 0.0 is exactly representable.
//   quantize(x, n, scale, zp, q): v = x[i] / scale (IEEE division); v = max(v, -zp) then
//     min(v, 255 - zp) in that order; q[i] = zp + nearbyint(v)   (round half to even).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct QuantizeU8Kernel {
  const char* name;                  // e.g. "quantize_f32u8_avx512"
  cpu::Isa isa;
  bool (*minmax)(const float* x, size_t n, float* lo, float* hi);
  void (*quantize)(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q);
};

void choose_u8_params(float lo, float hi, float* scale, int32_t* zero_point);

const std::vector<const QuantizeU8Kernel*>& quantize_u8_variants();
const QuantizeU8Kernel& select_quantize_u8();

}  // namespace qrt::kernels
