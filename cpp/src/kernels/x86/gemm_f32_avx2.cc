// AVX2 + FMA fp32 GEMM kernels: fp32, fp16 (F16C) and bf16 (zero-extend + shift) weights, fp32
// accumulation; plus the unpacked A x B kernel for attention.
//
// Packed layout: panels of NR = 16 columns, k-major (for each k the 16 weights of the panel
// contiguously), tail panel zero-padded. Micro-kernel 6 x 16 (12 ymm accumulators in named
// variables, 2 weight vectors, 1 broadcast); A is copied per (192 rows x KC = 256) block into
// 6-row micro-panels ([k][6], one sequential broadcast stream, as in the AVX-512 kernel) and the
// panel's KC block (16 KB fp32) stays in L1 across the row loop; columns in passes of 768 and the
// next panel prefetched into L2, as in the AVX-512 kernel. gemm_f32_nn reads A in place.
// M = 1 uses 4 accumulator sets over k (FMA latency). N tails use vmaskmovps for bias/C/B.
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <type_traits>

#include "kernels/gemm_f32.h"
#include "kernels/x86/thread_scratch.h"

// Loops over a micro-tile's register arrays (acc[m][v], bv[v]) are unrolled by pragma: GCC 12
// unrolls them only after scalar replacement, so the arrays stayed in memory and the k-loops
// stored every accumulator to the stack on each step (the row-tail kernels of 2-5 rows ran
// slower than the 6-row tile with more work; the unpacked kernel at 30 GFLOP/s).
#define QRT_UNROLL _Pragma("GCC unroll 16")

