// dwconv_u8s8 for AVX-512 VNNI with vpdpbusd over 4 kernel rows per dword ("k4"): 64 channels
// per pass, each int32 lane accumulating x[ih+0..3][iw][c] . w[kh+0..3][kw][c] (u8 x s8) at once.
//
// Per output row and 64-channel block, the input columns the row needs are interleaved once into
// a stack buffer: for column iw, four zmm I[j] whose dword i of 128-bit lane L holds the bytes
// (x[r0][iw][c], x[r1][iw][c], x[r2][iw][c], x[r3][iw][c]) for channel c = 16L + 4j + i, where
// r0..r3 are the input rows of kernel rows 4g..4g+3 (g = row group; rows past KH use weight 0).
// That is two levels of byte/word unpacks (vpunpck[lh]bw, vpunpck[lh]wd: 8 shuffles per column
// and group). Rows above/below the image and columns left/right of it are filled with the input
// zero point, so every output pixel is "interior":
//   acc = (bias - in_zp * sum_taps w) + sum over groups, kw of vpdpbusd(I[g][ow*sw + kw*dw], W[g][kw])
// Each interleaved column is reused by every output pixel whose window covers it (3 for a 3x3
// stride-1 kernel), so per output pixel and 64 channels a 3x3 costs 12 vpdpbusd + ~3 shuffles
// (the c64 kernel: 36 vpmovzxbd + 36 vpdpwssd).
// Two-row mode (KH = 4k + 3, stride_h = dilation_h = 1, i.e. the 3x3 stride-1 layers): the groups'
// last slot, wasted for one output row, is filled with input row oh + KH, and the packed weights
// carry a second set B with the kernel rows shifted down one slot (slot 0 of group 0 weight 0), so
//   row oh   = sum vpdpbusd(I[g][..], W[g][kw])    (rows oh .. oh + KH - 1; slot KH has weight 0)
//   row oh+1 = sum vpdpbusd(I[g][..], W2[g][kw])   (rows oh + 1 .. oh + KH)
// from the same interleaved columns: the interleave (the port-5 unpacks and the stores and loads
// of the stack buffer; timed alone, about as long as the vpdpbusd and epilogue work of a 3x3
// stride-1 row, and the two phases barely overlap) is done once per two output rows. A row range
// of odd length ends with one ordinary row (Conv2d hands out rows in pairs). Stride 2 does not pair
// up this way (output rows 2 apart need input rows 2 apart: four rows serve only one output row plus
// a second interleave), so it keeps one row per interleave.
//
// Exactness (equal to ref/dwconv_u8s8_ref.cc bit for bit):
//   * vpdpbusd multiplies u8 x s8 exactly and adds the four products and the accumulator in int32
//     without saturation (wraps modulo 2^32). Padded taps read in_zp, so sum x*w - in_zp*sum w
//     = sum over all taps of (x - in_zp)*w, where padded taps give (in_zp - in_zp)*w = 0: the
//     contract's sum over valid taps, modulo 2^32 (ring identity). Dummy rows (kh >= KH) and
//     channels >= C have weight 0 and contribute 0; they are not in sum w.
//   * Epilogue: r = (float)acc * scale (cvtdq2ps, mulps), r = min(r, qmax - out_zp) (minps),
//     q = cvtps2dq(r) (round half to even; r <= 255 so no positive overflow, a large negative r
//     gives INT32_MIN); then packssdw (int16 saturation), vpaddsw out_zp, packuswb (u8
//     saturation), vpmaxub qmin. Because qmin - out_zp and qmax - out_zp are integers,
//     clamp(nearbyint(r)) = nearbyint(clamp(r)) for round-to-nearest, and every saturation step
//     only moves values that are already below qmin to 0 before the max with qmin: the result is
//     out_zp + nearbyint(min(max(r, qmin - zp), qmax - zp)), the reference's value.
//     The packs undo the channel permutation: packssdw(q0, q1) lane L = channels 16L + 0..7,
//     packssdw(q2, q3) = 16L + 8..15, packuswb of those = 16L + 0..15 in order.
//   * scale and bias are read in the permuted order with a 4x4 transpose of 128-bit lanes.
//   * x is read only inside H x W x C (masked loads for the channel tail); y is written only at
//     channels < C (masked stores) of rows [oh_begin, oh_end).
// Paired blocks (<= 32 channels: lanes 2-3 hold the input column sw to the right, so one pass
// gives two output pixels) load each pixel with a masked 256-bit load and vinserti64x4 (port 5);
// when C == 32 and sw == 1 the two pixels are the 64 contiguous bytes at iw * 32, one plain load
// (interior columns; the edge columns keep the masked loads). Passes start every 2 * sw columns,
// so for a 3x3 stride 2 (dilation 1) every 4th buffer column is never read and is not filled.
// Chunks: a row is cut into chunks of output pixels whose buffer columns (G x 256 bytes) plus the
// input pixels they cover (4G rows x C bytes per column) fit the 48 KiB L1D, split evenly, at
// least 16 pixels (and never more than the 36 KiB buffer holds). Without the cut, a wide stride-2
// row (MobileNetV2's 112x112x96: 113 columns, 29 KiB of buffer next to 32 KiB of input rows)
// streams both through L2 and runs 1.25x slower; the rows of the other MobileNetV2 layers fit
// whole as before.
// Packed block: set A (groups x KW x 4 vectors), set B (the same; only for KH = 4k + 3, which
// pack() recognises without knowing the strides, so stride-2 3x3 layers carry it unused), wsum.
// Shapes whose interleaved columns do not fit the stack buffer (very wide dilated kernels) use the
// c64 VNNI kernel (dwconv_u8s8_avx512vnni.cc), whose packed weights follow the k4 blocks in the
// packed buffer — packed only for such shapes (pack() gets dilation_w), so the usual depthwise
// layer packs and stores one layout, not two.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {

