// im2col_u8: the variant table (best first, reference last) and the cap-aware selection.
#include "kernels/im2col_u8.h"

namespace qrt::kernels {

#if QRT_ENABLE_AVX512
extern const Im2ColU8Kernel im2col_u8_avx512;
#endif
#if QRT_ENABLE_AVX2
extern const Im2ColU8Kernel im2col_u8_avx2;
#endif
extern const Im2ColU8Kernel im2col_u8_ref;

const std::vector<const Im2ColU8Kernel*>& im2col_u8_variants() {
  static const std::vector<const Im2ColU8Kernel*> list = [] {
    std::vector<const Im2ColU8Kernel*> v;
#if QRT_ENABLE_AVX512
    if (cpu::isa_supported(im2col_u8_avx512.isa)) v.push_back(&im2col_u8_avx512);
#endif
#if QRT_ENABLE_AVX2
    if (cpu::isa_supported(im2col_u8_avx2.isa)) v.push_back(&im2col_u8_avx2);
#endif
    v.push_back(&im2col_u8_ref);
    return v;
  }();
  return list;
}

const Im2ColU8Kernel& select_im2col_u8() {
  for (const Im2ColU8Kernel* k : im2col_u8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return im2col_u8_ref;
}

}  // namespace qrt::kernels
