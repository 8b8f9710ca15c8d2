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
// Small K (K < 64, K % 4 == 0: MobileNet's 1x1 convolutions, K = 16..32 with M up to 12544): the
// whole of K is one k-step, so the requant path configures A tiles of K bytes per row and B tiles
// of K / 4 rows (amx_load_config's ak) and loads A straight from A with stride lda: no copy, and
// the B tile is exactly the panel's K / 4 k-groups (the packed layout is unchanged). K % 4 != 0
// keeps the copy (a round_up(K, 4)-byte A row would read past A[m][K-1]). Measured with thread
// CPU time against the copy, old and new alternated (requant, 1 thread): M = 12544 K = 16 N = 96
// 128 -> 118 us, M = 12544 K = 32 N = 16 48 -> 41, M = 3136 K = 24 N = 144 and M = 784 K = 32
// N = 192 2-4 % (noise level). These shapes are bound by the epilogue (without it the K = 16 shape
// takes 48 us), not by tdpbusd; see docs/KERNELS_INT8.md (AMX section). The epilogue is not
// held back by the tile stores: with every tile instruction compiled out it alone takes 85 us
// of the 125 at K = 16 N = 96 (its 12 vector ops per row run on ports 0 and 5 only), and running
// block j-2's epilogue instead of j-1's (stores retired long before the loads) measured no
// faster, in the kernel or in MobileNetV2 / ResNet-18. So requant_fast takes rows in pairs
// (fewer ops) and converts only the 16 defined columns of a panel with <= 16 left (N = 16:
// 12544 x 32 x 16 43 -> 26 us).
// M tails: a row block of r < 32 rows gets its own tile configuration (A and C tiles with
// min(r,16) and r-16 rows), so no row outside [m_begin, m_end) is read or written.
// Blocks: u8 output (requant) runs the pipelined blocks of Pipe (column chunks of about L2/8 of
// B, 32-row blocks, panels; the previous block's C tiles stored inside the next block's first
// k-step, its epilogue after that block's k-loop); f32 output (dequant) runs seq_rows_dequant,
// the sequential blocks this file had before (docs/KERNELS_INT8.md, AMX section, says why).
// Exactness: tdpbusd multiplies u8 x s8 exactly and adds into int32 modulo 2^32 (the contract's
// arithmetic; the order does not matter); the epilogue is gemm_u8s8_epilogue_avx512.h (the same
// instructions as the AVX-512 VNNI kernel) or requant_fast below (the same results, proven
// there), so the outputs equal the reference bit for bit.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/features.h"
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

// One 32 x 32 (or r x 32) block of C: where its epilogue writes and the column parameters.
struct BlockOut {
  uint8_t* c;      // row 0 of the block in C (bytes)
  size_t n, r;     // first column, rows
  bool c2;         // columns n+16.. exist (n + 16 < n_end)
  bool fast;       // requant: |acc * scale| < 2^30 guaranteed, requant_fast applies
  __mmask32 m32;   // requant: columns < n_end of the 32
  ColVec16 cv0, cv1;
};

// Requant epilogue with fewer vector ops, for panels where |acc * scale| < 2^30 is guaranteed:
// per 16 columns vpaddd offset, cvtdq2ps, mulps, cvtps2dq (exact nearbyint below 2^31); then
// packssdw, vpaddsw zp, packuswb (all saturating, monotone, and the identity on results in
// [0, 255]), vpmaxub qmin only if qmin > 0, vpminub qmax only if qmax < 255, vpermd. Clamping the
// saturated value to [qmin, qmax] equals clamping zp + nearbyint(r) (round then clamp equals clamp
// then round for integer bounds): every saturating step maps values above 255 to 255 >= qmax and
// values below 0 to 0 <= qmin. Without the bound, cvtps2dq of r >= 2^31 gives INT32_MIN, which is
// why requant_row32 clamps with minps first. 12 vector ops per row of 32 outputs when qmin = 0 and
// qmax = 255 (15 in requant_row32; 11.5 in row pairs, below): vector uops issued beside tdpbusd
// slow the tile unit down.
// Bound per column: |acc| <= K * 255 * 128 + |bias - a_zp * colsum| (no int32 wrap below 2^31),
// checked in float against 2^30, a factor-2 margin for the roundings of the check itself.
__attribute__((always_inline)) inline bool requant_fast_ok(const ColVec16& cv, float kbound) {
  const __m512 lim = _mm512_set1_ps(1073741824.0f);  // 2^30
  const __m512 b = _mm512_add_ps(_mm512_set1_ps(kbound), _mm512_abs_ps(_mm512_cvtepi32_ps(cv.off)));
  const __mmask16 ok = _mm512_cmp_ps_mask(b, lim, _CMP_LT_OQ) &
                       _mm512_cmp_ps_mask(_mm512_mul_ps(b, cv.sc), lim, _CMP_LT_OQ);
  return ok == 0xFFFF;
}

