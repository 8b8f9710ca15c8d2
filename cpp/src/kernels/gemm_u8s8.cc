// gemm_u8s8 dispatch: the variant table (from gemm_u8s8.inc) and the cap-aware selection.
#include "kernels/gemm_u8s8.h"

#include "kernels/gemm_u8s8_pack.h"

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

bool packed_b_within(const GemmU8S8Kernel& k, const void* packed, size_t N, size_t K, int lim) {
  using namespace gemm_u8s8_internal;
  const size_t nr = static_cast<size_t>(k.nr);
  const auto* p = static_cast<const int8_t*>(packed) + colsum_bytes(N, nr);
  const size_t n = round_up(N, nr) / nr * panel_bytes(K, nr);
  // |v| <= lim as one unsigned compare per byte (vectorises at baseline SSE2).
  const unsigned span = 2u * static_cast<unsigned>(lim);
  unsigned bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(p[i] + lim) > span;
  return bad == 0;
}

const GemmU8S8Kernel& select_gemm_u8s8() {
  for (const GemmU8S8Kernel* k : gemm_u8s8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return gemm_u8s8_ref;
}

}  // namespace qrt::kernels
