// AVX-512 fp32 GEMM kernels: fp32, fp16 (F16C vcvtph2ps) and bf16 (zero-extend + shift) weights,
// fp32 FMA accumulation; plus the unpacked A x B kernel for attention.
//
// Packed layout (all three weight dtypes): panels of NR = 32 columns; panel p holds, for k = 0..K-1,
// the 32 weights W[32p + j][k] contiguously (k-major, "K x NR"), tail panel zero-padded. So one
// k step of a panel is 2 zmm of fp32 (128 B) or 1 ymm pair of fp16/bf16 (64 B).
// Micro-kernel: MR x 32 accumulators (8 x 2 zmm); per k: 2 weight vectors, MR broadcasts of A,
// 2*MR FMAs. Blocking (BLIS order): rows in MC = 128 blocks, k in equal blocks of at most 256
// (L1D >= 48 KB) or 160 (kc_cap); each
// (MC x kc) block of A is copied into per-thread scratch as MR-row micro-panels (fp32 weights: by
// the first panel's micro-tiles as they run, ukernel_8x32_pack_asm), k-major
// ([k][MR], so the broadcasts read one sequential stream: unpacked rows whose stride is a multiple
// of 4 KB alias in L1), then every weight panel's kc block (20-32 KB of fp32) stays in L1 while the
// micro-panels stream from L2. Columns go in passes of NC = 768 so that the C slice read back
// between K blocks stays in L2; before each micro-tile a share of the next panel's kc block is
// prefetched into L2 (fp32 weights: from inside the k loops, ukernel_8x32_pf_asm). The full
// 8 x 32 tile's k loop is inline asm (ukernel_8x32_asm and its two fp32 variants). Bias and
// clamp follow the last K block. M = 1 (GEMV) uses 4 independent accumulator sets over k to hide the FMA latency; it is
// memory-bound, so fp16/bf16 weights stream half the bytes of fp32. With 16 rows or more per A
// block, 16-bit weights are converted once per panel kc block, by its first micro-tile, into
// per-thread fp32 scratch that the other micro-tiles read (kWidenMinTiles).
#include <immintrin.h>

// GCC 12 reports _mm512_undefined_ps() inside max/min/cvtph intrinsics as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <type_traits>

#include "kernels/gemm_f32.h"
#include "kernels/x86/thread_scratch.h"

namespace qrt::kernels::avx512 {
namespace {

constexpr size_t kKc = 256;

struct WF32 {
  using T = float;
  static __m512 load(const float* p, __mmask16) { return _mm512_loadu_ps(p); }
};
struct WF16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* p, __mmask16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
};
struct WBF16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* p, __mmask16) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
};
// Unpacked fp32 B rows (gemm_f32_nn): masked loads never touch columns >= N.
struct BRowF32 {
  using T = float;
  static __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};

struct Epi {
  const float* bias;  // already offset to the panel's first column, or null
  __m512 vmin, vmax;
  bool first, last;
};

template <class W, int NV>
inline void store_tile_row(__m512* acc, float* c, const Epi& e, const __mmask16* mk) {
  for (int v = 0; v < NV; ++v) {
    if (!mk[v]) continue;
    __m512 x = acc[v];
    if (e.first) {
      if (e.bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], e.bias + 16 * v));
    } else {
      x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], c + 16 * v));
    }
    if (e.last) x = _mm512_min_ps(e.vmax, _mm512_max_ps(e.vmin, x));
    _mm512_mask_storeu_ps(c + 16 * v, mk[v], x);
  }
}

// MR rows x NV*16 columns over kc steps. b advances by ldbk elements per k.
template <class W, int MR, int NV>
inline void ukernel(size_t kc, const float* a, size_t lda, const typename W::T* b, size_t ldbk,
                    float* c, size_t ldc, const Epi& e, const __mmask16* mk) {
  __m512 acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = W::load(b + 16 * v, mk[v]);
    b += ldbk;
    for (int m = 0; m < MR; ++m) {
      __m512 av = _mm512_set1_ps(a[m * lda + k]);
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_fmadd_ps(av, bv[v], acc[m][v]);
    }
  }
  for (int m = 0; m < MR; ++m) store_tile_row<W, NV>(acc[m], c + m * ldc, e, mk);
}

// One row: four accumulator sets over k (k mod 4) so that FMA latency does not bound a GEMV.
template <class W, int NV>
inline void ukernel_m1(size_t kc, const float* a, const typename W::T* b, size_t ldbk, float* c,
                       const Epi& e, const __mmask16* mk) {
  __m512 acc[4][NV];
  for (int u = 0; u < 4; ++u)
    for (int v = 0; v < NV; ++v) acc[u][v] = _mm512_setzero_ps();
  size_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    for (int u = 0; u < 4; ++u) {
      __m512 av = _mm512_set1_ps(a[k + u]);
      for (int v = 0; v < NV; ++v)
        acc[u][v] = _mm512_fmadd_ps(av, W::load(b + u * ldbk + 16 * v, mk[v]), acc[u][v]);
    }
    b += 4 * ldbk;
  }
  for (; k < kc; ++k, b += ldbk) {
    __m512 av = _mm512_set1_ps(a[k]);
    for (int v = 0; v < NV; ++v)
      acc[0][v] = _mm512_fmadd_ps(av, W::load(b + 16 * v, mk[v]), acc[0][v]);
  }
  for (int v = 0; v < NV; ++v)
    acc[0][v] = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]),
                              _mm512_add_ps(acc[2][v], acc[3][v]));
  store_tile_row<W, NV>(acc[0], c, e, mk);
}