// Rows in pairs: the two rows' words share one packuswb, one vpmaxub / vpminub and one vpermd
// (row i in the low 256 bits, row i+1 in the high 256, taken by vextracti64x4): 23 vector ops per
// two rows of 32 outputs when qmin = 0 and qmax = 255 (24 one row at a time), 25 with both clamps
// (28). Every op is lane-wise or the same byte permutation as one row at a time, so the bytes
// stored are the same. A block whose panel has <= 16 columns left (c2 false) converts only
// its 16 defined columns: two rows' dwords go into one packssdw, and vpermd leaves row i in
// bytes 0..15 and row i+1 in 16..31 (13 vector ops per two rows of 16 outputs instead of 24).
template <bool LO, bool HI>
__attribute__((always_inline)) inline void requant_fast(const Epi16& e, const BlockOut& o,
                                                        const int32_t* cb, __m512i zp16,
                                                        size_t ldcb, size_t i0, size_t i1) {
  const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  auto q16 = [&](const int32_t* src, const ColVec16& cv) {
    return _mm512_cvtps_epi32(
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_load_si512(src), cv.off)), cv.sc));
  };
  auto clamp = [&](__m512i b8) {
    if constexpr (LO) b8 = _mm512_max_epu8(b8, e.qmin8);
    if constexpr (HI) b8 = _mm512_min_epu8(b8, e.qmax8);
    return b8;
  };
  size_t i = i0;
  if (!o.c2) {
    const __mmask16 m16 = static_cast<__mmask16>(o.m32);
    for (; i + 2 <= i1; i += 2) {
      const __m512i w = _mm512_adds_epi16(
          _mm512_packs_epi32(q16(cb + 32 * i, o.cv0), q16(cb + 32 * i + 32, o.cv0)), zp16);
      const __m512i p = _mm512_permutexvar_epi32(perm, clamp(_mm512_packus_epi16(w, w)));
      _mm_mask_storeu_epi8(o.c + i * ldcb + o.n, m16, _mm512_castsi512_si128(p));
      _mm_mask_storeu_epi8(o.c + (i + 1) * ldcb + o.n, m16, _mm512_extracti32x4_epi32(p, 1));
    }
    if (i < i1) {
      const __m512i q = q16(cb + 32 * i, o.cv0);
      const __m512i w = _mm512_adds_epi16(_mm512_packs_epi32(q, q), zp16);
      const __m512i p = _mm512_permutexvar_epi32(perm, clamp(_mm512_packus_epi16(w, w)));
      _mm_mask_storeu_epi8(o.c + i * ldcb + o.n, m16, _mm512_castsi512_si128(p));
    }
    return;
  }
  for (; i + 2 <= i1; i += 2) {
    const __m512i wa = _mm512_adds_epi16(
        _mm512_packs_epi32(q16(cb + 32 * i, o.cv0), q16(cb + 32 * i + 16, o.cv1)), zp16);
    const __m512i wb = _mm512_adds_epi16(
        _mm512_packs_epi32(q16(cb + 32 * i + 32, o.cv0), q16(cb + 32 * i + 48, o.cv1)), zp16);
    const __m512i p = _mm512_permutexvar_epi32(perm, clamp(_mm512_packus_epi16(wa, wb)));
    _mm256_mask_storeu_epi8(o.c + i * ldcb + o.n, o.m32, _mm512_castsi512_si256(p));
    _mm256_mask_storeu_epi8(o.c + (i + 1) * ldcb + o.n, o.m32, _mm512_extracti64x4_epi64(p, 1));
  }
  if (i < i1) {
    const __m512i w = _mm512_adds_epi16(
        _mm512_packs_epi32(q16(cb + 32 * i, o.cv0), q16(cb + 32 * i + 16, o.cv1)), zp16);
    _mm256_mask_storeu_epi8(o.c + i * ldcb + o.n, o.m32,
                            _mm512_castsi512_si256(_mm512_permutexvar_epi32(
                                perm, clamp(_mm512_packus_epi16(w, w)))));
  }
}