extern const DwConvU8S8Kernel dwconv_u8s8_c64_avx512vnni;

namespace avx512vnni_k4 {
namespace {

constexpr size_t kBlock = 64;         // channels per pass
constexpr size_t kColBytes = 256;     // one interleaved column of one row group: 4 zmm
constexpr size_t kBufCols = 144;      // stack buffer: 144 columns x 256 bytes = 36 KiB
constexpr size_t kMaxGroups = 8;      // KH <= 32
constexpr size_t kL1Budget = 48 << 10;  // buffer + input bytes of one chunk (L1D is 48 KiB)
constexpr size_t kMinChunk = 16;        // output pixels

size_t nblocks(size_t C) { return (C + kBlock - 1) / kBlock; }
size_t ngroups(size_t KH) { return (KH + 3) / 4; }

// Output pixels per chunk so that G x span columns fit the buffer; 0: the c64 fallback runs.
size_t chunk_pixels(size_t KH, size_t KW, size_t dilation_w, size_t stride_w) {
  const size_t G = ngroups(KH);
  const size_t wspan = (KW - 1) * dilation_w + 1;  // input columns of one output pixel
  if (G > kMaxGroups || G * wspan > kBufCols) return 0;
  return (kBufCols / G - wspan) / stride_w + 1;
}

// KH = 4k + 3: the groups' rows are one short of a multiple of 4, so a second weight set (set B,
// kernel rows shifted down one slot) lets one interleave serve two output rows.
bool has_set_b(size_t KH) { return KH % 4 == 3; }

// Per block: set A (groups x KW x 256 bytes of weights), set B (the same, if has_set_b), then
// 256 bytes of wsum (int32, permuted order).
size_t block_bytes(size_t KH, size_t KW) {
  return ((has_set_b(KH) ? 2 : 1) * ngroups(KH) * KW + 1) * kColBytes;
}

size_t k4_bytes(size_t KH, size_t KW, size_t C) { return nblocks(C) * block_bytes(KH, KW); }

// The k4 blocks, then (only for spans too wide for the buffer) the c64 kernel's packing.
size_t packed_size(size_t KH, size_t KW, size_t C, size_t dilation_w) {
  return k4_bytes(KH, KW, C) +
         (chunk_pixels(KH, KW, dilation_w, 1) ? 0 : dwconv_u8s8_c64_avx512vnni.packed_size(KH, KW, C, dilation_w));
}

// a0..a3 hold 64 consecutive channels (16 each); returns them in the permuted order
// (vector j, lane L = a_L's lane j): a 4x4 transpose of 128-bit lanes.
__attribute__((always_inline)) inline void transpose_lanes(__m512i a[4]) {
  const __m512i t0 = _mm512_shuffle_i32x4(a[0], a[1], 0x44), t1 = _mm512_shuffle_i32x4(a[0], a[1], 0xEE);
  const __m512i t2 = _mm512_shuffle_i32x4(a[2], a[3], 0x44), t3 = _mm512_shuffle_i32x4(a[2], a[3], 0xEE);
  a[0] = _mm512_shuffle_i32x4(t0, t2, 0x88);
  a[1] = _mm512_shuffle_i32x4(t0, t2, 0xDD);
  a[2] = _mm512_shuffle_i32x4(t1, t3, 0x88);
  a[3] = _mm512_shuffle_i32x4(t1, t3, 0xDD);
}

__attribute__((always_inline)) inline __mmask64 byte_mask(size_t n) {  // n in [1, 64]
  return n >= 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1;
}

// Interleaves 4 rows (64 bytes each) into the 4-vector column layout at dst.
__attribute__((always_inline)) inline void interleave4(__m512i a, __m512i b, __m512i c, __m512i d,
                                                       __m512i* dst) {
  const __m512i ab_lo = _mm512_unpacklo_epi8(a, b), ab_hi = _mm512_unpackhi_epi8(a, b);
  const __m512i cd_lo = _mm512_unpacklo_epi8(c, d), cd_hi = _mm512_unpackhi_epi8(c, d);
  _mm512_store_si512(dst + 0, _mm512_unpacklo_epi16(ab_lo, cd_lo));
  _mm512_store_si512(dst + 1, _mm512_unpackhi_epi16(ab_lo, cd_lo));
  _mm512_store_si512(dst + 2, _mm512_unpacklo_epi16(ab_hi, cd_hi));
  _mm512_store_si512(dst + 3, _mm512_unpackhi_epi16(ab_hi, cd_hi));
}

// The weights go through the same two unpack levels as the input columns (see the top), which
// leave channel 16L + 4j + i at dword i of lane L of vector j: the permuted order, with no
// scalar scatter. The packed buffer is 64-byte aligned and blocks are multiples of 256 bytes (packing was ~60 us of MobileNetV2's load as a byte loop).
void pack(size_t KH, size_t KW, size_t C, size_t dilation_w, const int8_t* w, void* packed) {
  uint8_t* base = static_cast<uint8_t*>(packed);
  if (!chunk_pixels(KH, KW, dilation_w, 1))
    dwconv_u8s8_c64_avx512vnni.pack(KH, KW, C, dilation_w, w, base + k4_bytes(KH, KW, C));
  const size_t G = ngroups(KH), bb = block_bytes(KH, KW);
  const size_t sets = has_set_b(KH) ? 2 : 1;
  for (size_t b = 0; b < nblocks(C); ++b) {
    uint8_t* wb = base + b * bb;
    const size_t n = std::min(kBlock, C - b * kBlock);
    const bool paired = n <= kBlock / 2;  // lanes 2-3 repeat lanes 0-1
    const __mmask64 m = byte_mask(n);
    // Row kh of the block (64 channels; zero outside [0, KH) and past C).
    auto row = [&](ptrdiff_t kh, size_t kw) {
      if (kh < 0 || kh >= static_cast<ptrdiff_t>(KH)) return _mm512_setzero_si512();
      __m512i r = _mm512_maskz_loadu_epi8(m, w + (static_cast<size_t>(kh) * KW + kw) * C + b * kBlock);
      return paired ? _mm512_shuffle_i64x2(r, r, 0x44) : r;
    };
    for (size_t set = 0; set < sets; ++set) {
      const ptrdiff_t shift = static_cast<ptrdiff_t>(set);  // set B: kernel rows one slot down
      for (size_t g = 0; g < G; ++g)
        for (size_t kw = 0; kw < KW; ++kw) {
          const ptrdiff_t kh0 = static_cast<ptrdiff_t>(4 * g) - shift;
          interleave4(row(kh0, kw), row(kh0 + 1, kw), row(kh0 + 2, kw), row(kh0 + 3, kw),
                      reinterpret_cast<__m512i*>(wb + ((set * G + g) * KW + kw) * kColBytes));
        }
    }
    // wsum: sum over taps per channel (natural order, 16 channels per vector), then permuted.
    __m512i s[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (size_t kh = 0; kh < KH; ++kh)
      for (size_t kw = 0; kw < KW; ++kw) {
        const __m512i r = row(static_cast<ptrdiff_t>(kh), kw);
        s[0] = _mm512_add_epi32(s[0], _mm512_cvtepi8_epi32(_mm512_castsi512_si128(r)));
        s[1] = _mm512_add_epi32(s[1], _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(r, 1)));
        s[2] = _mm512_add_epi32(s[2], _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(r, 2)));
        s[3] = _mm512_add_epi32(s[3], _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(r, 3)));
      }
    transpose_lanes(s);
    __m512i* ws = reinterpret_cast<__m512i*>(wb + sets * G * KW * kColBytes);
    for (int j = 0; j < 4; ++j) _mm512_store_si512(ws + j, s[j]);
  }
}