namespace qrt::kernels::avx2 {
namespace {

constexpr size_t kKc = 256;

struct WF32 {
  using T = float;
  static __m256 load(const float* p, __m256i) { return _mm256_loadu_ps(p); }
};
struct WF16 {
  using T = uint16_t;
  static __m256 load(const uint16_t* p, __m256i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};
struct WBF16 {
  using T = uint16_t;
  static __m256 load(const uint16_t* p, __m256i) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
};
// Unpacked B rows, full panel / partial panel (vmaskmovps never touches masked-out lanes).
struct BRowF32 {
  using T = float;
  static __m256 load(const float* p, __m256i) { return _mm256_loadu_ps(p); }
};
struct BRowF32Masked {
  using T = float;
  static __m256 load(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
};

struct Epi {
  const float* bias;
  __m256 vmin, vmax;
  bool first, last;
};

struct Masks {
  __m256i m[2];
  bool full[2], any[2];
};

template <int NV>
inline void store_tile_row(__m256* acc, float* c, const Epi& e, const Masks& mk) {
  QRT_UNROLL
  for (int v = 0; v < NV; ++v) {
    if (!mk.any[v]) continue;
    __m256 x = acc[v];
    float* cv = c + 8 * v;
    if (mk.full[v]) {
      if (e.first) {
        if (e.bias) x = _mm256_add_ps(x, _mm256_loadu_ps(e.bias + 8 * v));
      } else {
        x = _mm256_add_ps(x, _mm256_loadu_ps(cv));
      }
      if (e.last) x = _mm256_min_ps(e.vmax, _mm256_max_ps(e.vmin, x));
      _mm256_storeu_ps(cv, x);
    } else {
      if (e.first) {
        if (e.bias) x = _mm256_add_ps(x, _mm256_maskload_ps(e.bias + 8 * v, mk.m[v]));
      } else {
        x = _mm256_add_ps(x, _mm256_maskload_ps(cv, mk.m[v]));
      }
      if (e.last) x = _mm256_min_ps(e.vmax, _mm256_max_ps(e.vmin, x));
      _mm256_maskstore_ps(cv, mk.m[v], x);
    }
  }
}

template <class W, int MR, int NV>
inline void ukernel(size_t kc, const float* a, size_t lda, const typename W::T* b, size_t ldbk,
                    float* c, size_t ldc, const Epi& e, const Masks& mk) {
  __m256 acc[MR][NV];
  QRT_UNROLL
  for (int m = 0; m < MR; ++m)
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm256_setzero_ps();
  for (size_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) bv[v] = W::load(b + 8 * v, mk.m[v]);
    b += ldbk;
    QRT_UNROLL
    for (int m = 0; m < MR; ++m) {
      __m256 av = _mm256_broadcast_ss(a + m * lda + k);
      QRT_UNROLL
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm256_fmadd_ps(av, bv[v], acc[m][v]);
    }
  }
  QRT_UNROLL
  for (int m = 0; m < MR; ++m) store_tile_row<NV>(acc[m], c + m * ldc, e, mk);
}

template <class W, int NV>
inline void ukernel_m1(size_t kc, const float* a, const typename W::T* b, size_t ldbk, float* c,
                       const Epi& e, const Masks& mk) {
  __m256 acc[4][NV];
  QRT_UNROLL
  for (int u = 0; u < 4; ++u)
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) acc[u][v] = _mm256_setzero_ps();
  size_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    QRT_UNROLL
    for (int u = 0; u < 4; ++u) {
      __m256 av = _mm256_broadcast_ss(a + k + u);
      QRT_UNROLL
      for (int v = 0; v < NV; ++v)
        acc[u][v] = _mm256_fmadd_ps(av, W::load(b + u * ldbk + 8 * v, mk.m[v]), acc[u][v]);
    }
    b += 4 * ldbk;
  }
  for (; k < kc; ++k, b += ldbk) {
    __m256 av = _mm256_broadcast_ss(a + k);
    QRT_UNROLL
    for (int v = 0; v < NV; ++v)
      acc[0][v] = _mm256_fmadd_ps(av, W::load(b + 8 * v, mk.m[v]), acc[0][v]);
  }
  QRT_UNROLL
  for (int v = 0; v < NV; ++v)
    acc[0][v] = _mm256_add_ps(_mm256_add_ps(acc[0][v], acc[1][v]),
                              _mm256_add_ps(acc[2][v], acc[3][v]));
  store_tile_row<NV>(acc[0], c, e, mk);
}

template <class W, int R, int NV>
struct RowTail {
  static void go(size_t r, size_t kc, const float* a, size_t lda, const typename W::T* b,
                 size_t ldbk, float* c, size_t ldc, const Epi& e, const Masks& mk) {
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
                 size_t, const Epi&, const Masks&) {}
};

template <class W, int MR, int NV>
void drive_panel(size_t K, const float* A, size_t lda, const typename W::T* panel, size_t ldbk,
                 float* C, size_t ldc, size_t m_begin, size_t m_end, Epi& e, const Masks& mk) {
  size_t k0 = 0;
  do {
    size_t kc = K - k0 < kKc ? K - k0 : kKc;
    e.first = k0 == 0;
    e.last = k0 + kc >= K;
    const typename W::T* bp = panel + k0 * ldbk;
    size_t m0 = m_begin;
    for (; m0 + MR <= m_end; m0 += MR)
      ukernel<W, MR, NV>(kc, A + m0 * lda + k0, lda, bp, ldbk, C + m0 * ldc, ldc, e, mk);
    if (m0 < m_end)
      RowTail<W, MR - 1, NV>::go(m_end - m0, kc, A + m0 * lda + k0, lda, bp, ldbk, C + m0 * ldc,
                                 ldc, e, mk);
    k0 += kc;
  } while (k0 < K);
}

// WTail: the loader used for a partial last panel (masked for unpacked B, same W when packed).
template <class W, class WTail, int MR, int NV>
void drive(size_t K, const float* A, size_t lda, const typename W::T* b_base, size_t panel_stride,
           size_t ldbk, const float* bias, float fmin, float fmax, float* C, size_t ldc,
           size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  constexpr size_t NR = 8 * NV;
  Epi e;
  e.vmin = _mm256_set1_ps(fmin);
  e.vmax = _mm256_set1_ps(fmax);
  for (size_t n0 = n_begin; n0 < n_end; n0 += NR) {
    size_t nrem = n_end - n0 < NR ? n_end - n0 : NR;
    Masks mk;
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) {
      int lo = 8 * v;
      int cnt = static_cast<int>(nrem) - lo;
      cnt = cnt < 0 ? 0 : (cnt > 8 ? 8 : cnt);
      mk.m[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      mk.full[v] = cnt == 8;
      mk.any[v] = cnt > 0;
    }
    const typename W::T* panel = b_base + (n0 / NR) * panel_stride;
    e.bias = bias ? bias + n0 : nullptr;
    if (nrem == NR) {
      drive_panel<W, MR, NV>(K, A, lda, panel, ldbk, C + n0, ldc, m_begin, m_end, e, mk);
    } else {
      drive_panel<WTail, MR, NV>(K, A, lda, panel, ldbk, C + n0, ldc, m_begin, m_end, e, mk);
    }
  }
}

// ---- packed-A path (weights packed): A copied into 6-row micro-panels, [k][r] -------------------

constexpr size_t kMc = 192;  // rows per A block (192 x 256 fp32 = 192 KB, in L2)
constexpr size_t kNc = 768;  // columns per pass (multiple of NR = 16)

thread_local ThreadScratch g_scratch;

// Rows [0, rows) x [0, kc) of A into micro-panels of MR rows: panel t holds, for each k, its
// r = min(MR, rows - t*MR) values contiguously ([k][r]).
// 8 k of a full 6-row panel: a[m * lda + j] -> out[j * 6 + m] (48 contiguous floats), as an 8 x 8
// register transpose with rows 6 and 7 zero. Row j of the transpose is stored whole at out + 6j
// in increasing j, so its two zero lanes are overwritten by row j + 1; the last row is stored
// masked (6 lanes), so nothing past the 48 floats is written.
inline void pack_a6_k8(const float* a, size_t lda, float* out) {
  const __m256 r0 = _mm256_loadu_ps(a), r1 = _mm256_loadu_ps(a + lda);
  const __m256 r2 = _mm256_loadu_ps(a + 2 * lda), r3 = _mm256_loadu_ps(a + 3 * lda);
  const __m256 r4 = _mm256_loadu_ps(a + 4 * lda), r5 = _mm256_loadu_ps(a + 5 * lda);
  const __m256 z = _mm256_setzero_ps();
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, z, 0x44), s5 = _mm256_shuffle_ps(t4, z, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, z, 0x44), s7 = _mm256_shuffle_ps(t5, z, 0xEE);
  _mm256_storeu_ps(out + 0, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 6, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 12, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 18, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 30, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 36, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_maskstore_ps(out + 42, _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0),
                      _mm256_permute2f128_ps(s3, s7, 0x31));
}

