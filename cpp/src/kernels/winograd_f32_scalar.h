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

}  // namespace qrt::kernels::winograd_f32_detail
