// gemm_u8s8 for AVX2 without VNNI. The general kernel does not use vpmaddubsw: its int16 pair
// sums saturate for unconstrained u8 x s8 data (255*127*2 > 32767) — ONNX Runtime's AVX2 u8s8
// GEMM does use it and returns wrong sums for full-range data (benchmarks/int8_kernels_vs_ort.py
// counts them). Instead both operands are widened to int16 (A zero-extended, B sign-extended) and
// multiplied with vpmaddwd, whose pair sums (|a0*b0 + a1*b1| <= 65280) are exact in int32. With
// the c4 layout, one 16-byte load of B is 4 columns x 4 k; after vpmovsxbw a ymm holds (col,
// k0..k3) for 4 columns, and the 4 k of one A row, as int16 broadcast as one 64-bit pattern, line
// up with every column. vpmaddwd leaves two partial sums per column; vphaddd + vpermq fold them
// at the end (int32 wrap-around, exact).
//
// Tiles of 3-6 rows (the bulk of every GEMM and convolution) first widen a chunk of 256 k of
// their A rows into an L1 buffer (one vpmovzxbw per 16 bytes, shared by up to 4 panels of 8
// columns), so that the inner loop broadcasts A with a plain broadcast load: per k-group, 2 B
// widenings, 6 broadcasts, 12 vpmaddwd and 12 vpaddd for 6 x 8 x 4 MACs. (The previous kernel,
// 4 x 8 with A widened in registers by intrinsics that GCC compiled with 9 of 12 accumulators
// spilled, ran at 55-58 GOPS on a Zen 3; this one at 130-140.) 1- and 2-row tiles (GEMV-like,
// bound by reading B) widen A in registers and span 2-3 panels.
//
// For weights in [-64, 64] the second kernel of this file (NarrowAvx2, reached through
// gemm_u8s8_6x8c4_avx2.narrow) does use vpmaddubsw, which cannot saturate on them.
#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_driver.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx2.h"
#include "kernels/x86/gemm_u8s8_pack_avx2.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

// The epilogue of an MR x NP-panel tile: row r of panel p's 8 int32 sums is sums(p, r); panels
// from n_end on are skipped. Constants read once (epi_const8).
template <int MR, int NP, class Sums>
__attribute__((always_inline)) inline void store_panels(const GemmArgs& a, Sums&& sums) {
  const EpiConst8 e = epi_const8(*a.ep);
  const size_t esz = e.requant ? 1 : 4;
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    const size_t n = a.n0 + 8 * p;
    if (n >= a.n_end) break;
    const ColVec8 cv = col_vec8(*a.ep, a.colsum + 8 * p, n, a.n_end);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) store_row8(e, cv, sums(p, r), static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
  }
}

struct MaddAvx2 {
  static constexpr size_t kNr = 8;
  static constexpr int kMr = 6, kNp1 = 3, kNp2 = 2, kNpRows = 4;
  static constexpr size_t kKc = 256;  // k per widened chunk of A (multiple of 4)

