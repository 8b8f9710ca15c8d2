// im2col_u8 for AVX2: each (kh, kw) tap is one contiguous run of Cg bytes, copied with 32-byte
// loads/stores (or filled with the zero point); tails of fewer than 32 bytes use memcpy/memset
// so that nothing past a row's K bytes, or past x, is touched. A pure copy: trivially exact.
#include <immintrin.h>

#include <cstring>

#include "kernels/im2col_u8.h"

namespace qrt::kernels {
namespace avx2 {
namespace {

void im2col(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
            size_t p_end) {
  const __m256i zp = _mm256_set1_epi8(static_cast<char>(p.zero_point));
  const size_t Cg = p.Cg;
  for (size_t pix = p_begin; pix < p_end; ++pix) {
    const size_t oh = pix / p.OW, ow = pix % p.OW;
    uint8_t* dst = out + (pix - p_begin) * ldo;
    for (size_t kh = 0; kh < p.KH; ++kh) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                           static_cast<ptrdiff_t>(p.pad_top);
      const bool row_ok = ih >= 0 && ih < static_cast<ptrdiff_t>(p.H);
      for (size_t kw = 0; kw < p.KW; ++kw, dst += Cg) {
        const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                             static_cast<ptrdiff_t>(p.pad_left);
        size_t c = 0;
        if (row_ok && iw >= 0 && iw < static_cast<ptrdiff_t>(p.W)) {
          const uint8_t* src =
              x + (static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * p.C_total + p.c_begin;
          for (; c + 32 <= Cg; c += 32)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + c)));
          std::memcpy(dst + c, src + c, Cg - c);
        } else {
          for (; c + 32 <= Cg; c += 32) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), zp);
          std::memset(dst + c, p.zero_point, Cg - c);
        }
      }
    }
  }
}

}  // namespace
}  // namespace avx2

extern const Im2ColU8Kernel im2col_u8_avx2 = {"im2col_u8_avx2", cpu::Isa::kAvx2, avx2::im2col};

}  // namespace qrt::kernels
