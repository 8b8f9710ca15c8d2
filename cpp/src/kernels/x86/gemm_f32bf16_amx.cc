// gemm_f32 with bf16 weights on AMX-BF16 (tdpbf16ps): the contract of the vdpbf16ps kernel
// (rounds_a_to_bf16): A is rounded to bf16 (nearest even), products of bf16 pairs are exact in
// fp32 and accumulate in fp32; tdpbf16ps treats bf16 denormal inputs as zero and flushes denormal
// results (DAZ/FTZ, like vdpbf16ps), whatever MXCSR says.
//
// Packed layout: the avx512bf16 kernel's (gemm_f32bf16_8x32_dpbf16_avx512bf16): panels of 32
// columns, for each k pair the 32 columns' (W[n][2kp], W[n][2kp+1]) as 32-bit pairs (128 B per k
// pair), k pairs zero-padded to a multiple of 16. So 16 k pairs x 16 columns of one panel are 16
// rows of 64 bytes at stride 128: a B tile as it stands (no repacking, no reading past the panel,
// and the zero pad meets zero A, never an Inf/NaN weight of the next panel); pack() is that
// kernel's. Every row count runs on AMX: measured against the vdpbf16ps and widening AVX-512
// kernels from M = 1 up, AMX was never slower (GEMV: equal when the weights stream from L3/DRAM,
// ~1.4x when they are L2-resident; docs/KERNELS_FLOAT.md).
//
// Tiles (palette 1, configured per call, released before returning): tmm0..3 = C (2 x 2 tiles of
// 16 x 16 fp32 = 32 rows x 32 columns), tmm4/5 = A (16 rows x 32 bf16), tmm6/7 = B (16 k pairs x
// 16 columns). A: run() first rounds its rows [m_begin, m_end) x K to bf16 into per-thread scratch,
// rows of round_up(K, 32) bf16 zero-padded, so every k block of 32 is a whole A tile. M tails: the
// last block of r < 32 rows gets its own tile configuration (min(r,16) and r-16 rows), so no row
// outside the tile is read or written. C tiles go through a 32 x 32 stack buffer; the epilogue
// (bias, clamp, masked stores for N tails) is the vdpbf16ps kernel's.
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdlib>
#include <cstring>

#include "kernels/x86/amx_tiles.h"
#include "kernels/gemm_f32.h"
#include "kernels/x86/thread_scratch.h"