template <class W, int R, int NV>
struct RowTail {
  static void go(size_t r, size_t kc, const float* a, size_t lda, const typename W::T* b,
                 size_t ldbk, float* c, size_t ldc, const Epi& e, const __mmask16* mk) {
    if (r == R) {
      if constexpr (R == 1) {
        ukernel_m1<W, NV>(kc, a, b, ldbk, c, e, mk);
      } else {
        ukernel<W, R, NV>(kc, a, lda, b, ldbk, c, ldc, e, mk);
      }
    } else {
      RowTail<W, R - 1, NV>::go(r, kc, a, lda, b, ldbk, c, ldc, e, mk);
    }
  }
};
template <class W, int NV>
struct RowTail<W, 0, NV> {
  static void go(size_t, size_t, const float*, size_t, const typename W::T*, size_t, float*,
                 size_t, const Epi&, const __mmask16*) {}
};

// Computes C[m_begin:m_end, n_begin:n_end). For packed weights: b_base = packed panels (panel
// stride NR*K, k stride NR). For unpacked B rows: panel stride NR, k stride ldb.
template <class W, int MR, int NV>
void drive(size_t K, const float* A, size_t lda, const typename W::T* b_base, size_t panel_stride,
           size_t ldbk, const float* bias, float fmin, float fmax, float* C, size_t ldc,
           size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  constexpr size_t NR = 16 * NV;
  Epi e;
  e.vmin = _mm512_set1_ps(fmin);
  e.vmax = _mm512_set1_ps(fmax);
  for (size_t n0 = n_begin; n0 < n_end; n0 += NR) {
    size_t nrem = n_end - n0 < NR ? n_end - n0 : NR;
    __mmask16 mk[NV];
    for (int v = 0; v < NV; ++v) {
      size_t lo = 16 * v;
      size_t cnt = nrem > lo ? (nrem - lo > 16 ? 16 : nrem - lo) : 0;
      mk[v] = static_cast<__mmask16>((1u << cnt) - 1u);
    }
    const typename W::T* panel = b_base + (n0 / NR) * panel_stride;
    e.bias = bias ? bias + n0 : nullptr;
    size_t k0 = 0;
    do {
      size_t kc = K - k0 < kKc ? K - k0 : kKc;
      e.first = k0 == 0;
      e.last = k0 + kc >= K;
      const typename W::T* bp = panel + k0 * ldbk;
      size_t m0 = m_begin;
      for (; m0 + MR <= m_end; m0 += MR)
        ukernel<W, MR, NV>(kc, A + m0 * lda + k0, lda, bp, ldbk, C + m0 * ldc + n0, ldc, e, mk);
      if (m0 < m_end)
        RowTail<W, MR - 1, NV>::go(m_end - m0, kc, A + m0 * lda + k0, lda, bp, ldbk,
                                   C + m0 * ldc + n0, ldc, e, mk);
      k0 += kc;
    } while (k0 < K);
  }
}

// ---- packed-A path (weights packed, A copied into micro-panels) --------------------------------

constexpr size_t kMc = 128;
constexpr size_t kNc = 768;  // columns per pass (multiple of NR = 32)

thread_local ThreadScratch g_scratch;

// Copies rows [0, rows) x [0, kc) of A into micro-panels of MR rows: panel t holds, for each k,
// its r = min(MR, rows - t*MR) values contiguously ([k][r]).
template <int MR>
void pack_a(size_t rows, size_t kc, const float* A, size_t lda, float* out) {
  for (size_t m0 = 0; m0 < rows; m0 += MR) {
    size_t r = rows - m0 < MR ? rows - m0 : MR;
    const float* a = A + m0 * lda;
    if (r == MR) {
      for (size_t k = 0; k < kc; ++k)
        for (int m = 0; m < MR; ++m) out[k * MR + m] = a[m * lda + k];
    } else {
      for (size_t k = 0; k < kc; ++k)
        for (size_t m = 0; m < r; ++m) out[k * r + m] = a[m * lda + k];
    }
    out += r * kc;
  }
}

// R rows x NV*16 columns, A packed [k][R].
template <class W, int R, int NV>
inline void ukernel_pa(size_t kc, const float* a, const typename W::T* b, size_t ldbk, float* c,
                       size_t ldc, const Epi& e, const __mmask16* mk) {
  __m512 acc[R][NV];
  for (int m = 0; m < R; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; ++k, a += R, b += ldbk) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = W::load(b + 16 * v, mk[v]);
    for (int m = 0; m < R; ++m) {
      __m512 av = _mm512_set1_ps(a[m]);
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_fmadd_ps(av, bv[v], acc[m][v]);
    }
  }
  for (int m = 0; m < R; ++m) store_tile_row<W, NV>(acc[m], c + m * ldc, e, mk);
}

// The full 8 x 32 tile, packed weights (b advances NR = 32 elements per k), whole k loop in inline
// asm: GCC's loop for the template above ran at ~75% of the FMA peak in place (~11 cycles per k
// step instead of 8) while the same instruction sequence as a hand-written loop ran at ~87-90%.
// Accumulators zmm0-15 (zeroed, then stored to acc[] for the epilogue); temporaries zmm29-31.
// W selects the weight load: fp32 (2 x 64 B), fp16 (vcvtph2ps 2 x 32 B), bf16 (vpmovzxwd + shift).
#define QRT_ROW(i, a0, a1)                                   \
  "vbroadcastss " #i "*4(%[a]), %%zmm29\n\t"                \
  "vfmadd231ps %%zmm30, %%zmm29, %%zmm" #a0 "\n\t"          \
  "vfmadd231ps %%zmm31, %%zmm29, %%zmm" #a1 "\n\t"
