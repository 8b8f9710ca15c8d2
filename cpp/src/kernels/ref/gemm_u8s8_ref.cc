// Scalar reference for gemm_u8s8: the specification (see gemm_u8s8.h). Deliberately simple.
// Packed layout (private to this kernel): [colsum int32 x N, padded to 64 bytes][B copied N x K].
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace ref {
namespace {

size_t colsum_region(size_t N) { return (N * 4 + 63) / 64 * 64; }

size_t packed_size(size_t N, size_t K) { return colsum_region(N) + N * K; }

void pack(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed) {
  uint8_t* base = static_cast<uint8_t*>(packed);
  int32_t* colsum = reinterpret_cast<int32_t*>(base);
  int8_t* b = reinterpret_cast<int8_t*>(base + colsum_region(N));
  for (size_t n = 0; n < N; ++n) {
    uint32_t s = 0;
    for (size_t k = 0; k < K; ++k) {
      b[n * K + k] = B[n * ldb + k];
      s += static_cast<uint32_t>(static_cast<int32_t>(B[n * ldb + k]));
    }
    colsum[n] = static_cast<int32_t>(s);
  }
}

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* b = reinterpret_cast<const int8_t*>(base + colsum_region(N));
  for (size_t m = m_begin; m < m_end; ++m) {
    for (size_t n = n_begin; n < n_end; ++n) {
      // int32 arithmetic modulo 2^32 (unsigned, so wrap-around is defined).
      uint32_t acc = 0;
      for (size_t k = 0; k < K; ++k)
        acc += static_cast<uint32_t>(static_cast<int32_t>(A[m * lda + k]) *
                                     static_cast<int32_t>(b[n * K + k]));
      acc -= static_cast<uint32_t>(ep.a_zero_point) * static_cast<uint32_t>(colsum[n]);
      if (ep.bias) acc += static_cast<uint32_t>(ep.bias[n]);
      const float p = static_cast<float>(static_cast<int32_t>(acc)) * ep.scale[n];
      if (ep.kind == GemmU8S8Epilogue::Kind::kRequantU8) {
        const float lo = static_cast<float>(ep.qmin - ep.out_zero_point);
        const float hi = static_cast<float>(ep.qmax - ep.out_zero_point);
        const float r = std::min(std::max(p, lo), hi);
        const int32_t q = ep.out_zero_point + static_cast<int32_t>(std::nearbyint(r));
        static_cast<uint8_t*>(C)[m * ldc + n] = static_cast<uint8_t>(q);
      } else {
        static_cast<float*>(C)[m * ldc + n] = ep.bias_f32 ? p + ep.bias_f32[n] : p;
      }
    }
  }
}

}  // namespace
}  // namespace ref

extern const GemmU8S8Kernel gemm_u8s8_ref = {"gemm_u8s8_1x1_ref", cpu::Isa::kRef, 1, 1, 1,
                                             ref::packed_size, ref::pack, ref::run};

}  // namespace qrt::kernels
