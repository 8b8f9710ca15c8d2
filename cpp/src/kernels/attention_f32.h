// Fused scaled-dot-product attention, fp32: one block of query rows of one head per call.
//
//   s[i][j] = scale * sum_d Q[i][d] K[j][d] + mask(i, j)
//   O[i][e] = sum_j softmax_j(s[i][:])[j] V[j][e]
// for i in [0, m), j in [0, n), d in [0, dk), e in [0, dv). Q, K, V and O are row-major with row
// strides ldq, ldk, ldv, ldo (elements), so one head of a [B, S, H*D] tensor is addressed in place
// (no head split / merge transposes). mask(i, j) = mask[i * mask_ld + j * mask_sj] with
// mask_sj 0 or 1 (mask == nullptr: no mask); a key-only mask ([B,1,1,S], BERT's padding mask) has
// mask_ld == 0.
//
// The SIMD variants compute the scores transposed, S^T = K * Q^T ([n][m], m lanes per key row), so
// K needs no transpose (only the small Q block does), the softmax reductions run across keys lane
// by lane (no horizontal reductions), and the second product reads S^T by broadcasts; 1/sum is
// applied to O rows at the end. With m <= 64 and n up to ~1000 the S^T block stays in L2.
// Softmax: max-subtracted; exp as kernels/vmath.h (Cody-Waite + degree-7 polynomial) with
// e^x = 0 below -87.3 (relative to the row maximum). A NaN score makes its row NaN; a row whose
// scores are all -Inf is NaN (as ONNX Softmax).
// Accuracy: fp32 accumulation (FMA) of both products and of the softmax sum, exp within 2 ulp;
// the SIMD variants are compared with the fp64 reference (ref/attention_f32_ref.cc) at
// |O - O_ref| <= 2e-6 + 2e-5 |O_ref| on data of unit scale (tests/cpp/ops/attention_test.cc).
// Threading: calls are independent (blocks may run concurrently); scratch is per call.
//
// Precision "bf16" (the Attention op's `precision` attribute): a variant with bf16_products set
// rounds Q, K, V and the softmax weights to bf16 (nearest even) and multiplies them exactly with
// fp32 accumulation (AMX-BF16: attention_bf16_amx, x86/attention_bf16_amx.cc). Error bound,
// tested against the fp64 reference on bf16-rounded Q, K, V: |O - O_ref| <= 2^-8 sum_j p_j
// |V[j][e]| + 1e-6 (p the exact softmax weights; each rounded weight carries a relative 2^-9 plus
// its exponential's 1e-4). Where no such variant can run,
// precision "bf16" runs the fp32 variants (more accurate, never less).
#pragma once

#include <cstddef>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

constexpr size_t kAttentionMaxRows = 64;  // m per call of the fp32 variants

struct AttentionF32Args {
  size_t m = 0, n = 0, dk = 0, dv = 0;
  const float* q = nullptr;  size_t ldq = 0;
  const float* k = nullptr;  size_t ldk = 0;
  const float* v = nullptr;  size_t ldv = 0;
  float* o = nullptr;        size_t ldo = 0;
  float scale = 1.f;
  const float* mask = nullptr;
  size_t mask_ld = 0, mask_sj = 0;
  float* scratch = nullptr;  // attention_f32_scratch_floats(m, n, dk) floats, 64-byte aligned
};

// Scratch floats one call of any variant needs (m <= its max_rows), 64-byte aligned.
inline size_t attention_scratch_floats(size_t m, size_t n, size_t dk, size_t dv) {
  auto up = [](size_t x, size_t a) { return (x + a - 1) / a * a; };
  const size_t mp = up(m, 16);
  const size_t f32 = (dk + n + 1) * mp + 16;
  // bf16 variant: Qb, Kb, S, P, Vb, inv (attention_bf16_amx.cc), each region 64-byte aligned.
  const size_t m32 = up(m, 32), k32 = up(dk ? dk : 1, 32), n32 = up(n, 32), v16 = up(dv, 16);
  const size_t bytes = up(m32 * k32 * 2, 64) + up(n32 * k32 * 2, 64) + up(m32 * n32 * 4, 64) +
                       up(m32 * n32 * 2, 64) + up(n32 * v16 * 2, 64) + up(m32 * 4, 64);
  const size_t bf16 = bytes / 4;
  return f32 > bf16 ? f32 : bf16;
}

struct AttentionF32Kernel {
  const char* name;
  cpu::Isa isa;
  void (*block)(const AttentionF32Args& a);
  bool bf16_products = false;  // precision "bf16" (see above); false: fp32 products
  // Largest m per call. The AMX variant takes 128, so a head of 128 queries converts its K and
  // V to bf16 once instead of once per 64-row block.
  size_t max_rows = kAttentionMaxRows;
};

// Runnable fp32 variants, best first, reference last (QRT_ISA cap not applied).
const std::vector<const AttentionF32Kernel*>& attention_f32_variants();
// Runnable bf16-product variants, best first (may be empty; QRT_ISA cap not applied).
const std::vector<const AttentionF32Kernel*>& attention_bf16_variants();
// Best fp32 variant allowed by the CPU and the QRT_ISA cap (never null). Cheap enough per op run,
// not per block: look it up once.
const AttentionF32Kernel& select_attention_f32();
// allow_bf16: the best bf16-product variant the CPU and the cap allow, else select_attention_f32().
const AttentionF32Kernel& select_attention(bool allow_bf16);

}  // namespace qrt::kernels