#define QRT_Z(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i "\n\t"
#define QRT_S(i) "vmovups %%zmm" #i ", " #i "*64(%[acc])\n\t"
#define QRT_LOOP(LOAD, BSTEP)                                                                  \
  __asm__ volatile(QRT_Z(0) QRT_Z(1) QRT_Z(2) QRT_Z(3) QRT_Z(4) QRT_Z(5) QRT_Z(6) QRT_Z(7)     \
                   QRT_Z(8) QRT_Z(9) QRT_Z(10) QRT_Z(11) QRT_Z(12) QRT_Z(13) QRT_Z(14)         \
                   QRT_Z(15)                                                                   \
                   "test %[k], %[k]\n\t"                                                      \
                   "jz 2f\n\t"                                                               \
                   ".p2align 5\n"                                                             \
                   "1:\n\t" LOAD                                                             \
                   QRT_ROW(0, 0, 1) QRT_ROW(1, 2, 3) QRT_ROW(2, 4, 5) QRT_ROW(3, 6, 7)         \
                   QRT_ROW(4, 8, 9) QRT_ROW(5, 10, 11) QRT_ROW(6, 12, 13) QRT_ROW(7, 14, 15)   \
                   "add $32, %[a]\n\t"                                                        \
                   "add $" #BSTEP ", %[b]\n\t"                                                \
                   "dec %[k]\n\t"                                                            \
                   "jnz 1b\n"                                                                 \
                   "2:\n\t"                                                                  \
                   QRT_S(0) QRT_S(1) QRT_S(2) QRT_S(3) QRT_S(4) QRT_S(5) QRT_S(6) QRT_S(7)     \
                   QRT_S(8) QRT_S(9) QRT_S(10) QRT_S(11) QRT_S(12) QRT_S(13) QRT_S(14)         \
                   QRT_S(15)                                                                   \
                   : [a] "+r"(a), [b] "+r"(b), [k] "+r"(k), [w] "+r"(w)                        \
                   : [acc] "r"(acc)                                                            \
                   : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",   \
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",      \
                     "xmm15", "xmm29", "xmm30", "xmm31")

// wide != null (16-bit weights only): the converted weights of every k step are also stored
// there, 32 fp32 per k ([k][32], 64-byte aligned), for the next micro-tiles of the panel block.
template <class W>
inline void ukernel_8x32_asm(size_t kc, const float* a, const typename W::T* b, float* c,
                             size_t ldc, const Epi& e, const __mmask16* mk, float* wide = nullptr) {
  alignas(64) float acc[16 * 16];
  size_t k = kc;
  float* w = wide;
#define QRT_WSTORE "vmovaps %%zmm30, (%[w])\n\tvmovaps %%zmm31, 64(%[w])\n\tadd $128, %[w]\n\t"
  if constexpr (std::is_same_v<W, WF32>) {
    QRT_LOOP("vmovups (%[b]), %%zmm30\n\tvmovups 64(%[b]), %%zmm31\n\t", 128);
  } else if constexpr (std::is_same_v<W, WF16>) {
    if (w) {
      QRT_LOOP("vcvtph2ps (%[b]), %%zmm30\n\tvcvtph2ps 32(%[b]), %%zmm31\n\t" QRT_WSTORE, 64);
    } else {
      QRT_LOOP("vcvtph2ps (%[b]), %%zmm30\n\tvcvtph2ps 32(%[b]), %%zmm31\n\t", 64);
    }
  } else {
    if (w) {
      QRT_LOOP("vpmovzxwd (%[b]), %%zmm30\n\tvpmovzxwd 32(%[b]), %%zmm31\n\t"
               "vpslld $16, %%zmm30, %%zmm30\n\tvpslld $16, %%zmm31, %%zmm31\n\t" QRT_WSTORE, 64);
    } else {
      QRT_LOOP("vpmovzxwd (%[b]), %%zmm30\n\tvpmovzxwd 32(%[b]), %%zmm31\n\t"
               "vpslld $16, %%zmm30, %%zmm30\n\tvpslld $16, %%zmm31, %%zmm31\n\t", 64);
    }
  }
#undef QRT_WSTORE
  for (int m = 0; m < 8; ++m) {
    __m512 r[2] = {_mm512_load_ps(acc + 32 * m), _mm512_load_ps(acc + 32 * m + 16)};
    store_tile_row<W, 2>(r, c + m * ldc, e, mk);
  }
}
// The same 8 x 32 tile for fp32 weights (also run on the converted copy of 16-bit weights), with
// the next panel's prefetch spread over the k loop: unrolled by 8 k steps (broadcast and weight
// offsets are assembler expressions), NPF = 1, 2, 4 or 8 `prefetcht1` of consecutive lines per 8
// k steps (pf advances 64 NPF bytes; it may point anywhere, prefetches never fault), kc % 8 steps
// after without prefetch. At M = 128 a panel block has 16 micro-tiles of 256 k steps and 2 x 256
// lines of fp32 weights, so with NPF = 1 the k loops cover the whole next block at one line per
// 64 cycles (panel_tiles picks NPF from the row count). Issuing each micro-tile's share of that
// prefetch as one burst before it (kept for the lines the k loops do not cover) measured the
// same as no software prefetch at all once the weights do not fit in L2 (768 x 768 fp32, 2.4 MB):
// the first micro-tile of every panel then streams its weights from L3. Spread: +4-7 % at
// M = 128 on the four benchmark shapes. Same products in the same order as ukernel_8x32_asm.
#define QRT_BR(u, i, bc, a0, a1)                                \
  "vbroadcastss 4*(" #u "*8+" #i ")(%[a]), %%zmm" #bc "\n\t"     \
  "vfmadd231ps %%zmm30, %%zmm" #bc ", %%zmm" #a0 "\n\t"          \
  "vfmadd231ps %%zmm31, %%zmm" #bc ", %%zmm" #a1 "\n\t"
#define QRT_STEP(u)                                                                            \
  "vmovups " #u "*128(%[b]), %%zmm30\n\tvmovups " #u "*128+64(%[b]), %%zmm31\n\t"              \
  QRT_BR(u, 0, 28, 0, 1) QRT_BR(u, 1, 29, 2, 3) QRT_BR(u, 2, 28, 4, 5) QRT_BR(u, 3, 29, 6, 7) \
  QRT_BR(u, 4, 28, 8, 9) QRT_BR(u, 5, 29, 10, 11) QRT_BR(u, 6, 28, 12, 13)                    \
  QRT_BR(u, 7, 29, 14, 15)

