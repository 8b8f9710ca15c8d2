// Registers the float kernel benchmarks with qrt_bench (bench_registry.h): float_peak,
// float_gemm, float_gemm_models, float_gemm_small_m, float_gemm_nn, float_dwconv, float_vmath. Text mode prints one table per benchmark;
// --json emits one row per (kernel, shape) with the same figures.
#include <string>

#include "bench_registry.h"
#include "float_bench.h"

namespace {

using qrt::bench_float::Result;

void emit(qrt::bench::Context& ctx, const std::vector<Result>& rs, bool gemm) {
  if (gemm) {
    ctx.log("%-38s %-5s %5s %5s %5s %10s %7s %9s\n", "kernel", "dtype", "M", "K", "N", "GFLOP/s",
            "%peak", "W GB/s");
  } else {
    ctx.log("%-38s %-28s %10s %10s\n", "kernel", "shape", "GFLOP/s", "Melem/s");
  }
  for (const Result& r : rs) {
    if (gemm) {
      ctx.log("%-38s %-5s %5zu %5zu %5zu %10.1f %6.1f%% %9.1f\n", r.kernel.c_str(), r.dtype.c_str(),
              r.M, r.K, r.N, r.gflops, r.pct_peak, r.weight_gbps);
    } else {
      ctx.log("%-38s %-28s %10.2f %10.1f\n", r.kernel.c_str(), r.shape.c_str(), r.gflops,
              r.melem_s);
    }
    qrt::bench::Row row;
    row.set("bench", r.bench).set("kernel", r.kernel).set("dtype", r.dtype);
    if (gemm) row.set("M", double(r.M)).set("K", double(r.K)).set("N", double(r.N));
    if (!r.shape.empty()) row.set("shape", r.shape);
    row.set("seconds", r.seconds).set("gflops", r.gflops);
    if (r.pct_peak > 0) row.set("pct_peak", r.pct_peak);
    if (r.weight_gbps > 0) row.set("weight_gbps", r.weight_gbps);
    if (r.melem_s > 0) row.set("melem_s", r.melem_s);
    ctx.emit(row);
  }
}

}  // namespace

QRT_BENCHMARK(float_peak) {
  qrt::bench_float::Peaks p = qrt::bench_float::measure_peaks();
  ctx.log("register-only peak of one core: AVX-512 FMA %.1f GFLOP/s, AVX2 FMA %.1f GFLOP/s, "
          "vdpbf16ps %.1f GFLOP/s\n", p.avx512_fma, p.avx2_fma, p.dpbf16);
  ctx.emit(qrt::bench::Row()
               .set("bench", "float_peak")
               .set("avx512_fma_gflops", p.avx512_fma)
               .set("avx2_fma_gflops", p.avx2_fma)
               .set("dpbf16_gflops", p.dpbf16));
}

QRT_BENCHMARK(float_gemm) {
  ctx.log("gemm_f32 family, 1 thread; %%peak = vs the ISA's register-only FMA loop timed in "
          "interleaved batches (bf16 kernels vs the fp32 AVX-512 FMA peak)\n");
  emit(ctx, qrt::bench_float::bench_gemm_f32(ctx.quick), true);
}

QRT_BENCHMARK(float_gemm_small_m) {
  ctx.log("gemm_f32 bf16 weights at small M, 1 thread (QRT_BENCH_KERNEL=<substring> filters)\n");
  emit(ctx, qrt::bench_float::bench_gemm_f32_small_m(ctx.quick), true);
}

QRT_BENCHMARK(float_gemm_models) {
  ctx.log("gemm_f32 on the scoreboard models' GEMM shapes, 1 thread (QRT_BENCH_KERNEL filters)\n");
  emit(ctx, qrt::bench_float::bench_gemm_f32_models(ctx.quick), true);
}

QRT_BENCHMARK(float_gemm_nn) {
  ctx.log("gemm_f32_nn (attention MatMul, unpacked B), 1 thread\n");
  emit(ctx, qrt::bench_float::bench_gemm_f32_nn(ctx.quick), true);
}

QRT_BENCHMARK(float_dwconv) {
  ctx.log("dwconv_f32 NHWC, 1 thread, pad k/2, ReLU6 (Melem/s = output elements)\n");
  emit(ctx, qrt::bench_float::bench_dwconv_f32(ctx.quick), false);
}

QRT_BENCHMARK(float_vmath) {
  ctx.log("vmath, 1 thread (Melem/s)\n");
  emit(ctx, qrt::bench_float::bench_vmath(ctx.quick), false);
}
