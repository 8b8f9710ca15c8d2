// Reference (specification) kernels of the fp32 GEMM family: plain loops, fp64 accumulation of
// the exact fp32 products (fp16/bf16 weights widened exactly), one rounding to fp32 after the bias,
// then the clamp defined in gemm_f32.h. Slow by design; it is also the last fallback.
#include <cstring>

#include "kernels/gemm_f32.h"

namespace qrt::kernels {

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);          // Inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // normal: rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;                                      // +-0
  } else {                                            // subnormal: normalise
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while (!(man & 0x400u));
    bits = sign | ((112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((ax >> 13) & 0x1ff);
  if (ax >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65536 -> Inf
  if (ax < 0x38800000u) {                        // half subnormal or zero
    if (ax < 0x33000000u) return sign;           // < 2^-25 rounds to 0
    uint32_t e = ax >> 23, man = (ax & 0x7fffffu) | 0x800000u;
    // value = man * 2^(e-150); the half subnormal unit is 2^-24, so q = man * 2^(e-126).
    uint32_t shift = 126 - e;                    // 14..24
    uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return sign | static_cast<uint16_t>(q);
  }
  uint32_t r = ax + 0xfffu + ((ax >> 13) & 1);  // round to nearest even at bit 13
  return sign | static_cast<uint16_t>((r - 0x38000000u) >> 13);
}

float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

namespace ref {
namespace {

struct F16 { uint16_t v; };
struct BF16 { uint16_t v; };

inline double to_double(float w) { return w; }
inline double to_double(F16 w) { return f16_to_f32(w.v); }
inline double to_double(BF16 w) { return bf16_to_f32(w.v); }

// Packed layout of the reference: W copied to N x K contiguous rows, dtype unchanged.
template <typename T>
size_t packed_size(size_t N, size_t K) {
  return N * K * sizeof(T);
}

template <typename T>
void pack(size_t N, size_t K, const void* W, size_t ldb, void* packed) {
  const char* src = static_cast<const char*>(W);
  char* dst = static_cast<char*>(packed);
  for (size_t n = 0; n < N; ++n) std::memcpy(dst + n * K * sizeof(T), src + n * ldb * sizeof(T),
                                             K * sizeof(T));
}

template <typename T>
void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  const T* W = static_cast<const T*>(packed);
  for (size_t m = m_begin; m < m_end; ++m) {
    for (size_t n = n_begin; n < n_end; ++n) {
      double s = 0.0;
      for (size_t k = 0; k < K; ++k) s += static_cast<double>(A[m * lda + k]) * to_double(W[n * K + k]);
      if (bias) s += bias[n];
      float r = static_cast<float>(s);
      r = fmin > r ? fmin : r;
      r = fmax < r ? fmax : r;
      C[m * ldc + n] = r;
    }
  }
}

}  // namespace

extern const GemmF32Kernel gemm_f32f32_ref = {"gemm_f32f32_1x1_ref", cpu::Isa::kRef,
                                              format::DType::kF32, 1, 1, packed_size<float>,
                                              pack<float>, run<float>};
extern const GemmF32Kernel gemm_f32f16_ref = {"gemm_f32f16_1x1_ref", cpu::Isa::kRef,
                                              format::DType::kF16, 1, 1, packed_size<F16>,
                                              pack<F16>, run<F16>};
extern const GemmF32Kernel gemm_f32bf16_ref = {"gemm_f32bf16_1x1_ref", cpu::Isa::kRef,
                                               format::DType::kBF16, 1, 1, packed_size<BF16>,
                                               pack<BF16>, run<BF16>};

void gemm_f32_nn_ref(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                     size_t ldb, float* C, size_t ldc) {
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (size_t k = 0; k < K; ++k) s += static_cast<double>(A[m * lda + k]) * B[k * ldb + n];
      C[m * ldc + n] = static_cast<float>(s);
    }
}
extern const GemmF32NNKernel gemm_f32_nn_ref_kernel = {"gemm_f32_nn_ref", cpu::Isa::kRef,
                                                       gemm_f32_nn_ref};

}  // namespace ref
}  // namespace qrt::kernels
