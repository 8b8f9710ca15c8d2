// dwconv_u8s8: output-size helper and the variant table (from dwconv_u8s8.inc).
#include "kernels/dwconv_u8s8.h"

#include <cstring>

namespace qrt::kernels {

#define QRT_DWCONV_U8S8(sym) extern const DwConvU8S8Kernel sym;
#include "kernels/dwconv_u8s8.inc"
#undef QRT_DWCONV_U8S8
extern const DwConvU8S8Kernel dwconv_u8s8_ref;

size_t dwconv_out_size(size_t in, size_t k, size_t stride, size_t pad_a, size_t pad_b, size_t dil) {
  const size_t span = dil * (k - 1) + 1;
  if (k == 0 || stride == 0 || in + pad_a + pad_b < span) return 0;
  return (in + pad_a + pad_b - span) / stride + 1;
}

void pack_dwords_with_sums(size_t taps, size_t C, size_t cp, const int8_t* w, void* packed) {
  int32_t* p = static_cast<int32_t*>(packed);
  std::memset(p, 0, (taps + 1) * cp * 4);
  for (size_t c = 0; c < C; ++c) {
    uint32_t s = 0;
    for (size_t t = 0; t < taps; ++t) {
      p[t * cp + c] = w[t * C + c];
      s += static_cast<uint32_t>(static_cast<int32_t>(w[t * C + c]));
    }
    p[taps * cp + c] = static_cast<int32_t>(s);
  }
}

const std::vector<const DwConvU8S8Kernel*>& dwconv_u8s8_variants() {
  static const std::vector<const DwConvU8S8Kernel*> list = [] {
    std::vector<const DwConvU8S8Kernel*> v;
#define QRT_DWCONV_U8S8(sym) \
  if (cpu::isa_supported(sym.isa) && cpu::isa_compiled(sym.isa)) v.push_back(&sym);
#include "kernels/dwconv_u8s8.inc"
#undef QRT_DWCONV_U8S8
    v.push_back(&dwconv_u8s8_ref);
    return v;
  }();
  return list;
}

const DwConvU8S8Kernel& select_dwconv_u8s8() {
  for (const DwConvU8S8Kernel* k : dwconv_u8s8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return dwconv_u8s8_ref;
}

}  // namespace qrt::kernels
