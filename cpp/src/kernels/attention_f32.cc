// Dispatch of the fused attention kernel (see attention_f32.h).
#include "kernels/attention_f32.h"

namespace qrt::kernels {

namespace ref {
extern const AttentionF32Kernel attention_f32_ref;
}
#if QRT_ENABLE_AVX2
namespace attention_avx2 {
extern const AttentionF32Kernel attention_f32_avx2;
}
#endif
#if QRT_ENABLE_AVX512
namespace attention_avx512 {
extern const AttentionF32Kernel attention_f32_avx512;
}
#endif
#if QRT_ENABLE_AMX
namespace attention_amx {
extern const AttentionF32Kernel attention_bf16_amx;
}
#endif

const std::vector<const AttentionF32Kernel*>& attention_f32_variants() {
  static const std::vector<const AttentionF32Kernel*> v = [] {
    std::vector<const AttentionF32Kernel*> out;
    for (const AttentionF32Kernel* k : {
#if QRT_ENABLE_AVX512
             &attention_avx512::attention_f32_avx512,
#endif
#if QRT_ENABLE_AVX2
             &attention_avx2::attention_f32_avx2,
#endif
             &ref::attention_f32_ref}) {
      if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
    }
    return out;
  }();
  return v;
}

const std::vector<const AttentionF32Kernel*>& attention_bf16_variants() {
  static const std::vector<const AttentionF32Kernel*> v = [] {
    std::vector<const AttentionF32Kernel*> out;
#if QRT_ENABLE_AMX
    const AttentionF32Kernel* k = &attention_amx::attention_bf16_amx;
    if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
#endif
    return out;
  }();
  return v;
}

const AttentionF32Kernel& select_attention(bool allow_bf16) {
  if (allow_bf16)
    for (const AttentionF32Kernel* k : attention_bf16_variants())
      if (cpu::isa_enabled(k->isa)) return *k;
  return select_attention_f32();
}

const AttentionF32Kernel& select_attention_f32() {
  const auto& v = attention_f32_variants();
  for (const AttentionF32Kernel* k : v)
    if (cpu::isa_enabled(k->isa)) return *k;
  return *v.back();
}

}  // namespace qrt::kernels