  static inline __m256i widen_a(int32_t a4) {
    return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4)));
  }

  // The k-loop of tile_wide in inline asm: with intrinsics GCC hoists the six A broadcasts and
  // spills most of the twelve accumulators to the stack (a store-to-load chain per k-group).
  // Accumulators in ymm0-11 (loaded from and stored back to c around the loop), B in ymm12-13,
  // A in ymm14 (vbroadcastsd: a load-port broadcast, measured 11 % faster than vpbroadcastq in
  // this loop on Zen 3), products in ymm15 and (the second, A being dead) ymm14 — two product
  // registers measured 9 % faster than one; rows past MR are assembled out (.if). FIRST: the
  // first chunk starts from zero (no loads; c need not be initialised).
  template <int MR, bool FIRST>
  static __attribute__((always_inline)) inline void kloop(const int8_t* b, const int16_t* abuf,
                                                          size_t ng, __m256i (&c)[6][2]) {
    static_assert(MR >= 3 && MR <= 6, "3-6 rows");
    static_assert(kKc * sizeof(int16_t) == 512, "the asm addresses A rows 512 bytes apart");
    if (!ng) {
      if (FIRST) std::memset(c, 0, sizeof(c));
      return;
    }
    __asm__ volatile(
          ".if %c[first]\n\t"
          "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
          "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
          "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
          "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
          "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
          "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
          "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
          "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
          "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
          "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
          "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
          "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
          ".else\n\t"
          "vmovdqa 0(%[c]), %%ymm0\n\t"
          "vmovdqa 32(%[c]), %%ymm1\n\t"
          "vmovdqa 64(%[c]), %%ymm2\n\t"
          "vmovdqa 96(%[c]), %%ymm3\n\t"
          "vmovdqa 128(%[c]), %%ymm4\n\t"
          "vmovdqa 160(%[c]), %%ymm5\n\t"
          "vmovdqa 192(%[c]), %%ymm6\n\t"
          "vmovdqa 224(%[c]), %%ymm7\n\t"
          "vmovdqa 256(%[c]), %%ymm8\n\t"
          "vmovdqa 288(%[c]), %%ymm9\n\t"
          "vmovdqa 320(%[c]), %%ymm10\n\t"
          "vmovdqa 352(%[c]), %%ymm11\n\t"
          ".endif\n\t"
          "1:\n\t"
          "vpmovsxbw (%[b]), %%ymm12\n\t"
          "vpmovsxbw 16(%[b]), %%ymm13\n\t"
          "vbroadcastsd (%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm0, %%ymm0\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm1, %%ymm1\n\t"
          "vbroadcastsd 512(%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm2, %%ymm2\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm3, %%ymm3\n\t"
          "vbroadcastsd 1024(%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm4, %%ymm4\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm5, %%ymm5\n\t"
          ".if %c[mr] > 3\n\t"
          "vbroadcastsd 1536(%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm6, %%ymm6\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm7, %%ymm7\n\t"
          ".endif\n\t"
          ".if %c[mr] > 4\n\t"
          "vbroadcastsd 2048(%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm8, %%ymm8\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm9, %%ymm9\n\t"
          ".endif\n\t"
          ".if %c[mr] > 5\n\t"
          "vbroadcastsd 2560(%[a]), %%ymm14\n\t"
          "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm10, %%ymm10\n\t"
          "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm11, %%ymm11\n\t"
          ".endif\n\t"
          "add $32, %[b]\n\t"
          "add $8, %[a]\n\t"
          "dec %[ng]\n\t"
          "jnz 1b\n\t"
          "vmovdqa %%ymm0, 0(%[c])\n\t"
          "vmovdqa %%ymm1, 32(%[c])\n\t"
          "vmovdqa %%ymm2, 64(%[c])\n\t"
          "vmovdqa %%ymm3, 96(%[c])\n\t"
          "vmovdqa %%ymm4, 128(%[c])\n\t"
          "vmovdqa %%ymm5, 160(%[c])\n\t"
          "vmovdqa %%ymm6, 192(%[c])\n\t"
          "vmovdqa %%ymm7, 224(%[c])\n\t"
          "vmovdqa %%ymm8, 256(%[c])\n\t"
          "vmovdqa %%ymm9, 288(%[c])\n\t"
          "vmovdqa %%ymm10, 320(%[c])\n\t"
          "vmovdqa %%ymm11, 352(%[c])\n\t"
          : [b] "+r"(b), [a] "+r"(abuf), [ng] "+r"(ng)
          : [c] "r"(&c[0][0]), [mr] "i"(MR), [first] "i"(FIRST ? 1 : 0)
          : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
            "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
  }

  // n bytes of u8 -> int16, reading exactly [src, src + n).
  static __attribute__((always_inline)) inline void widen(int16_t* dst, const uint8_t* src, size_t n) {
    size_t k = 0;
    for (; k + 16 <= n; k += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k),
                          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k))));
    if (k + 8 <= n) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k),
                       _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + k))));
      k += 8;
    }
    for (; k < n; ++k) dst[k] = src[k];
  }

  // MR rows x NP panels; A widened per chunk of kKc k into an aligned stack buffer once for all
  // NP panels (widening is then 1/NP of a vpmovzxbw per 16 bytes per 8 columns).
  template <int MR, int NP>
  static void tile_wide(const GemmArgs& a) {
    alignas(32) int16_t buf[MR * kKc];
    alignas(32) __m256i acc[NP][6][2];  // written by the first chunk; rows past MR unused
    if (a.K == 0) std::memset(acc, 0, sizeof(acc));
    for (size_t k0 = 0; k0 < a.K; k0 += kKc) {
      const size_t kc = a.K - k0 < kKc ? a.K - k0 : kKc;
      const size_t kc4 = (kc + 3) & ~size_t{3};
#pragma GCC unroll 1
      for (int r = 0; r < MR; ++r) {
        int16_t* dst = buf + r * kKc;
        if (!a.tap_off) {
          widen(dst, a.A + r * a.lda + k0, kc);
          for (size_t k = kc; k < kc4; ++k) dst[k] = 0;  // K tail; B's k padding is zero too
          continue;
        }
        // Taps: kc and kt are multiples of 4, so the chunk splits into whole 4-byte groups.
        for_each_tap_piece(a, r, k0, kc, [&](size_t k, const uint8_t* src, size_t len) { widen(dst + k, src, len); });
      }
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) {
        const int8_t* bp = a.panels + p * a.pstride + k0 * kNr;
        if (k0 == 0)
          kloop<MR, true>(bp, buf, kc4 / 4, acc[p]);
        else
          kloop<MR, false>(bp, buf, kc4 / 4, acc[p]);
      }
    }
    store_panels<MR, NP>(a, [&](int p, int r) { return fold4(acc[p][r][0], acc[p][r][1]); });
  }

  // 1-2 rows x NP panels, A widened in registers.
  template <int MR, int NP>
  static void tile_narrow(const GemmArgs& a) {
    constexpr int NV = 2 * NP;  // accumulators per row: (cols 0-3, cols 4-7) per panel
    __m256i acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_si256();
    const uint8_t* ar[MR];
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
    const int8_t* b = a.panels;
    const size_t kg = a.K / 4;
    auto step = [&](const int8_t* bg, const int32_t* a4) __attribute__((always_inline)) {
      __m256i bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm256_cvtepi8_epi16(
            _mm_load_si128(reinterpret_cast<const __m128i*>(bg + (v / 2) * a.pstride + (v % 2) * 16)));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m256i av = widen_a(a4[r]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(av, bv[v]));
      }
    };
    for (size_t g = 0; g < kg; ++g) {
      int32_t a4[MR];
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) std::memcpy(&a4[r], ar[r] + 4 * g, 4);
      step(b, a4);
      b += kNr * 4;
    }
    if (const size_t kt = a.K % 4) {
      int32_t a4[MR];
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        a4[r] = 0;
        std::memcpy(&a4[r], ar[r] + 4 * kg, kt);
      }
      step(b, a4);
    }
    store_panels<MR, NP>(a, [&](int p, int r) { return fold4(acc[r][2 * p], acc[r][2 * p + 1]); });
  }

  template <int MR, int NP>
  static void tile(const GemmArgs& a);
};