// Rows [i0, i1) of block o's requant epilogue from its stored C tiles cb (int32, row stride 32).
// (Only the requant epilogue runs pipelined; f32 output takes seq_rows_dequant.)
__attribute__((always_inline)) inline void epi_rows(const Epi16& e, const BlockOut& o,
                                                    const int32_t* cb, __m512i zp16, size_t ldcb,
                                                    size_t i0, size_t i1) {
  if (o.fast) {
    switch (e.clamp) {
      case 0: return requant_fast<false, false>(e, o, cb, zp16, ldcb, i0, i1);
      case 1: return requant_fast<true, false>(e, o, cb, zp16, ldcb, i0, i1);
      case 2: return requant_fast<false, true>(e, o, cb, zp16, ldcb, i0, i1);
      default: return requant_fast<true, true>(e, o, cb, zp16, ldcb, i0, i1);
    }
  }
  // One packed, masked 32-byte store per row (columns past n_end masked off). A panel of <= 16
  // columns still computed its upper tile (B's padded columns are zero), so the upper 16 lanes are
  // defined; the store masks them off.
  for (size_t i = i0; i < i1; ++i)
    requant_row32(e, o.cv0.sc, o.cv1.sc, zp16,
                  _mm512_add_epi32(_mm512_load_si512(cb + 32 * i), o.cv0.off),
                  _mm512_add_epi32(_mm512_load_si512(cb + 32 * i + 16), o.cv1.off),
                  o.c + i * ldcb, o.n, o.m32);
}

// Where block (rows m.., r of them; columns n..n+31) writes, and its column parameters.
__attribute__((always_inline)) inline BlockOut block_out(const Epi16& e, const int32_t* colsum,
                                                         float kbound, void* C, size_t ldcb,
                                                         size_t m, size_t r, size_t n,
                                                         size_t n_end) {
  BlockOut o;
  o.c = static_cast<uint8_t*>(C) + m * ldcb;
  o.n = n;
  o.r = r;
  o.c2 = n + 16 < n_end;
  const size_t cnt = n_end - n;
  o.m32 = cnt >= 32 ? ~__mmask32(0) : (__mmask32(1) << cnt) - 1;
  o.cv0 = col_vec16(e, colsum + n, n, n_end);
  o.cv1 = o.c2 ? col_vec16(e, colsum + n + 16, n + 16, n_end) : o.cv0;
  o.fast = e.requant && requant_fast_ok(o.cv0, kbound) && requant_fast_ok(o.cv1, kbound);
  return o;
}

// The tile pipeline of one run() call. Blocks follow each other without a separate drain: block
// j's first k-step loads its A and B tiles, then stores block j-1's C tiles (still in tmm0-3) to
// cbuf, zeroing each right before its first tdpbusd of block j; block j-1's epilogue then runs
// after block j's last k-step, in program order behind block j's tdpbusd, so it executes while
// the tile unit works through them instead of holding back the next block's first product.
// Slicing that epilogue between block j's k-steps measured another 5-15 % faster in isolation
// (qrt_bench, in-process A/B) but made whole models slower (ResNet-18 int8 +4 %, MiniLM +7 % when
// it also served f32 output): the GEMM itself ran no faster inside the model and the ops around
// it (im2col, quantize, attention) ran 7-20 % slower (docs/KERNELS_INT8.md, AMX section). The
// epilogue after the k-loop is neutral there, so that is what runs.
struct Pipe {
  alignas(64) int32_t cbuf[2][32 * 32];
  alignas(64) uint8_t atail[2][32 * 64];
  const Epi16* e;
  __m512i zp16;
  size_t ldcb;        // C row stride in bytes
  bool live = false;  // tmm0-3 hold block `cur`, not yet stored
  bool r2 = false;    // `cur` has a second row tile (tmm2/3)
  unsigned next = 0;  // cbuf the next store goes to
  BlockOut cur;

