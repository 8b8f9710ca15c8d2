// Fused attention block with bf16 products on AMX-BF16 (kernels/attention_f32.h, precision
// "bf16"): Q, K, V and the softmax weights P are rounded to bf16 (nearest even), tdpbf16ps
// multiplies pairs exactly and accumulates in fp32 (bf16 denormal inputs read as zero, denormal
// results flushed, whatever MXCSR says); softmax in fp32.
//
// Why AMX: with MiniLM's shapes (64 query rows x 128 keys x head dim 32 per block) the fp32 kernel
// spends ~2/3 of its time in the two products at ~70% of the FMA peak; one tdpbf16ps does 16x the
// work of a zmm FMA, so the products shrink to a few hundred cycles and the softmax dominates.
//
// Layout, every dimension zero-padded so that only whole tiles are loaded (padded rows and keys
// are zero; padded keys never enter the softmax, whose zero weights meet zero V rows):
//   Qb [mp][lk] bf16                 mp = m rounded up to 32, lk = dk rounded up to 32
//   Kb tiles (key block of 16, k block of 32): 16 rows of d pairs x 16 keys (B tile, 64 B rows),
//      i.e. a 16 x 16 transpose of 32-bit (bf16 pair) units of the converted K rows
//   S  [mp][np] fp32 scores           np = n rounded up to 32
//   P  [mp][np] bf16 = bf16(e^(scale S + mask - max)) (computed as a power of 2), inv[i] = 1 / the
//      sum of the unrounded weights
//   Vb tiles (key block of 32, value block of 16): 16 rows of key pairs x 16 values, interleaved
//   O = inv * (P Vb)
// Tiles (palette 1, every tile 16 rows x 64 bytes, released before returning): tmm0-3 = C
// (2 x 2 of 16 x 16 fp32), tmm4/5 = A (two 16-row blocks), tmm6/7 = B (two 16-column blocks).
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/attention_f32.h"
#include "kernels/x86/amx_tiles.h"

