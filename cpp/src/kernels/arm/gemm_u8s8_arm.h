// Internal: the pieces shared by the aarch64 gemm_u8s8 kernels (gemm_u8s8_neon.cc,
// gemm_u8s8_neondot.cc): their packer, the loop nest and the NEON epilogue.
//
// Packed layout: the c4 layout of gemm_u8s8.h with nr = 16, packed here (not by
// gemm_u8s8_pack.cc, which serves the x86 kernels) so the ARM kernels own their layout:
//   [colsum int32 x round_up(N, 16), zero beyond N; region padded to 64 bytes]
//   [panel p: for each group g of 4 k's: 16 columns x 4 bytes, byte j*4+t = B[16p+j][4g+t]]
// One k-group is 64 bytes = four q registers, each holding 4 columns x 4 consecutive k: the
// operand layout of `sdot` (by element: each int32 lane j gets B[col j][4g..4g+3] . A[4g..4g+3]),
// and of `smull` (8 bytes = 2 columns x 4 k against A's 4 bytes repeated).
//
// Both kernels multiply s8 x s8, so they feed A as (a - 128) (a XOR 0x80 read as s8) and compute
//   acc' = sum_k (A[m][k] - 128) * B[n][k]                        (int32, modulo 2^32)
// which is exactly sum_k A*B - 128*colsum[n] modulo 2^32 (a ring identity). The contract's
//   acc = sum_k A*B - a_zp*colsum[n] + bias[n] = acc' + (128 - a_zp)*colsum[n] + bias[n]
// so the epilogue adds the per-column term off[n] = bias[n] + (128 - a_zp)*colsum[n] (vmla, mod
// 2^32). Padding: B's zero k's and columns meet A's zero-filled K tail (-128 after the shift)
// and contribute exactly 0.
// Epilogue: the reference's float operations one for one: scvtf (vcvtq_f32_s32, nearest),
// fmul, then fmax/fmin for the clamp (requant) or fadd of bias_f32 (dequant), never an FMA (the
// build uses -ffp-contract=off; GCC's vmulq_f32/vaddq_f32 are plain operators), fcvtns
// (vcvtnq_s32_f32: round to nearest, ties to even) + out_zp. fmax/fmin differ from std::max/min
// only for NaN (impossible: acc and scale are finite) and the sign of a zero (rounds to the same
// integer). Column tails go through stack buffers: nothing outside [n_begin, n_end) of C, nor
// outside [0, N) of bias/scale/bias_f32, is touched.
// Internal linkage only (anonymous namespace): each ISA file gets its own copy (ODR).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {
namespace {
namespace arm_u8s8 {

#define QRT_UNROLL _Pragma("GCC unroll 16")
// A compiler-only barrier (no instruction): GCC's pre-allocation scheduler otherwise hoists all B
// loads of a 16-k step above the sdots (4x16 kernel) or issues all products of a B vector before
// their sadalps (3x16 kernel); either needs more than 32 vector registers and the allocator then
// spilled accumulators inside the k-loop (seen in the disassembly; with the barriers the k-loops
// of every tile shape have no stack access).
#define QRT_SCHED_BARRIER() __asm__ volatile("" ::: "memory")

constexpr size_t kNr = 16;
constexpr int32_t kAShift = 128;  // the kernels compute with A - 128

inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
inline size_t colsum_bytes(size_t N) { return round_up(round_up(N, kNr) * 4, 64); }
inline size_t panel_bytes(size_t K) { return (K + 3) / 4 * kNr * 4; }

size_t packed_size(size_t N, size_t K) {
  return colsum_bytes(N) + round_up(N, kNr) / kNr * panel_bytes(K);
}

void pack(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed) {
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, packed_size(N, K));
  int32_t* colsum = reinterpret_cast<int32_t*>(base);
  int8_t* panels = reinterpret_cast<int8_t*>(base + colsum_bytes(N));
  const size_t pbytes = panel_bytes(K);
  for (size_t n = 0; n < N; ++n) {
    const int8_t* row = B + n * ldb;
    uint32_t sum = 0;  // modulo 2^32, as the contract says
    int8_t* dst = panels + (n / kNr) * pbytes + (n % kNr) * 4;
    for (size_t k = 0; k < K; ++k) {
      sum += static_cast<uint32_t>(static_cast<int32_t>(row[k]));
      dst[(k / 4) * kNr * 4 + (k % 4)] = row[k];
    }
    colsum[n] = static_cast<int32_t>(sum);
  }
}

struct GemmArgs {
  size_t K, lda, ldc, pstride;  // pstride: bytes from one panel to the next
  const uint8_t* A;             // first row of the block
  const int8_t* panels;         // first panel of the block
  const int32_t* colsum;        // colsum at column n0 (padded array)
  const GemmU8S8Epilogue* ep;
  size_t n0, n_end;             // first column of the block; end of the tile
  void* C;                      // first row of the block, column 0
};

// Per-panel epilogue constants (16 columns).
struct ColParams {
  int32x4_t off[4];      // bias + (128 - a_zp) * colsum, modulo 2^32
  float32x4_t sc[4], bf[4];
  size_t cnt;            // valid columns, 1..16
};

inline ColParams col_params(const GemmU8S8Epilogue& ep, const int32_t* colsum16, size_t n,
                            size_t n_end) {
  ColParams cp;
  cp.cnt = n_end - n < kNr ? n_end - n : kNr;
  int32_t bi[kNr] = {};
  float sc[kNr] = {}, bf[kNr] = {};
  if (ep.bias) std::memcpy(bi, ep.bias + n, cp.cnt * 4);
  std::memcpy(sc, ep.scale + n, cp.cnt * 4);
  if (ep.bias_f32) std::memcpy(bf, ep.bias_f32 + n, cp.cnt * 4);
  const int32x4_t zs = vdupq_n_s32(kAShift - ep.a_zero_point);
  QRT_UNROLL
  for (int v = 0; v < 4; ++v) {
    cp.off[v] = vmlaq_s32(vld1q_s32(bi + 4 * v), zs, vld1q_s32(colsum16 + 4 * v));
    cp.sc[v] = vld1q_f32(sc + 4 * v);
    cp.bf[v] = vld1q_f32(bf + 4 * v);
  }
  return cp;
}

// One row of one panel: acc0..3 hold columns n..n+15 (acc' as above). c_row: row start of C.
__attribute__((always_inline)) inline void store_row16(const GemmU8S8Epilogue& ep,
                                                       const ColParams& cp, int32x4_t a0,
                                                       int32x4_t a1, int32x4_t a2, int32x4_t a3,
                                                       void* c_row, size_t n) {
  const int32x4_t acc[4] = {a0, a1, a2, a3};
  float32x4_t p[4];
  QRT_UNROLL
  for (int v = 0; v < 4; ++v)
    p[v] = vmulq_f32(vcvtq_f32_s32(vaddq_s32(acc[v], cp.off[v])), cp.sc[v]);
  if (ep.kind == GemmU8S8Epilogue::Kind::kRequantU8) {
    const float32x4_t lo = vdupq_n_f32(static_cast<float>(ep.qmin - ep.out_zero_point));
    const float32x4_t hi = vdupq_n_f32(static_cast<float>(ep.qmax - ep.out_zero_point));
    const int32x4_t zp = vdupq_n_s32(ep.out_zero_point);
    uint16x8_t q[4];
    QRT_UNROLL
    for (int v = 0; v < 4; ++v)
      q[v] = vreinterpretq_u16_s32(vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(p[v], lo), hi)), zp));
    // Every q is in [qmin, qmax] within [0, 255]: keeping the low bytes is exact.
    const uint16x8_t h0 = vuzp1q_u16(q[0], q[1]), h1 = vuzp1q_u16(q[2], q[3]);
    const uint8x16_t b = vuzp1q_u8(vreinterpretq_u8_u16(h0), vreinterpretq_u8_u16(h1));
    uint8_t* c = static_cast<uint8_t*>(c_row) + n;
    if (cp.cnt == kNr) {
      vst1q_u8(c, b);
    } else {
      uint8_t t[kNr];
      vst1q_u8(t, b);
      std::memcpy(c, t, cp.cnt);
    }
  } else {
    if (ep.bias_f32) {
      QRT_UNROLL
      for (int v = 0; v < 4; ++v) p[v] = vaddq_f32(p[v], cp.bf[v]);
    }
    float* c = static_cast<float*>(c_row) + n;
    if (cp.cnt == kNr) {
      QRT_UNROLL
      for (int v = 0; v < 4; ++v) vst1q_f32(c + 4 * v, p[v]);
    } else {
      float t[kNr];
      QRT_UNROLL
      for (int v = 0; v < 4; ++v) vst1q_f32(t + 4 * v, p[v]);
      std::memcpy(c, t, cp.cnt * 4);
    }
  }
}

