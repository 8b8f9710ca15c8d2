// quantize_u8: choose_u8_params (portable, one implementation) and the variant table.
#include "kernels/quantize_u8.h"

#include <cfloat>
#include <cmath>

namespace qrt::kernels {

#define QRT_QUANTIZE_U8(sym) extern const QuantizeU8Kernel sym;
#include "kernels/quantize_u8.inc"
#undef QRT_QUANTIZE_U8
extern const QuantizeU8Kernel quantize_f32u8_ref;

void choose_u8_params(float lo, float hi, float* scale, int32_t* zero_point) {
  float s = (hi - lo) / 255.0f;
  if (std::isinf(s)) s = hi / 255.0f - lo / 255.0f;
  if (hi == lo || !(s >= FLT_MIN)) s = 1.0f;
  float z = -lo / s;
  z = z > 0.0f ? z : 0.0f;
  z = z < 255.0f ? z : 255.0f;
  *scale = s;
  *zero_point = static_cast<int32_t>(std::nearbyint(z));
}

const std::vector<const QuantizeU8Kernel*>& quantize_u8_variants() {
  static const std::vector<const QuantizeU8Kernel*> list = [] {
    std::vector<const QuantizeU8Kernel*> v;
#define QRT_QUANTIZE_U8(sym) \
  if (cpu::isa_supported(sym.isa) && cpu::isa_compiled(sym.isa)) v.push_back(&sym);
#include "kernels/quantize_u8.inc"
#undef QRT_QUANTIZE_U8
    v.push_back(&quantize_f32u8_ref);
    return v;
  }();
  return list;
}

const QuantizeU8Kernel& select_quantize_u8() {
  for (const QuantizeU8Kernel* k : quantize_u8_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return quantize_f32u8_ref;
}

}  // namespace qrt::kernels
