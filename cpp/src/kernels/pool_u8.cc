// pool_u8: the variant table (best first, reference last) and the cap-aware selection.
#include "kernels/pool_u8.h"

namespace qrt::kernels {

#if QRT_ENABLE_AVX512
extern const PoolU8Kernel pool_u8_avx512;
#endif
#if QRT_ENABLE_AVX2
extern const PoolU8Kernel pool_u8_avx2;
#endif
#if QRT_ENABLE_NEON
extern const PoolU8Kernel pool_u8_neon;
#endif
extern const PoolU8Kernel pool_u8_ref;

const std::vector<const PoolU8Kernel*>& pool_u8_variants() {
  static const std::vector<const PoolU8Kernel*> list = [] {
    std::vector<const PoolU8Kernel*> v;
#if QRT_ENABLE_AVX512
    if (cpu::isa_supported(pool_u8_avx512.isa)) v.push_back(&pool_u8_avx512);
#endif
#if QRT_ENABLE_AVX2
    if (cpu::isa_supported(pool_u8_avx2.isa)) v.push_back(&pool_u8_avx2);
#endif
#if QRT_ENABLE_NEON
    if (cpu::isa_supported(pool_u8_neon.isa)) v.push_back(&pool_u8_neon);
#endif
    v.push_back(&pool_u8_ref);
    return v;
  }();
  return list;
}

const PoolU8Kernel& select_pool_u8() {
  for (const PoolU8Kernel* k : pool_u8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return pool_u8_ref;
}

}  // namespace qrt::kernels