namespace qrt::kernels {

namespace avx512bf16 {
extern const GemmF32Kernel gemm_f32bf16_8x32_avx512bf16;  // same packed layout (pack, size)
}  // namespace avx512bf16

namespace amx {
namespace {

constexpr size_t kNr = 32;

thread_local ThreadScratch g_scratch;


// C (32 x 32 fp32 in cbuf, row stride 32) = A rows (bf16, row stride lda_bytes) x half panels.
// b: the panel's first k pair; kb_n: number of 32-k blocks.
template <bool R2, bool C2>
__attribute__((always_inline)) inline void micro(size_t kb_n, const uint16_t* a, size_t lda_bytes,
                                                 const uint16_t* b, float* cbuf) {
  _tile_zero(0);
  if constexpr (C2) _tile_zero(1);
  if constexpr (R2) {
    _tile_zero(2);
    if constexpr (C2) _tile_zero(3);
  }
  const char* pa = reinterpret_cast<const char*>(a);
  const char* pa1 = pa + 16 * lda_bytes;
  const char* pb = reinterpret_cast<const char*>(b);
  for (size_t kb = 0; kb < kb_n; ++kb) {
    _tile_loadd(4, pa, lda_bytes);
    _tile_loadd(6, pb, 128);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (C2) {
      _tile_loadd(7, pb + 64, 128);
      _tile_dpbf16ps(1, 4, 7);
    }
    if constexpr (R2) {
      _tile_loadd(5, pa1, lda_bytes);
      _tile_dpbf16ps(2, 5, 6);
      if constexpr (C2) _tile_dpbf16ps(3, 5, 7);
    }
    pa += 64, pa1 += 64, pb += 16 * 128;
  }
  _tile_stored(0, cbuf, 128);
  if constexpr (C2) _tile_stored(1, cbuf + 16, 128);
  if constexpr (R2) {
    _tile_stored(2, cbuf + 16 * 32, 128);
    if constexpr (C2) _tile_stored(3, cbuf + 16 * 32 + 16, 128);
  }
}

// Rounds rows of A to bf16; each output row holds ld_out = round_up(K, 32) bf16 (zero padded).
void convert_a(const float* A, size_t lda, size_t rows, size_t K, uint16_t* out, size_t ld_out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* a = A + r * lda;
    uint16_t* o = out + r * ld_out;
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
      __m512 lo = _mm512_loadu_ps(a + k), hi = _mm512_loadu_ps(a + k + 16);
      _mm512_store_si512(o + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    if (k < ld_out) {
      size_t rem = K - k;
      __mmask16 m0 = static_cast<__mmask16>(rem >= 16 ? 0xffff : (1u << rem) - 1);
      __mmask16 m1 = static_cast<__mmask16>(rem > 16 ? (1u << (rem - 16)) - 1 : 0);
      __m512 lo = _mm512_maskz_loadu_ps(m0, a + k), hi = _mm512_maskz_loadu_ps(m1, a + k + 16);
      _mm512_store_si512(o + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
  }
}

struct Epi {
  const float* bias;  // null or bias + n of the 16-column half
  __m512 vmin, vmax;
};

inline void store_half(const Epi& e, const float* cb, float* c, size_t ldc, size_t rows,
                       __mmask16 mk, const float* bias) {
  const __m512 b = bias ? _mm512_maskz_loadu_ps(mk, bias) : _mm512_setzero_ps();
  for (size_t i = 0; i < rows; ++i) {
    __m512 x = _mm512_add_ps(_mm512_load_ps(cb + 32 * i), b);
    x = _mm512_min_ps(e.vmax, _mm512_max_ps(e.vmin, x));
    _mm512_mask_storeu_ps(c + i * ldc, mk, x);
  }
}

// Rows [0, rows) of the converted block (all with the current tile configuration: every block of
// 32 rows, the last possibly shorter) x columns [n_begin, n_end).
void amx_rows(size_t kb_n, const uint16_t* abuf, size_t lda_bf, size_t rows, const uint16_t* pw,
              size_t panel_elems, const Epi& e, float* C, size_t ldc, size_t n_begin,
              size_t n_end) {
  alignas(64) float cbuf[32 * 32];
  const size_t lda_bytes = lda_bf * 2;
  // Panels outer, 32-row blocks inner: the panel's K x 32 slice stays in L1/L2 while the
  // converted rows of A (L2) stream past it.
  for (size_t n = n_begin; n < n_end; n += kNr) {
    const uint16_t* b = pw + (n / kNr) * panel_elems;
    const size_t nrem = n_end - n < kNr ? n_end - n : kNr;
    const bool c2 = nrem > 16;
    const __mmask16 mk0 = static_cast<__mmask16>(nrem >= 16 ? 0xffff : (1u << nrem) - 1);
    const __mmask16 mk1 =
        static_cast<__mmask16>(nrem >= 32 ? 0xffff : nrem > 16 ? (1u << (nrem - 16)) - 1 : 0);
    const float* bias0 = e.bias ? e.bias + n : nullptr;
    const float* bias1 = e.bias ? e.bias + n + 16 : nullptr;
    for (size_t m = 0; m < rows; m += 32) {
      const size_t r = rows - m < 32 ? rows - m : 32;
      const uint16_t* a = abuf + m * lda_bf;
      if (r > 16) {
        if (c2) micro<true, true>(kb_n, a, lda_bytes, b, cbuf);
        else micro<true, false>(kb_n, a, lda_bytes, b, cbuf);
      } else {
        if (c2) micro<false, true>(kb_n, a, lda_bytes, b, cbuf);
        else micro<false, false>(kb_n, a, lda_bytes, b, cbuf);
      }
      float* c = C + m * ldc + n;
      store_half(e, cbuf, c, ldc, r, mk0, bias0);
      if (c2) store_half(e, cbuf + 16, c + 16, ldc, r, mk1, bias1);
    }
  }
}

void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  if (m_begin >= m_end || n_begin >= n_end) return;
  const size_t rows = m_end - m_begin;
  const size_t full = rows / 32 * 32, rem = rows % 32;
  const size_t lda_bf = K ? (K + 31) / 32 * 32 : 32;
  const size_t kb_n = (K + 31) / 32;
  // Panel stride in bf16 elements: 32 columns x 2 x (k pairs rounded up to 16).
  const size_t panel_elems = kNr * 2 * (((K + 1) / 2 + 15) / 16 * 16);
  uint16_t* abuf = static_cast<uint16_t*>(g_scratch.get(rows * lda_bf * 2));
  convert_a(A + m_begin * lda, lda, rows, K, abuf, lda_bf);
  const uint16_t* pw = static_cast<const uint16_t*>(packed);
  Epi e;
  e.bias = bias;
  e.vmin = _mm512_set1_ps(fmin);
  e.vmax = _mm512_set1_ps(fmax);
  float* c0 = C + m_begin * ldc;
  if (full) {
    amx_load_config(16, 16);
    amx_rows(kb_n, abuf, lda_bf, full, pw, panel_elems, e, c0, ldc, n_begin, n_end);
  }
  if (rem) {
    amx_load_config(rem < 16 ? int(rem) : 16, rem > 16 ? int(rem - 16) : 0);
    amx_rows(kb_n, abuf + full * lda_bf, lda_bf, rem, pw, panel_elems, e, c0 + full * ldc, ldc,
             n_begin, n_end);
  }
  _tile_release();
}

size_t packed_size(size_t N, size_t K) {
  return avx512bf16::gemm_f32bf16_8x32_avx512bf16.packed_size(N, K);
}
void pack(size_t N, size_t K, const void* W, size_t ldb, void* packed) {
  avx512bf16::gemm_f32bf16_8x32_avx512bf16.pack(N, K, W, ldb, packed);
}

}  // namespace
}  // namespace amx

namespace amx {
extern const GemmF32Kernel gemm_f32bf16_32x32_amx = {
    "gemm_f32bf16_32x32_amx", cpu::Isa::kAmx, format::DType::kBF16, 32, static_cast<int>(kNr),
    packed_size, pack, run, /*rounds_a_to_bf16=*/true};
}  // namespace amx

}  // namespace qrt::kernels
