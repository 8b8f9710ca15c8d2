// Internal: the loop nest shared by the c4 gemm_u8s8 kernels. A kernel class K supplies
//   static constexpr size_t kNr;  static constexpr int kMr, kNp1, kNp2;
//   template <int MR, int NP> static void tile(const GemmArgs&);   // MR rows x NP panels
// and the driver walks the tile [m_begin, m_end) x [n_begin, n_end):
//   - 1 or 2 rows (GEMV-like): kNp1 / kNp2 panels per call, so that several B streams are in
//     flight (the product is bound by reading B);
//   - otherwise panel-outer, rows-inner: one K x nr panel of B stays in L1/L2 while all row
//     blocks of A stream past it; the blocks have balanced sizes of at most kMr rows (no padding
//     rows), and kernels with kPfLines prefetch the next panel into L2 meanwhile.
// Internal linkage only (anonymous namespace), so each ISA file has its own copy (ODR).
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu/features.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"

namespace qrt::kernels {
namespace {

struct GemmArgs {
  size_t K, lda, ldc, pstride;  // pstride: bytes from one panel to the next
  const uint8_t* A;             // first row of the block
  const int8_t* panels;         // first panel of the block
  const int32_t* colsum;        // colsum at column n0 (padded array)
  const GemmU8S8Epilogue* ep;
  size_t n0, n_end;             // first column of the block; end of the tile
  void* C;                      // first row of the block, column 0
  const int8_t* pf;             // next panel's bytes to prefetch into L2 during this tile, or null
  int pf_lines;                 // lines prefetched per 4 k-groups (kernels with kPfLines)
  // Taps mode (run_taps) for kernels that support it in their 3+-row tiles: row r's k-th byte
  // is A[r * lda + tap_off[k / kt] + k % kt]; null for a stored A.
  const size_t* tap_off;
  size_t kt;
};

// Taps mode: calls f(dst_offset, src, len) for the contiguous pieces of row r's k range
// [k0, k0 + kc) (at most one piece per tap).
template <class F>
__attribute__((always_inline)) inline void for_each_tap_piece(const GemmArgs& a, size_t r, size_t k0,
                                                              size_t kc, F&& f) {
  // One division per call, not one per piece (the pieces follow each other tap by tap).
  size_t t = k0 ? k0 / a.kt : 0, j = k0 ? k0 % a.kt : 0;
  for (size_t k = 0; k < kc; ++t, j = 0) {
    const size_t len = a.kt - j < kc - k ? a.kt - j : kc - k;
    f(k, a.A + r * a.lda + a.tap_off[t] + j, len);
    k += len;
  }
}

// Kernels may declare kPfLines (lines of the next panel prefetched per 4 k-groups, see drive()).
template <class K, class = void>
struct PfLines {
  static constexpr size_t value = 0;
};
template <class K>
struct PfLines<K, std::void_t<decltype(K::kPfLines)>> {
  static constexpr size_t value = K::kPfLines;
};

// Kernels may declare kNpRows: panels per tile call for blocks of 3+ rows (default 1), for
// kernels that prepare A once per tile (the AVX2 kernel widens it) and reuse it across panels.
template <class K, class = void>
struct NpRows {
  static constexpr int value = 1;
};
template <class K>
struct NpRows<K, std::void_t<decltype(K::kNpRows)>> {
  static constexpr int value = K::kNpRows;
};

// Kernels may declare kNpTaps: panels per tile call in taps mode (default kNpRows), for kernels
// whose taps-mode tiles gather their A rows once and reuse them across that many panels.
template <class K, class = void>
struct NpTaps {
  static constexpr int value = NpRows<K>::value;
};
template <class K>
struct NpTaps<K, std::void_t<decltype(K::kNpTaps)>> {
  static constexpr int value = K::kNpTaps;
};

template <class K, int R, int NP = NpRows<K>::value>
void tile_rows(const GemmArgs& a, size_t np) {
  if constexpr (R <= K::kMr) {
    if constexpr (NP > 1) {
      if (np < static_cast<size_t>(NP)) return tile_rows<K, R, NP - 1>(a, np);
    }
    K::template tile<R, NP>(a);
  }
}

// The panel-outer, rows-inner walk of drive() for blocks of 3+ rows, NPR panels per tile call.
template <class K, int NPR, class At>
void panel_loop(GemmArgs& a, At&& at, size_t rows, size_t nb, size_t m_begin, size_t m_end,
                size_t p_begin, size_t p_end, const int8_t* panels, size_t pf_step) {
  static_assert(NPR == 1 || PfLines<K>::value == 0, "next-panel prefetch assumes one panel per tile");
  for (size_t p = p_begin; p < p_end; p += NPR) {
    const size_t np = std::min<size_t>(NPR, p_end - p);
    const int8_t* pf = panels + (p + 1) * a.pstride;
    const int8_t* const pf_end = p + 1 < p_end && pf_step ? pf + a.pstride : pf;
    auto next_pf = [&] {
      a.pf = pf < pf_end ? pf : nullptr;
      pf += pf_step;
    };
    // Row blocks of balanced size (16 rows = 6 + 5 + 5, not 6 + 6 + 4; 128 = 18 x 6 + 4 x 5, not
    // 21 x 6 + 2): a block of r rows does 4r vpdpbusd per 256 bytes of B, so small blocks are
    // bound by reading the panel from L2.
    const size_t base = rows / nb, extra = rows % nb;
    size_t m = m_begin;
    for (size_t i = 0; i < nb; ++i) {
      const size_t r = std::min(m_end - m, base + (i < extra ? 1 : 0));
      at(m, p);
      next_pf();
      m += r;
      switch (r) {
        case 1: tile_rows<K, 1, NPR>(a, np); break;
        case 2: tile_rows<K, 2, NPR>(a, np); break;
        case 3: tile_rows<K, 3, NPR>(a, np); break;
        case 4: tile_rows<K, 4, NPR>(a, np); break;
        case 5: tile_rows<K, 5, NPR>(a, np); break;
        case 6: tile_rows<K, 6, NPR>(a, np); break;
        case 7: tile_rows<K, 7, NPR>(a, np); break;
      }
    }
  }
}

template <class K>
void drive(size_t N, size_t K_, const uint8_t* A, size_t lda, const void* packed,
           const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
           size_t n_begin, size_t n_end, const size_t* tap_off = nullptr, size_t kt = 0) {
  using namespace gemm_u8s8_internal;
  if (m_begin >= m_end || n_begin >= n_end) return;
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N, K::kNr));
  const size_t elem = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
  GemmArgs a;
  a.K = K_;
  a.lda = lda;
  a.ldc = ldc;
  a.pstride = panel_bytes(K_, K::kNr);
  a.ep = &ep;
  a.n_end = n_end;
  a.pf = nullptr;
  a.pf_lines = 0;
  a.tap_off = tap_off;
  a.kt = kt;
  const size_t p_begin = n_begin / K::kNr, p_end = (n_end + K::kNr - 1) / K::kNr;
  auto at = [&](size_t m, size_t p) {
    a.A = A + m * lda;
    a.panels = panels + p * a.pstride;
    a.colsum = colsum + p * K::kNr;
    a.n0 = p * K::kNr;
    a.C = static_cast<uint8_t*>(C) + m * ldc * elem;
  };
  const size_t rows = m_end - m_begin;
  if (rows == 1) {
    size_t p = p_begin;
    for (; p + K::kNp1 <= p_end; p += K::kNp1) at(m_begin, p), K::template tile<1, K::kNp1>(a);
    for (; p < p_end; ++p) at(m_begin, p), K::template tile<1, 1>(a);
    return;
  }
  if (rows == 2) {
    size_t p = p_begin;
    for (; p + K::kNp2 <= p_end; p += K::kNp2) at(m_begin, p), K::template tile<2, K::kNp2>(a);
    for (; p < p_end; ++p) at(m_begin, p), K::template tile<2, 1>(a);
    return;
  }
  // Next-panel prefetch (kernels with kPfLines): the row blocks of panel p prefetch panel p + 1
  // into L2, kPfLines lines per 4 k-groups, continuing where the previous block stopped, until the
  // whole panel is requested. Without it, the first row block of each panel reads B from L3 when B
  // does not fit L2 (2.4 MB matrices), at a fraction of the vpdpbusd rate.
  // The lines per 4 k-groups (16 lines of the current panel) spread the next panel over all row
  // blocks: 16 / blocks, rounded up to 1, 2, 4, 6 or 8 (capped at kPf); an even request rate
  // measured better than front-loading 8 lines per 4 k-groups until the panel is requested. Only
  // when the tile's B exceeds cpu::l2_resident_limit() (3/4 of the detected per-core L2: 1.5 MiB
  // of a 2 MiB L2; B then is not L2-resident beside A): otherwise the prefetches hit L2 and only
  // cost load slots (measured 1-3 % slower on 768x768 and 1024x1024 with a 2 MiB L2).
  constexpr size_t kPf = PfLines<K>::value;
  const size_t nb = (rows + K::kMr - 1) / K::kMr;
  const size_t want = (16 + nb - 1) / nb;
  a.pf_lines = static_cast<int>(std::min<size_t>(kPf, want <= 1   ? 1
                                                      : want <= 2 ? 2
                                                      : want <= 4 ? 4
                                                      : want <= 6 ? 6
                                                                  : 8));
  const bool pf_on = kPf && (p_end - p_begin) * a.pstride > cpu::l2_resident_limit();
  const size_t pf_step = pf_on ? (K_ / 16) * a.pf_lines * 64 : 0;  // bytes one tile prefetches
  if (tap_off && NpTaps<K>::value != NpRows<K>::value)
    return panel_loop<K, NpTaps<K>::value>(a, at, rows, nb, m_begin, m_end, p_begin, p_end, panels, 0);
  panel_loop<K, NpRows<K>::value>(a, at, rows, nb, m_begin, m_end, p_begin, p_end, panels, pf_step);
}

}  // namespace
}  // namespace qrt::kernels
