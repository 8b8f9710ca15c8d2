// AVX512_BF16 GEMM: bf16 weights x fp32 activations rounded to bf16, vdpbf16ps (fp32 accumulate).
//
// vdpbf16ps multiplies bf16 pairs and adds both products to an fp32 lane, so k is consumed in pairs:
// packed layout = panels of NR = 32 columns; for each k pair kp (K rounded up to even, and the
// pairs to a multiple of 16, zero pad) the panel holds 2 x 16 lanes of (W[n][2kp], W[n][2kp+1]) as
// 32-bit bf16 pairs (64 bf16, 128 B). The AMX-BF16 kernel shares this layout.
// A: each run() first rounds its rows [m_begin, m_end) x K to bf16 (round to nearest even,
// vcvtne2ps2bf16) into a per-thread scratch buffer, rows padded with zeros to a multiple of 32;
// the micro-kernel broadcasts one 32-bit pair per row. Loss: A's relative rounding error <= 2^-9
// per element, so |C - C_ref| <= 2^-8 * sum|A W| + the fp32 accumulation term (see gemm_f32.h).
// vdpbf16ps treats bf16 denormal inputs as zero and flushes denormal results (DAZ/FTZ).
// Micro-kernel 8 x 32 (16 zmm accumulators), M = 1 with 4 accumulator sets.
#include <immintrin.h>

// GCC 12 reports _mm512_undefined_ps() inside max/min/cvtph intrinsics as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdlib>

#include "kernels/gemm_f32.h"
#include "kernels/x86/thread_scratch.h"

namespace qrt::kernels::avx512bf16 {
namespace {

constexpr size_t kNr = 32;
constexpr size_t kKcPairs = 256;  // 256 k pairs x 128 B = 32 KB of the panel per K block
constexpr int kMr = 8;

thread_local ThreadScratch g_scratch;

struct Epi {
  const float* bias;
  __m512 vmin, vmax;
  bool first, last;
};

inline void store_row(const __m512* acc, float* c, const Epi& e, const __mmask16* mk) {
  for (int v = 0; v < 2; ++v) {
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

inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

// a: rows of bf16 pairs (uint32), row stride lda2 pairs; b: panel at the block's first pair.
template <int MR>
inline void ukernel(size_t kp_n, const uint32_t* a, size_t lda2, const uint16_t* b, float* c,
                    size_t ldc, const Epi& e, const __mmask16* mk) {
  __m512 acc[MR][2];
  for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
  for (size_t kp = 0; kp < kp_n; ++kp, b += 64) {
    __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 32);
    for (int m = 0; m < MR; ++m) {
      __m512i av = _mm512_set1_epi32(static_cast<int>(a[m * lda2 + kp]));
      acc[m][0] = dp(acc[m][0], av, b0);
      acc[m][1] = dp(acc[m][1], av, b1);
    }
  }
  for (int m = 0; m < MR; ++m) store_row(acc[m], c + m * ldc, e, mk);
}

inline void ukernel_m1(size_t kp_n, const uint32_t* a, const uint16_t* b, float* c, const Epi& e,
                       const __mmask16* mk) {
  __m512 acc[4][2];
  for (int u = 0; u < 4; ++u) acc[u][0] = acc[u][1] = _mm512_setzero_ps();
  size_t kp = 0;
  for (; kp + 4 <= kp_n; kp += 4, b += 256) {
    for (int u = 0; u < 4; ++u) {
      __m512i av = _mm512_set1_epi32(static_cast<int>(a[kp + u]));
      acc[u][0] = dp(acc[u][0], av, _mm512_loadu_si512(b + 64 * u));
      acc[u][1] = dp(acc[u][1], av, _mm512_loadu_si512(b + 64 * u + 32));
    }
  }
  for (; kp < kp_n; ++kp, b += 64) {
    __m512i av = _mm512_set1_epi32(static_cast<int>(a[kp]));
    acc[0][0] = dp(acc[0][0], av, _mm512_loadu_si512(b));
    acc[0][1] = dp(acc[0][1], av, _mm512_loadu_si512(b + 32));
  }
  for (int v = 0; v < 2; ++v)
    acc[0][v] = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]),
                              _mm512_add_ps(acc[2][v], acc[3][v]));
  store_row(acc[0], c, e, mk);
}

template <int R>
inline void row_tail(size_t r, size_t kp_n, const uint32_t* a, size_t lda2, const uint16_t* b,
                     float* c, size_t ldc, const Epi& e, const __mmask16* mk) {
  if constexpr (R == 1) {
    ukernel_m1(kp_n, a, b, c, e, mk);
  } else {
    if (r == R) {
      ukernel<R>(kp_n, a, lda2, b, c, ldc, e, mk);
    } else {
      row_tail<R - 1>(r, kp_n, a, lda2, b, c, ldc, e, mk);
    }
  }
}

// k pairs per panel: (K + 1) / 2 rounded up to 16, so that the AMX-BF16 kernel (which shares this
// layout) reads whole 16-pair B tiles inside the panel; the pad is zeros.
inline size_t padded_pairs(size_t K) { return ((K + 1) / 2 + 15) / 16 * 16; }

size_t packed_size(size_t N, size_t K) {
  return (N + kNr - 1) / kNr * kNr * 2 * padded_pairs(K) * sizeof(uint16_t);
}

