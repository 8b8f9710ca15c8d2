// AVX2 F(2x2, 3x3) transforms: the reference's adds, 8 channels per instruction (the same order,
// so the results equal the reference's bit for bit; channel tails run the scalar code).
#include <immintrin.h>

#include "kernels/winograd_f32.h"
#include "kernels/winograd_f32_scalar.h"

namespace qrt::kernels::avx2 {
namespace {

using namespace winograd_f32_detail;

void input(const float* const* rows, size_t C, float* v, size_t ldv) {
  size_t c = 0;
  for (; c + 8 <= C; c += 8) {
    __m256 t[16];
    for (int j = 0; j < 4; ++j) {
      const __m256 d0 = _mm256_loadu_ps(rows[0 + j] + c), d1 = _mm256_loadu_ps(rows[4 + j] + c);
      const __m256 d2 = _mm256_loadu_ps(rows[8 + j] + c), d3 = _mm256_loadu_ps(rows[12 + j] + c);
      t[0 + j] = _mm256_sub_ps(d0, d2);
      t[4 + j] = _mm256_add_ps(d1, d2);
      t[8 + j] = _mm256_sub_ps(d2, d1);
      t[12 + j] = _mm256_sub_ps(d1, d3);
    }
    for (int i = 0; i < 4; ++i) {
      const __m256* r = t + 4 * i;
      _mm256_storeu_ps(v + (4 * i + 0) * ldv + c, _mm256_sub_ps(r[0], r[2]));
      _mm256_storeu_ps(v + (4 * i + 1) * ldv + c, _mm256_add_ps(r[1], r[2]));
      _mm256_storeu_ps(v + (4 * i + 2) * ldv + c, _mm256_sub_ps(r[2], r[1]));
      _mm256_storeu_ps(v + (4 * i + 3) * ldv + c, _mm256_sub_ps(r[1], r[3]));
    }
  }
  input_channels(rows, c, C, v, ldv);
}

void output(const float* m, size_t ldm, size_t O, const float* bias, float lo, float hi, float* out,
            size_t ldo_row, size_t ldo_px, size_t ni, size_t nj) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  size_t o = 0;
  for (; o + 8 <= O; o += 8) {
    __m256 s[8];
    for (int j = 0; j < 4; ++j) {
      const __m256 m0 = _mm256_loadu_ps(m + (0 + j) * ldm + o), m1 = _mm256_loadu_ps(m + (4 + j) * ldm + o);
      const __m256 m2 = _mm256_loadu_ps(m + (8 + j) * ldm + o), m3 = _mm256_loadu_ps(m + (12 + j) * ldm + o);
      s[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
      s[4 + j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    const __m256 b = bias ? _mm256_loadu_ps(bias + o) : _mm256_setzero_ps();
    for (size_t i = 0; i < ni; ++i) {
      const __m256* r = s + 4 * i;
      __m256 y0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(r[0], r[1]), r[2]), b);
      y0 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, y0));
      _mm256_storeu_ps(out + i * ldo_row + o, y0);
      if (nj > 1) {
        __m256 y1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(r[1], r[2]), r[3]), b);
        y1 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, y1));
        _mm256_storeu_ps(out + i * ldo_row + ldo_px + o, y1);
      }
    }
  }
  output_channels(m, ldm, o, O, bias, lo, hi, out, ldo_row, ldo_px, ni, nj);
}

}  // namespace

extern const WinogradF32Kernel winograd_f32_f23_avx2 = {"winograd_f32_f23_avx2", cpu::Isa::kAvx2, input, output};

}  // namespace qrt::kernels::avx2
