// Vectorised-math benchmark: each function over 4096 floats (L1-resident), softmax / layer-norm
// rows of 768 and 4096; million elements per second, 1 thread, every variant.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "float_bench.h"
#include "kernels/vmath.h"

namespace qrt::bench_float {

std::vector<Result> bench_vmath(bool quick) {
  std::vector<Result> out;
  const size_t n = 4096;
  std::vector<float> x(n), y(n), g(n, 1.f), b(n, 0.f);
  for (size_t i = 0; i < n; ++i) x[i] = -8.f + 16.f * static_cast<float>(i) / n;
  struct F {
    const char* name;
    kernels::VMathFn kernels::VMathKernels::*m;
  };
  const F fns[] = {{"exp", &kernels::VMathKernels::exp},         {"tanh", &kernels::VMathKernels::tanh},
                   {"sigmoid", &kernels::VMathKernels::sigmoid}, {"erf", &kernels::VMathKernels::erf},
                   {"gelu", &kernels::VMathKernels::gelu},       {"gelu_tanh", &kernels::VMathKernels::gelu_tanh},
                   {"silu", &kernels::VMathKernels::silu}};
  auto add = [&](const kernels::VMathKernels* k, const std::string& what, size_t elems, double t) {
    Result r;
    r.bench = "vmath";
    r.kernel = k->name;
    r.dtype = "f32";
    r.shape = what;
    r.seconds = t;
    r.melem_s = elems / t * 1e-6;
    out.push_back(r);
  };
  for (const kernels::VMathKernels* k : kernels::vmath_variants()) {
    for (const F& f : fns) {
      double t = time_best([&] { (k->*f.m)(x.data(), y.data(), n); }, quick ? 0.003 : 0.01, quick ? 3 : 10);
      add(k, std::string(f.name) + " n=4096", n, t);
    }
    for (size_t row : {size_t(768), size_t(4096)}) {
      double t = time_best([&] { k->softmax_row(x.data(), y.data(), row); }, quick ? 0.003 : 0.01,
                           quick ? 3 : 10);
      add(k, "softmax_row n=" + std::to_string(row), row, t);
      t = time_best([&] { k->layernorm_row(x.data(), g.data(), b.data(), 1e-5f, y.data(), row); },
                    quick ? 0.003 : 0.01, quick ? 3 : 10);
      add(k, "layernorm_row n=" + std::to_string(row), row, t);
    }
  }
  return out;
}

}  // namespace qrt::bench_float
