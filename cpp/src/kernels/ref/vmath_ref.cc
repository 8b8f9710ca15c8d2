// Reference vectorised math: each element through the std:: function in double, rounded once to
// float (softmax / layer norm: double accumulation). The specification the SIMD variants are
// measured against, and the fallback.
#include <cmath>

#include "kernels/vmath.h"

namespace qrt::kernels::ref {
namespace {

double gelu_d(double x) { return x >= 0 ? x - 0.5 * x * std::erfc(x / std::sqrt(2.0)) : 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_tanh_d(double x) {
  double z = 0.79788456080286535588 * (x + 0.044715 * x * x * x);
  return std::isinf(x) ? (x > 0 ? x : -0.0) : x / (1.0 + std::exp(-2.0 * z));
}
double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double silu_d(double x) { return std::isinf(x) ? (x > 0 ? x : -0.0) : x / (1.0 + std::exp(-x)); }

template <double (*F)(double)>
void map(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>(F(x[i]));
}
double exp_d(double x) { return std::exp(x); }
double tanh_d(double x) { return std::tanh(x); }
double erf_d(double x) { return std::erf(x); }
double gelu_dd(double x) { return std::isinf(x) ? (x > 0 ? x : -0.0) : gelu_d(x); }

void softmax(const float* x, float* y, size_t n) {
  if (n == 0) return;
  double m = -INFINITY;
  bool nan = false;
  for (size_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    m = x[i] > m ? x[i] : m;
  }
  if (nan) m = NAN;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - m) / s);
}

void layernorm(const float* x, const float* gamma, const float* beta, float eps, float* y,
               size_t n) {
  if (n == 0) return;
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  double rstd = 1.0 / std::sqrt(var + eps);
  for (size_t i = 0; i < n; ++i) {
    double d = (x[i] - mean) * rstd;
    if (gamma) d *= gamma[i];
    if (beta) d += beta[i];
    y[i] = static_cast<float>(d);
  }
}

}  // namespace

extern const VMathKernels vmath_ref = {"vmath_ref",          cpu::Isa::kRef,      map<exp_d>,
                                       map<tanh_d>,          map<sigmoid_d>,      map<erf_d>,
                                       map<gelu_dd>,         map<gelu_tanh_d>,    map<silu_d>,
                                       softmax,              layernorm};

}  // namespace qrt::kernels::ref
