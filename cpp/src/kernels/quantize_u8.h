// Dynamic quantization of fp32 activations to u8 (for int8-dynamic Dense/MatMul).
//
// Contract (ref/quantize_u8_ref.cc is the specification; SIMD variants equal it bit for bit):
//   minmax(x, n): lo = min(0, min_i x[i]), hi = max(0, max_i x[i]), computed as: lo = hi = +0.0f;
//     for each x: if (x < lo) lo = x; if (x > hi) hi = x   (so a -0.0f input never replaces the
//     +0.0f start: the result is unique, whatever order a SIMD variant scans in). Returns false if
//     any x[i] is NaN or +-Inf (the caller reports an error: a dynamic range cannot be chosen);
//     lo/hi are then unspecified. n == 0 gives lo = hi = 0 and true. Reads exactly x[0..n).
//   choose_params(lo, hi) (lo <= 0 <= hi, finite; one portable implementation, no variants):
//     scale = (hi - lo) / 255.0f in float; if that overflows to +Inf, scale = hi/255.0f - lo/255.0f;
//     if hi == lo, or scale is below FLT_MIN (zero or subnormal), scale = 1.0f.
//     zero_point = (int) nearbyint(min(max(-lo / scale, 0.0f), 255.0f))  -- 0.0 is representable.
//   quantize(x, n, scale, zp, q): v = x[i] / scale (IEEE division; a variant may multiply by
//     1/scale where it proves the rounding below unchanged, see quantize_u8_avx512.cc);
//     v = (v > -zp) ? v : -zp;  v = (v < 255 - zp) ? v : 255 - zp   (the semantics of maxps/minps
//     with v first: a NaN input becomes -zp, i.e. q = 0);  q[i] = zp + nearbyint(v)
//     (round half to even; the default rounding mode). Writes exactly q[0..n).
//   quantize_affine(x, n, shift, mul, scale, zp, q): quantize of u[i] = (x[i] - shift[i]) * mul[i]
//     with one fp32 rounding per step (no FMA); shift or mul null skips that step. The same bytes
//     as Sub, Mul and quantize run one after the other (the AffineQuantize op's chain), in one
//     pass. May be null in a variant (the caller then runs the steps separately).
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
  void (*quantize_affine)(const float* x, size_t n, const float* shift, const float* mul, float scale,
                          int32_t zero_point, uint8_t* q) = nullptr;
};

void choose_u8_params(float lo, float hi, float* scale, int32_t* zero_point);

const std::vector<const QuantizeU8Kernel*>& quantize_u8_variants();
const QuantizeU8Kernel& select_quantize_u8();

}  // namespace qrt::kernels
