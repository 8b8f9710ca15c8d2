// im2col_u8 for AVX2. Byte runs are copied (or filled with the zero point) inline: 32-byte
// chunks, and for the last chunk / short runs two overlapping loads and stores of the largest
// width that fits (32, 16, 8, 4 bytes), so nothing outside the run is read or written and there
// is no memcpy call per tap. When the group spans all channels (Cg == C_total) and dilation_w == 1,
// the in-image taps of one kernel row are one contiguous run of (kw1 - kw0) * C bytes in x
// (7 taps x 12 bytes = 84 for an f32 7x7 RGB stem, 21 for u8), copied at once (as the AVX-512
// kernel does); taps left/right of the image and rows above/below are filled with the zero point.
// A 7x7 f32 stem (224x224x3, stride 2) spent 5.8 ms here with one memcpy of 12 bytes per tap.
// A pure copy: trivially exact.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/im2col_u8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

template <typename T>
__attribute__((always_inline)) inline T load_as(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
__attribute__((always_inline)) inline void store_as(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// n bytes from src to dst (both loads done before the stores where they overlap).
__attribute__((always_inline)) inline void copy_run(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n >= 32) {
    const __m256i last = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + n - 32));
    for (size_t c = 0; c + 32 <= n; c += 32)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + c)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + n - 32), last);
  } else if (n >= 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n - 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + n - 16), b);
  } else if (n >= 8) {
    const uint64_t a = load_as<uint64_t>(src), b = load_as<uint64_t>(src + n - 8);
    store_as(dst, a);
    store_as(dst + n - 8, b);
  } else if (n >= 4) {
    const uint32_t a = load_as<uint32_t>(src), b = load_as<uint32_t>(src + n - 4);
    store_as(dst, a);
    store_as(dst + n - 4, b);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

__attribute__((always_inline)) inline void fill_run(uint8_t* dst, __m256i v, size_t n) {
  if (n >= 32) {
    for (size_t c = 0; c + 32 <= n; c += 32) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + n - 32), v);
  } else if (n >= 16) {
    const __m128i h = _mm256_castsi256_si128(v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), h);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + n - 16), h);
  } else {
    const uint8_t z = static_cast<uint8_t>(_mm256_extract_epi8(v, 0));
    if (n >= 8) {
      const uint64_t q = 0x0101010101010101ull * z;
      store_as(dst, q);
      store_as(dst + n - 8, q);
    } else {
      for (size_t i = 0; i < n; ++i) dst[i] = z;
    }
  }
}

void im2col(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
            size_t p_end) {
  const __m256i zp = _mm256_set1_epi8(static_cast<char>(p.zero_point));
  const size_t Cg = p.Cg;
  const bool contiguous = Cg == p.C_total && p.dilation_w == 1;
  const ptrdiff_t H = static_cast<ptrdiff_t>(p.H), W = static_cast<ptrdiff_t>(p.W);
  const ptrdiff_t KW = static_cast<ptrdiff_t>(p.KW);
  for (size_t pix = p_begin; pix < p_end; ++pix) {
    const size_t oh = pix / p.OW, ow = pix % p.OW;
    uint8_t* dst = out + (pix - p_begin) * ldo;
    const ptrdiff_t iw0 = static_cast<ptrdiff_t>(ow * p.stride_w) - static_cast<ptrdiff_t>(p.pad_left);
    for (size_t kh = 0; kh < p.KH; ++kh, dst += p.KW * Cg) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                           static_cast<ptrdiff_t>(p.pad_top);
      if (ih < 0 || ih >= H) {
        fill_run(dst, zp, p.KW * Cg);
        continue;
      }
      const uint8_t* xrow = x + static_cast<size_t>(ih) * p.W * p.C_total + p.c_begin;
      if (contiguous) {
        // Taps kw in [kw0, kw1) lie inside the image: iw0 + kw in [0, W).
        const ptrdiff_t kw0 = iw0 < 0 ? (-iw0 < KW ? -iw0 : KW) : 0;
        ptrdiff_t kw1 = W - iw0;
        kw1 = kw1 < kw0 ? kw0 : (kw1 > KW ? KW : kw1);
        if (kw0 > 0) fill_run(dst, zp, static_cast<size_t>(kw0) * Cg);
        if (kw1 > kw0)
          copy_run(dst + kw0 * Cg, xrow + static_cast<size_t>(iw0 + kw0) * Cg,
                   static_cast<size_t>(kw1 - kw0) * Cg);
        if (kw1 < KW) fill_run(dst + kw1 * Cg, zp, static_cast<size_t>(KW - kw1) * Cg);
        continue;
      }
      for (size_t kw = 0; kw < p.KW; ++kw) {
        const ptrdiff_t iw = iw0 + static_cast<ptrdiff_t>(kw * p.dilation_w);
        if (iw >= 0 && iw < W) copy_run(dst + kw * Cg, xrow + static_cast<size_t>(iw) * p.C_total, Cg);
        else fill_run(dst + kw * Cg, zp, Cg);
      }
    }
  }
}

}  // namespace
}  // namespace avx2

extern const Im2ColU8Kernel im2col_u8_avx2 = {"im2col_u8_avx2", cpu::Isa::kAvx2, avx2::im2col};

}  // namespace qrt::kernels
