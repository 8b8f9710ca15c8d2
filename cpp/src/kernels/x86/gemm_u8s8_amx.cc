// gemm_u8s8 for AMX-INT8: tdpbusd (u8 x s8, four products summed into int32, no saturation) is
// exactly the contract's arithmetic, as vpdpbusd is, on 16 x 16 int32 tiles.
//
// Tiles (palette 1, configured per call): tmm0..3 = C (32 rows x 32 columns: C00 C01 / C10 C11,
// 16 x 16 int32 each), tmm4/5 = A (16 rows x 64 k, u8, loaded straight from A with stride lda),
// tmm6/7 = B (16 k-groups x 16 columns x 4 bytes). The packed layout is the c4 layout with nr = 32
// (gemm_u8s8_pack.h) plus 2 KiB of zeros at the end: 16 k-groups x 16 columns of one panel are 16
// rows of 64 bytes at stride 128, which is a B tile as it stands, and a block's K x 32 slice of B
// is contiguous. (Until the issue #4 round the layout was nr = 64, shared with the AVX-512 VNNI
// kernel, which took row counts below 3 (below 8 with more than 1 MB of B); a 32-column half of a
// 64-column panel is then every other 128 bytes. With nr = 32 and AMX for every row count,
// measured with thread CPU time on Sapphire Rapids: M = 16 10-20 % faster, M = 2 and 4 up to 40 %
// faster, M = 128 equal to 5 % faster, M = 1 equal on 2.4 MB matrices and 5-10 % slower on
// L2-resident ones (768x768: 4.0-4.2 us vs 3.7-3.9).) One row now runs gemv() below instead:
// AVX-512 VNNI over the same nr = 32 panels, no tiles (the file is built with AVX-512 VNNI flags).
//
// K tails (K not a multiple of 64): the last partial k-block of A (< 64 bytes per row) is copied
// into a zero-filled 32 x 64 stack buffer with masked loads (never reading A past A[m][K-1]); its
// B tile is loaded as a whole 16-row tile, whose rows past the panel's last k-group belong to the
// next panel or the 2 KiB pad: they meet zero bytes of A and contribute exactly 0 (integers).
// M tails: a row block of r < 32 rows gets its own tile configuration (A and C tiles with
// min(r,16) and r-16 rows), so no row outside [m_begin, m_end) is read or written.
// Exactness: tdpbusd multiplies u8 x s8 exactly and adds into int32 modulo 2^32 (the contract's
// arithmetic; the order does not matter); the epilogue is gemm_u8s8_epilogue_avx512.h (the same
// instructions as the AVX-512 VNNI kernel), so the outputs equal the reference bit for bit.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/amx_tiles.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx512.h"
#include "kernels/x86/gemm_u8s8_pack_avx512.h"

