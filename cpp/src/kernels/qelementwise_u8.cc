// qelementwise_u8: the variant table (best first, reference last) and the cap-aware selection.
#include "kernels/qelementwise_u8.h"

namespace qrt::kernels {

#if QRT_ENABLE_AVX512
extern const QElementwiseU8Kernel qelementwise_u8_avx512;
#endif
#if QRT_ENABLE_AVX2
extern const QElementwiseU8Kernel qelementwise_u8_avx2;
#endif
#if QRT_ENABLE_NEON
extern const QElementwiseU8Kernel qelementwise_u8_neon;
#endif
extern const QElementwiseU8Kernel qelementwise_u8_ref;

const std::vector<const QElementwiseU8Kernel*>& qelementwise_u8_variants() {
  static const std::vector<const QElementwiseU8Kernel*> list = [] {
    std::vector<const QElementwiseU8Kernel*> v;
#if QRT_ENABLE_AVX512
    if (cpu::isa_supported(qelementwise_u8_avx512.isa)) v.push_back(&qelementwise_u8_avx512);
#endif
#if QRT_ENABLE_AVX2
    if (cpu::isa_supported(qelementwise_u8_avx2.isa)) v.push_back(&qelementwise_u8_avx2);
#endif
#if QRT_ENABLE_NEON
    if (cpu::isa_supported(qelementwise_u8_neon.isa)) v.push_back(&qelementwise_u8_neon);
#endif
    v.push_back(&qelementwise_u8_ref);
    return v;
  }();
  return list;
}

const QElementwiseU8Kernel& select_qelementwise_u8() {
  for (const QElementwiseU8Kernel* k : qelementwise_u8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return qelementwise_u8_ref;
}

}  // namespace qrt::kernels
