// gemm_u8s8 for aarch64 with the dot-product extension (ARMv8.2 `sdot`, -march=armv8.2-a+dotprod).
// Packed layout, the A - 128 shift and the epilogue: see gemm_u8s8_arm.h.
// sdot multiplies s8 x s8 (no u8 x s8 form without i8mm's usdot, which qrt has no level for),
// so A enters as a XOR 0x80 = a - 128 and the epilogue adds (128 - a_zp) * colsum. Each sdot by
// element adds four exact s8 x s8 products into each int32 lane without saturation (wraps), so
// any order equals the reference modulo 2^32.
// Tile 4 x 16: 16 accumulators (row r, columns 4v..4v+3 in acc[r][v]), the 4 B vectors of a
// k-group, and 4 A vectors of 16 k each (4 k-groups, used by lane: vdotq_laneq_s32) = 24 of the
// 32 vector registers; per 16 k and 4 rows: 16 B loads + 4 A loads for 64 sdot. One row runs
// 3 panels (48 columns, 12 independent accumulator chains) and two rows 2 panels, so that GEMV-
// like calls keep enough sdots in flight and stream several B panels at once (3, not 4, panels
// so that the existing test shapes, N <= 2 * nr + 5, exercise the multi-panel path).
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/gemm_u8s8_arm.h"
#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace neondot {
namespace {

using namespace arm_u8s8;

struct DotKernel {
  static constexpr int kMr = 4, kNp1 = 3, kNp2 = 2;

  // One k-group (lane L of the A vectors): B vector v of panel v/4 at bg + (v/4)*ps + (v%4)*16.
  template <int MR, int NV, int L>
  static __attribute__((always_inline)) inline void group(int32x4_t (&acc)[MR][NV],
                                                          const int8x16_t (&av)[MR],
                                                          const int8_t* bg, size_t ps) {
    QRT_SCHED_BARRIER();
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) {
      const int8x16_t bv = vld1q_s8(bg + (v / 4) * ps + (v % 4) * 16);
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) acc[r][v] = vdotq_laneq_s32(acc[r][v], bv, av[r], L);
    }
  }

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    constexpr int NV = 4 * NP;
    int32x4_t acc[MR][NV];
    QRT_UNROLL
    for (int r = 0; r < MR; ++r)
      QRT_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_s32(0);
    const uint8x16_t x80 = vdupq_n_u8(0x80);
    const uint8_t* ar[MR];
    QRT_UNROLL
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t ps = a.pstride, K = a.K;
    size_t k = 0;
    for (; k + 16 <= K; k += 16, b += 4 * 64) {
      int8x16_t av[MR];
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) av[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(ar[r] + k), x80));
      group<MR, NV, 0>(acc, av, b, ps);
      group<MR, NV, 1>(acc, av, b + 64, ps);
      group<MR, NV, 2>(acc, av, b + 128, ps);
      group<MR, NV, 3>(acc, av, b + 192, ps);
    }
    if (k < K) {
      // 1..15 k left (1..4 groups, the last maybe partial): copy exactly those bytes of A into a
      // zeroed buffer (never reading past A[m][K-1]); padded k's meet zero bytes of B.
      const size_t rem = K - k;
      int8x16_t av[MR];
      QRT_UNROLL
      for (int r = 0; r < MR; ++r) {
        uint8_t t[16] = {};
        std::memcpy(t, ar[r] + k, rem);
        av[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(t), x80));
      }
      group<MR, NV, 0>(acc, av, b, ps);
      if (rem > 4) group<MR, NV, 1>(acc, av, b + 64, ps);
      if (rem > 8) group<MR, NV, 2>(acc, av, b + 128, ps);
      if (rem > 12) group<MR, NV, 3>(acc, av, b + 192, ps);
    }
    store_tile<MR, NP>(a, acc);
  }
};

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<DotKernel>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace
}  // namespace neondot

extern const GemmU8S8Kernel gemm_u8s8_4x16c4_neondot = {
    "gemm_u8s8_4x16c4_neondot", cpu::Isa::kNeonDot, 4, 16, 4,
    arm_u8s8::packed_size, arm_u8s8::pack, neondot::run};

}  // namespace qrt::kernels
