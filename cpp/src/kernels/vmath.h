// Vectorised fp32 math over arrays: exp, tanh, sigmoid, erf, GELU (erf and tanh forms), SiLU,
// plus the softmax and layer-norm row kernels used by the float ops.
//
// Every function accepts n = 0, any alignment, and in-place use (y == x); it never reads x past
// n or writes y past n. The array functions dispatch to the best variant allowed by the CPU and
// the QRT_ISA cap (checked per call; the cost is a few loads).
// Accuracy (SIMD variants vs the correctly rounded value, measured by
// tests/cpp/kernels/float_vmath_test.cc over dense sweeps and special values; see
// docs/KERNELS_FLOAT.md for the measured maxima):
//   exp, sigmoid, silu, tanh, erf:   <= 4 ulp for normal results (measured max 0.9 - 2.6)
//   gelu (erf form):                 <= 8 ulp (measured 4.5; one erfcx fit for all x, no branches)
//   gelu_tanh:                       <= 4 + 3|2z| ulp, z = sqrt(2/pi)(x + 0.044715x^3): z carries
//                                    fp32 roundings that e^(-2|z|) amplifies for x < 0
//   results below FLT_MIN:           absolute error <= 128 * 2^-149 (gradual underflow)
// Special values: NaN -> NaN; exp(+Inf)=+Inf, exp(-Inf)=0, exp(x > 88.72)=+Inf; tanh/erf(+-Inf)
// = +-1; sigmoid(+-Inf) = 1/0; silu/gelu/gelu_tanh(+Inf)=+Inf, (-Inf) = -0.
// The reference variant (ref/vmath_ref.cc) evaluates the std:: functions in double and rounds.
//
// softmax_row:   y = e^(x - max x) / sum e^(x - max x); a NaN input makes the row NaN; rows with
//                +Inf are not supported (NaN results), all -Inf likewise.
// layernorm_row: mean, variance of (x - mean) (two passes), y = (x - mean) / sqrt(var + eps)
//                * gamma + beta (gamma/beta may be null = 1/0). Relative error ~ n * 2^-24.
#pragma once

#include <cstddef>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

using VMathFn = void (*)(const float* x, float* y, size_t n);
using SoftmaxRowFn = void (*)(const float* x, float* y, size_t n);
using LayerNormRowFn = void (*)(const float* x, const float* gamma, const float* beta, float eps,
                                float* y, size_t n);

struct VMathKernels {
  const char* name;
  cpu::Isa isa;
  VMathFn exp, tanh, sigmoid, erf, gelu, gelu_tanh, silu;
  SoftmaxRowFn softmax_row;
  LayerNormRowFn layernorm_row;
};

// Runnable variants, best first, reference last (QRT_ISA cap not applied).
const std::vector<const VMathKernels*>& vmath_variants();
// Best variant allowed by the CPU and the cap (never null).
const VMathKernels& select_vmath();

void vexp(const float* x, float* y, size_t n);
void vtanh(const float* x, float* y, size_t n);
void vsigmoid(const float* x, float* y, size_t n);
void verf(const float* x, float* y, size_t n);
void vgelu(const float* x, float* y, size_t n);       // 0.5 x (1 + erf(x / sqrt 2))
void vgelu_tanh(const float* x, float* y, size_t n);  // 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
void vsilu(const float* x, float* y, size_t n);       // x * sigmoid(x)
void softmax_row(const float* x, float* y, size_t n);
void layernorm_row(const float* x, const float* gamma, const float* beta, float eps, float* y,
                   size_t n);

}  // namespace qrt::kernels
