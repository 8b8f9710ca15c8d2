// Dispatch of the elementwise row kernels (see eltwise_f32.h).
#include "kernels/eltwise_f32.h"

namespace qrt::kernels {

namespace ref {
extern const EltwiseF32Kernels eltwise_f32_ref;
}
#if QRT_ENABLE_AVX2
namespace eltwise_avx2 {
extern const EltwiseF32Kernels eltwise_f32_avx2;
}
#endif
#if QRT_ENABLE_AVX512
namespace eltwise_avx512 {
extern const EltwiseF32Kernels eltwise_f32_avx512;
}
#endif

const std::vector<const EltwiseF32Kernels*>& eltwise_f32_variants() {
  static const std::vector<const EltwiseF32Kernels*> v = [] {
    std::vector<const EltwiseF32Kernels*> out;
    for (const EltwiseF32Kernels* k : {
#if QRT_ENABLE_AVX512
             &eltwise_avx512::eltwise_f32_avx512,
#endif
#if QRT_ENABLE_AVX2
             &eltwise_avx2::eltwise_f32_avx2,
#endif
             &ref::eltwise_f32_ref}) {
      if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
    }
    return out;
  }();
  return v;
}

const EltwiseF32Kernels& select_eltwise_f32() {
  const auto& v = eltwise_f32_variants();
  for (const EltwiseF32Kernels* k : v)
    if (cpu::isa_enabled(k->isa)) return *k;
  return *v.back();
}

}  // namespace qrt::kernels
