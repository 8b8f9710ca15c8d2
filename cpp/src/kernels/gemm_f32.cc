// Dispatch tables of the fp32 GEMM family (see gemm_f32.h). Each table lists the variants compiled
// into this build, best first, reference last; runtime filtering by CPU support happens once.
#include "kernels/gemm_f32.h"

#include "base/checks.h"

namespace qrt::kernels {

namespace ref {
extern const GemmF32Kernel gemm_f32f32_ref, gemm_f32f16_ref, gemm_f32bf16_ref;
extern const GemmF32NNKernel gemm_f32_nn_ref_kernel;
}  // namespace ref
#if QRT_ENABLE_AVX2
namespace avx2 {
extern const GemmF32Kernel gemm_f32f32_6x16_avx2, gemm_f32f16_6x16_avx2, gemm_f32bf16_6x16_avx2;
extern const GemmF32NNKernel gemm_f32_nn_avx2_kernel;
}  // namespace avx2
#endif
#if QRT_ENABLE_AVX512
namespace avx512 {
extern const GemmF32Kernel gemm_f32f32_8x32_avx512, gemm_f32f16_8x32_avx512,
    gemm_f32bf16_8x32_avx512;
extern const GemmF32NNKernel gemm_f32_nn_avx512_kernel;
}  // namespace avx512
#endif
#if QRT_ENABLE_NEON
namespace neon {
extern const GemmF32Kernel gemm_f32f32_4x16_neon, gemm_f32f16_4x16_neon, gemm_f32bf16_4x16_neon;
extern const GemmF32NNKernel gemm_f32_nn_neon_kernel;
}  // namespace neon
#endif
#if QRT_ENABLE_AVX512BF16
namespace avx512bf16 {
extern const GemmF32Kernel gemm_f32bf16_8x32_avx512bf16;
}  // namespace avx512bf16
#endif
#if QRT_ENABLE_AMX
namespace amx {
extern const GemmF32Kernel gemm_f32bf16_32x32_amx;
}  // namespace amx
#endif

namespace {

template <typename T>
std::vector<const T*> runnable(std::initializer_list<const T*> all) {
  std::vector<const T*> out;
  for (const T* k : all)
    if (cpu::isa_supported(k->isa) && cpu::isa_compiled(k->isa)) out.push_back(k);
  return out;
}

const std::vector<const GemmF32Kernel*>& f32_list() {
  static const std::vector<const GemmF32Kernel*> v = runnable<GemmF32Kernel>({
#if QRT_ENABLE_AVX512
      &avx512::gemm_f32f32_8x32_avx512,
#endif
#if QRT_ENABLE_AVX2
      &avx2::gemm_f32f32_6x16_avx2,
#endif
#if QRT_ENABLE_NEON
      &neon::gemm_f32f32_4x16_neon,
#endif
      &ref::gemm_f32f32_ref});
  return v;
}

const std::vector<const GemmF32Kernel*>& f16_list() {
  static const std::vector<const GemmF32Kernel*> v = runnable<GemmF32Kernel>({
#if QRT_ENABLE_AVX512
      &avx512::gemm_f32f16_8x32_avx512,
#endif
#if QRT_ENABLE_AVX2
      &avx2::gemm_f32f16_6x16_avx2,
#endif
#if QRT_ENABLE_NEON
      &neon::gemm_f32f16_4x16_neon,
#endif
      &ref::gemm_f32f16_ref});
  return v;
}

const std::vector<const GemmF32Kernel*>& bf16_list() {
  // The exact shift-widening AVX-512 kernel ranks above vdpbf16ps: on the Xeon this was tuned on
  // vdpbf16ps zmm issues once per 2 cycles (32 flop/cycle vs 64 for fp32 FMA), so the dot
  // kernel is slower at M >= 8, equal on memory-bound GEMV, and it also rounds A to bf16.
  // It stays listed (tested, benchmarked) for callers that select it explicitly.
  // AMX-BF16 (tdpbf16ps) ranks first where the CPU has it: it shares the vdpbf16ps kernel's
  // contract (A rounded to bf16) and packed layout and hands it rows below its minimum.
  static const std::vector<const GemmF32Kernel*> v = runnable<GemmF32Kernel>({
#if QRT_ENABLE_AMX
      &amx::gemm_f32bf16_32x32_amx,
#endif
#if QRT_ENABLE_AVX512
      &avx512::gemm_f32bf16_8x32_avx512,
#endif
#if QRT_ENABLE_AVX512BF16
      &avx512bf16::gemm_f32bf16_8x32_avx512bf16,
#endif
#if QRT_ENABLE_AVX2
      &avx2::gemm_f32bf16_6x16_avx2,
#endif
#if QRT_ENABLE_NEON
      &neon::gemm_f32bf16_4x16_neon,
#endif
      &ref::gemm_f32bf16_ref});
  return v;
}

}  // namespace

const std::vector<const GemmF32Kernel*>& gemm_f32_variants(format::DType weight_dtype) {
  static const std::vector<const GemmF32Kernel*> empty;
  switch (weight_dtype) {
    case format::DType::kF32: return f32_list();
    case format::DType::kF16: return f16_list();
    case format::DType::kBF16: return bf16_list();
    default: return empty;
  }
}

const GemmF32Kernel& select_gemm_f32(format::DType weight_dtype) {
  const auto& v = gemm_f32_variants(weight_dtype);
  QRT_CHECK(!v.empty());  // only kF32 / kF16 / kBF16 weights have float GEMM kernels
  for (const GemmF32Kernel* k : v)
    if (cpu::isa_enabled(k->isa)) return *k;
  return *v.back();
}

const GemmF32Kernel& select_gemm_f32_exact_a(format::DType weight_dtype) {
  const auto& v = gemm_f32_variants(weight_dtype);
  QRT_CHECK(!v.empty());
  for (const GemmF32Kernel* k : v)
    if (!k->rounds_a_to_bf16 && cpu::isa_enabled(k->isa)) return *k;
  return *v.back();  // the reference keeps A in f32
}

const std::vector<const GemmF32NNKernel*>& gemm_f32_nn_variants() {
  static const std::vector<const GemmF32NNKernel*> v = runnable<GemmF32NNKernel>({
#if QRT_ENABLE_AVX512
      &avx512::gemm_f32_nn_avx512_kernel,
#endif
#if QRT_ENABLE_AVX2
      &avx2::gemm_f32_nn_avx2_kernel,
#endif
#if QRT_ENABLE_NEON
      &neon::gemm_f32_nn_neon_kernel,
#endif
      &ref::gemm_f32_nn_ref_kernel});
  return v;
}

void gemm_f32_nn(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                 size_t ldb, float* C, size_t ldc) {
  // The cap can change at run time (tests), so the choice is re-read per call; it is a short
  // walk over at most three entries.
  for (const GemmF32NNKernel* k : gemm_f32_nn_variants()) {
    if (cpu::isa_enabled(k->isa)) {
      k->run(M, N, K, A, lda, B, ldb, C, ldc);
      return;
    }
  }
}

}  // namespace qrt::kernels