  // Stores the live block and runs its whole epilogue (before a tile reconfiguration / at the end).
  template <bool R2>
  void flush_t() {
    int32_t* cb = cbuf[next];
    _tile_stored(0, cb, 128);
    _tile_stored(1, cb + 16, 128);
    if constexpr (R2) {
      _tile_stored(2, cb + 16 * 32, 128);
      _tile_stored(3, cb + 16 * 32 + 16, 128);
    }
    epi_rows(*e, cur, cb, zp16, ldcb, 0, cur.r);
    live = false;
  }
  void flush() {
    if (!live) return;
    if (r2) flush_t<true>();
    else flush_t<false>();
  }

  // C block o = A rows (a: row 0 at k = 0, stride lda) x one B panel (b: its first k-group), both
  // 16-column tiles (a panel's columns past N are zero in B); atail: zero-padded copy of the K
  // tail (32 rows x 64 bytes) or null. Every block between two flushes has the same R2.
  template <bool R2>
  __attribute__((always_inline)) void block(size_t kfull, const uint8_t* a, size_t lda,
                                            const int8_t* b, const uint8_t* atail,
                                            const BlockOut& o) {
    const bool prev = live;
    const BlockOut po = cur;
    int32_t* cb = cbuf[next];
    const uint8_t* a1 = a + 16 * lda;
    size_t as = lda;
    if (kfull == 0 && atail) a = atail, a1 = atail + 16 * 64, as = 64;
    // First k-step (the tail step when K < 64, from atail, or all of K straight from A when the
    // tiles are configured K bytes wide: small K): this block's operand tiles first (each reload
    // waits only for the previous block's last reader of that tile register), then per C tile:
    // store the previous block's, zero, first product.
    _tile_loadd(4, a, as);
    _tile_loadd(6, b, 128);
    _tile_loadd(7, b + 64, 128);
    if constexpr (R2) _tile_loadd(5, a1, as);
    if (prev) _tile_stored(0, cb, 128);
    _tile_zero(0);
    _tile_dpbusd(0, 4, 6);
    if (prev) _tile_stored(1, cb + 16, 128);
    _tile_zero(1);
    _tile_dpbusd(1, 4, 7);
    if constexpr (R2) {
      if (prev) _tile_stored(2, cb + 16 * 32, 128);
      _tile_zero(2);
      _tile_dpbusd(2, 5, 6);
      if (prev) _tile_stored(3, cb + 16 * 32 + 16, 128);
      _tile_zero(3);
      _tile_dpbusd(3, 5, 7);
    }
    if (prev) next ^= 1;
    cur = o;
    live = true;
    r2 = R2;
    const size_t pr = prev ? po.r : 0;  // rows of the previous block's epilogue, run below
    if (kfull == 0) {
      if (pr) epi_rows(*e, po, cb, zp16, ldcb, 0, pr);
      return;
    }
    b += 16 * 128;
    for (size_t kb = 1; kb < kfull; ++kb) {
      a += 64, a1 += 64;
      // Each tile register is reloaded only after its last reader was issued (tiles are not
      // renamed), so the loads overlap the previous k-block's products.
      _tile_loadd(4, a, lda);
      _tile_loadd(6, b, 128);
      _tile_dpbusd(0, 4, 6);
      _tile_loadd(7, b + 64, 128);
      _tile_dpbusd(1, 4, 7);
      if constexpr (R2) {
        _tile_loadd(5, a1, lda);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
      }
      b += 16 * 128;
    }
    if (atail) {
      _tile_loadd(4, atail, 64);
      _tile_loadd(6, b, 128);
      _tile_loadd(7, b + 64, 128);
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
      if constexpr (R2) {
        _tile_loadd(5, atail + 16 * 64, 64);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
      }
    }
    // The previous block's epilogue, behind this block's products in program order.
    if (pr) epi_rows(*e, po, cb, zp16, ldcb, 0, pr);
  }
};

