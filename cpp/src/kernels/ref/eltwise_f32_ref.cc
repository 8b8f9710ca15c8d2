// Scalar reference of the elementwise row kernels (kernels/eltwise_f32.h).
#include "kernels/eltwise_f32.h"
#include "kernels/gemm_f32.h"

namespace qrt::kernels::ref {
namespace {

template <int Op>
void binary(const float* a, size_t sa, const float* b, size_t sb, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float x = a[i * sa], z = b[i * sb];
    y[i] = Op == 0 ? x + z : Op == 1 ? x - z : Op == 2 ? x * z : x / z;
  }
}

void transpose32(const uint32_t* src, size_t lds, size_t rows, size_t cols, uint32_t* dst,
                 size_t ldd) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

void widen_f16(const uint16_t* h, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = f16_to_f32(h[i]);
}

}  // namespace

extern const EltwiseF32Kernels eltwise_f32_ref = {
    "eltwise_f32_ref", cpu::Isa::kRef, {binary<0>, binary<1>, binary<2>, binary<3>}, transpose32,
    widen_f16};

}  // namespace qrt::kernels::ref