struct Block {
  __m512i base[4];   // bias - in_zp * wsum, permuted
  __m512 scale[4];   // permuted
  __mmask64 m;       // channels of this block (bytes)
  __mmask32 m32;     // paired blocks: channels of one pixel (bytes)
  size_t c0, cb;     // first channel, channel count
  const __m512i* w;   // set A: groups x KW x 4 vectors
  const __m512i* w2;  // set B (two-row mode): the same, kernel rows shifted down one slot
};

// Requantizes the 4 accumulators of one output pixel and stores its cb channels.
// PAIR: lanes 0-1 are pixel yp, lanes 2-3 the next pixel (yp + C), stored if `second`.
template <bool PAIR>
__attribute__((always_inline)) inline void store_pixel(const __m512i acc[4], const Block& bk,
                                                       __m512 hi, __m512i ozp16, __m512i qmin8,
                                                       uint8_t* yp, size_t C, bool second) {
  __m512i q[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)
    q[j] = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[j]), bk.scale[j]), hi));
  const __m512i p01 = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), ozp16);
  const __m512i p23 = _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), ozp16);
  const __m512i r = _mm512_max_epu8(_mm512_packus_epi16(p01, p23), qmin8);
  if constexpr (PAIR) {
    _mm256_mask_storeu_epi8(yp, bk.m32, _mm512_castsi512_si256(r));
    if (second) _mm256_mask_storeu_epi8(yp + C, bk.m32, _mm512_extracti64x4_epi64(r, 1));
  } else {
    _mm512_mask_storeu_epi8(yp, bk.m, r);
  }
}