// The packed B as the kernel reads it (column sums, then nr = 32 panels of pstride bytes) and K
// split into whole 64-byte k-blocks plus a tail of kt bytes (tmask selects them). A small K
// (small_k below) has no copied tail: it is all one tile-wide k-step, loaded straight from A.
struct PackedB {
  const int32_t* colsum;
  const int8_t* panels;
  size_t pstride, kfull, kt;
  __mmask64 tmask;
  PackedB(const void* packed, size_t N, size_t K)
      : colsum(static_cast<const int32_t*>(packed)),
        panels(static_cast<const int8_t*>(packed) + colsum_bytes(N, kNr)),
        pstride(panel_bytes(K, kNr)),
        kfull(K / 64),
        kt(K % 64),
        tmask(K % 64 ? (~0ull >> (64 - K % 64)) : 0) {}
  // The tiles are configured K bytes wide (amx_load_config's ak = K) and A is read in place.
  static bool small_k(size_t K) { return K < 64 && K % 4 == 0; }
  const int8_t* panel(size_t col) const { return panels + (col / kNr) * pstride; }
  // The K tail of r rows of A into a zero-padded 64-byte-per-row tile buffer (masked loads: never
  // past A[m][K-1]).
  void copy_a_tail(const uint8_t* a, size_t lda, size_t r, uint8_t* dst) const {
    for (size_t i = 0; i < r; ++i)
      _mm512_store_si512(dst + 64 * i, _mm512_maskz_loadu_epi8(tmask, a + i * lda + 64 * kfull));
  }
};

// Rows [m0, m1) (blocks of 32 rows, the last one possibly shorter; all with the current tile
// configuration, so all with or all without a second row tile: R2) x the tile's columns.
// Loop order: column chunks of about L2/8 of packed B (256 KiB with a 2 MiB L2), then 32-row
// blocks, then the chunk's panels. A block's 32 x K rows of A stay in L1/L2 while the chunk's
// panels stream past them, and the chunk stays in L2 while the row blocks pass.
template <bool R2>
void amx_rows(size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed, const Epi16& e,
              void* C, size_t ldc, size_t m0, size_t m1, size_t n_begin, size_t n_end, Pipe& p) {
  const PackedB pb(packed, N, K);
  const size_t esz = e.requant ? 1 : 4;
  const float kbound = static_cast<float>(K) * 32640.0f;  // max |sum_k A * B| (u8 x s8)
  size_t chunk_panels = (cpu::l2_cache_bytes() / 8) / (pb.pstride ? pb.pstride : 1);
  if (chunk_panels < 1) chunk_panels = 1;
  const size_t chunk = chunk_panels * kNr;
  unsigned at_idx = 0;
  for (size_t nc = n_begin; nc < n_end; nc += chunk) {
    const size_t nc_end = nc + chunk < n_end ? nc + chunk : n_end;
    for (size_t m = m0; m < m1; m += 32) {
      const size_t r = m1 - m < 32 ? m1 - m : 32;
      const uint8_t* a = A + m * lda;
      const uint8_t* at = nullptr;
      // Two buffers: the previous row block's last tiles may still be loading.
      if (pb.kt && !PackedB::small_k(K)) {
        uint8_t* t = p.atail[at_idx];
        at_idx ^= 1;
        pb.copy_a_tail(a, lda, r, t);
        at = t;
      }
      for (size_t n = nc; n < nc_end; n += kNr) {  // n_begin is a multiple of kNr
        const BlockOut o = block_out(e, pb.colsum, kbound, C, ldc * esz, m, r, n, n_end);
        p.block<R2>(pb.kfull, a, lda, pb.panel(n), at, o);
      }
    }
  }
}