namespace qrt::kernels {

namespace amx {
namespace {

using namespace gemm_u8s8_internal;

constexpr size_t kNr = 32;
constexpr size_t kPad = 16 * kNr * 4;  // one k-block of a panel: the tail B tile may read this far


// C[0..r) x [0..32) (int32, row stride 32 in cbuf) = A rows x (one panel of B).
// a: row 0 of the block at k = 0; b: the panel's first k-group;
// atail: zero-padded copy of the K tail (32 rows x 64 bytes) or null.
template <bool R2, bool C2>
__attribute__((always_inline)) inline void micro(size_t kfull, const uint8_t* a, size_t lda,
                                                 const int8_t* b, const uint8_t* atail,
                                                 int32_t* cbuf) {
  _tile_zero(0);
  if constexpr (C2) _tile_zero(1);
  if constexpr (R2) {
    _tile_zero(2);
    if constexpr (C2) _tile_zero(3);
  }
  const uint8_t* a1 = a + 16 * lda;
  for (size_t kb = 0; kb < kfull; ++kb) {
    // Order: each tile register is reloaded only after its last reader was issued two tdpbusd
    // earlier (tiles are not renamed), so the loads overlap the previous k-block's products.
    _tile_loadd(4, a, lda);
    _tile_loadd(6, b, 128);
    _tile_dpbusd(0, 4, 6);
    if constexpr (C2) {
      _tile_loadd(7, b + 64, 128);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (R2) {
      _tile_loadd(5, a1, lda);
      _tile_dpbusd(2, 5, 6);
      if constexpr (C2) _tile_dpbusd(3, 5, 7);
    }
    a += 64, a1 += 64, b += 16 * 128;
  }
  if (atail) {
    _tile_loadd(4, atail, 64);
    _tile_loadd(6, b, 128);
    if constexpr (C2) _tile_loadd(7, b + 64, 128);
    _tile_dpbusd(0, 4, 6);
    if constexpr (C2) _tile_dpbusd(1, 4, 7);
    if constexpr (R2) {
      _tile_loadd(5, atail + 16 * 64, 64);
      _tile_dpbusd(2, 5, 6);
      if constexpr (C2) _tile_dpbusd(3, 5, 7);
    }
  }
  _tile_stored(0, cbuf, 128);
  if constexpr (C2) _tile_stored(1, cbuf + 16, 128);
  if constexpr (R2) {
    _tile_stored(2, cbuf + 16 * 32, 128);
    if constexpr (C2) _tile_stored(3, cbuf + 16 * 32 + 16, 128);
  }
}

// Rows [m0, m1) (every block of 32 rows, the last one possibly shorter, all with the current
// tile configuration) x the tile's columns.

void amx_rows(size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed, const Epi16& e,
              void* C, size_t ldc, size_t m0, size_t m1, size_t n_begin, size_t n_end) {
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N, kNr));
  const size_t pstride = panel_bytes(K, kNr);
  const size_t kfull = K / 64, kt = K % 64;
  const __mmask64 tmask = kt ? (~0ull >> (64 - kt)) : 0;
  const size_t esz = e.requant ? 1 : 4;
  alignas(64) int32_t cbuf[32 * 32];
  alignas(64) uint8_t atail[32 * 64];
  const __m512i zp16 = _mm512_set1_epi16(static_cast<short>(_mm512_cvtsi512_si32(e.out_zp)));
  auto block = [&](size_t n, size_t m, const ColVec16& cv0, const ColVec16& cv1) {
    const int8_t* b = panels + (n / kNr) * pstride;
    const bool c2 = n + 16 < n_end;
    const size_t r = m1 - m < 32 ? m1 - m : 32;
    const uint8_t* a = A + m * lda;
    const uint8_t* at = nullptr;
    if (kt) {
      for (size_t i = 0; i < r; ++i)
        _mm512_store_si512(atail + 64 * i, _mm512_maskz_loadu_epi8(tmask, a + i * lda + 64 * kfull));
      at = atail;
    }
    if (r > 16) {
      if (c2) micro<true, true>(kfull, a, lda, b, at, cbuf);
      else micro<true, false>(kfull, a, lda, b, at, cbuf);
    } else {
      if (c2) micro<false, true>(kfull, a, lda, b, at, cbuf);
      else micro<false, false>(kfull, a, lda, b, at, cbuf);
    }
    uint8_t* c = static_cast<uint8_t*>(C) + m * ldc * esz;
    if (e.requant) {
      // A panel of <= 16 columns stores only tile 0, but requant_row32 reads a row's 32 lanes (the
      // upper 16 are masked off at the store): give them zeros rather than stale stack bytes.
      if (!c2)
        for (size_t i = 0; i < r; ++i) _mm512_store_si512(cbuf + 32 * i + 16, _mm512_setzero_si512());
      // One packed, masked 32-byte store per row (columns past n_end masked off; without C2 the
      // upper 16 lanes are never stored): 2-4 % faster than two store_row16 (vpmovdb) per row on
      // L2-resident B at M = 16 and 128 (docs/KERNELS_INT8.md, AMX section).
      const size_t cnt = n_end - n;
      const __mmask32 m32 = cnt >= 32 ? ~__mmask32(0) : (__mmask32(1) << cnt) - 1;
      for (size_t i = 0; i < r; ++i)
        requant_row32(e, cv0.sc, cv1.sc, zp16,
                      _mm512_add_epi32(_mm512_load_si512(cbuf + 32 * i), cv0.off),
                      _mm512_add_epi32(_mm512_load_si512(cbuf + 32 * i + 16), cv1.off),
                      c + i * ldc, n, m32);
      return;
    }
    for (size_t i = 0; i < r; ++i)
      store_row16(e, cv0, _mm512_load_si512(cbuf + 32 * i), c + i * ldc * esz, n);
    if (c2)
      for (size_t i = 0; i < r; ++i)
        store_row16(e, cv1, _mm512_load_si512(cbuf + 32 * i + 16), c + i * ldc * esz, n + 16);
  };
  // Panels outer, 32-row blocks inner: the K x 32 slice of B stays in L1/L2 while the rows of A
  // stream past it (measured better than rows-outer when B exceeds L2; equal otherwise).
  for (size_t n = n_begin; n < n_end; n += kNr) {  // n_begin is a multiple of kNr
    const ColVec16 cv0 = col_vec16(e, colsum + n, n, n_end);
    const ColVec16 cv1 = n + 16 < n_end ? col_vec16(e, colsum + n + 16, n + 16, n_end) : cv0;
    for (size_t m = m0; m < m1; m += 32) block(n, m, cv0, cv1);
  }
}

// One row (GEMV, bound by reading B): AVX-512 VNNI on the same nr = 32 panels, NP panels per pass
// (2 zmm per panel and k-group, B as memory operands: NP independent streams), no tile
// configuration. Against the 1-row AMX tiles at M = 1 (thread CPU time, best of 8 alternated
// runs): 768x768 4.0 -> 3.5 us, 1024x1024 6.8 -> 6.3, 768x3072 45.9 -> 44.0, 3072x768 46.8 -> 41.9.
// (At M = 2 the AMX tiles were faster than the VNNI kernel's 2-row path; they keep M >= 2.)
template <int NP>
__attribute__((always_inline)) inline void gemv_panels(size_t K, const uint8_t* a,
                                                       const int8_t* b, size_t pstride,
                                                       const int32_t* colsum, const Epi16& e,
                                                       void* c, size_t n, size_t n_end) {
  constexpr int NV = 2 * NP;
  __m512i acc[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) acc[v] = _mm512_setzero_si512();
  const size_t kg = K / 4;
  for (size_t g = 0; g < kg; ++g) {
    int32_t a4;
    std::memcpy(&a4, a + 4 * g, 4);
    const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      acc[v] = _mm512_dpbusd_epi32(acc[v], av,
                                   _mm512_load_si512(b + (v / 2) * pstride + g * 128 + (v % 2) * 64));
  }
  if (const size_t kt = K % 4) {  // partial last group: only the kt valid bytes of A
    int32_t a4 = 0;
    std::memcpy(&a4, a + 4 * kg, kt);
    const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      acc[v] = _mm512_dpbusd_epi32(acc[v], av,
                                   _mm512_load_si512(b + (v / 2) * pstride + kg * 128 + (v % 2) * 64));
  }
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    if (n + 16 * v >= n_end) break;
    store_row16(e, col_vec16(e, colsum + 16 * v, n + 16 * v, n_end), acc[v], c, n + 16 * v);
  }
}

void gemv(size_t N, size_t K, const uint8_t* a, const void* packed, const Epi16& e, void* c,
          size_t n_begin, size_t n_end) {
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N, kNr));
  const size_t pstride = panel_bytes(K, kNr);
  size_t n = n_begin;  // a multiple of kNr
  auto at = [&](size_t col) { return panels + (col / kNr) * pstride; };
  size_t np = (n_end - n + kNr - 1) / kNr;  // panels left (the last one may be partial)
  for (; np >= 8; np -= 8, n += 8 * kNr) gemv_panels<8>(K, a, at(n), pstride, colsum + n, e, c, n, n_end);
  if (np & 4) gemv_panels<4>(K, a, at(n), pstride, colsum + n, e, c, n, n_end), n += 4 * kNr;
  if (np & 2) gemv_panels<2>(K, a, at(n), pstride, colsum + n, e, c, n, n_end), n += 2 * kNr;
  if (np & 1) gemv_panels<1>(K, a, at(n), pstride, colsum + n, e, c, n, n_end);
}

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  if (m_begin >= m_end || n_begin >= n_end) return;
  const size_t rows = m_end - m_begin;
  const size_t full = rows / 32 * 32, rem = rows % 32;
  const Epi16 e = make_epi16(ep);
  if (rows == 1) {
    const size_t esz = e.requant ? 1 : 4;
    return gemv(N, K, A + m_begin * lda, packed, e, static_cast<uint8_t*>(C) + m_begin * ldc * esz,
                n_begin, n_end);
  }
  if (full) {
    amx_load_config(16, 16);
    amx_rows(N, K, A, lda, packed, e, C, ldc, m_begin, m_begin + full, n_begin, n_end);
  }
  if (rem) {
    amx_load_config(rem < 16 ? int(rem) : 16, rem > 16 ? int(rem - 16) : 0);
    amx_rows(N, K, A, lda, packed, e, C, ldc, m_begin + full, m_end, n_begin, n_end);
  }
  _tile_release();
}

size_t packed_size(size_t N, size_t K) { return packed_size_c4(N, K, kNr) + kPad; }

void pack(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed) {
  pack_c4_avx512<kNr>(N, K, B, ldb, packed);
  std::memset(static_cast<uint8_t*>(packed) + packed_size_c4(N, K, kNr), 0, kPad);
}

}  // namespace
}  // namespace amx

extern const GemmU8S8Kernel gemm_u8s8_32x32c4_amx = {
    "gemm_u8s8_32x32c4_amx", cpu::Isa::kAmx, 32, 32, 4, amx::packed_size, amx::pack, amx::run};

}  // namespace qrt::kernels
