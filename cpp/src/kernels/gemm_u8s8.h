// int8 GEMM family: u8 activations x s8 weights -> s32 accumulators -> fused epilogue.
//
// Contract (the scalar reference in ref/gemm_u8s8_ref.cc is the specification; every SIMD variant
// must equal it bit for bit):
//   acc[m][n]  = sum_k A[m][k] * B[n][k]  -  a_zero_point * colsum[n]  +  bias[n]     (int32)
//                where colsum[n] = sum_k B[n][k] is computed by pack(); bias may be null (= 0).
//   kRequantU8:  r = (float)acc[m][n] * scale[n]            (float32 multiply, no FMA)
//                r = min(max(r, qmin - out_zero_point), qmax - out_zero_point)
//                C_u8[m][n] = (uint8) (out_zero_point + nearbyint(r))   (round half to even)
//   kDequantF32: C_f32[m][n] = (float)acc[m][n] * scale[n] + (bias_f32 ? bias_f32[n] : 0)
//                (multiply, then add: two roundings, never an FMA)
// Layouts: A is M x K row-major u8 with row stride lda (elements, >= K). B (for pack) is N x K
// row-major s8 with row stride ldb: each output channel's weights contiguous, as OIHW conv
// weights and Gemm(transB=1) weights already are. C is M x N with row stride ldc (elements).
// Kernels never read A or B outside those bounds (K tails are masked), never write C outside
// rows [m_begin, m_end) x columns [n_begin, n_end).
// Threading: run() computes the tile [m_begin, m_end) x [n_begin, n_end); n_begin must be a
// multiple of nr (n_end may be N). Different tiles may run concurrently on the same packed B.
// int32 overflow: callers guarantee K <= 2^16 (|acc| < 2^31 for any u8 x s8 data at that depth).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct GemmU8S8Epilogue {
  enum class Kind : int { kRequantU8 = 0, kDequantF32 = 1 };
  Kind kind = Kind::kRequantU8;
  int32_t a_zero_point = 0;          // 0..255
  const int32_t* bias = nullptr;     // [N] or null
  const float* scale = nullptr;      // [N], finite and > 0 (never null)
  int32_t out_zero_point = 0;        // kRequantU8
  int32_t qmin = 0, qmax = 255;      // kRequantU8: 0 <= qmin <= qmax <= 255 (fused ReLU/ReLU6)
  const float* bias_f32 = nullptr;   // kDequantF32: [N] or null
};

struct GemmU8S8Kernel {
  const char* name;                  // e.g. "gemm_u8s8_16x64c4_avx512vnni"
  cpu::Isa isa;
  int mr, nr, kr;
  // Bytes needed by pack() for an N x K weight matrix (includes colsum and any padding).
  size_t (*packed_size)(size_t N, size_t K);
  // Packs B (N x K, row stride ldb) into `packed` (64-byte aligned, packed_size bytes).
  void (*pack)(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed);
  // Computes the tile of C described above. C is uint8_t* for kRequantU8, float* for kDequantF32.
  void (*run)(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
              const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
              size_t n_begin, size_t n_end);
};

// Every variant compiled into this build and runnable on this CPU, best first, reference last.
const std::vector<const GemmU8S8Kernel*>& gemm_u8s8_variants();
// The best variant allowed by the CPU and the QRT_ISA cap (never null: falls back to ref).
const GemmU8S8Kernel& select_gemm_u8s8();

}  // namespace qrt::kernels
