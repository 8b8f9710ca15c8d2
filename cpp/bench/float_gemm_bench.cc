// Float kernel benchmarks: FMA / vdpbf16ps peak (register-only loops), the gemm_f32 family on
// transformer shapes (M = 128 and M = 16 GEMM, M = 1 GEMV), gemm_f32_nn, dwconv and vmath.
// Single thread; each figure is the best of several timed batches of >= 10 ms of thread CPU time.
#include <immintrin.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/features.h"
#include "float_bench.h"
#include <algorithm>
#include "kernels/gemm_f32.h"

namespace qrt::bench_float {

// CPU time of the calling thread: on the shared 2-core machine, time slices taken by other
// processes are not counted (their cache and frequency effects still are).
double now_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double time_best(const std::function<void()>& fn, double min_batch_s, int batches) {
  return time_best_pair(fn, nullptr, min_batch_s, batches).first;
}

namespace {
int calibrate(const std::function<void()>& fn, double min_batch_s) {
  fn();  // warm-up (caches, page faults)
  int iters = 1;
  for (;;) {
    double t0 = now_s();
    for (int i = 0; i < iters; ++i) fn();
    double dt = now_s() - t0;
    if (dt >= min_batch_s || iters > (1 << 24)) return iters;
    iters *= dt > 0 ? std::max(2, static_cast<int>(min_batch_s / dt * 1.2)) : 16;
  }
}
}  // namespace

std::pair<double, double> time_best_pair(const std::function<void()>& fn,
                                         const std::function<void()>& ref, double min_batch_s,
                                         int batches) {
  int iters = calibrate(fn, min_batch_s), ref_iters = ref ? calibrate(ref, min_batch_s) : 0;
  double best = 1e30, best_ref = 1e30;
  for (int b = 0; b < batches; ++b) {
    double t0 = now_s();
    for (int i = 0; i < iters; ++i) fn();
    best = std::min(best, (now_s() - t0) / iters);
    if (ref) {
      t0 = now_s();
      for (int i = 0; i < ref_iters; ++i) ref();
      best_ref = std::min(best_ref, (now_s() - t0) / ref_iters);
    }
  }
  return {best, best_ref};
}

namespace {

// Register-only loops in inline asm (compilers keep intrinsic accumulator arrays in memory):
// 16 (AVX2: 12) independent accumulator chains on zeroed registers, no loads, so the rate is the
// FMA (or vdpbf16ps) issue rate of one core. 2 flops per fp32 lane per FMA; 4 flops per lane per
// vdpbf16ps (two products, two adds).
#if defined(__x86_64__)
#define QRT_R16(op, s) \
  op " " s "2\n" op " " s "3\n" op " " s "4\n" op " " s "5\n" op " " s "6\n" op " " s "7\n" \
  op " " s "8\n" op " " s "9\n" op " " s "10\n" op " " s "11\n" op " " s "12\n" op " " s "13\n"
__attribute__((target("avx512f,fma"), noinline)) void fma_loop_avx512(long n) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n"
      "vmovaps %%zmm0, %%zmm1\n" QRT_R16("vmovaps %%zmm0,", "%%zmm")
      "vmovaps %%zmm0, %%zmm14\n vmovaps %%zmm0, %%zmm15\n"
      "vmovaps %%zmm0, %%zmm16\n vmovaps %%zmm0, %%zmm17\n"
      "1:\n" QRT_R16("vfmadd231ps %%zmm0, %%zmm1,", "%%zmm")
      "vfmadd231ps %%zmm0, %%zmm1, %%zmm14\n vfmadd231ps %%zmm0, %%zmm1, %%zmm15\n"
      "vfmadd231ps %%zmm0, %%zmm1, %%zmm16\n vfmadd231ps %%zmm0, %%zmm1, %%zmm17\n"
      "dec %0\n jnz 1b\n"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
}
__attribute__((target("avx2,fma"), noinline)) void fma_loop_avx2(long n) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n"
      "vmovaps %%ymm0, %%ymm1\n" QRT_R16("vmovaps %%ymm0,", "%%ymm")
      "1:\n" QRT_R16("vfmadd231ps %%ymm0, %%ymm1,", "%%ymm")
      "dec %0\n jnz 1b\n"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13");
}
__attribute__((target("avx512f,avx512bf16"), noinline)) void dpbf16_loop(long n) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n"
      "vmovaps %%zmm0, %%zmm1\n" QRT_R16("vmovaps %%zmm0,", "%%zmm")
      "vmovaps %%zmm0, %%zmm14\n vmovaps %%zmm0, %%zmm15\n"
      "vmovaps %%zmm0, %%zmm16\n vmovaps %%zmm0, %%zmm17\n"
      "1:\n" QRT_R16("vdpbf16ps %%zmm0, %%zmm1,", "%%zmm")
      "vdpbf16ps %%zmm0, %%zmm1, %%zmm14\n vdpbf16ps %%zmm0, %%zmm1, %%zmm15\n"
      "vdpbf16ps %%zmm0, %%zmm1, %%zmm16\n vdpbf16ps %%zmm0, %%zmm1, %%zmm17\n"
      "dec %0\n jnz 1b\n"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
}
#undef QRT_R16
#endif

