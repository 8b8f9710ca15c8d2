// gemm_u8s8 dispatch: the variant table (from gemm_u8s8.inc) and the cap-aware selection.
#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {

#define QRT_GEMM_U8S8(sym) extern const GemmU8S8Kernel sym;
#include "kernels/gemm_u8s8.inc"
#undef QRT_GEMM_U8S8
extern const GemmU8S8Kernel gemm_u8s8_ref;

const std::vector<const GemmU8S8Kernel*>& gemm_u8s8_variants() {
  static const std::vector<const GemmU8S8Kernel*> list = [] {
    std::vector<const GemmU8S8Kernel*> v;
#define QRT_GEMM_U8S8(sym) \
  if (cpu::isa_supported(sym.isa) && cpu::isa_compiled(sym.isa)) v.push_back(&sym);
#include "kernels/gemm_u8s8.inc"
#undef QRT_GEMM_U8S8
    v.push_back(&gemm_u8s8_ref);
    return v;
  }();
  return list;
}

const GemmU8S8Kernel& select_gemm_u8s8() {
  for (const GemmU8S8Kernel* k : gemm_u8s8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return gemm_u8s8_ref;
}

}  // namespace qrt::kernels