constexpr size_t kPfUnroll = 8;

// 16-bit weights converted once per block: the micro-tiles after the first run the in-loop
// prefetching fp32 kernels (and the fused A pack) only from this kc on; at K = 27 / 32 (256-row
// MobileNetV2 blocks) they measured 5-9 % slower than ukernel_8x32_asm with the bursts.
constexpr size_t kWidePfMinKc = 64;
#define QRT_PF1 "prefetcht1 (%[pf])\n\tadd $64, %[pf]\n\t"
#define QRT_PF2 "prefetcht1 (%[pf])\n\tprefetcht1 64(%[pf])\n\tadd $128, %[pf]\n\t"
#define QRT_PF4                                                                               \
  "prefetcht1 (%[pf])\n\tprefetcht1 64(%[pf])\n\tprefetcht1 128(%[pf])\n\t"                   \
  "prefetcht1 192(%[pf])\n\tadd $256, %[pf]\n\t"
#define QRT_PF8                                                                               \
  "prefetcht1 (%[pf])\n\tprefetcht1 64(%[pf])\n\tprefetcht1 128(%[pf])\n\t"                   \
  "prefetcht1 192(%[pf])\n\tprefetcht1 256(%[pf])\n\tprefetcht1 320(%[pf])\n\t"              \
  "prefetcht1 384(%[pf])\n\tprefetcht1 448(%[pf])\n\tadd $512, %[pf]\n\t"