constexpr long kPeakIters = 200000;

// The register-only loop matching a kernel's ISA (bf16 kernels are compared with the fp32 FMA
// peak, which is the bar they must beat); null when the CPU lacks it. flops per call in *flops.
std::function<void()> peak_fn(int kind, double* flops) {
#if defined(__x86_64__)
  if (kind == 0 && cpu::isa_supported(cpu::Isa::kAvx512)) {
    *flops = 16.0 * 16 * 2 * kPeakIters;
    return [] { fma_loop_avx512(kPeakIters); };
  }
  if (kind == 1 && cpu::isa_supported(cpu::Isa::kAvx2)) {
    *flops = 12.0 * 8 * 2 * kPeakIters;
    return [] { fma_loop_avx2(kPeakIters); };
  }
  if (kind == 2 && cpu::isa_supported(cpu::Isa::kAvx512Bf16)) {
    *flops = 16.0 * 16 * 4 * kPeakIters;
    return [] { dpbf16_loop(kPeakIters); };
  }
#endif
  *flops = 0;
  return nullptr;
}

int peak_kind(cpu::Isa isa) {
  return isa == cpu::Isa::kAvx2 ? 1 : isa == cpu::Isa::kRef ? -1 : 0;
}

struct AlignedBuf {
  void* p;
  explicit AlignedBuf(size_t bytes) : p(std::aligned_alloc(64, (bytes + 63) / 64 * 64)) {}
  ~AlignedBuf() { std::free(p); }
};

// Times fn interleaved with the ISA's peak loop; fills seconds, gflops, pct_peak.
void measure(Result& r, const std::function<void()>& fn, double flops, cpu::Isa isa, bool quick) {
  double pflops = 0;
  std::function<void()> ref = peak_fn(peak_kind(isa), &pflops);
  auto [t, tp] = time_best_pair(fn, ref, quick ? 0.005 : 0.01, quick ? 4 : 30);
  r.seconds = t;
  r.gflops = flops / t * 1e-9;
  r.pct_peak = ref ? 100.0 * r.gflops / (pflops / tp * 1e-9) : 0;
}

}  // namespace

Peaks measure_peaks() {
  Peaks p;
  double* dst[3] = {&p.avx512_fma, &p.avx2_fma, &p.dpbf16};
  for (int kind = 0; kind < 3; ++kind) {
    double flops = 0;
    std::function<void()> fn = peak_fn(kind, &flops);
    if (fn) *dst[kind] = flops / time_best(fn, 0.01, 30) * 1e-9;
  }
  return p;
}

namespace {
struct Shape {
  size_t M, K, N;
};

// Every runnable variant of the listed weight dtypes on every shape. QRT_BENCH_KERNEL=<substring>
// keeps only the kernels whose name contains it (development runs).
std::vector<Result> bench_gemm_shapes(const std::vector<Shape>& shapes,
                                      const std::vector<format::DType>& dtypes, bool quick) {
  const char* only = std::getenv("QRT_BENCH_KERNEL");
  std::vector<Result> out;
  for (const Shape& s : shapes) {
    std::vector<float> A(s.M * s.K), bias(s.N), C(s.M * s.N);
    for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 37) % 101) / 101.f - 0.5f;
    std::vector<float> W(s.N * s.K);
    for (size_t i = 0; i < W.size(); ++i) W[i] = static_cast<float>((i * 53) % 97) / 97.f - 0.5f;
    std::vector<uint16_t> Wh(W.size()), Wb(W.size());
    for (size_t i = 0; i < W.size(); ++i) {
      Wh[i] = kernels::f32_to_f16(W[i]);
      Wb[i] = kernels::f32_to_bf16(W[i]);
    }
    for (auto dt : dtypes) {
      const void* Wp = dt == format::DType::kF32 ? static_cast<const void*>(W.data())
                       : dt == format::DType::kF16 ? static_cast<const void*>(Wh.data())
                                                   : static_cast<const void*>(Wb.data());
      for (const kernels::GemmF32Kernel* k : kernels::gemm_f32_variants(dt)) {
        if (k->isa == cpu::Isa::kRef && (s.M > 1 || quick)) continue;
        if (only && !std::strstr(k->name, only)) continue;
        AlignedBuf packed(k->packed_size(s.N, s.K));
        k->pack(s.N, s.K, Wp, s.K, packed.p);
        Result r;
        measure(
            r,
            [&] {
              k->run(s.M, s.N, s.K, A.data(), s.K, packed.p, bias.data(), 0.f, INFINITY,
                     C.data(), s.N, 0, s.M, 0, s.N);
            },
            2.0 * s.M * s.N * s.K, k->isa, quick);
        r.bench = "gemm_f32";
        r.kernel = k->name;
        r.dtype = dt == format::DType::kF32 ? "f32" : dt == format::DType::kF16 ? "f16" : "bf16";
        r.M = s.M;
        r.K = s.K;
        r.N = s.N;
        r.weight_gbps =
            s.N * s.K * static_cast<double>(dt == format::DType::kF32 ? 4 : 2) / r.seconds * 1e-9;
        out.push_back(r);
      }
    }
  }
  return out;
}
}  // namespace

