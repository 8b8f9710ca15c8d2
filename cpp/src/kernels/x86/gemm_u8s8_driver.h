// Internal: the loop nest shared by the c4 gemm_u8s8 kernels. A kernel class K supplies
//   static constexpr size_t kNr;  static constexpr int kMr, kNp1, kNp2;
//   template <int MR, int NP> static void tile(const GemmArgs&);   // MR rows x NP panels
// and the driver walks the tile [m_begin, m_end) x [n_begin, n_end):
//   - 1 or 2 rows (GEMV-like): kNp1 / kNp2 panels per call, so that several B streams are in
//     flight (the product is bound by reading B);
//   - otherwise panel-outer, rows-inner: one K x nr panel of B stays in L1/L2 while all row
//     blocks of A stream past it; the last row block uses a smaller MR (no padding rows).
// Internal linkage only (anonymous namespace), so each ISA file has its own copy (ODR).
#pragma once

#include <cstddef>
#include <cstdint>

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
};

template <class K, int R>
void tile_rows(const GemmArgs& a) {
  if constexpr (R <= K::kMr) K::template tile<R, 1>(a);
}

template <class K>
void drive(size_t N, size_t K_, const uint8_t* A, size_t lda, const void* packed,
           const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
           size_t n_begin, size_t n_end) {
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
  for (size_t p = p_begin; p < p_end; ++p) {
    size_t m = m_begin;
    for (; m + K::kMr <= m_end; m += K::kMr) at(m, p), K::template tile<K::kMr, 1>(a);
    if (m == m_end) continue;
    at(m, p);
    switch (m_end - m) {
      case 1: tile_rows<K, 1>(a); break;
      case 2: tile_rows<K, 2>(a); break;
      case 3: tile_rows<K, 3>(a); break;
      case 4: tile_rows<K, 4>(a); break;
      case 5: tile_rows<K, 5>(a); break;
      case 6: tile_rows<K, 6>(a); break;
      case 7: tile_rows<K, 7>(a); break;
    }
  }
}

}  // namespace
}  // namespace qrt::kernels