// Output pixels [ow0, ow1) of one row: buf holds the interleaved columns starting at input
// column ow0*sw - pad_left, G groups of `span` columns each.
// PAIR: each buffer column holds two input columns (the second sw to the right in lanes 2-3), and
// each pass computes output pixels ow and ow + 1.
template <int KW_T, bool PAIR, bool TWO>
__attribute__((always_inline)) inline void row_pixels(const DwConvU8S8Params& p, const Block& bk,
                                                      const __m512i* buf, size_t span, size_t G,
                                                      size_t ow0, size_t ow1, uint8_t* yr,
                                                      __m512 hi, __m512i ozp16, __m512i qmin8) {
  const size_t KW = KW_T ? static_cast<size_t>(KW_T) : p.KW;
  const size_t sw = p.stride_w, dw = p.dilation_w;
  uint8_t* yr2 = yr + p.OW * p.C;
  if (KW_T == 3 && G == 1) {
    __m512i wr[3][4];
#pragma GCC unroll 3
    for (int kw = 0; kw < 3; ++kw)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) wr[kw][j] = _mm512_load_si512(bk.w + kw * 4 + j);
    for (size_t ow = ow0; ow < ow1; ow += PAIR ? 2 : 1) {
      const __m512i* col = buf + (ow - ow0) * sw * 4;
      __m512i acc[4], acc2[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[j] = bk.base[j], acc2[j] = bk.base[j];
#pragma GCC unroll 3
      for (int kw = 0; kw < 3; ++kw)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m512i c = _mm512_load_si512(col + kw * dw * 4 + j);
          acc[j] = _mm512_dpbusd_epi32(acc[j], c, wr[kw][j]);
          if constexpr (TWO) acc2[j] = _mm512_dpbusd_epi32(acc2[j], c, _mm512_load_si512(bk.w2 + kw * 4 + j));
        }
      store_pixel<PAIR>(acc, bk, hi, ozp16, qmin8, yr + ow * p.C + bk.c0, p.C, ow + 1 < ow1);
      if constexpr (TWO) store_pixel<PAIR>(acc2, bk, hi, ozp16, qmin8, yr2 + ow * p.C + bk.c0, p.C, ow + 1 < ow1);
    }
    return;
  }
  for (size_t ow = ow0; ow < ow1; ow += PAIR ? 2 : 1) {
    __m512i acc[4], acc2[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[j] = bk.base[j], acc2[j] = bk.base[j];
    const __m512i* wt = bk.w;
    const __m512i* wt2 = bk.w2;
    for (size_t g = 0; g < G; ++g) {
      const __m512i* col = buf + (g * span + (ow - ow0) * sw) * 4;
      for (size_t kw = 0; kw < KW; ++kw, col += dw * 4, wt += 4, wt2 += 4) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m512i c = _mm512_load_si512(col + j);
          acc[j] = _mm512_dpbusd_epi32(acc[j], c, _mm512_load_si512(wt + j));
          if constexpr (TWO) acc2[j] = _mm512_dpbusd_epi32(acc2[j], c, _mm512_load_si512(wt2 + j));
        }
      }
    }
    store_pixel<PAIR>(acc, bk, hi, ozp16, qmin8, yr + ow * p.C + bk.c0, p.C, ow + 1 < ow1);
    if constexpr (TWO) store_pixel<PAIR>(acc2, bk, hi, ozp16, qmin8, yr2 + ow * p.C + bk.c0, p.C, ow + 1 < ow1);
  }
}

