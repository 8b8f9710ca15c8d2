// Floating-point GEMM family with fp32 activations and fp32 / fp16 / bf16 weights.
//
//   C[m][n] = clamp( sum_k A[m][k] * W[n][k] + bias[n], fmin, fmax )
// A: M x K fp32 row-major, row stride lda. W (for pack): N x K row-major in the kernel's weight
// dtype (fp32, IEEE half, or bfloat16), row stride ldb; the packed copy may widen or reorder but
// the arithmetic is fp32 accumulation of the weight values exactly as stored (fp16/bf16 weights
// are converted to fp32 inside the micro-kernel). The bf16 variant using vdpbf16ps also rounds A
// to bf16; that is its documented loss (see tests for the tolerance).
// Float results are not bit-exact across ISAs (reduction order and FMA differ); tests compare
// each variant to the fp64-accumulated reference with a tolerance relative to sum_k |A||W|.
// Threading and bounds exactly as in gemm_u8s8.h: tile [m_begin,m_end) x [n_begin,n_end), n_begin
// a multiple of nr; never reads outside A/W, never writes outside the tile.
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
};

// Variants for one weight dtype, best first, reference last.
const std::vector<const GemmF32Kernel*>& gemm_f32_variants(format::DType weight_dtype);
const GemmF32Kernel& select_gemm_f32(format::DType weight_dtype);

// Unpacked activation x activation product for batched MatMul (attention):
//   C[m][n] = sum_k A[m*lda + k] * B[k*ldb + n]     (B is K x N row-major)
// Dispatches internally to the best enabled ISA.
void gemm_f32_nn(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                 size_t ldb, float* C, size_t ldc);

}  // namespace qrt::kernels