template <int MR>
void pack_a(size_t rows, size_t kc, const float* A, size_t lda, float* out) {
  for (size_t m0 = 0; m0 < rows; m0 += MR) {
    size_t r = rows - m0 < MR ? rows - m0 : MR;
    const float* a = A + m0 * lda;
    if (r == MR) {
      size_t k = 0;
      // (Element by element this took 12 % of MobileNetV2's fp32 time: its 1x1 layers with
      // 16-32 output channels do less GEMM work per A element than the copy.)
      if constexpr (MR == 6)
        for (; k + 8 <= kc; k += 8) pack_a6_k8(a + k, lda, out + k * MR);
      for (; k < kc; ++k)
        for (int m = 0; m < MR; ++m) out[k * MR + m] = a[m * lda + k];
    } else {
      for (size_t k = 0; k < kc; ++k)
        for (size_t m = 0; m < r; ++m) out[k * r + m] = a[m * lda + k];
    }
    out += r * kc;
  }
}

// The full 6 x 16 tile with A packed [k][6]: 12 accumulators in named registers (an accumulator
// array made GCC store every accumulator to the stack on each k step), 2 weight vectors and one
// broadcast = 15 of the 16 ymm registers; k unrolled by 2.
// kStore (16-bit weights): the converted weights of every k step are also stored to wide, 16 fp32
// per k ([k][16], 32-byte aligned), for the panel block's next micro-tiles.
template <class W, bool kStore = false>
inline void ukernel_6x16(size_t kc, const float* a, const typename W::T* b, float* c, size_t ldc,
                         const Epi& e, const Masks& mk, float* wide = nullptr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define QRT_K_STEP(A, B)                                                   \
  {                                                                        \
    const __m256 b0 = W::load((B), mk.m[0]), b1 = W::load((B) + 8, mk.m[1]); \
    if constexpr (kStore) {                                                \
      _mm256_store_ps(wide, b0);                                           \
      _mm256_store_ps(wide + 8, b1);                                       \
      wide += 16;                                                          \
    }                                                                      \
    __m256 av = _mm256_broadcast_ss((A) + 0);                              \
    c00 = _mm256_fmadd_ps(av, b0, c00);                                    \
    c01 = _mm256_fmadd_ps(av, b1, c01);                                    \
    av = _mm256_broadcast_ss((A) + 1);                                     \
    c10 = _mm256_fmadd_ps(av, b0, c10);                                    \
    c11 = _mm256_fmadd_ps(av, b1, c11);                                    \
    av = _mm256_broadcast_ss((A) + 2);                                     \
    c20 = _mm256_fmadd_ps(av, b0, c20);                                    \
    c21 = _mm256_fmadd_ps(av, b1, c21);                                    \
    av = _mm256_broadcast_ss((A) + 3);                                     \
    c30 = _mm256_fmadd_ps(av, b0, c30);                                    \
    c31 = _mm256_fmadd_ps(av, b1, c31);                                    \
    av = _mm256_broadcast_ss((A) + 4);                                     \
    c40 = _mm256_fmadd_ps(av, b0, c40);                                    \
    c41 = _mm256_fmadd_ps(av, b1, c41);                                    \
    av = _mm256_broadcast_ss((A) + 5);                                     \
    c50 = _mm256_fmadd_ps(av, b0, c50);                                    \
    c51 = _mm256_fmadd_ps(av, b1, c51);                                    \
  }
  size_t k = 0;
  for (; k + 2 <= kc; k += 2, a += 12, b += 32) {
    QRT_K_STEP(a, b)
    QRT_K_STEP(a + 6, b + 16)
  }
  if (k < kc) QRT_K_STEP(a, b)
#undef QRT_K_STEP
  __m256 r[2];
  r[0] = c00, r[1] = c01;
  store_tile_row<2>(r, c, e, mk);
  r[0] = c10, r[1] = c11;
  store_tile_row<2>(r, c + ldc, e, mk);
  r[0] = c20, r[1] = c21;
  store_tile_row<2>(r, c + 2 * ldc, e, mk);
  r[0] = c30, r[1] = c31;
  store_tile_row<2>(r, c + 3 * ldc, e, mk);
  r[0] = c40, r[1] = c41;
  store_tile_row<2>(r, c + 4 * ldc, e, mk);
  r[0] = c50, r[1] = c51;
  store_tile_row<2>(r, c + 5 * ldc, e, mk);
}