std::vector<Result> bench_gemm_f32(bool quick) {
  return bench_gemm_shapes({{128, 768, 768},
                            {128, 768, 3072},
                            {128, 3072, 768},
                            {128, 1024, 1024},
                            {16, 768, 768},
                            {16, 768, 3072},
                            {16, 3072, 768},
                            {16, 1024, 1024},
                            {1, 3072, 768},
                            {1, 768, 3072},
                            {1, 768, 768}},
                           {format::DType::kF32, format::DType::kF16, format::DType::kBF16}, quick);
}

// The GEMMs of the scoreboard models, as the runtime calls them: ResNet-18 3 x 3 convolutions
// (im2col blocks of 256 rows; layer 4 unfused, 49 rows), MobileNetV2's stem and 1 x 1
// convolutions (blocks of 256 rows; 49 rows late), MiniLM's projections and FFN at sequence length 128, and 16 / 24 /
// 32 rows around the row count where 16-bit weight blocks start to be widened once per block;
// fp32 against the 16-bit weight dtypes on the same shapes.
std::vector<Result> bench_gemm_f32_models(bool quick) {
  return bench_gemm_shapes({{256, 147, 64},
                            {256, 576, 64},
                            {256, 1152, 128},
                            {256, 2304, 256},
                            {49, 4608, 512},
                            {256, 27, 32},
                            {256, 96, 24},
                            {256, 144, 24},
                            {256, 32, 192},
                            {49, 960, 160},
                            {128, 384, 384},
                            {128, 384, 1536},
                            {128, 1536, 384},
                            {16, 768, 768},
                            {24, 768, 768},
                            {32, 768, 768}},
                           {format::DType::kF32, format::DType::kF16, format::DType::kBF16}, quick);
}

// bf16 kernels at small row counts (where the AMX kernel hands rows to the vdpbf16ps kernel).
std::vector<Result> bench_gemm_f32_small_m(bool quick) {
  std::vector<Shape> shapes;
  for (size_t M : {1, 2, 3, 4, 6, 8, 16})
    for (Shape kn : {Shape{0, 768, 768}, Shape{0, 3072, 768}}) shapes.push_back({M, kn.K, kn.N});
  return bench_gemm_shapes(shapes, {format::DType::kBF16}, quick);
}

std::vector<Result> bench_gemm_f32_nn(bool quick) {
  struct Shape {
    size_t M, K, N;
  };
  // Attention with 12 heads of 64 at sequence length 128: Q K^T (K = 64) and P V (K = 128).
  const Shape shapes[] = {{128, 64, 128}, {128, 128, 64}, {384, 64, 384}};
  std::vector<Result> out;
  for (const Shape& s : shapes) {
    std::vector<float> A(s.M * s.K, 0.25f), B(s.K * s.N, 0.5f), C(s.M * s.N);
    for (const kernels::GemmF32NNKernel* k : kernels::gemm_f32_nn_variants()) {
      if (k->isa == cpu::Isa::kRef) continue;
      Result r;
      measure(r, [&] { k->run(s.M, s.N, s.K, A.data(), s.K, B.data(), s.N, C.data(), s.N); },
              2.0 * s.M * s.N * s.K, k->isa, quick);
      r.bench = "gemm_f32_nn";
      r.kernel = k->name;
      r.dtype = "f32";
      r.M = s.M;
      r.K = s.K;
      r.N = s.N;
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace qrt::bench_float
