// Scalar reference for quantize_u8 (see quantize_u8.h): the specification.
#include <cmath>
#include <cstring>

#include "kernels/quantize_u8.h"

namespace qrt::kernels {
namespace ref {
namespace {

bool minmax(const float* x, size_t n, float* lo, float* hi) {
  float l = 0.0f, h = 0.0f;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) finite = false;
    if (v < l) l = v;
    if (v > h) h = v;
  }
  *lo = l;
  *hi = h;
  return finite;
}

void quantize(const float* x, size_t n, float scale, int32_t zero_point, uint8_t* q) {
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  for (size_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    q[i] = static_cast<uint8_t>(zero_point + static_cast<int32_t>(std::nearbyint(v)));
  }
}

void quantize_affine(const float* x, size_t n, const float* shift, const float* mul, float scale,
                     int32_t zero_point, uint8_t* q) {
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  for (size_t i = 0; i < n; ++i) {
    // Two roundings, never fused: the build compiles with -ffp-contract=off.
    float u = x[i];
    if (shift) u = u - shift[i];
    if (mul) u = u * mul[i];
    float v = u / scale;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    q[i] = static_cast<uint8_t>(zero_point + static_cast<int32_t>(std::nearbyint(v)));
  }
}

}  // namespace
}  // namespace ref

extern const QuantizeU8Kernel quantize_f32u8_ref = {"quantize_f32u8_ref", cpu::Isa::kRef,
                                                    ref::minmax, ref::quantize,
                                                    ref::quantize_affine};

}  // namespace qrt::kernels
