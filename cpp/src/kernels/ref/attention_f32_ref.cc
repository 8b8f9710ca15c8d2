// Scalar reference of the fused attention block (kernels/attention_f32.h): every sum in fp64, one
// rounding to fp32 at the end. The ground truth for the SIMD variants' tests.
#include <cmath>
#include <limits>

#include "kernels/attention_f32.h"

namespace qrt::kernels::ref {
namespace {

void attention_block_ref(const AttentionF32Args& a) {
  // scratch holds n doubles (n <= (dk + n + 1) * mp / 2 for mp >= 16).
  double* p = reinterpret_cast<double*>(a.scratch);
  for (size_t i = 0; i < a.m; ++i) {
    const float* q = a.q + i * a.ldq;
    double mx = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (size_t j = 0; j < a.n; ++j) {
      const float* k = a.k + j * a.ldk;
      double s = 0.0;
      for (size_t d = 0; d < a.dk; ++d) s += static_cast<double>(q[d]) * k[d];
      s *= a.scale;
      if (a.mask) s += a.mask[i * a.mask_ld + j * a.mask_sj];
      p[j] = s;
      nan |= std::isnan(s);
      mx = s > mx ? s : mx;
    }
    double sum = 0.0;
    for (size_t j = 0; j < a.n; ++j) {
      p[j] = std::exp(p[j] - mx);
      sum += p[j];
    }
    float* o = a.o + i * a.ldo;
    for (size_t e = 0; e < a.dv; ++e) {
      double acc = 0.0;
      for (size_t j = 0; j < a.n; ++j) acc += p[j] * a.v[j * a.ldv + e];
      o[e] = nan ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(acc / sum);
    }
  }
}

}  // namespace

extern const AttentionF32Kernel attention_f32_ref = {"attention_f32_ref", cpu::Isa::kRef,
                                                     attention_block_ref};

}  // namespace qrt::kernels::ref