#define QRT_PF_ASM(PFN) \
  __asm__ volatile(QRT_Z(0) QRT_Z(1) QRT_Z(2) QRT_Z(3) QRT_Z(4) QRT_Z(5) QRT_Z(6) QRT_Z(7) \
                   QRT_Z(8) QRT_Z(9) QRT_Z(10) QRT_Z(11) QRT_Z(12) QRT_Z(13) QRT_Z(14) \
                   QRT_Z(15) \
                   "test %[ku], %[ku]\n\t" \
                   "jz 3f\n\t" \
                   ".p2align 5\n" \
                   "1:\n\t" \
                   QRT_STEP(0) QRT_STEP(1) QRT_STEP(2) QRT_STEP(3) \
                   QRT_STEP(4) QRT_STEP(5) QRT_STEP(6) QRT_STEP(7) \
                   PFN \
                   "add $8*32, %[a]\n\t" \
                   "add $8*128, %[b]\n\t" \
                   "dec %[ku]\n\t" \
                   "jnz 1b\n" \
                   "3:\n\t" \
                   "test %[kr], %[kr]\n\t" \
                   "jz 2f\n" \
                   "4:\n\t" \
                   QRT_STEP(0) \
                   "add $32, %[a]\n\t" \
                   "add $128, %[b]\n\t" \
                   "dec %[kr]\n\t" \
                   "jnz 4b\n" \
                   "2:\n\t" \
                   QRT_S(0) QRT_S(1) QRT_S(2) QRT_S(3) QRT_S(4) QRT_S(5) QRT_S(6) QRT_S(7) \
                   QRT_S(8) QRT_S(9) QRT_S(10) QRT_S(11) QRT_S(12) QRT_S(13) QRT_S(14) \
                   QRT_S(15) \
                   : [a] "+r"(a), [b] "+r"(b), [ku] "+r"(ku), [kr] "+r"(kr), [pf] "+r"(pf) \
                   : [acc] "r"(acc) \
                   : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", \
                     "xmm15", "xmm28", "xmm29", "xmm30", "xmm31")
template <int NPF>
inline void ukernel_8x32_pf_asm(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                                const Epi& e, const __mmask16* mk, const char* pf) {
  alignas(64) float acc[16 * 16];
  size_t ku = kc / kPfUnroll, kr = kc % kPfUnroll;
  if constexpr (NPF == 8) {
    QRT_PF_ASM(QRT_PF8);
  } else if constexpr (NPF == 4) {
    QRT_PF_ASM(QRT_PF4);
  } else if constexpr (NPF == 2) {
    QRT_PF_ASM(QRT_PF2);
  } else {
    QRT_PF_ASM(QRT_PF1);
  }
  for (int m = 0; m < 8; ++m) {
    __m512 r[2] = {_mm512_load_ps(acc + 32 * m), _mm512_load_ps(acc + 32 * m + 16)};
    store_tile_row<WF32, 2>(r, c + m * ldc, e, mk);
  }
}
// The first panel of each A block (fp32 weights): the same tile, reading A straight from its rows
// (stride lda) and storing every broadcast value into the micro-panel (`vmovss`, [k][8]) that the
// other panels then read: the A block is packed by the store ports while the FMAs run, instead of
// in a separate pass before them. At M = 128 that pass cost ~4 % (skipping it, on stale data, was
// worth 3.4-4.8 %); an 8 x 8 register-transpose pack, 2.5x faster than the scalar loop on its own,
// gained nothing measurable in place, and prefetching the next block's A rows into L2 in bursts
// lost ~1 %. This gained 1-2 % (thread CPU time, paired rounds, 768x768 / 1024x1024 / 3072x768).
// Same values in the micro-panel, same products in the same order: bit-identical results.
#define QRT_FR(u, i, addr, bc, a0, a1)                          \
  "vbroadcastss 4*" #u addr ", %%zmm" #bc "\n\t"                 \
  "vmovss %%xmm" #bc ", 4*(" #u "*8+" #i ")(%[o])\n\t"           \
  "vfmadd231ps %%zmm30, %%zmm" #bc ", %%zmm" #a0 "\n\t"          \
  "vfmadd231ps %%zmm31, %%zmm" #bc ", %%zmm" #a1 "\n\t"
#define QRT_FSTEP(u)                                                                           \
  "vmovups " #u "*128(%[b]), %%zmm30\n\tvmovups " #u "*128+64(%[b]), %%zmm31\n\t"              \
  QRT_FR(u, 0, "(%[r0])", 28, 0, 1) QRT_FR(u, 1, "(%[r0],%[l],1)", 29, 2, 3)                   \
  QRT_FR(u, 2, "(%[r0],%[l],2)", 28, 4, 5) QRT_FR(u, 3, "(%[r0],%[l3],1)", 29, 6, 7)           \
  QRT_FR(u, 4, "(%[r4])", 28, 8, 9) QRT_FR(u, 5, "(%[r4],%[l],1)", 29, 10, 11)                 \
  QRT_FR(u, 6, "(%[r4],%[l],2)", 28, 12, 13) QRT_FR(u, 7, "(%[r4],%[l3],1)", 29, 14, 15)

#define QRT_PACK_ASM(PFN) \
  __asm__ volatile(QRT_Z(0) QRT_Z(1) QRT_Z(2) QRT_Z(3) QRT_Z(4) QRT_Z(5) QRT_Z(6) QRT_Z(7) \
                   QRT_Z(8) QRT_Z(9) QRT_Z(10) QRT_Z(11) QRT_Z(12) QRT_Z(13) QRT_Z(14) \
                   QRT_Z(15) \
                   "test %[ku], %[ku]\n\t" \
                   "jz 3f\n\t" \
                   ".p2align 5\n" \
                   "1:\n\t" \
                   QRT_FSTEP(0) QRT_FSTEP(1) QRT_FSTEP(2) QRT_FSTEP(3) \
                   QRT_FSTEP(4) QRT_FSTEP(5) QRT_FSTEP(6) QRT_FSTEP(7) \
                   PFN \
                   "add $8*4, %[r0]\n\t" \
                   "add $8*4, %[r4]\n\t" \
                   "add $8*32, %[o]\n\t" \
                   "add $8*128, %[b]\n\t" \
                   "dec %[ku]\n\t" \
                   "jnz 1b\n" \
                   "3:\n\t" \
                   "test %[kr], %[kr]\n\t" \
                   "jz 2f\n" \
                   "4:\n\t" \
                   QRT_FSTEP(0) \
                   "add $4, %[r0]\n\t" \
                   "add $4, %[r4]\n\t" \
                   "add $32, %[o]\n\t" \
                   "add $128, %[b]\n\t" \
                   "dec %[kr]\n\t" \
                   "jnz 4b\n" \
                   "2:\n\t" \
                   QRT_S(0) QRT_S(1) QRT_S(2) QRT_S(3) QRT_S(4) QRT_S(5) QRT_S(6) QRT_S(7) \
                   QRT_S(8) QRT_S(9) QRT_S(10) QRT_S(11) QRT_S(12) QRT_S(13) QRT_S(14) \
                   QRT_S(15) \
                   : [r0] "+r"(r0), [r4] "+r"(r4), [o] "+r"(o), [b] "+r"(b), [ku] "+r"(ku), \
                     [kr] "+r"(kr), [pf] "+r"(pf) \
                   : [acc] "r"(acc), [l] "r"(l), [l3] "r"(l3) \
                   : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", \
                     "xmm15", "xmm28", "xmm29", "xmm30", "xmm31")
template <int NPF>
inline void ukernel_8x32_pack_asm(size_t kc, const float* arow, size_t lda, float* apanel,
                                  const float* b, float* c, size_t ldc, const Epi& e,
                                  const __mmask16* mk, const char* pf) {
  alignas(64) float acc[16 * 16];
  size_t ku = kc / kPfUnroll, kr = kc % kPfUnroll;
  const size_t l = lda * sizeof(float), l3 = 3 * l;
  const float* r0 = arow;
  const float* r4 = arow + 4 * lda;
  float* o = apanel;
  if constexpr (NPF == 8) {
    QRT_PACK_ASM(QRT_PF8);
  } else if constexpr (NPF == 4) {
    QRT_PACK_ASM(QRT_PF4);
  } else if constexpr (NPF == 2) {
    QRT_PACK_ASM(QRT_PF2);
  } else {
    QRT_PACK_ASM(QRT_PF1);
  }
  for (int m = 0; m < 8; ++m) {
    __m512 r[2] = {_mm512_load_ps(acc + 32 * m), _mm512_load_ps(acc + 32 * m + 16)};
    store_tile_row<WF32, 2>(r, c + m * ldc, e, mk);
  }
}
#undef QRT_FSTEP
#undef QRT_FR
#undef QRT_PF_ASM
#undef QRT_PACK_ASM
#undef QRT_PF1
#undef QRT_PF2
#undef QRT_PF4
#undef QRT_PF8
#undef QRT_STEP
#undef QRT_BR
#undef QRT_LOOP
#undef QRT_S
#undef QRT_Z
#undef QRT_ROW

template <class W, int R, int NV>
struct RowTailPa {
  static void go(size_t r, size_t kc, const float* a, const typename W::T* b, size_t ldbk,
                 float* c, size_t ldc, const Epi& e, const __mmask16* mk) {
    if (r == R) {
      if constexpr (R == 1) {
        ukernel_m1<W, NV>(kc, a, b, ldbk, c, e, mk);
      } else {
        ukernel_pa<W, R, NV>(kc, a, b, ldbk, c, ldc, e, mk);
      }
    } else {
      RowTailPa<W, R - 1, NV>::go(r, kc, a, b, ldbk, c, ldc, e, mk);
    }
  }
};
template <class W, int NV>
struct RowTailPa<W, 0, NV> {
  static void go(size_t, size_t, const float*, const typename W::T*, size_t, float*, size_t,
                 const Epi&, const __mmask16*) {}
};

// Runs every micro-tile of a (rows x kc) A block against one panel's kc block bp (k stride NR).
// wide != null: the first (full 8-row) micro-tile also stores the panel block converted to fp32
// there, and the other micro-tiles run the fp32 micro-kernel on it.
template <class W, int MR, int NV>
inline void panel_tiles(size_t rows, size_t kc, float* apack, const typename W::T* bp,
                        float* c, size_t ldc, const Epi& e, const __mmask16* mk, const char* pf,
                        size_t pf_bytes, float* wide, const float* asrc = nullptr,
                        size_t lda = 0) {
  constexpr size_t NR = 16 * NV;
  float* a = apack;
  // The next panel's kc block (same k rows) is prefetched into L2 in equal shares before each
  // micro-tile, so that the first micro-tile of every panel does not wait for L3 (the weights
  // are streamed once per call; a micro-tile consumes 128 B of them per 8 cycles).
  const size_t tiles = (rows + MR - 1) / MR;
  // fp32: the full micro-tiles' k loops prefetch npf * kc / kPfUnroll lines each, from the start
  // of the next block (in_loop lines in all); the bursts before each micro-tile cover the rest.
  // A k loop with nothing left to prefetch gets its own block (L1-resident, harmless).
  // 16-bit weights converted once per block (wide): the same for the micro-tiles after the first,
  // which run the fp32 kernel on the converted copy.
  constexpr bool kPfLoop = std::is_same_v<W, WF32> && MR == 8 && NV == 2;
  constexpr bool kWide16 = !std::is_same_v<W, WF32> && MR == 8 && NV == 2;
  const bool wide_pf = kWide16 && wide && kc >= kWidePfMinKc;
  const size_t pf_tiles = kPfLoop ? rows / MR : wide_pf ? rows / MR - 1 : 0;
  const size_t pf_lines = pf ? pf_bytes / 64 : 0;
  // Lines per 8 k steps (npf = 1, 2, 4 or 8): the fewest with which those k loops cover the next
  // block (fp32, M = 128: 16 micro-tiles, 1; M = 64: 2; M = 32: 4; M <= 24: 8).
  int npf = 1;
  while (npf < 8 && pf_tiles * (kc / kPfUnroll) * npf < pf_lines) npf *= 2;
  const size_t per_tile = kc / kPfUnroll * npf;
  const size_t in_loop = std::min(pf_lines, pf_tiles * per_tile);
  const char* pf_home = wide ? reinterpret_cast<const char*>(wide)
                             : reinterpret_cast<const char*>(bp);
  size_t loop_off = 0;
  auto loop_pf = [&]() -> const char* {
    if (loop_off >= in_loop) return pf_home;
    const char* p = pf + 64 * loop_off;
    loop_off += per_tile;
    return p;
  };
  const size_t pf_share = (pf_lines - in_loop + tiles - 1) / tiles * 64;
  size_t pf_off = 64 * in_loop;
  auto prefetch_share = [&] {
    if (!pf) return;
    size_t end = pf_off + pf_share < pf_bytes ? pf_off + pf_share : pf_bytes;
    for (; pf_off < end; pf_off += 64) _mm_prefetch(pf + pf_off, _MM_HINT_T1);
  };
  size_t m = 0;
  if constexpr (MR == 8 && NV == 2 && !std::is_same_v<W, WF32>) {
    if (wide) {
      prefetch_share();
      ukernel_8x32_asm<W>(kc, a, bp, c, ldc, e, mk, wide);
      for (m = MR, a += MR * kc; m + MR <= rows; m += MR, a += MR * kc) {
        prefetch_share();
        if (!wide_pf) {
          ukernel_8x32_asm<WF32>(kc, a, wide, c + m * ldc, ldc, e, mk);
          continue;
        }
        const char* p = loop_pf();
        float* cm = c + m * ldc;
        if (asrc) {
          const float* am = asrc + m * lda;
          switch (npf) {
            case 8: ukernel_8x32_pack_asm<8>(kc, am, lda, a, wide, cm, ldc, e, mk, p); break;
            case 4: ukernel_8x32_pack_asm<4>(kc, am, lda, a, wide, cm, ldc, e, mk, p); break;
            case 2: ukernel_8x32_pack_asm<2>(kc, am, lda, a, wide, cm, ldc, e, mk, p); break;
            default: ukernel_8x32_pack_asm<1>(kc, am, lda, a, wide, cm, ldc, e, mk, p);
          }
          continue;
        }
        switch (npf) {
          case 8: ukernel_8x32_pf_asm<8>(kc, a, wide, cm, ldc, e, mk, p); break;
          case 4: ukernel_8x32_pf_asm<4>(kc, a, wide, cm, ldc, e, mk, p); break;
          case 2: ukernel_8x32_pf_asm<2>(kc, a, wide, cm, ldc, e, mk, p); break;
          default: ukernel_8x32_pf_asm<1>(kc, a, wide, cm, ldc, e, mk, p);
        }
      }
      prefetch_share();
      if (m < rows)
        RowTailPa<WF32, MR - 1, NV>::go(rows - m, kc, a, wide, NR, c + m * ldc, ldc, e, mk);
      return;
    }
  }
  for (; m + MR <= rows; m += MR, a += MR * kc) {
    prefetch_share();
    if constexpr (kPfLoop) {
      const char* p = loop_pf();
      float* cm = c + m * ldc;
      if (asrc) {
        const float* am = asrc + m * lda;
        switch (npf) {
          case 8: ukernel_8x32_pack_asm<8>(kc, am, lda, a, bp, cm, ldc, e, mk, p); break;
          case 4: ukernel_8x32_pack_asm<4>(kc, am, lda, a, bp, cm, ldc, e, mk, p); break;
          case 2: ukernel_8x32_pack_asm<2>(kc, am, lda, a, bp, cm, ldc, e, mk, p); break;
          default: ukernel_8x32_pack_asm<1>(kc, am, lda, a, bp, cm, ldc, e, mk, p);
        }
      } else {
        switch (npf) {
          case 8: ukernel_8x32_pf_asm<8>(kc, a, bp, cm, ldc, e, mk, p); break;
          case 4: ukernel_8x32_pf_asm<4>(kc, a, bp, cm, ldc, e, mk, p); break;
          case 2: ukernel_8x32_pf_asm<2>(kc, a, bp, cm, ldc, e, mk, p); break;
          default: ukernel_8x32_pf_asm<1>(kc, a, bp, cm, ldc, e, mk, p);
        }
      }
    } else if constexpr (MR == 8 && NV == 2) {
      ukernel_8x32_asm<W>(kc, a, bp, c + m * ldc, ldc, e, mk);
    } else {
      ukernel_pa<W, MR, NV>(kc, a, bp, NR, c + m * ldc, ldc, e, mk);
    }
  }
  prefetch_share();
  if (m < rows) RowTailPa<W, MR - 1, NV>::go(rows - m, kc, a, bp, NR, c + m * ldc, ldc, e, mk);
}

thread_local ThreadScratch g_wscratch;

// K blocks of the packed path: a panel's kc block of fp32 weights (128 B per k) and the 8-row A
// micro-panel (32 B per k) should stay in L1 while the micro-tiles pass them. kc = 256 (40 KB) was
// tuned where L1D is 48 KB (Sapphire Rapids); with 32 KB (Cascade Lake) blocks of at most 160
// (25 KB) measured +2-5 points of the FMA peak on most of the scoreboard models' GEMM shapes
// (fp32 and widened 16-bit weights; binaries alternated, medians of 6-7 runs), none clearly worse;
// 128 lost at K = 147 and 576. K is split into equal blocks (a multiple of kPfUnroll k steps, the
// last one shorter) rather than full blocks and a short tail.
size_t kc_cap() {
  static const size_t cap = cpu::l1d_cache_bytes() >= (size_t(48) << 10) ? kKc : 160;
  return cap;
}

// fp16/bf16 weights, when an A block has at least this many full micro-tiles: the first micro-tile
// of each panel's kc block stores the weights it converts (32 KB of fp32 at KC = 256, L1-resident)
// and the others run the fp32 micro-kernel on them. Converting in every micro-tile's k loop costs
// 2 conversions per 16 FMAs on the FMA ports: the fp16 kernel ran at 0.79-0.85x the fp32 one at
// M >= 128 (thread CPU time, interleaved). A separate conversion pass before the micro-tiles was
// 2-5 points slower than converting inside the first one (it does not overlap with the FMAs).
// Same products in the same order, so the results are bit-identical to the in-loop conversion and
// to the fp32 kernel on the widened weights. With 2 micro-tiles (16 rows) it still gained 2-11 %
// over converting in both (with 3 as the threshold instead: 1.17x fp32 at M = 16, 768 x 768,
// against 1.20-1.27x). A single micro-tile has nobody to share the copy with.
constexpr size_t kWidenMinTiles = 2;

// Packing A inside the first panel's k loops pays when the packed block is reused by enough
// panels: with 1-2 panels (MobileNetV2's 256 x 27 x 32, 256 x 96 x 24, 256 x 144 x 24,
// 256 x 576 x 64) it measured 2-7 % slower than the separate pack; neutral at 4 (256 x 1152 x 128).
constexpr size_t kFusePackMinPanels = 4;

template <class W, int MR, int NV>
void drive_packed_a(size_t K, const float* A, size_t lda, const typename W::T* packed,
                    const float* bias, float fmin, float fmax, float* C, size_t ldc,
                    size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  constexpr size_t NR = 16 * NV;
  if (m_begin >= m_end || n_begin >= n_end) return;
  Epi e;
  e.vmin = _mm512_set1_ps(fmin);
  e.vmax = _mm512_set1_ps(fmax);
  // Fewer than MR rows (GEMV-like, memory-bound): no K blocking, so each weight panel streams
  // once, front to back, instead of hopping between panels every KC.
  size_t kc_block = K ? K : 1;
  if (m_end - m_begin >= static_cast<size_t>(MR) && K > kc_cap()) {
    const size_t blocks = (K + kc_cap() - 1) / kc_cap();
    kc_block = ((K + blocks - 1) / blocks + kPfUnroll - 1) / kPfUnroll * kPfUnroll;
  }
  size_t kc_max = K < kc_block ? K : kc_block;
  size_t max_rows = m_end - m_begin < kMc ? m_end - m_begin : kMc;
  float* apack = static_cast<float*>(g_scratch.get(max_rows * (kc_max ? kc_max : 1) * sizeof(float)));
  float* wide = nullptr;
  if constexpr (!std::is_same_v<W, WF32> && MR == 8 && NV == 2) {
    if (max_rows / MR >= kWidenMinTiles)
      wide = static_cast<float*>(g_wscratch.get(NR * (kc_max ? kc_max : 1) * sizeof(float)));
  }
  // Columns in chunks of kNc: the C slice read back between K blocks (rows x kNc fp32) stays in
  // L2 next to the A block while the weights stream (N = 3072 read C back from L3 before).
  for (size_t nc0 = n_begin; nc0 < n_end; nc0 += kNc) {
  const size_t nc1 = n_end - nc0 < kNc ? n_end : nc0 + kNc;
  for (size_t mb = m_begin; mb < m_end; mb += kMc) {
    size_t rows = m_end - mb < kMc ? m_end - mb : kMc;
    size_t k0 = 0;
    do {
      size_t kc = K - k0 < kc_block ? K - k0 : kc_block;
      e.first = k0 == 0;
      e.last = k0 + kc >= K;
      // Passes of at least kFusePackMinPanels panels: the full micro-panels are packed by the
      // first panel's k loops (ukernel_8x32_pack_asm); fp32: all of them, 16-bit weights converted
      // once per block: all but the first (whose micro-tile runs the converting k loop). The rest
      // (and a tail of < MR rows) here.
      constexpr bool kF32 = std::is_same_v<W, WF32> && MR == 8 && NV == 2;
      const bool wide_block = wide && rows / MR >= kWidenMinTiles;
      const bool fuse = (kF32 || (wide_block && kc >= kWidePfMinKc)) &&
                        nc1 - nc0 >= kFusePackMinPanels * NR;
      const float* asrc = A + mb * lda + k0;
      const size_t full = rows / MR * MR;
      const size_t fuse_from = !fuse ? full : kF32 ? 0 : MR;
      pack_a<MR>(fuse_from, kc, asrc, lda, apack);
      pack_a<MR>(rows - full, kc, asrc + full * lda, lda, apack + full * kc);
      for (size_t n0 = nc0; n0 < nc1; n0 += NR) {
        size_t nrem = n_end - n0 < NR ? n_end - n0 : NR;
        __mmask16 mk[NV];
        for (int v = 0; v < NV; ++v) {
          size_t lo = 16 * v;
          size_t cnt = nrem > lo ? (nrem - lo > 16 ? 16 : nrem - lo) : 0;
          mk[v] = static_cast<__mmask16>((1u << cnt) - 1u);
        }
        const typename W::T* bp = packed + (n0 / NR) * NR * K + k0 * NR;
        e.bias = bias ? bias + n0 : nullptr;
        const char* pf = n0 + NR < nc1 ? reinterpret_cast<const char*>(bp + NR * K) : nullptr;
        const size_t pf_bytes = kc * NR * sizeof(typename W::T);
        float* c = C + mb * ldc + n0;
        panel_tiles<W, MR, NV>(rows, kc, apack, bp, c, ldc, e, mk, pf, pf_bytes,
                               rows / MR >= kWidenMinTiles ? wide : nullptr,
                               fuse && n0 == nc0 ? asrc : nullptr, lda);
      }
      k0 += kc;
    } while (k0 < K);
  }
  }
}

template <class W, int NR>
size_t packed_size(size_t N, size_t K) {
  return (N + NR - 1) / NR * NR * K * sizeof(typename W::T);
}

#include "kernels/x86/transpose_tile_avx512.inc"

template <class W, int NR>
void pack(size_t N, size_t K, const void* Wv, size_t ldb, void* packed) {
  using T = typename W::T;
  const T* w = static_cast<const T*>(Wv);
  T* out = static_cast<T*>(packed);
  for (size_t n0 = 0; n0 < N; n0 += NR, out += NR * K) {
    size_t nr = N - n0 < NR ? N - n0 : NR;
    size_t k_done = 0;
    if constexpr (std::is_same_v<T, float> && NR % 16 == 0) {
      // Whole panels: 16 x 16 register transposes (rows n -> columns j), ~1.2x the scalar loop.
      if (nr == NR) {
        for (; k_done + 16 <= K; k_done += 16)
          for (int j = 0; j < NR; j += 16)
            transpose_tile(w + (n0 + j) * ldb + k_done, ldb, out + k_done * NR + j, NR);
      }
    } else if constexpr (sizeof(T) == 2 && NR == 32) {
      // 16-bit weights: rows 2p and 2p+1 interleaved give, for each k, the 32-bit pair
      // (W[2p][k], W[2p+1][k]); 16 pairs x 16 k are then one 16 x 16 transpose of 32-bit lanes,
      // whose output row k is the 32 weights of that k in column order.
      if (nr == NR) {
        alignas(64) float tmp[16 * 16];
        for (; k_done + 16 <= K; k_done += 16) {
          for (int p = 0; p < 16; ++p) {
            const T* r = w + (n0 + 2 * p) * ldb + k_done;
            __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r));
            __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + ldb));
            __m256i lo = _mm256_unpacklo_epi16(r0, r1), hi = _mm256_unpackhi_epi16(r0, r1);
            _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 16 * p),
                               _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 16 * p + 8),
                               _mm256_permute2x128_si256(lo, hi, 0x31));
          }
          transpose_tile(tmp, 16, reinterpret_cast<float*>(out + k_done * NR), NR / 2);
        }
      }
    }
    for (size_t k = k_done; k < K; ++k) {
      for (size_t j = 0; j < nr; ++j) out[k * NR + j] = w[(n0 + j) * ldb + k];
      for (size_t j = nr; j < NR; ++j) out[k * NR + j] = T(0);
    }
  }
}