// R < 6 rows (M tails), A packed [k][R].
template <class W, int R, int NV>
inline void ukernel_pa_tail(size_t kc, const float* a, const typename W::T* b, float* c,
                            size_t ldc, const Epi& e, const Masks& mk) {
  __m256 acc[R][NV];
  QRT_UNROLL
  for (int m = 0; m < R; ++m)
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm256_setzero_ps();
  for (size_t k = 0; k < kc; ++k, a += R, b += 8 * NV) {
    __m256 bv[NV];
    QRT_UNROLL
    for (int v = 0; v < NV; ++v) bv[v] = W::load(b + 8 * v, mk.m[v]);
    QRT_UNROLL
    for (int m = 0; m < R; ++m) {
      __m256 av = _mm256_broadcast_ss(a + m);
      QRT_UNROLL
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm256_fmadd_ps(av, bv[v], acc[m][v]);
    }
  }
  QRT_UNROLL
  for (int m = 0; m < R; ++m) store_tile_row<NV>(acc[m], c + m * ldc, e, mk);
}

template <class W, int R, int NV>
struct RowTailPa {
  static void go(size_t r, size_t kc, const float* a, const typename W::T* b, float* c,
                 size_t ldc, const Epi& e, const Masks& mk) {
    if (r == R) {
      if constexpr (R == 1) {
        ukernel_m1<W, NV>(kc, a, b, 8 * NV, c, e, mk);
      } else {
        ukernel_pa_tail<W, R, NV>(kc, a, b, c, ldc, e, mk);
      }
    } else {
      RowTailPa<W, R - 1, NV>::go(r, kc, a, b, c, ldc, e, mk);
    }
  }
};
template <class W, int NV>
struct RowTailPa<W, 0, NV> {
  static void go(size_t, size_t, const float*, const typename W::T*, float*, size_t, const Epi&,
                 const Masks&) {}
};

