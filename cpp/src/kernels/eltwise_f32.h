// Elementwise fp32 row kernels for the float ops (ops/float_elementwise.cc, shape_transpose.cc):
//   binary:    y[i] = a[i * sa] (op) b[i * sb], op in {add, sub, mul, div}, sa/sb 0 or 1
//              (same-shape rows, a row against a broadcast scalar, a scalar against a row);
//              IEEE results, identical in every variant (one rounding per element, no FMA).
//   transpose: dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, 4-byte elements
//              (bit copies, any dtype of that size); tiles of the vector width in registers.
//              3 rows into a contiguous destination (ldd == 3: an RGB image's NCHW planes into
//              NHWC pixels, the first op of every converted CNN) interleave a vector of
//              columns per step with permutes; other short inputs take a scalar loop.
//   widen_f16: y[i] = the IEEE half h[i] as fp32 (exact; F16C where the variant has it, which
//              quiets signalling NaNs). For the dequantizing Gather of f16 embedding tables.
// Every function accepts n = 0 / empty shapes and never touches memory outside the described
// elements. y may alias a or b exactly (in place); dst must not overlap src.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

enum class EltOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

using BinaryF32Fn = void (*)(const float* a, size_t sa, const float* b, size_t sb, float* y,
                             size_t n);
using Transpose32Fn = void (*)(const uint32_t* src, size_t lds, size_t rows, size_t cols,
                               uint32_t* dst, size_t ldd);

struct EltwiseF32Kernels {
  const char* name;
  cpu::Isa isa;
  BinaryF32Fn binary[4];  // indexed by EltOp
  Transpose32Fn transpose32;
  void (*widen_f16)(const uint16_t* h, float* y, size_t n);
};

// Runnable variants, best first, reference last (QRT_ISA cap not applied).
const std::vector<const EltwiseF32Kernels*>& eltwise_f32_variants();
// Best variant allowed by the CPU and the cap (look it up once per op run).
const EltwiseF32Kernels& select_eltwise_f32();

}  // namespace qrt::kernels
