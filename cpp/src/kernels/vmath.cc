// Dispatch of the vectorised math functions (see vmath.h).
#include "kernels/vmath.h"

namespace qrt::kernels {

namespace ref {
extern const VMathKernels vmath_ref;
}
#if QRT_ENABLE_AVX2
namespace vmath_avx2 {
extern const VMathKernels vmath_avx2;
}
#endif
#if QRT_ENABLE_AVX512
namespace vmath_avx512 {
extern const VMathKernels vmath_avx512;
}
#endif

const std::vector<const VMathKernels*>& vmath_variants() {
  static const std::vector<const VMathKernels*> v = [] {
    std::vector<const VMathKernels*> out;
    for (const VMathKernels* k : {
#if QRT_ENABLE_AVX512
             &vmath_avx512::vmath_avx512,
#endif
#if QRT_ENABLE_AVX2
             &vmath_avx2::vmath_avx2,
#endif
             &ref::vmath_ref}) {
      if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
    }
    return out;
  }();
  return v;
}

const VMathKernels& select_vmath() {
  const auto& v = vmath_variants();
  for (const VMathKernels* k : v)
    if (cpu::isa_enabled(k->isa)) return *k;
  return *v.back();
}

void vexp(const float* x, float* y, size_t n) { select_vmath().exp(x, y, n); }
void vtanh(const float* x, float* y, size_t n) { select_vmath().tanh(x, y, n); }
void vsigmoid(const float* x, float* y, size_t n) { select_vmath().sigmoid(x, y, n); }
void verf(const float* x, float* y, size_t n) { select_vmath().erf(x, y, n); }
void vgelu(const float* x, float* y, size_t n) { select_vmath().gelu(x, y, n); }
void vgelu_tanh(const float* x, float* y, size_t n) { select_vmath().gelu_tanh(x, y, n); }
void vgelu_q(const float* x, float* y, size_t n) {
  const VMathKernels& k = select_vmath();
  (k.gelu_q ? k.gelu_q : k.gelu)(x, y, n);
}
void vsilu(const float* x, float* y, size_t n) { select_vmath().silu(x, y, n); }
void softmax_row(const float* x, float* y, size_t n) { select_vmath().softmax_row(x, y, n); }
void layernorm_row(const float* x, const float* gamma, const float* beta, float eps, float* y,
                   size_t n) {
  select_vmath().layernorm_row(x, gamma, beta, eps, y, n);
}

}  // namespace qrt::kernels
