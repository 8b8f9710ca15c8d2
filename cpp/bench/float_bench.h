// Shared declarations of the float kernel benchmarks (cpp/bench/float_*.cc). Each bench_* function
// returns rows; float_bench_register.cc turns them into entries of the qrt_bench registry and
// prints / serialises them (GFLOP/s, % of the measured peak, weight GB/s for GEMV).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qrt::bench_float {

struct Peaks {
  double avx512_fma = 0, avx2_fma = 0, dpbf16 = 0;  // GFLOP/s of one core, register-only loops
};

struct Result {
  std::string bench, kernel, dtype, shape;
  size_t M = 0, K = 0, N = 0;
  double seconds = 0, gflops = 0, pct_peak = 0, weight_gbps = 0;
  double melem_s = 0;  // element-wise kernels: million elements per second
};

double now_s();
// Best per-call time over `batches` batches of >= min_batch_s each (after one warm-up call).
double time_best(const std::function<void()>& fn, double min_batch_s, int batches);
// Interleaves batches of fn and ref (e.g. the peak loop) so that both see the same clock and the
// same contention from other processes; returns the best per-call time of each.
std::pair<double, double> time_best_pair(const std::function<void()>& fn,
                                         const std::function<void()>& ref, double min_batch_s,
                                         int batches);

Peaks measure_peaks();
std::vector<Result> bench_gemm_f32(bool quick);
std::vector<Result> bench_gemm_f32_small_m(bool quick);
std::vector<Result> bench_gemm_f32_models(bool quick);
std::vector<Result> bench_gemm_f32_nn(bool quick);
std::vector<Result> bench_dwconv_f32(bool quick);
std::vector<Result> bench_vmath(bool quick);

}  // namespace qrt::bench_float
