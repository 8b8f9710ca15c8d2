// Scalar reference for qelementwise_u8 add / mul (see qelementwise_u8.h): the specification.
#include <cmath>

#include "kernels/qelementwise_u8.h"

namespace qrt::kernels {
namespace ref {
namespace {

uint8_t finish(const QElementwiseU8Params& p, float r) {
  const float lo = static_cast<float>(p.qmin - p.out_zero_point);
  const float hi = static_cast<float>(p.qmax - p.out_zero_point);
  r = r > lo ? r : lo;  // maxps / minps semantics (see quantize_u8.h)
  r = r < hi ? r : hi;
  return static_cast<uint8_t>(p.out_zero_point + static_cast<int32_t>(std::nearbyint(r)));
}

void add(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float va = static_cast<float>(a[i] - p.a_zero_point) * p.a_mult;
    const float vb = static_cast<float>(b[b_scalar ? 0 : i] - p.b_zero_point) * p.b_mult;
    y[i] = finish(p, va + vb);
  }
}

void mul(const QElementwiseU8Params& p, const uint8_t* a, const uint8_t* b, bool b_scalar,
         uint8_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t prod = (a[i] - p.a_zero_point) * (b[b_scalar ? 0 : i] - p.b_zero_point);
    y[i] = finish(p, static_cast<float>(prod) * p.mult);
  }
}

}  // namespace
}  // namespace ref

extern const QElementwiseU8Kernel qelementwise_u8_ref = {"qelementwise_u8_ref", cpu::Isa::kRef,
                                                         ref::add, ref::mul};

}  // namespace qrt::kernels