// Weights in [-64, 64] (a model quantized with 7-bit weights, ORT's and PyTorch's reduce_range):
// vpmaddubsw(a u8, b s8) cannot saturate, |a0*b0 + a1*b1| <= 255 * 128 = 32640, so the 3-uop
// form is exact: vpmaddubsw, vpmaddwd with ones (the 4 k of a column summed in int32), vpaddd.
// A is read as bytes (no widening) and broadcast 4 k at a time; a 32-byte load of B is 8
// columns x 4 k, so each int32 lane is one column's sum (no vphaddd at the end). Tiles of up to
// 4 rows x 2 panels (8 accumulators, 2 B, A, ones, 2 products: 14 ymm).
// Taps mode: a tile call spans up to kNpTaps panels, and its A rows are gathered into a stack
// buffer once for all of them (K <= kKWhole; longer K is gathered per 2 panels in chunks of kKc).
// Gathering per 2 panels made the 3x3 layers of ResNet-18 at 56x56 (N = 64: 4 gathers of each
// row) run at 127 GOPS against 175 for the same kernel on an explicit im2col.
struct NarrowAvx2 {
  static constexpr size_t kNr = 8;
  static constexpr int kMr = 4, kNp1 = 4, kNp2 = 2, kNpRows = 2, kNpTaps = 8;
  static constexpr size_t kKc = 1024;      // taps mode, long K: k per gathered chunk (multiple of 4)
  static constexpr size_t kKWhole = 4096;  // taps mode: K gathered whole up to this

