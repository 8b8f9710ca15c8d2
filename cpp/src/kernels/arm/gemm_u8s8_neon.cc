// gemm_u8s8 for baseline aarch64 Advanced SIMD (-march=armv8-a, no dot product).
// Packed layout, the A - 128 shift and the epilogue: see gemm_u8s8_arm.h.
// Exactness: A enters as s8 (a XOR 0x80 = a - 128, in [-128, 127]); `smull` (vmull_s8) forms
// s8 x s8 products in int16 lanes exactly (|p| <= 128 * 128 = 16384 <= 32767), and `sadalp`
// (vpadalq_s16) adds adjacent pairs, widened, into int32 lanes (modulo 2^32, no saturation).
// Summing two products in int16 first would overflow for (-128)(-128) + (-128)(-128) = 32768,
// so every product pair goes through sadalp: 2 instructions per 8 multiply-adds.
// One k-group (16 columns x 4 k = 4 q registers): B vector v (columns 4v..4v+3 x 4 k) against
// A's 4 bytes repeated, low half (columns 4v, 4v+1) with smull, high half with smull2; the
// accumulators of a row are 8 q registers, lanes [c k01, c k23, c+1 k01, c+1 k23]; one addp per
// 4 columns at the end folds them to [c, c+1, c+2, c+3].
// Tile 3 x 16: 24 accumulators + 1 B vector + 3 A vectors + 2 products of the 32 registers (the
// XOR with 0x80 is done on the general-purpose side, so no vector register holds the constant).
// One row runs 2 panels (16 accumulators), two rows 1 panel.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/gemm_u8s8_arm.h"
#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace neon {
namespace {

using namespace arm_u8s8;

struct MullKernel {
  static constexpr int kMr = 3, kNp1 = 2, kNp2 = 1;

  // One k-group; a4[r] = A[r][4g..4g+3] as (a - 128), repeated in both halves.
  template <int MR, int NV>
  static __attribute__((always_inline)) inline void group(int32x4_t (&acc)[MR][2 * NV],
                                                          const int8x16_t (&a4)[MR],
                                                          const int8_t* bg, size_t ps) {
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) {
      QRT_SCHED_BARRIER();
      const int8x16_t bv = vld1q_s8(bg + (v / 4) * ps + (v % 4) * 16);
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) {
        if (r > 0) QRT_SCHED_BARRIER();  // keeps 2 products live, not 2 * MR (see the header)
        const int16x8_t lo = vmull_s8(vget_low_s8(bv), vget_low_s8(a4[r]));
        const int16x8_t hi = vmull_high_s8(bv, a4[r]);
        acc[r][2 * v] = vpadalq_s16(acc[r][2 * v], lo);
        acc[r][2 * v + 1] = vpadalq_s16(acc[r][2 * v + 1], hi);
      }
    }
  }

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;
    int32x4_t acc[MR][2 * NV];
    QRT_UNROLL
    for (int r = 0; r < MR; ++r)
      QRT_UNROLL
      for (int v = 0; v < 2 * NV; ++v) acc[r][v] = vdupq_n_s32(0);
    const uint8_t* ar[MR];
    QRT_UNROLL
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t ps = a.pstride, K = a.K;
    size_t k = 0;
    for (; k + 4 <= K; k += 4, b += 64) {
      int8x16_t a4[MR];
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) {
        uint32_t w;
        std::memcpy(&w, ar[r] + k, 4);
        a4[r] = vreinterpretq_s8_u32(vdupq_n_u32(w ^ 0x80808080u));
      }
      group<MR, NV>(acc, a4, b, ps);
    }
    if (k < K) {  // the last 1..3 k: exactly those bytes of A, zero-filled (meet zero B bytes)
      int8x16_t a4[MR];
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) {
        uint32_t w = 0;
        std::memcpy(&w, ar[r] + k, K - k);
        a4[r] = vreinterpretq_s8_u32(vdupq_n_u32(w ^ 0x80808080u));
      }
      group<MR, NV>(acc, a4, b, ps);
    }
    int32x4_t sums[MR][NV];
    QRT_UNROLL
    for (int r = 0; r < MR; ++r)
      QRT_UNROLL
      for (int v = 0; v < NV; ++v) sums[r][v] = vpaddq_s32(acc[r][2 * v], acc[r][2 * v + 1]);
    store_tile<MR, NP>(a, sums);
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<MullKernel>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace neon

extern const GemmU8S8Kernel gemm_u8s8_3x16c4_neon = {
    "gemm_u8s8_3x16c4_neon", cpu::Isa::kNeon, 3, 16, 4,
    arm_u8s8::packed_size, arm_u8s8::pack, neon::run};

}  // namespace qrt::kernels