// Every micro-tile of a (rows x kc) A block against one panel's kc block bp (k stride 16).
// wide != null: the first (full) micro-tile also stores the panel block converted to fp32 there,
// and the other micro-tiles run the fp32 micro-kernel on it (see AVX-512 kWidenMinTiles).
template <class W>
inline void panel_tiles(size_t rows, size_t kc, const float* apack, const typename W::T* bp,
                        float* c, size_t ldc, const Epi& e, const Masks& mk, const char* pf,
                        size_t pf_bytes, float* wide) {
  constexpr int MR = 6, NV = 2;
  const float* a = apack;
  // Next panel's kc block into L2, in equal shares before each micro-tile (see AVX-512).
  const size_t tiles = (rows + MR - 1) / MR;
  const size_t pf_share = (pf_bytes / 64 + tiles - 1) / tiles * 64;
  size_t pf_off = 0;
  auto prefetch_share = [&] {
    if (!pf) return;
    size_t end = pf_off + pf_share < pf_bytes ? pf_off + pf_share : pf_bytes;
    for (; pf_off < end; pf_off += 64) _mm_prefetch(pf + pf_off, _MM_HINT_T1);
  };
  size_t m = 0;
  if constexpr (!std::is_same_v<W, WF32>) {
    if (wide) {
      prefetch_share();
      ukernel_6x16<W, true>(kc, a, bp, c, ldc, e, mk, wide);
      for (m = MR, a += MR * kc; m + MR <= rows; m += MR, a += MR * kc) {
        prefetch_share();
        ukernel_6x16<WF32>(kc, a, wide, c + m * ldc, ldc, e, mk);
      }
      prefetch_share();
      if (m < rows) RowTailPa<WF32, MR - 1, NV>::go(rows - m, kc, a, wide, c + m * ldc, ldc, e, mk);
      return;
    }
  }
  for (; m + MR <= rows; m += MR, a += MR * kc) {
    prefetch_share();
    ukernel_6x16<W>(kc, a, bp, c + m * ldc, ldc, e, mk);
  }
  prefetch_share();
  if (m < rows) RowTailPa<W, MR - 1, NV>::go(rows - m, kc, a, bp, c + m * ldc, ldc, e, mk);
}

thread_local ThreadScratch g_wscratch;

// fp16/bf16 weights: a panel's kc block is converted to fp32 once per A block, by its first
// micro-tile, when at least this many full 6-row tiles reuse it (reasons and bit-identical
// results: see the AVX-512 kernel). M = 12 / 16, 768 x 768: 1.20-1.21x / 1.10-1.12x fp32 with
// 2 tiles as the threshold, 1.16x / 1.06x with 3.
constexpr size_t kWidenMinTiles = 2;