  // n bytes (a multiple of 4) from src to dst; reads exactly [src, src + n).
  static __attribute__((always_inline)) inline void copy4(uint8_t* dst, const uint8_t* src, size_t n) {
    size_t k = 0;
    for (; k + 32 <= n; k += 32)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + k)));
    if (k + 16 <= n) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k)));
      k += 16;
    }
    for (; k < n; k += 4) std::memcpy(dst + k, src + k, 4);
  }

  // ng k-groups of MR (1-4) rows x NP (1-2) panels in inline asm; row r's group g is the 4 bytes
  // at a + r * lda + 4g, panel p's at b + p * pstride + 32g. With intrinsics GCC kept one of the
  // eight accumulators on the stack and copied others between registers every k-group (a
  // store-to-load chain: 131 GOPS instead of 180 on 7x7x512 after a refactor moved the loop into
  // a helper). Accumulators c[r][p] in ymm(2r + p), B in ymm8-9, ones (int16) in ymm15; A of even
  // rows in ymm10 (products ymm11, then ymm10), of odd rows in ymm12 (products ymm13, ymm12).
  // FIRST: start from zero instead of loading c.
  template <int MR, int NP, bool FIRST>
  static __attribute__((always_inline)) inline void kloop(const int8_t* b, size_t pstride, const uint8_t* a,
                                                          size_t lda, size_t ng, __m256i (&c)[4][2]) {
    static_assert(MR >= 1 && MR <= 4 && NP >= 1 && NP <= 2, "1-4 rows x 1-2 panels");
    if (!ng) {
      if (FIRST) std::memset(c, 0, sizeof(c));
      return;
    }
    // One index (the byte offset in A; B's is 8 times it) steps every stream: one add per k-group.
    const uint8_t* a1 = MR > 1 ? a + lda : a;  // (rows past MR are never read)
    const uint8_t* a2 = MR > 2 ? a + 2 * lda : a;
    const uint8_t* a3 = MR > 3 ? a + 3 * lda : a;
    const int8_t* b1 = NP > 1 ? b + pstride : b;
    size_t i = 0;
    const size_t n = 4 * ng;
#define QRT_NARROW_ROW(R, C0, C1, AREG, P0, P1, AP)                                  \
  ".if %c[mr] > " #R "\n\t"                                                          \
  "vpbroadcastd (%[" #AP "],%[i]), %%ymm" #AREG "\n\t"                               \
  "vpmaddubsw %%ymm8, %%ymm" #AREG ", %%ymm" #P0 "\n\t"                              \
  ".if %c[np] > 1\n\t"                                                               \
  "vpmaddubsw %%ymm9, %%ymm" #AREG ", %%ymm" #P1 "\n\t"                              \
  ".endif\n\t"                                                                       \
  "vpmaddwd %%ymm15, %%ymm" #P0 ", %%ymm" #P0 "\n\t"                                 \
  "vpaddd %%ymm" #P0 ", %%ymm" #C0 ", %%ymm" #C0 "\n\t"                              \
  ".if %c[np] > 1\n\t"                                                               \
  "vpmaddwd %%ymm15, %%ymm" #P1 ", %%ymm" #P1 "\n\t"                                 \
  "vpaddd %%ymm" #P1 ", %%ymm" #C1 ", %%ymm" #C1 "\n\t"                              \
  ".endif\n\t"                                                                       \
  ".endif\n\t"
    __asm__ volatile(
        "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t"
        "vpsrlw $15, %%ymm15, %%ymm15\n\t"
        ".if %c[first]\n\t"
        "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
        "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
        "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
        "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
        "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
        "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
        "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
        "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
        ".else\n\t"
        "vmovdqa 0(%[c]), %%ymm0\n\t"
        "vmovdqa 32(%[c]), %%ymm1\n\t"
        "vmovdqa 64(%[c]), %%ymm2\n\t"
        "vmovdqa 96(%[c]), %%ymm3\n\t"
        "vmovdqa 128(%[c]), %%ymm4\n\t"
        "vmovdqa 160(%[c]), %%ymm5\n\t"
        "vmovdqa 192(%[c]), %%ymm6\n\t"
        "vmovdqa 224(%[c]), %%ymm7\n\t"
        ".endif\n\t"
        ".p2align 5\n\t"
        "1:\n\t"
        "vmovdqu (%[b],%[i],8), %%ymm8\n\t"
        ".if %c[np] > 1\n\t"
        "vmovdqu (%[b1],%[i],8), %%ymm9\n\t"
        ".endif\n\t"
        QRT_NARROW_ROW(0, 0, 1, 10, 11, 10, a0)
        QRT_NARROW_ROW(1, 2, 3, 12, 13, 12, a1)
        QRT_NARROW_ROW(2, 4, 5, 10, 11, 10, a2)
        QRT_NARROW_ROW(3, 6, 7, 12, 13, 12, a3)
        "add $4, %[i]\n\t"
        "cmp %[n], %[i]\n\t"
        "jne 1b\n\t"
        "vmovdqa %%ymm0, 0(%[c])\n\t"
        "vmovdqa %%ymm1, 32(%[c])\n\t"
        "vmovdqa %%ymm2, 64(%[c])\n\t"
        "vmovdqa %%ymm3, 96(%[c])\n\t"
        "vmovdqa %%ymm4, 128(%[c])\n\t"
        "vmovdqa %%ymm5, 160(%[c])\n\t"
        "vmovdqa %%ymm6, 192(%[c])\n\t"
        "vmovdqa %%ymm7, 224(%[c])\n\t"
        : [i] "+r"(i)
        : [c] "r"(&c[0][0]), [b] "r"(b), [b1] "r"(b1), [a0] "r"(a), [a1] "r"(a1), [a2] "r"(a2),
          [a3] "r"(a3), [n] "r"(n), [mr] "i"(MR), [np] "i"(NP), [first] "i"(FIRST ? 1 : 0)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm15", "memory", "cc");
#undef QRT_NARROW_ROW
  }

  // The last kt < 4 k of MR rows x NP panels (A read byte-exactly, zero-padded; B's padding is
  // zero) added into c.
  template <int MR, int NP>
  static void tail(const int8_t* b, size_t pstride, const uint8_t* a, size_t lda, size_t kt, __m256i (&c)[4][2]) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int r = 0; r < MR; ++r) {
      int32_t a4 = 0;
      std::memcpy(&a4, a + r * lda, kt);
      const __m256i av = _mm256_set1_epi32(a4);
      for (int p = 0; p < NP; ++p) {
        const __m256i bv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * pstride));
        c[r][p] = _mm256_add_epi32(c[r][p], _mm256_madd_epi16(_mm256_maddubs_epi16(av, bv), ones));
      }
    }
  }

  // Panels [p0, p0 + NP) (NP 1-2) of the tile over the whole K; row r at a0 + r * lda.
  template <int MR, int NP>
  static __attribute__((always_inline)) inline void span(const GemmArgs& a, int p0, const uint8_t* a0, size_t lda) {
    alignas(32) __m256i c[4][2];
    const int8_t* b = a.panels + p0 * a.pstride;
    const size_t kg = a.K / 4;
    kloop<MR, NP, true>(b, a.pstride, a0, lda, kg, c);
    if (const size_t kt = a.K % 4) tail<MR, NP>(b + kg * kNr * 4, a.pstride, a0 + 4 * kg, lda, kt, c);
    GemmArgs s = a;
    s.n0 = a.n0 + p0 * kNr;
    s.colsum = a.colsum + p0 * kNr;
    store_panels<MR, NP>(s, [&](int p, int r) { return c[r][p]; });
  }

  // 1 row x 3-4 panels (GEMV-like tiles, bound by reading B: more streams in flight), intrinsics.
  template <int NP>
  static void row_wide(const GemmArgs& a) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) acc[p] = _mm256_setzero_si256();
    auto step4 = [&](const int8_t* bg, int32_t a4) __attribute__((always_inline)) {
      const __m256i av = _mm256_set1_epi32(a4);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p)
        acc[p] = _mm256_add_epi32(
            acc[p], _mm256_madd_epi16(_mm256_maddubs_epi16(
                                          av, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bg + p * a.pstride))),
                                      ones));
    };
    const size_t kg = a.K / 4;
    for (size_t g = 0; g < kg; ++g) {
      int32_t a4;
      std::memcpy(&a4, a.A + 4 * g, 4);
      step4(a.panels + g * kNr * 4, a4);
    }
    if (const size_t kt = a.K % 4) {
      int32_t a4 = 0;
      std::memcpy(&a4, a.A + 4 * kg, kt);
      step4(a.panels + kg * kNr * 4, a4);
    }
    store_panels<1, NP>(a, [&](int p, int) { return acc[p]; });
  }

  // Taps mode with K > kKWhole: panels [p0, p0 + NP) (NP 1-2), gathering kKc k at a time.
  template <int MR, int NP>
  static void chunked(const GemmArgs& a, int p0) {
    alignas(32) __m256i c[4][2];
    alignas(32) uint8_t buf[MR * kKc];
    const int8_t* b = a.panels + p0 * a.pstride;
    for (size_t k0 = 0; k0 < a.K; k0 += kKc) {
      const size_t kc = a.K - k0 < kKc ? a.K - k0 : kKc;  // a multiple of 4 (K and kt are)
      for (int r = 0; r < MR; ++r)
        for_each_tap_piece(a, r, k0, kc, [&](size_t k, const uint8_t* src, size_t len) { copy4(buf + r * kKc + k, src, len); });
      if (k0 == 0)
        kloop<MR, NP, true>(b + k0 * kNr, a.pstride, buf, kKc, kc / 4, c);
      else
        kloop<MR, NP, false>(b + k0 * kNr, a.pstride, buf, kKc, kc / 4, c);
    }
    GemmArgs s = a;
    s.n0 = a.n0 + p0 * kNr;
    s.colsum = a.colsum + p0 * kNr;
    store_panels<MR, NP>(s, [&](int p, int r) { return c[r][p]; });
  }

  template <int MR, int NP>
  static void tile(const GemmArgs& a) {
    if (!a.tap_off) {
      if constexpr (MR == 1 && NP > 2) {
        row_wide<NP>(a);
      } else {
#pragma GCC unroll 1
        for (int p = 0; p + 1 < NP; p += 2) span<MR, 2>(a, p, a.A, a.lda);
        if (NP % 2) span<MR, 1>(a, NP - 1, a.A, a.lda);
      }
      return;
    }
    if (a.K > kKWhole) {
#pragma GCC unroll 1
      for (int p = 0; p + 1 < NP; p += 2) chunked<MR, 2>(a, p);
      if (NP % 2) chunked<MR, 1>(a, NP - 1);
      return;
    }
    // Taps mode (kt and K multiples of 4): the rows gathered once for the tile's NP panels.
    alignas(32) uint8_t buf[MR * kKWhole];
    const size_t taps = a.K / a.kt;
#pragma GCC unroll 1
    for (int r = 0; r < MR; ++r)
      for (size_t t = 0; t < taps; ++t) copy4(buf + r * a.K + t * a.kt, a.A + r * a.lda + a.tap_off[t], a.kt);
#pragma GCC unroll 1
    for (int p = 0; p + 1 < NP; p += 2) span<MR, 2>(a, p, buf, a.K);
    if (NP % 2) span<MR, 1>(a, NP - 1, buf, a.K);
  }
};

