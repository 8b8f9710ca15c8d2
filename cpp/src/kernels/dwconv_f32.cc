// Dispatch table of the fp32 depthwise convolution (see dwconv_f32.h).
#include "kernels/dwconv_f32.h"

namespace qrt::kernels {

namespace ref {
extern const DwConvF32Kernel dwconv_f32_ref_kernel;
}
#if QRT_ENABLE_AVX2
namespace avx2 {
extern const DwConvF32Kernel dwconv_f32_avx2_kernel;
}
#endif
#if QRT_ENABLE_AVX512
namespace avx512 {
extern const DwConvF32Kernel dwconv_f32_avx512_kernel;
}
#endif

const std::vector<const DwConvF32Kernel*>& dwconv_f32_variants() {
  static const std::vector<const DwConvF32Kernel*> v = [] {
    std::vector<const DwConvF32Kernel*> out;
    for (const DwConvF32Kernel* k : {
#if QRT_ENABLE_AVX512
             &avx512::dwconv_f32_avx512_kernel,
#endif
#if QRT_ENABLE_AVX2
             &avx2::dwconv_f32_avx2_kernel,
#endif
             &ref::dwconv_f32_ref_kernel}) {
      if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
    }
    return out;
  }();
  return v;
}

const DwConvF32Kernel& select_dwconv_f32() {
  const auto& v = dwconv_f32_variants();
  for (const DwConvF32Kernel* k : v)
    if (cpu::isa_enabled(k->isa)) return *k;
  return *v.back();
}

}  // namespace qrt::kernels