template <bool PAIR, bool TWO>
__attribute__((always_inline)) inline void rows(const DwConvU8S8Params& p, const Block& bk,
                                                const __m512i* buf, size_t span, size_t G, size_t ow0,
                                                size_t ow1, uint8_t* yr, __m512 hi, __m512i ozp16,
                                                __m512i qmin8) {
  if (p.KW == 3) row_pixels<3, PAIR, TWO>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
  else row_pixels<0, PAIR, TWO>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  const size_t G = ngroups(p.KH);
  const size_t wspan = (p.KW - 1) * p.dilation_w + 1;  // input columns of one output pixel
  size_t chunk = chunk_pixels(p.KH, p.KW, p.dilation_w, p.stride_w);
  if (chunk == 0) {
    dwconv_u8s8_c64_avx512vnni.run(p, x, static_cast<const uint8_t*>(packed) + k4_bytes(p.KH, p.KW, p.C), y,
                                   oh_begin, oh_end);
    return;
  }
  {  // Chunks whose buffer columns and input pixels fit L1 (see the note at the top), split evenly.
    const size_t cols = kL1Budget / (G * kColBytes + 4 * G * p.C);
    const size_t fit = cols > wspan ? (cols - wspan) / p.stride_w + 1 : 1;
    const size_t cap = fit > kMinChunk ? fit : kMinChunk;
    if (cap < chunk) chunk = cap;  // never above chunk_pixels: the buffer holds no more
    const size_t n = (p.OW + chunk - 1) / chunk;
    chunk = (p.OW + n - 1) / n;
  }
  alignas(64) __m512i buf[kBufCols * 4];
  const uint8_t* wbase = static_cast<const uint8_t*>(packed);
  const size_t bb = block_bytes(p.KH, p.KW);
  const bool two_ok = has_set_b(p.KH) && p.stride_h == 1 && p.dilation_h == 1;
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zero_point));
  const __m512i ozp16 = _mm512_set1_epi16(static_cast<int16_t>(p.out_zero_point));
  const __m512i qmin8 = _mm512_set1_epi8(static_cast<char>(p.qmin));
  const __m512i zpv = _mm512_set1_epi8(static_cast<char>(p.in_zero_point));
  const __m512i zp32 = _mm512_set1_epi32(p.in_zero_point);
  const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
  const size_t C = p.C;
  for (size_t b = 0; b < nblocks(C); ++b) {
    Block bk;
    bk.c0 = b * kBlock;
    bk.cb = C - bk.c0 < kBlock ? C - bk.c0 : kBlock;
    bk.m = byte_mask(bk.cb);
    const bool paired = bk.cb <= kBlock / 2;
    bk.m32 = static_cast<__mmask32>(bk.m);
    bk.w = reinterpret_cast<const __m512i*>(wbase + b * bb);
    bk.w2 = bk.w + G * p.KW * 4;
    const __m512i* wsum = bk.w + (has_set_b(p.KH) ? 2 : 1) * G * p.KW * 4;
    __m512i bv[4], sv[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const size_t c = 16 * static_cast<size_t>(j);
      const __mmask16 m = c >= bk.cb ? __mmask16(0) : bk.cb - c >= 16 ? __mmask16(0xFFFF)
                                                                       : __mmask16((1u << (bk.cb - c)) - 1);
      bv[j] = p.bias ? _mm512_maskz_loadu_epi32(m, p.bias + bk.c0 + c) : _mm512_setzero_si512();
      sv[j] = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, p.scale + bk.c0 + c));
    }
    if (paired) bv[2] = bv[0], bv[3] = bv[1], sv[2] = sv[0], sv[3] = sv[1];
    transpose_lanes(bv);
    transpose_lanes(sv);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      bk.base[j] = _mm512_sub_epi32(bv[j], _mm512_mullo_epi32(zp32, _mm512_load_si512(wsum + j)));
      bk.scale[j] = _mm512_castsi512_ps(sv[j]);
    }
    const uint8_t* xb = x + bk.c0;
    const bool full = bk.cb == kBlock;
    const bool wide = C == kBlock / 2 && p.stride_w == 1;  // paired, both pixels in one load
    for (size_t oh = oh_begin; oh < oh_end; oh += two_ok && oh + 1 < oh_end ? 2 : 1) {
      // Two-row mode: the groups' last slot holds row oh + KH (weight 0 in set A), so the same
      // interleaved columns give output row oh (set A) and oh + 1 (set B).
      const bool two = two_ok && oh + 1 < oh_end;
      const uint8_t* rp[4 * kMaxGroups];  // per group, 4 input rows (null = padding row)
      for (size_t r = 0; r < 4 * G; ++r) {
        const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + r * p.dilation_h) -
                             static_cast<ptrdiff_t>(p.pad_top);
        rp[r] = (r < p.KH + two && ih >= 0 && ih < H) ? xb + static_cast<size_t>(ih) * p.W * C : nullptr;
      }
      uint8_t* yr = y + oh * p.OW * C;
      for (size_t ow0 = 0; ow0 < p.OW; ow0 += chunk) {
        const size_t ow1 = ow0 + chunk < p.OW ? ow0 + chunk : p.OW;
        const size_t span = (ow1 - ow0 - 1) * p.stride_w + wspan;
        const ptrdiff_t iw0 = static_cast<ptrdiff_t>(ow0 * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
        for (size_t g = 0; g < G; ++g) {
          const uint8_t* const* gr = rp + 4 * g;
          __m512i* dst = buf + g * span * 4;
          if (paired) {
            const __m256i zph = _mm512_castsi512_si256(zpv);
            const ptrdiff_t sw = static_cast<ptrdiff_t>(p.stride_w);
            // Passes start at even pixels, i.e. every 2 * sw columns: with dilation 1 and
            // KW < 2 * sw (3x3 stride 2) the columns past the window are never read.
            const size_t period = p.dilation_w == 1 && p.KW < 2 * p.stride_w ? 2 * p.stride_w : span;
            for (size_t s = 0, ph = 0; s < span; ++s, dst += 4, ph = ph + 1 == period ? 0 : ph + 1) {
              if (ph >= p.KW && period != span) continue;  // ph = s % period
              const ptrdiff_t iwa = iw0 + static_cast<ptrdiff_t>(s), iwb = iwa + sw;
              const bool va = iwa >= 0 && iwa < W, vb = iwb >= 0 && iwb < W;
              __m512i v[4];
              if (wide && va && vb) {  // pixels iwa and iwa + 1 are the 64 bytes at iwa * 32
#pragma GCC unroll 4
                for (int t = 0; t < 4; ++t)
                  v[t] = gr[t] ? _mm512_loadu_si512(gr[t] + static_cast<size_t>(iwa) * C) : zpv;
                interleave4(v[0], v[1], v[2], v[3], dst);
                continue;
              }
#pragma GCC unroll 4
              for (int t = 0; t < 4; ++t) {
                const __m256i lo = gr[t] && va ? _mm256_maskz_loadu_epi8(bk.m32, gr[t] + static_cast<size_t>(iwa) * C) : zph;
                const __m256i hi2 = gr[t] && vb ? _mm256_maskz_loadu_epi8(bk.m32, gr[t] + static_cast<size_t>(iwb) * C) : zph;
                v[t] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi2, 1);
              }
              interleave4(v[0], v[1], v[2], v[3], dst);
            }
            continue;
          }
          for (size_t s = 0; s < span; ++s, dst += 4) {
            const ptrdiff_t iw = iw0 + static_cast<ptrdiff_t>(s);
            if (iw < 0 || iw >= W) {
#pragma GCC unroll 4
              for (int j = 0; j < 4; ++j) _mm512_store_si512(dst + j, zpv);
              continue;
            }
            const size_t off = static_cast<size_t>(iw) * C;
            __m512i v[4];
#pragma GCC unroll 4
            for (int t = 0; t < 4; ++t)
              v[t] = !gr[t] ? zpv
                     : full ? _mm512_loadu_si512(gr[t] + off)
                            : _mm512_maskz_loadu_epi8(bk.m, gr[t] + off);
            interleave4(v[0], v[1], v[2], v[3], dst);
          }
        }
        if (two) {
          if (paired) rows<true, true>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
          else rows<false, true>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
        } else {
          if (paired) rows<true, false>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
          else rows<false, false>(p, bk, buf, span, G, ow0, ow1, yr, hi, ozp16, qmin8);
        }
      }
    }
  }
}

}  // namespace
}  // namespace avx512vnni_k4

extern const DwConvU8S8Kernel dwconv_u8s8_k4_avx512vnni = {
    "dwconv_u8s8_k4_avx512vnni", cpu::Isa::kAvx512Vnni, avx512vnni_k4::packed_size,
    avx512vnni_k4::pack, avx512vnni_k4::run};

}  // namespace qrt::kernels
