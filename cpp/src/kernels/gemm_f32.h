// Floating-point GEMM family with fp32 activations and fp32 / fp16 / bf16 weights.
//
//   C[m][n] = clamp( sum_k A[m][k] * W[n][k] + bias[n], fmin, fmax )
// A: M x K fp32 row-major, row stride lda. W (for pack): N x K row-major in the kernel's weight
// dtype (fp32, IEEE half, or bfloat16), row stride ldb; the packed copy may widen or reorder but
// the arithmetic is fp32 accumulation of the weight values exactly as stored (fp16/bf16 weights
// are converted to fp32 inside the micro-kernel). The bf16 variants using vdpbf16ps (AVX512_BF16)
// and tdpbf16ps (AMX-BF16) also round A to bf16 (kernel field rounds_a_to_bf16); that is their
// documented loss: A is rounded to nearest-even bf16 (relative error <= 2^-9 per element), the
// bf16 x bf16 products are exact in fp32 and accumulate in fp32; bf16 denormal inputs are read as
// zero and denormal results flushed to zero (DAZ/FTZ, both instructions, whatever MXCSR says).
// W and bias are not rounded further (W is bf16 already, bias is added in fp32). On AMX CPUs the
// AMX kernel is the selected bf16 variant, so bf16 models run with this contract there.
//
// Specification: ref/gemm_f32_ref.cc accumulates the exact products in fp64, adds the bias in
// fp64, rounds once to fp32, then clamps as  r = fmin > r ? fmin : r;  r = fmax < r ? fmax : r
// (a NaN result passes through the clamp, as x86 maxps/minps with the bound first).
// Float results are not bit-exact across ISAs (reduction order and FMA differ); tests compare
// each variant to the reference with the tolerance (S = sum_k |A[m][k] W[n][k]| + |bias[n]|)
//   |C - C_ref| <= (K + 2) * 2^-23 * S                  fp32 accumulation (all but bf16-dot)
//   |C - C_ref| <= (K + 2) * 2^-23 * S + 2^-8 * S       rounds_a_to_bf16 variants
// Bounds: kernels never read A outside rows [m_begin,m_end) x columns [0,K), never read W or the
// packed buffer outside its size, never write C outside the tile. bias may be null (= 0).
// Threading: run() computes the tile [m_begin,m_end) x [n_begin,n_end); n_begin is a multiple of
// nr (n_end may be N). Different tiles may run concurrently on the same packed weights. run() uses
// no global state except a per-thread scratch buffer (A micro-panels, or A rounded to bf16). The
// AMX variant configures the tiles of the calling thread and releases them before returning.
// Packed buffers must be 64-byte aligned (kernels use unaligned loads, alignment is for speed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"
#include "format/model_def.h"

namespace qrt::kernels {

struct GemmF32Kernel {
  const char* name;                  // e.g. "gemm_f32f16_8x32_avx512"
  cpu::Isa isa;
  format::DType weight_dtype;        // kF32, kF16 or kBF16
  int mr, nr;
  size_t (*packed_size)(size_t N, size_t K);
  void (*pack)(size_t N, size_t K, const void* W, size_t ldb, void* packed);
  void (*run)(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
              const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
              size_t m_end, size_t n_begin, size_t n_end);
  bool rounds_a_to_bf16 = false;     // vdpbf16ps variant: A is rounded to bf16 (see tolerance)
};

// Variants for one weight dtype that this build has and this CPU can run, best first, reference
// last (the QRT_ISA cap is NOT applied here, so tests can walk every runnable variant).
// An unsupported dtype gives an empty list.
const std::vector<const GemmF32Kernel*>& gemm_f32_variants(format::DType weight_dtype);
// The best variant allowed by the CPU and the QRT_ISA cap; never fails for kF32/kF16/kBF16
// (falls back to the reference); QRT_CHECK-fails for any other dtype.
const GemmF32Kernel& select_gemm_f32(format::DType weight_dtype);
// The best enabled variant that keeps A in f32 (rounds_a_to_bf16 false): the f32 product on the
// stored weights, for callers whose activations feed back into later products (recurrent state).
const GemmF32Kernel& select_gemm_f32_exact_a(format::DType weight_dtype);

// Unpacked activation x activation product for batched MatMul (attention):
//   C[m][n] = sum_k A[m*lda + k] * B[k*ldb + n]     (B is K x N row-major)
// fp32 accumulation (tolerance as above); K == 0 writes zeros. Never reads A/B outside
// M x K / K x N, never writes C outside M x N. Dispatches to the best enabled ISA (per call).
void gemm_f32_nn(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                 size_t ldb, float* C, size_t ldc);

struct GemmF32NNKernel {
  const char* name;
  cpu::Isa isa;
  void (*run)(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
              size_t ldb, float* C, size_t ldc);
};
// Runnable variants of gemm_f32_nn, best first, reference last (cap not applied).
const std::vector<const GemmF32NNKernel*>& gemm_f32_nn_variants();

// Exact conversions used by packing, references and tests.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   // round to nearest even, overflow -> Inf, NaN kept
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even, NaN kept

}  // namespace qrt::kernels