#include "kernels/x86/transpose_tile_avx512.inc"

void pack(size_t N, size_t K, const void* Wv, size_t ldb, void* packed) {
  const uint16_t* w = static_cast<const uint16_t*>(Wv);
  uint16_t* out = static_cast<uint16_t*>(packed);
  size_t k2 = padded_pairs(K);
  for (size_t n0 = 0; n0 < N; n0 += kNr, out += kNr * 2 * k2) {
    size_t kp_done = 0;
    // Whole panels with an even row stride: a k pair is one 32-bit element of a row, so 16 pairs x
    // 16 rows are a 16 x 16 transpose of 32-bit lanes (only pairs that lie entirely below K).
    if (n0 + kNr <= N && ldb % 2 == 0) {
      for (; 2 * (kp_done + 16) <= K; kp_done += 16)
        for (size_t j = 0; j < kNr; j += 16)
          transpose_tile(reinterpret_cast<const float*>(w + (n0 + j) * ldb + 2 * kp_done),
                         ldb / 2, reinterpret_cast<float*>(out + kp_done * 64) + j, kNr);
    }
    for (size_t kp = kp_done; kp < k2; ++kp)
      for (size_t j = 0; j < kNr; ++j)
        for (size_t t = 0; t < 2; ++t) {
          size_t n = n0 + j, k = 2 * kp + t;
          out[kp * 64 + j * 2 + t] = (n < N && k < K) ? w[n * ldb + k] : uint16_t(0);
        }
  }
}

// Rounds rows of A to bf16; each output row holds round_up(K, 32) bf16 (zero padded).
void convert_a(const float* A, size_t lda, size_t rows, size_t K, uint16_t* out, size_t ld_out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* a = A + r * lda;
    uint16_t* o = out + r * ld_out;
    for (size_t k = 0; k < ld_out; k += 32) {
      size_t rem = K > k ? K - k : 0;
      __mmask16 m0 = static_cast<__mmask16>(rem >= 16 ? 0xffff : (1u << rem) - 1);
      __mmask16 m1 = static_cast<__mmask16>(rem >= 32 ? 0xffff : rem > 16 ? (1u << (rem - 16)) - 1 : 0);
      __m512 lo = _mm512_maskz_loadu_ps(m0, a + k), hi = _mm512_maskz_loadu_ps(m1, a + k + 16);
      _mm512_storeu_si512(o + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
  }
}

void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  if (m_begin >= m_end || n_begin >= n_end) return;
  size_t rows = m_end - m_begin;
  size_t lda_bf = (K + 31) / 32 * 32;  // bf16 elements per scratch row (>= 32 even when K = 0)
  if (lda_bf == 0) lda_bf = 32;
  uint16_t* abuf = static_cast<uint16_t*>(g_scratch.get(rows * lda_bf * sizeof(uint16_t)));
  convert_a(A + m_begin * lda, lda, rows, K, abuf, lda_bf);
  const uint32_t* a32 = reinterpret_cast<const uint32_t*>(abuf);
  size_t lda2 = lda_bf / 2, k2 = (K + 1) / 2;

  const uint16_t* pw = static_cast<const uint16_t*>(packed);
  Epi e;
  e.vmin = _mm512_set1_ps(fmin);
  e.vmax = _mm512_set1_ps(fmax);
  for (size_t n0 = n_begin; n0 < n_end; n0 += kNr) {
    size_t nrem = n_end - n0 < kNr ? n_end - n0 : kNr;
    __mmask16 mk[2];
    mk[0] = static_cast<__mmask16>(nrem >= 16 ? 0xffff : (1u << nrem) - 1);
    mk[1] = static_cast<__mmask16>(nrem >= 32 ? 0xffff : nrem > 16 ? (1u << (nrem - 16)) - 1 : 0);
    const uint16_t* panel = pw + (n0 / kNr) * kNr * 2 * padded_pairs(K);
    e.bias = bias ? bias + n0 : nullptr;
    size_t kp0 = 0;
    do {
      size_t kpn = k2 - kp0 < kKcPairs ? k2 - kp0 : kKcPairs;
      e.first = kp0 == 0;
      e.last = kp0 + kpn >= k2;
      const uint16_t* bp = panel + kp0 * 64;
      size_t m = 0;
      for (; m + kMr <= rows; m += kMr)
        ukernel<kMr>(kpn, a32 + m * lda2 + kp0, lda2, bp, C + (m_begin + m) * ldc + n0, ldc, e, mk);
      if (m < rows)
        row_tail<kMr - 1>(rows - m, kpn, a32 + m * lda2 + kp0, lda2, bp,
                          C + (m_begin + m) * ldc + n0, ldc, e, mk);
      kp0 += kpn;
    } while (kp0 < k2);
  }
}

}  // namespace

extern const GemmF32Kernel gemm_f32bf16_8x32_avx512bf16 = {
    "gemm_f32bf16_8x32_dpbf16_avx512bf16", cpu::Isa::kAvx512Bf16, format::DType::kBF16, kMr,
    static_cast<int>(kNr), packed_size, pack, run, /*rounds_a_to_bf16=*/true};

}  // namespace qrt::kernels::avx512bf16
