// Reference F(2x2, 3x3) transforms: one channel at a time (winograd_f32_scalar.h).
#include "kernels/winograd_f32.h"
#include "kernels/winograd_f32_scalar.h"

namespace qrt::kernels::ref {
namespace {

using namespace winograd_f32_detail;

void input(const float* const* rows, size_t C, float* v, size_t ldv) {
  for (size_t c = 0; c < C; ++c) {
    float d[16], t[16];
    for (int p = 0; p < 16; ++p) d[p] = rows[p][c];
    input_tile(d, t);
    for (int p = 0; p < 16; ++p) v[p * ldv + c] = t[p];
  }
}

void output(const float* m, size_t ldm, size_t O, const float* bias, float lo, float hi, float* out,
            size_t ldo_row, size_t ldo_px, size_t ni, size_t nj) {
  for (size_t o = 0; o < O; ++o) {
    float t[16], y[2][2];
    for (int p = 0; p < 16; ++p) t[p] = m[p * ldm + o];
    output_tile(t, bias ? bias[o] : 0.f, lo, hi, y);
    for (size_t i = 0; i < ni; ++i)
      for (size_t j = 0; j < nj; ++j) out[i * ldo_row + j * ldo_px + o] = y[i][j];
  }
}

}  // namespace

extern const WinogradF32Kernel winograd_f32_f23_ref = {"winograd_f32_f23_ref", cpu::Isa::kRef, input, output};

}  // namespace qrt::kernels::ref