// BLIS order: rows in kMc blocks, k in kKc blocks; each (rows x kc) block of A is packed once and
// used against every weight panel, whose kc block (16 KB fp32) stays in L1 across the row loop.
// Fewer than 6 rows (GEMV-like, memory-bound): no K blocking, each panel streams once.
template <class W>
void drive_packed_a(size_t K, const float* A, size_t lda, const typename W::T* packed,
                    const float* bias, float fmin, float fmax, float* C, size_t ldc,
                    size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
  constexpr int MR = 6, NV = 2;
  constexpr size_t NR = 16;
  if (m_begin >= m_end || n_begin >= n_end) return;
  Epi e;
  e.vmin = _mm256_set1_ps(fmin);
  e.vmax = _mm256_set1_ps(fmax);
  const size_t kc_block = m_end - m_begin < static_cast<size_t>(MR) ? (K ? K : 1) : kKc;
  const size_t kc_max = K < kc_block ? K : kc_block;
  const size_t max_rows = m_end - m_begin < kMc ? m_end - m_begin : kMc;
  float* apack = static_cast<float*>(g_scratch.get(max_rows * (kc_max ? kc_max : 1) * sizeof(float)));
  float* wide = nullptr;
  if constexpr (!std::is_same_v<W, WF32>) {
    if (max_rows / MR >= kWidenMinTiles)
      wide = static_cast<float*>(g_wscratch.get(NR * (kc_max ? kc_max : 1) * sizeof(float)));
  }
  // Columns in chunks of kNc: the C slice read back between K blocks (rows x kNc fp32) stays in
  // L2 next to the A block while the weights stream (N = 3072 read C back from L3 before).
  for (size_t nc0 = n_begin; nc0 < n_end; nc0 += kNc) {
  const size_t nc1 = n_end - nc0 < kNc ? n_end : nc0 + kNc;
  for (size_t mb = m_begin; mb < m_end; mb += kMc) {
    const size_t rows = m_end - mb < kMc ? m_end - mb : kMc;
    size_t k0 = 0;
    do {
      const size_t kc = K - k0 < kc_block ? K - k0 : kc_block;
      e.first = k0 == 0;
      e.last = k0 + kc >= K;
      pack_a<MR>(rows, kc, A + mb * lda + k0, lda, apack);
      for (size_t n0 = nc0; n0 < nc1; n0 += NR) {
        const size_t nrem = n_end - n0 < NR ? n_end - n0 : NR;
        Masks mk;
        QRT_UNROLL
        for (int v = 0; v < NV; ++v) {
          int cnt = static_cast<int>(nrem) - 8 * v;
          cnt = cnt < 0 ? 0 : (cnt > 8 ? 8 : cnt);
          mk.m[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
          mk.full[v] = cnt == 8;
          mk.any[v] = cnt > 0;
        }
        const typename W::T* bp = packed + (n0 / NR) * NR * K + k0 * NR;
        e.bias = bias ? bias + n0 : nullptr;
        const char* pf = n0 + NR < nc1 ? reinterpret_cast<const char*>(bp + NR * K) : nullptr;
        const size_t pf_bytes = kc * NR * sizeof(typename W::T);
        float* c = C + mb * ldc + n0;
        panel_tiles<W>(rows, kc, apack, bp, c, ldc, e, mk, pf, pf_bytes,
                       rows / MR >= kWidenMinTiles ? wide : nullptr);
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

template <class W, int NR>
void pack(size_t N, size_t K, const void* Wv, size_t ldb, void* packed) {
  using T = typename W::T;
  const T* w = static_cast<const T*>(Wv);
  T* out = static_cast<T*>(packed);
  for (size_t n0 = 0; n0 < N; n0 += NR, out += NR * K) {
    size_t nr = N - n0 < NR ? N - n0 : NR;
    for (size_t k = 0; k < K; ++k) {
      for (size_t j = 0; j < nr; ++j) out[k * NR + j] = w[(n0 + j) * ldb + k];
      for (size_t j = nr; j < NR; ++j) out[k * NR + j] = T(0);
    }
  }
}

constexpr int kMr = 6, kNv = 2, kNr = 16;

template <class W>
void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  drive_packed_a<W>(K, A, lda, static_cast<const typename W::T*>(packed), bias, fmin, fmax, C, ldc,
                    m_begin, m_end, n_begin, n_end);
}

}  // namespace

extern const GemmF32Kernel gemm_f32f32_6x16_avx2 = {
    "gemm_f32f32_6x16_avx2", cpu::Isa::kAvx2, format::DType::kF32, kMr, kNr,
    packed_size<WF32, kNr>, pack<WF32, kNr>, run<WF32>};
extern const GemmF32Kernel gemm_f32f16_6x16_avx2 = {
    "gemm_f32f16_6x16_avx2", cpu::Isa::kAvx2, format::DType::kF16, kMr, kNr,
    packed_size<WF16, kNr>, pack<WF16, kNr>, run<WF16>};
extern const GemmF32Kernel gemm_f32bf16_6x16_avx2 = {
    "gemm_f32bf16_6x16_avx2", cpu::Isa::kAvx2, format::DType::kBF16, kMr, kNr,
    packed_size<WBF16, kNr>, pack<WBF16, kNr>, run<WBF16>};

void gemm_f32_nn_avx2(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                      size_t ldb, float* C, size_t ldc) {
  drive<BRowF32, BRowF32Masked, kMr, kNv>(K, A, lda, B, kNr, ldb, nullptr, -INFINITY, INFINITY, C,
                                          ldc, 0, M, 0, N);
}
extern const GemmF32NNKernel gemm_f32_nn_avx2_kernel = {"gemm_f32_nn_6x16_avx2", cpu::Isa::kAvx2,
                                                        gemm_f32_nn_avx2};

}  // namespace qrt::kernels::avx2