// Epilogue of an MR x NP-panel tile: acc[r][4p + v] = row r, columns n0 + 16p + 4v .. +3.
template <int MR, int NP>
__attribute__((always_inline)) inline void store_tile(const GemmArgs& a,
                                                      const int32x4_t (&acc)[MR][4 * NP]) {
  const size_t esz = a.ep->kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
  QRT_UNROLL
  for (int p = 0; p < NP; ++p) {
    const size_t n = a.n0 + kNr * p;
    if (n >= a.n_end) break;
    const ColParams cp = col_params(*a.ep, a.colsum + kNr * p, n, a.n_end);
    QRT_UNROLL
    for (int r = 0; r < MR; ++r)
      store_row16(*a.ep, cp, acc[r][4 * p], acc[r][4 * p + 1], acc[r][4 * p + 2],
                  acc[r][4 * p + 3], static_cast<uint8_t*>(a.C) + r * a.ldc * esz, n);
  }
}

template <class Kern, int R>
void tile_rows(const GemmArgs& a) {
  if constexpr (R <= Kern::kMr) Kern::template tile<R, 1>(a);
}

// The loop nest (as the x86 driver): 1 row -> kNp1 panels per call, 2 rows -> kNp2 panels (GEMV-
// like, several B streams in flight); otherwise panel-outer, row blocks of kMr inner (the K x 16
// panel stays in L1/L2 while A streams), a smaller last row block (no padding rows computed).
template <class Kern>
void drive(size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
           const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
           size_t n_begin, size_t n_end) {
  if (m_begin >= m_end || n_begin >= n_end) return;
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N));
  const size_t elem = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
  GemmArgs a;
  a.K = K;
  a.lda = lda;
  a.ldc = ldc;
  a.pstride = panel_bytes(K);
  a.ep = &ep;
  a.n_end = n_end;
  const size_t p_begin = n_begin / kNr, p_end = (n_end + kNr - 1) / kNr;
  auto at = [&](size_t m, size_t p) {
    a.A = A + m * lda;
    a.panels = panels + p * a.pstride;
    a.colsum = colsum + p * kNr;
    a.n0 = p * kNr;
    a.C = static_cast<uint8_t*>(C) + m * ldc * elem;
  };
  const size_t rows = m_end - m_begin;
  if (rows == 1) {
    size_t p = p_begin;
    for (; p + Kern::kNp1 <= p_end; p += Kern::kNp1) at(m_begin, p), Kern::template tile<1, Kern::kNp1>(a);
    for (; p < p_end; ++p) at(m_begin, p), Kern::template tile<1, 1>(a);
    return;
  }
  if (rows == 2) {
    size_t p = p_begin;
    for (; p + Kern::kNp2 <= p_end; p += Kern::kNp2) at(m_begin, p), Kern::template tile<2, Kern::kNp2>(a);
    for (; p < p_end; ++p) at(m_begin, p), Kern::template tile<2, 1>(a);
    return;
  }
  for (size_t p = p_begin; p < p_end; ++p) {
    size_t m = m_begin;
    for (; m + Kern::kMr <= m_end; m += Kern::kMr) at(m, p), Kern::template tile<Kern::kMr, 1>(a);
    if (m == m_end) continue;
    at(m, p);
    switch (m_end - m) {
      case 1: tile_rows<Kern, 1>(a); break;
      case 2: tile_rows<Kern, 2>(a); break;
      case 3: tile_rows<Kern, 3>(a); break;
      case 4: tile_rows<Kern, 4>(a); break;
      case 5: tile_rows<Kern, 5>(a); break;
      default: break;
    }
  }
}

}  // namespace arm_u8s8
}  // namespace
}  // namespace qrt::kernels
