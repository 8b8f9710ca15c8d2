// winograd_u8s8: the variant selection (see winograd_u8s8.h for when it pays).
#include "kernels/winograd_u8s8.h"

namespace qrt::kernels {

#if QRT_ENABLE_AVX2
extern const WinogradU8S8Kernel winograd_u8s8_f23_avx2;
#endif

const std::vector<const WinogradU8S8Kernel*>& winograd_u8s8_variants() {
  static const std::vector<const WinogradU8S8Kernel*> list = [] {
    std::vector<const WinogradU8S8Kernel*> v;
#if QRT_ENABLE_AVX2
    if (cpu::isa_supported(winograd_u8s8_f23_avx2.isa) && cpu::isa_compiled(winograd_u8s8_f23_avx2.isa))
      v.push_back(&winograd_u8s8_f23_avx2);
#endif
    return v;
  }();
  return list;
}

const WinogradU8S8Kernel* select_winograd_u8s8() {
  // Only beside a GEMM of the same ISA: an AVX2 GEMM (no VNNI) is the one Winograd beats.
  const GemmU8S8Kernel& g = select_gemm_u8s8();
  for (const WinogradU8S8Kernel* k : winograd_u8s8_variants())
    if (k->isa == g.isa && cpu::isa_enabled(k->isa)) return k;
  return nullptr;
}

}  // namespace qrt::kernels