// The dequant (f32 output) epilogue keeps the kernel as it was before the pipelined blocks: each
// 32 x 32 block's k-loop, tile stores and epilogue in sequence, panels outer and 32-row blocks
// inner. With f32 output the pipelined blocks measured 10-15 % faster in isolation at M = 128
// but 5-15 % slower at M <= 16, and made MiniLM (whose Dense layers all have f32 output) 7 %
// slower end to end, the ops that follow each GEMM running slower (docs/KERNELS_INT8.md, AMX).
template <bool R2, bool C2>
__attribute__((always_inline)) inline void seq_micro(size_t kfull, const uint8_t* a, size_t lda,
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

void seq_rows_dequant(size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
                      const Epi16& e, void* C, size_t ldc, size_t m0, size_t m1, size_t n_begin,
                      size_t n_end) {
  const PackedB pb(packed, N, K);
  const int32_t* colsum = pb.colsum;
  const size_t kfull = pb.kfull;
  alignas(64) int32_t cbuf[32 * 32];
  alignas(64) uint8_t atail[32 * 64];
  for (size_t n = n_begin; n < n_end; n += kNr) {
    const ColVec16 cv0 = col_vec16(e, colsum + n, n, n_end);
    const bool c2 = n + 16 < n_end;
    const ColVec16 cv1 = c2 ? col_vec16(e, colsum + n + 16, n + 16, n_end) : cv0;
    const int8_t* b = pb.panel(n);
    for (size_t m = m0; m < m1; m += 32) {
      const size_t r = m1 - m < 32 ? m1 - m : 32;
      const uint8_t* a = A + m * lda;
      const uint8_t* at = nullptr;
      if (pb.kt) {
        pb.copy_a_tail(a, lda, r, atail);
        at = atail;
      }
      if (r > 16) {
        if (c2) seq_micro<true, true>(kfull, a, lda, b, at, cbuf);
        else seq_micro<true, false>(kfull, a, lda, b, at, cbuf);
      } else {
        if (c2) seq_micro<false, true>(kfull, a, lda, b, at, cbuf);
        else seq_micro<false, false>(kfull, a, lda, b, at, cbuf);
      }
      float* c = static_cast<float*>(C) + m * ldc;
      for (size_t i = 0; i < r; ++i)
        store_row16(e, cv0, _mm512_load_si512(cbuf + 32 * i), c + i * ldc, n);
      if (c2)
        for (size_t i = 0; i < r; ++i)
          store_row16(e, cv1, _mm512_load_si512(cbuf + 32 * i + 16), c + i * ldc, n + 16);
    }
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
  const PackedB pb(packed, N, K);
  const int32_t* colsum = pb.colsum;
  const size_t pstride = pb.pstride;
  size_t n = n_begin;  // a multiple of kNr
  auto at = [&](size_t col) { return pb.panel(col); };
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
  const size_t esz = e.requant ? 1 : 4;
  // One row, or K = 0 (no products: each row is the epilogue of zero sums, and a tile cannot be
  // configured 0 bytes wide): the VNNI GEMV, row by row.
  if (rows == 1 || K == 0) {
    for (size_t m = m_begin; m < m_end; ++m)
      gemv(N, K, A + m * lda, packed, e, static_cast<uint8_t*>(C) + m * ldc * esz, n_begin, n_end);
    return;
  }
  if (!e.requant) {  // f32 output: the sequential blocks (see seq_rows_dequant)
    if (full) {
      amx_load_config(16, 16);
      seq_rows_dequant(N, K, A, lda, packed, e, C, ldc, m_begin, m_begin + full, n_begin, n_end);
    }
    if (rem) {
      amx_load_config(rem < 16 ? int(rem) : 16, rem > 16 ? int(rem - 16) : 0);
      seq_rows_dequant(N, K, A, lda, packed, e, C, ldc, m_begin + full, m_end, n_begin, n_end);
    }
    _tile_release();
    return;
  }
  Pipe p;
  p.e = &e;
  p.zp16 = _mm512_set1_epi16(static_cast<short>(_mm512_cvtsi512_si32(e.out_zp)));
  p.ldcb = ldc * esz;
  const int ak = PackedB::small_k(K) ? int(K) : 64;  // A tile bytes per row (see PackedB::small_k)
  if (full) {
    amx_load_config(16, 16, ak);
    amx_rows<true>(N, K, A, lda, packed, e, C, ldc, m_begin, m_begin + full, n_begin, n_end, p);
    p.flush();
  }
  if (rem) {
    if (rem > 16) {
      amx_load_config(16, int(rem - 16), ak);
      amx_rows<true>(N, K, A, lda, packed, e, C, ldc, m_begin + full, m_end, n_begin, n_end, p);
      p.flush();
    } else {
      amx_load_config(int(rem), 0, ak);
      amx_rows<false>(N, K, A, lda, packed, e, C, ldc, m_begin + full, m_end, n_begin, n_end, p);
      p.flush();
    }
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
