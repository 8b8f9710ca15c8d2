// One channel of the F(2x2, 3x3) transforms (winograd_f32.h), in the order every variant uses:
// the SIMD variants run the same adds lane-wise and call these for channel tails, so all agree
// bit for bit.
#pragma once

#include <cstddef>

namespace qrt::kernels::winograd_f32_detail {

// d[i * 4 + j] -> v[i * 4 + j] = (B^T d B)[i][j]: rows (B^T d), then columns (. B).
inline void input_tile(const float* d, float* v) {
  float t[16];
  for (int j = 0; j < 4; ++j) {
    t[0 + j] = d[0 + j] - d[8 + j];
    t[4 + j] = d[4 + j] + d[8 + j];
    t[8 + j] = d[8 + j] - d[4 + j];
    t[12 + j] = d[4 + j] - d[12 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const float* r = t + 4 * i;
    v[4 * i + 0] = r[0] - r[2];
    v[4 * i + 1] = r[1] + r[2];
    v[4 * i + 2] = r[2] - r[1];
    v[4 * i + 3] = r[1] - r[3];
  }
}

// m[p] (p = i * 4 + j) -> y[i][j] = (A^T M A)[i][j] + bias, clamped as the GEMM's reference
// clamps (a NaN passes through).
inline void output_tile(const float* m, float bias, float lo, float hi, float y[2][2]) {
  float s[8];
  for (int j = 0; j < 4; ++j) {
    s[j] = (m[0 + j] + m[4 + j]) + m[8 + j];
    s[4 + j] = (m[4 + j] - m[8 + j]) - m[12 + j];
  }
  for (int i = 0; i < 2; ++i) {
    const float* r = s + 4 * i;
    float a = ((r[0] + r[1]) + r[2]) + bias;
    float b = ((r[1] - r[2]) - r[3]) + bias;
    a = lo > a ? lo : a;
    a = hi < a ? hi : a;
    b = lo > b ? lo : b;
    b = hi < b ? hi : b;
    y[i][0] = a;
    y[i][1] = b;
  }
}

// Channels [c0, c1) of WinogradF32Kernel::input / output (the reference's whole range, a SIMD
// variant's tail).
inline void input_channels(const float* const* rows, size_t c0, size_t c1, float* v, size_t ldv) {
  for (size_t c = c0; c < c1; ++c) {
    float d[16], t[16];
    for (int p = 0; p < 16; ++p) d[p] = rows[p][c];
    input_tile(d, t);
    for (int p = 0; p < 16; ++p) v[p * ldv + c] = t[p];
  }
}

inline void output_channels(const float* m, size_t ldm, size_t o0, size_t o1, const float* bias, float lo,
                            float hi, float* out, size_t ldo_row, size_t ldo_px, size_t ni, size_t nj) {
  for (size_t o = o0; o < o1; ++o) {
    float t[16], y[2][2];
    for (int p = 0; p < 16; ++p) t[p] = m[p * ldm + o];
    output_tile(t, bias ? bias[o] : 0.f, lo, hi, y);
    for (size_t i = 0; i < ni; ++i)
      for (size_t j = 0; j < nj; ++j) out[i * ldo_row + j * ldo_px + o] = y[i][j];
  }
}

}  // namespace qrt::kernels::winograd_f32_detail
