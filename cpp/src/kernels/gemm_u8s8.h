// int8 GEMM family: u8 activations x s8 weights -> s32 accumulators -> fused epilogue.
//
// Contract (the scalar reference in ref/gemm_u8s8_ref.cc is the specification; every SIMD variant
// must equal it bit for bit):
//   acc[m][n]  = sum_k A[m][k] * B[n][k]  -  a_zero_point * colsum[n]  +  bias[n]     (int32)
//                where colsum[n] = sum_k B[n][k] is computed by pack(); bias may be null (= 0).
//                All int32 arithmetic is modulo 2^32 (two's complement wrap-around), so the
//                result does not depend on the summation order; it equals the mathematical value
//                whenever that fits in int32 (always true for K <= 2^16 and |bias| small).
//   kRequantU8:  r = (float)acc[m][n] * scale[n]            (float32 multiply, no FMA)
//                r = min(max(r, qmin - out_zero_point), qmax - out_zero_point)
//                C_u8[m][n] = (uint8) (out_zero_point + nearbyint(r))   (round half to even)
//   kDequantF32: p = (float)acc[m][n] * scale[n];  C_f32[m][n] = bias_f32 ? p + bias_f32[n] : p
//                (multiply, then add: two roundings, never an FMA; a null bias_f32 adds nothing,
//                 which matters only for the sign of a zero)
//   (float)acc and nearbyint use the current rounding mode, which must be the default
//   round-to-nearest-even (SIMD code uses cvtdq2ps / cvtps2dq, which follow MXCSR likewise).
// Layouts: A is M x K row-major u8 with row stride lda (elements, >= K). B (for pack) is N x K
// row-major s8 with row stride ldb: each output channel's weights contiguous, as OIHW conv
// weights and Gemm(transB=1) weights already are. C is M x N with row stride ldc (elements).
// Kernels never read A or B outside those bounds (K tails are masked), never write C outside
// rows [m_begin, m_end) x columns [n_begin, n_end). scale/bias/bias_f32 are read only at [0, N).
// Packed layout of the SIMD variants ("c4", see gemm_u8s8_pack.h and docs/KERNELS_INT8.md):
//   [colsum: int32 x round_up(N, nr), padded to 64 bytes]
//   [panel 0 .. ceil(N/nr)-1: for each group g of 4 k's (ceil(K/4) groups):
//        nr x 4 bytes, byte j*4+t = B[panel*nr + j][4g + t]  (zero beyond N and K)]
// so one 64-byte load feeds vpdpbusd with 16 columns x 4 k. The reference packs colsum + a plain
// copy of B. Packed buffers are private to the kernel that packed them.
// Threading: run() computes the tile [m_begin, m_end) x [n_begin, n_end); n_begin must be a
// multiple of nr (n_end may be N or any value <= N). Different tiles may run concurrently on the
// same packed B; run() allocates nothing and has no global state.
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
  // Optional (null where a variant lacks it): run() with A gathered by taps instead of stored,
  // an implicit im2col. With K = taps * kt, the product is run() on the matrix
  //   A[m][t * kt + j] = A0[m * lda + tap_off[t] + j]      (t < taps, j < kt)
  // i.e. each row reads kt contiguous bytes at each of `taps` offsets from its own base. For a
  // convolution over an input padded with its zero point, A0 is the input, lda the byte step
  // between horizontally adjacent output pixels, and tap_off[t] the offset of kernel tap t.
  // Preconditions: kt % 4 == 0, 1 <= taps <= kMaxGemmTaps, m_end - m_begin >= 3 (callers with
  // fewer rows gather them and use run()). Threading as run().
  void (*run_taps)(size_t M, size_t N, size_t taps, size_t kt, const size_t* tap_off,
                   const uint8_t* A0, size_t lda, const void* packed, const GemmU8S8Epilogue& ep,
                   void* C, size_t ldc, size_t m_begin, size_t m_end, size_t n_begin,
                   size_t n_end);
  // The weights this variant accepts: every B value in [-b_abs_max, b_abs_max] (128: any s8).
  // A narrower range is a precondition of run() (a variant that needs it is never selected by
  // select_gemm_u8s8(); callers reach it through `narrow` after checking the packed weights).
  int b_abs_max = 128;
  // Optional: a variant that reads this variant's packed bytes (same layout, same pack()) and is
  // faster when every B value lies in [-narrow->b_abs_max, narrow->b_abs_max]. Use
  // packed_b_within() on the packed buffer to decide.
  const GemmU8S8Kernel* narrow = nullptr;
};

// Do all weights in the c4-packed buffer of `k` (N x K) lie in [-lim, lim]? (Scans the panels;
// their padding is zero.) Meaningful for the SIMD variants' c4 layout only.
bool packed_b_within(const GemmU8S8Kernel& k, const void* packed, size_t N, size_t K, int lim);

inline constexpr size_t kMaxGemmTaps = 64;

// Every variant compiled into this build and runnable on this CPU, best first, reference last.
const std::vector<const GemmU8S8Kernel*>& gemm_u8s8_variants();
// The best variant allowed by the CPU and the QRT_ISA cap (never null: falls back to ref).
const GemmU8S8Kernel& select_gemm_u8s8();

}  // namespace qrt::kernels