template <int MR, int NP>
void MaddAvx2::tile(const GemmArgs& a) {
  if constexpr (MR >= 3)
    tile_wide<MR, NP>(a);
  else
    tile_narrow<MR, NP>(a);
}

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  drive<MaddAvx2>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

// Implicit im2col: the 3+-row tiles gather their A chunks through the taps while widening them
// (the widening pass exists anyway), so the taps cost nothing in the k-loop. Every row block of
// 3+ rows is at least 3 rows (balanced blocks of <= 6), hence never a 1-2-row GEMV tile.
void run_taps(size_t /*M*/, size_t N, size_t taps, size_t kt, const size_t* tap_off,
              const uint8_t* A0, size_t lda, const void* packed, const GemmU8S8Epilogue& ep,
              void* C, size_t ldc, size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  if (m_end - m_begin < 3) std::abort();  // precondition (gemm_u8s8.h)
  drive<MaddAvx2>(N, taps * kt, A0, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end,
                  tap_off, kt);
}

void run_narrow(size_t /*M*/, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
                const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
                size_t n_begin, size_t n_end) {
  drive<NarrowAvx2>(N, K, A, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end);
}

void run_taps_narrow(size_t /*M*/, size_t N, size_t taps, size_t kt, const size_t* tap_off,
                     const uint8_t* A0, size_t lda, const void* packed, const GemmU8S8Epilogue& ep,
                     void* C, size_t ldc, size_t m_begin, size_t m_end, size_t n_begin,
                     size_t n_end) {
  drive<NarrowAvx2>(N, taps * kt, A0, lda, packed, ep, C, ldc, m_begin, m_end, n_begin, n_end,
                    tap_off, kt);
}

}  // namespace
}  // namespace avx2

// The narrow-weight variant: reached only through gemm_u8s8_6x8c4_avx2.narrow (b_abs_max = 64).
extern const GemmU8S8Kernel gemm_u8s8_4x16c4_b64_avx2 = {
    "gemm_u8s8_4x16c4_b64_avx2", cpu::Isa::kAvx2, 4, 8, 4,
    gemm_u8s8_internal::packed_size_c4_nr8, pack_c4_avx2<8>, avx2::run_narrow, avx2::run_taps_narrow,
    64, nullptr};

extern const GemmU8S8Kernel gemm_u8s8_6x8c4_avx2 = {
    "gemm_u8s8_6x8c4_avx2", cpu::Isa::kAvx2, 6, 8, 4,
    gemm_u8s8_internal::packed_size_c4_nr8, pack_c4_avx2<8>, avx2::run, avx2::run_taps, 128,
    &gemm_u8s8_4x16c4_b64_avx2};

}  // namespace qrt::kernels
