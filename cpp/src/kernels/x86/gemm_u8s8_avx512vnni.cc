// gemm_u8s8 for AVX-512 VNNI: vpdpbusd (u8 x s8, 4 products summed into int32, wrap-around) is
// exactly the contract's arithmetic, so no shift or correction is needed: A is the unsigned
// operand (one 4-byte group broadcast per row), packed B the signed one (c4 layout, 64 columns =
// 4 zmm per k-group). Tile: 6 rows x 64 columns = 24 zmm accumulators + 4 B + 1 A register.
// Exactness: int32 adds are modulo 2^32 in any order; the epilogue is cvtdq2ps, mulps, maxps,
// minps, cvtps2dq (MXCSR round-to-nearest-even = nearbyint), exactly as the reference.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"

namespace qrt::kernels {
namespace avx512vnni {
namespace {

using namespace gemm_u8s8_internal;
constexpr size_t kNr = 64;
constexpr size_t kGroupBytes = kNr * 4;

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __m512i bcast_tail(const uint8_t* p, size_t n) {
  int32_t v = 0;
  std::memcpy(&v, p, n);
  return _mm512_set1_epi32(v);
}

struct Args {
  size_t K, lda, ldc, pstride;
  const uint8_t* A;        // row m_begin of the block
  const int8_t* panels;    // first panel of the block
  const int32_t* colsum;   // at column n0
  const GemmU8S8Epilogue* ep;
  size_t n0, n_end;        // absolute first column, tile end
  void* C;                 // row of the block, column 0
};

// MR rows x NV zmm column vectors (16 columns each, NV/4 consecutive panels).
template <int MR, int NV>
void tile(const Args& a) {
  __m512i acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_si512();

  const uint8_t* ar[MR];
  for (int r = 0; r < MR; ++r) ar[r] = a.A + r * a.lda;
  const int8_t* b = a.panels;
  const size_t kg = a.K / 4;
  for (size_t g = 0; g < kg; ++g) {
    __m512i bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_load_si512(b + (v / 4) * a.pstride + (v % 4) * 64);
    _mm_prefetch(reinterpret_cast<const char*>(b + 1024), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i av = bcast4(ar[r] + 4 * g);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
    }
    b += kGroupBytes;
  }
  if (const size_t kt = a.K % 4) {
    __m512i bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_load_si512(b + (v / 4) * a.pstride + (v % 4) * 64);
    for (int r = 0; r < MR; ++r) {
      const __m512i av = bcast_tail(ar[r] + 4 * kg, kt);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
    }
  }

  // Epilogue: acc += bias - a_zp * colsum, then requantize or dequantize.
  const GemmU8S8Epilogue& ep = *a.ep;
  const __m512i zp = _mm512_set1_epi32(ep.a_zero_point);
  const bool requant = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8;
  const __m512 lo = _mm512_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point));
  const __m512i ozp = _mm512_set1_epi32(ep.out_zero_point);
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const size_t n = a.n0 + 16 * v;
    if (n >= a.n_end) break;
    const size_t cnt = a.n_end - n;
    const __mmask16 mask = cnt >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cnt) - 1);
    __m512i off = _mm512_mullo_epi32(zp, _mm512_load_si512(a.colsum + 16 * v));
    off = _mm512_sub_epi32(ep.bias ? _mm512_maskz_loadu_epi32(mask, ep.bias + n)
                                   : _mm512_setzero_si512(),
                           off);
    const __m512 sc = _mm512_maskz_loadu_ps(mask, ep.scale + n);
    if (requant) {
      uint8_t* c = static_cast<uint8_t*>(a.C) + n;
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][v], off)), sc);
        p = _mm512_min_ps(_mm512_max_ps(p, lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(p), ozp);
        _mm_mask_storeu_epi8(c + r * a.ldc, mask, _mm512_cvtepi32_epi8(q));
      }
    } else {
      float* c = static_cast<float*>(a.C) + n;
      const bool has_bf = ep.bias_f32 != nullptr;
      const __m512 bf = has_bf ? _mm512_maskz_loadu_ps(mask, ep.bias_f32 + n) : _mm512_setzero_ps();
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][v], off)), sc);
        if (has_bf) p = _mm512_add_ps(p, bf);
        _mm512_mask_storeu_ps(c + r * a.ldc, mask, p);
      }
    }
  }
}

template <int NV>
void rows_tail(size_t rows, const Args& a) {
  switch (rows) {
    case 1: tile<1, NV>(a); break;
    case 2: tile<2, NV>(a); break;
    case 3: tile<3, NV>(a); break;
    case 4: tile<4, NV>(a); break;
    case 5: tile<5, NV>(a); break;
    case 6: tile<6, NV>(a); break;
  }
}

void run(size_t M, size_t N, size_t K, const uint8_t* A, size_t lda, const void* packed,
         const GemmU8S8Epilogue& ep, void* C, size_t ldc, size_t m_begin, size_t m_end,
         size_t n_begin, size_t n_end) {
  if (m_begin >= m_end || n_begin >= n_end) return;
  const uint8_t* base = static_cast<const uint8_t*>(packed);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(base);
  const int8_t* panels = reinterpret_cast<const int8_t*>(base + colsum_bytes(N, kNr));
  const size_t elem = ep.kind == GemmU8S8Epilogue::Kind::kRequantU8 ? 1 : 4;
  Args a;
  a.K = K;
  a.lda = lda;
  a.ldc = ldc;
  a.pstride = panel_bytes(K, kNr);
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
  if (rows <= 2) {
    // Skinny: several panels at once, so that more independent B streams are in flight.
    size_t p = p_begin;
    for (; rows == 1 && p + 4 <= p_end; p += 4) at(m_begin, p), tile<1, 16>(a);
    for (; p + 2 <= p_end; p += 2) at(m_begin, p), rows == 1 ? tile<1, 8>(a) : tile<2, 8>(a);
    for (; p < p_end; ++p) at(m_begin, p), rows == 1 ? tile<1, 4>(a) : tile<2, 4>(a);
    return;
  }
  // Panel-outer: the K x 64 panel stays in L1/L2 while all row blocks stream past it.
  for (size_t p = p_begin; p < p_end; ++p) {
    size_t m = m_begin;
    for (; m + 6 <= m_end; m += 6) at(m, p), tile<6, 4>(a);
    if (m < m_end) at(m, p), rows_tail<4>(m_end - m, a);
  }
}

}  // namespace
}  // namespace avx512vnni

extern const GemmU8S8Kernel gemm_u8s8_6x64c4_avx512vnni = {
    "gemm_u8s8_6x64c4_avx512vnni", cpu::Isa::kAvx512Vnni, 6, 64, 4,
    gemm_u8s8_internal::packed_size_c4_nr64, gemm_u8s8_internal::pack_c4_nr64, avx512vnni::run};

}  // namespace qrt::kernels
