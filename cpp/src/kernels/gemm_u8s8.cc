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
  // |v| <= lim  <=>  (uint8_t)(v + lim) <= 2 lim: for 0 <= lim < 128 the values below -lim wrap
  // to [128 + lim, 255], above 2 lim. So a byte add and a running byte maximum (paddb + pmaxub at
  // baseline SSE2). Runs on every open: with the sum widened to int (GCC unpacked every byte to
  // an int32 lane) it was half of opening a 0.7 MB MLP.
  if (lim >= 128) return true;  // every int8 value
  if (lim < 0) return false;
  const uint8_t off = static_cast<uint8_t>(lim);
  uint8_t mx = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t v = static_cast<uint8_t>(static_cast<uint8_t>(p[i]) + off);
    mx = v > mx ? v : mx;
  }
  return mx <= 2 * lim;
}

const GemmU8S8Kernel& select_gemm_u8s8() {
  for (const GemmU8S8Kernel* k : gemm_u8s8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return gemm_u8s8_ref;
}

}  // namespace qrt::kernels