constexpr int kMr = 8, kNv = 2, kNr = 32;

template <class W>
void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  drive_packed_a<W, kMr, kNv>(K, A, lda, static_cast<const typename W::T*>(packed), bias, fmin,
                              fmax, C, ldc, m_begin, m_end, n_begin, n_end);
}

}  // namespace

extern const GemmF32Kernel gemm_f32f32_8x32_avx512 = {
    "gemm_f32f32_8x32_avx512", cpu::Isa::kAvx512, format::DType::kF32, kMr, kNr,
    packed_size<WF32, kNr>, pack<WF32, kNr>, run<WF32>};
extern const GemmF32Kernel gemm_f32f16_8x32_avx512 = {
    "gemm_f32f16_8x32_avx512", cpu::Isa::kAvx512, format::DType::kF16, kMr, kNr,
    packed_size<WF16, kNr>, pack<WF16, kNr>, run<WF16>};
extern const GemmF32Kernel gemm_f32bf16_8x32_avx512 = {
    "gemm_f32bf16_8x32_avx512", cpu::Isa::kAvx512, format::DType::kBF16, kMr, kNr,
    packed_size<WBF16, kNr>, pack<WBF16, kNr>, run<WBF16>};

void gemm_f32_nn_avx512(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                        size_t ldb, float* C, size_t ldc) {
  drive<BRowF32, kMr, kNv>(K, A, lda, B, kNr, ldb, nullptr, -INFINITY, INFINITY, C, ldc, 0, M, 0,
                           N);
}
extern const GemmF32NNKernel gemm_f32_nn_avx512_kernel = {"gemm_f32_nn_8x32_avx512",
                                                          cpu::Isa::kAvx512, gemm_f32_nn_avx512};

}  // namespace qrt::kernels::avx512