namespace qrt::kernels::attention_amx {
namespace {

#include "kernels/x86/transpose_tile_avx512.inc"

inline size_t up(size_t x, size_t a) { return (x + a - 1) / a * a; }

// Two rows of 16 fp32 -> 32 bf16 (lo in elements 0-15), masked loads (tails read as zero).
inline __m512i to_bf16(const float* p, __mmask16 m0, __mmask16 m1) {
  __m512 lo = _mm512_maskz_loadu_ps(m0, p), hi = _mm512_maskz_loadu_ps(m1, p + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

inline __mmask16 first_n(size_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

// 2^y for y <= 0 (a score in log2 units minus its row maximum), for weights rounded to bf16 next:
// n = round(y), 2^(y - n) by a degree-3 polynomial fitted for relative error on [-1/2, 1/2]
// (measured max 1.0e-4, against bf16's rounding of 2^-9); 0 below -125.5. The clamp keeps every
// intermediate normal: a subnormal or underflowing result costs a microcode assist per
// instruction (padded keys, masked at -10000, made the kernel 8x slower when vscalefps was left
// to underflow). NaN propagates (vmax returns its second operand, y).
inline __m512 exp2_nonpos(__m512 y) {
  const __m512 lo = _mm512_set1_ps(-125.5f);
  __m512 yc = _mm512_max_ps(lo, y);
  __m512 n = _mm512_roundscale_ps(yc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(yc, n);
  __m512 p = _mm512_set1_ps(0.05500892922282219f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.2422109693288803f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6932829022407532f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  // n >= -126, and p >= 2^0.5 when n = -126: the product is normal.
  return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(y, lo, _CMP_NLT_UQ), p, n);
}

struct Bufs {
  uint16_t *qb, *kb, *p, *vb;
  float *s, *inv;
  size_t mp, lk, np, dvp;
};

Bufs carve(const AttentionF32Args& a) {
  Bufs b;
  b.mp = up(a.m, 32);
  b.lk = up(a.dk ? a.dk : 1, 32);
  b.np = up(a.n, 32);
  b.dvp = up(a.dv, 16);
  char* c = reinterpret_cast<char*>(a.scratch);
  auto take = [&](size_t bytes) {
    char* r = c;
    c += up(bytes, 64);
    return r;
  };
  b.qb = reinterpret_cast<uint16_t*>(take(b.mp * b.lk * 2));
  b.kb = reinterpret_cast<uint16_t*>(take(b.np * b.lk * 2));
  b.s = reinterpret_cast<float*>(take(b.mp * b.np * 4));
  b.p = reinterpret_cast<uint16_t*>(take(b.mp * b.np * 2));
  b.vb = reinterpret_cast<uint16_t*>(take(b.np * b.dvp * 2));
  b.inv = reinterpret_cast<float*>(take(b.mp * 4));
  return b;
}

void convert_q(const AttentionF32Args& a, const Bufs& b) {
  for (size_t i = 0; i < b.mp; ++i) {
    uint16_t* o = b.qb + i * b.lk;
    if (i >= a.m) {
      std::memset(o, 0, b.lk * 2);
      continue;
    }
    const float* q = a.q + i * a.ldq;
    for (size_t d = 0; d < b.lk; d += 32) {
      const size_t r = d < a.dk ? a.dk - d : 0;
      _mm512_store_si512(o + d, to_bf16(q + d, first_n(r), first_n(r > 16 ? r - 16 : 0)));
    }
  }
}

// Kb tile (jb, kb) at kb_tiles + (jb * (lk / 32) + kb) * 512 bf16: row p = (K[j][2p], K[j][2p+1])
// for the 16 keys j of the block.
void convert_k(const AttentionF32Args& a, const Bufs& b) {
  alignas(64) uint32_t rows[16 * 16];
  const size_t kblocks = b.lk / 32;
  for (size_t j0 = 0; j0 < b.np; j0 += 16) {
    for (size_t kb = 0; kb < kblocks; ++kb) {
      const size_t d = kb * 32, r = d < a.dk ? a.dk - d : 0;
      const __mmask16 m0 = first_n(r), m1 = first_n(r > 16 ? r - 16 : 0);
      for (size_t t = 0; t < 16; ++t) {
        const size_t j = j0 + t;
        __m512i v = j < a.n ? to_bf16(a.k + j * a.ldk + d, m0, m1) : _mm512_setzero_si512();
        _mm512_store_si512(rows + 16 * t, v);
      }
      uint16_t* dst = b.kb + ((j0 / 16) * kblocks + kb) * 512;
      transpose_tile(reinterpret_cast<const float*>(rows), 16, reinterpret_cast<float*>(dst), 16);
    }
  }
}

// Vb tile (jb32, eb) at vb + (jb32 * (dvp / 16) + eb) * 512 bf16: row p = V[2p][e], V[2p+1][e]
// interleaved for the 16 values e of the block.
void convert_v(const AttentionF32Args& a, const Bufs& b) {
  alignas(64) static const uint16_t order[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                  21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                  11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(order);
  const size_t eblocks = b.dvp / 16;
  for (size_t j = 0; j < b.np; j += 2) {
    const size_t jb = j / 32, p = (j % 32) / 2;
    for (size_t eb = 0; eb < eblocks; ++eb) {
      const size_t e = eb * 16;
      const __mmask16 m = first_n(a.dv - e);
      __m512 r0 = j < a.n ? _mm512_maskz_loadu_ps(m, a.v + j * a.ldv + e) : _mm512_setzero_ps();
      __m512 r1 =
          j + 1 < a.n ? _mm512_maskz_loadu_ps(m, a.v + (j + 1) * a.ldv + e) : _mm512_setzero_ps();
      __m512i x = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
      _mm512_store_si512(b.vb + ((jb * eblocks + eb) * 16 + p) * 32, x);
    }
  }
}

// S rows [i0, i0 + 32) x keys [j0, j0 + 32), all k blocks.
void scores_tiles(const Bufs& b, size_t i0, size_t j0) {
  const size_t kblocks = b.lk / 32, lda = b.lk * 2;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const uint16_t* kt0 = b.kb + (j0 / 16) * kblocks * 512;
  const uint16_t* kt1 = kt0 + kblocks * 512;
  for (size_t kb = 0; kb < kblocks; ++kb) {
    _tile_loadd(4, b.qb + i0 * b.lk + kb * 32, lda);
    _tile_loadd(5, b.qb + (i0 + 16) * b.lk + kb * 32, lda);
    _tile_loadd(6, kt0 + kb * 512, 64);
    _tile_loadd(7, kt1 + kb * 512, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  float* s = b.s + i0 * b.np + j0;
  const size_t lds = b.np * 4;
  _tile_stored(0, s, lds);
  _tile_stored(1, s + 16, lds);
  _tile_stored(2, s + 16 * b.np, lds);
  _tile_stored(3, s + 16 * b.np + 16, lds);
}

// Rows [i, i + R): scores in log2 units (scale and mask times log2 e), max, P = bf16(2^(y - max))
// (zero past n), inv = 1 / sum of the unrounded weights (each P carries its own rounding only, so
// the bound in attention_f32.h holds either way; summing the rounded ones costs a widening per
// vector). R rows interleaved: one row's max and sum reductions are serial chains (~100 cycles),
// and four independent rows keep the vector ports busy (a 128 x 128 x 32 block: 10.8 -> 9.0 us).
template <int R>
void softmax_rows(const AttentionF32Args& a, const Bufs& b, size_t i) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 vscale = _mm512_set1_ps(a.scale * 1.44269504088896341f);
  float* t[R];
  uint16_t* p[R];
  const float* mrow[R];
  __m512 vm[R];
  for (int r = 0; r < R; ++r) {
    t[r] = b.s + (i + r) * b.np;  // y, in place
    p[r] = b.p + (i + r) * b.np;
    mrow[r] = a.mask ? a.mask + (i + r) * a.mask_ld : nullptr;
    vm[r] = _mm512_set1_ps(-INFINITY);
  }
  for (size_t j = 0; j < a.n; j += 16) {
    const __mmask16 k = first_n(a.n - j);
    for (int r = 0; r < R; ++r) {
      __m512 x = _mm512_maskz_loadu_ps(k, t[r] + j);
      if (mrow[r]) {
        __m512 mk = a.mask_sj == 1 ? _mm512_maskz_loadu_ps(k, mrow[r] + j) : _mm512_set1_ps(mrow[r][0]);
        x = _mm512_fmadd_ps(x, vscale, _mm512_mul_ps(mk, log2e));
      } else {
        x = _mm512_mul_ps(x, vscale);
      }
      _mm512_storeu_ps(t[r] + j, x);
      vm[r] = _mm512_mask_max_ps(vm[r], k, vm[r], x);
    }
  }
  // A NaN score need not survive the max: its own weight 2^(NaN - max) makes the sum, and so the
  // row, NaN; so do +Inf scores (Inf - Inf) and an all -Inf row (as ONNX Softmax).
  __m512 vmx[R], s0[R], s1[R];
  for (int r = 0; r < R; ++r) {
    vmx[r] = _mm512_set1_ps(_mm512_reduce_max_ps(vm[r]));
    s0[r] = _mm512_setzero_ps();
    s1[r] = _mm512_setzero_ps();
  }
  size_t j = 0;
  for (; j < a.n; j += 32) {
    const __mmask16 k0 = first_n(a.n - j), k1 = first_n(a.n - j > 16 ? a.n - j - 16 : 0);
    for (int r = 0; r < R; ++r) {
      __m512 e0 = _mm512_maskz_mov_ps(k0, exp2_nonpos(_mm512_sub_ps(_mm512_loadu_ps(t[r] + j), vmx[r])));
      __m512 e1 =
          _mm512_maskz_mov_ps(k1, exp2_nonpos(_mm512_sub_ps(_mm512_loadu_ps(t[r] + j + 16), vmx[r])));
      _mm512_store_si512(p[r] + j, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
      s0[r] = _mm512_add_ps(s0[r], e0);
      s1[r] = _mm512_add_ps(s1[r], e1);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (size_t jj = j; jj < b.np; jj += 32) _mm512_store_si512(p[r] + jj, _mm512_setzero_si512());
    b.inv[i + r] = 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0[r], s1[r]));
  }
}

// O rows [i0, i0 + 32) x values [e0, e0 + 16 * (c2 ? 2 : 1)).
template <bool C2>
void out_tiles(const AttentionF32Args& a, const Bufs& b, size_t i0, size_t e0) {
  const size_t eblocks = b.dvp / 16, lda = b.np * 2;
  _tile_zero(0);
  _tile_zero(2);
  if constexpr (C2) {
    _tile_zero(1);
    _tile_zero(3);
  }
  for (size_t j = 0; j < b.np; j += 32) {
    const uint16_t* vt = b.vb + ((j / 32) * eblocks + e0 / 16) * 512;
    _tile_loadd(4, b.p + i0 * b.np + j, lda);
    _tile_loadd(5, b.p + (i0 + 16) * b.np + j, lda);
    _tile_loadd(6, vt, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if constexpr (C2) {
      _tile_loadd(7, vt + 512, 64);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  alignas(64) float c[32 * 32];
  _tile_stored(0, c, 128);
  _tile_stored(2, c + 16 * 32, 128);
  if constexpr (C2) {
    _tile_stored(1, c + 16, 128);
    _tile_stored(3, c + 16 * 32 + 16, 128);
  }
  const size_t rows = a.m - i0 < 32 ? a.m - i0 : 32;
  const __mmask16 k0 = first_n(a.dv - e0);
  const __mmask16 k1 = C2 ? first_n(a.dv - e0 > 16 ? a.dv - e0 - 16 : 0) : 0;
  for (size_t r = 0; r < rows; ++r) {
    const __m512 s = _mm512_set1_ps(b.inv[i0 + r]);
    float* o = a.o + (i0 + r) * a.ldo + e0;
    _mm512_mask_storeu_ps(o, k0, _mm512_mul_ps(_mm512_load_ps(c + 32 * r), s));
    if constexpr (C2) _mm512_mask_storeu_ps(o + 16, k1, _mm512_mul_ps(_mm512_load_ps(c + 32 * r + 16), s));
  }
}

void attention_block(const AttentionF32Args& a) {
  if (a.m == 0 || a.dv == 0) return;
  if (a.n == 0) {  // softmax over nothing: 0/0
    for (size_t i = 0; i < a.m; ++i)
      for (size_t e = 0; e < a.dv; ++e) a.o[i * a.ldo + e] = NAN;
    return;
  }
  const Bufs b = carve(a);
  convert_q(a, b);
  convert_k(a, b);
  convert_v(a, b);
  amx_load_config(16, 16);
  for (size_t i0 = 0; i0 < b.mp; i0 += 32)
    for (size_t j0 = 0; j0 < b.np; j0 += 32) scores_tiles(b, i0, j0);
  size_t i = 0;
  for (; i + 4 <= a.m; i += 4) softmax_rows<4>(a, b, i);
  for (; i < a.m; ++i) softmax_rows<1>(a, b, i);
  for (size_t i = a.m; i < b.mp; ++i) std::memset(b.p + i * b.np, 0, b.np * 2);
  for (size_t i0 = 0; i0 < b.mp; i0 += 32)
    for (size_t e0 = 0; e0 < b.dvp; e0 += 32) {
      if (b.dvp - e0 > 16) {
        out_tiles<true>(a, b, i0, e0);
      } else {
        out_tiles<false>(a, b, i0, e0);
      }
    }
  _tile_release();
}

}  // namespace

extern const AttentionF32Kernel attention_bf16_amx = {"attention_bf16_amx", cpu::Isa::kAmx,
                                                      attention_block, /*bf16_products=*/true,
                                                      /*max_rows=*/128};

}  // namespace qrt::kernels::attention_amx
