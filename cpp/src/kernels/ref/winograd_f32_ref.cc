// Reference F(2x2, 3x3) transforms: one channel at a time (winograd_f32_scalar.h).
#include "kernels/winograd_f32.h"
#include "kernels/winograd_f32_scalar.h"

namespace qrt::kernels::ref {
namespace {

using namespace winograd_f32_detail;

void input(const float* const* rows, size_t C, float* v, size_t ldv) { input_channels(rows, 0, C, v, ldv); }

void output(const float* m, size_t ldm, size_t O, const float* bias, float lo, float hi, float* out,
            size_t ldo_row, size_t ldo_px, size_t ni, size_t nj) {
  output_channels(m, ldm, 0, O, bias, lo, hi, out, ldo_row, ldo_px, ni, nj);
}

}  // namespace

extern const WinogradF32Kernel winograd_f32_f23_ref = {"winograd_f32_f23_ref", cpu::Isa::kRef, input, output};

}  // namespace qrt::kernels::ref
