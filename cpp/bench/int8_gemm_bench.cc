// int8 kernel benchmarks: the vpdpbusd peak of one core (register-only loop), every gemm_u8s8
// variant on transformer shapes (K x N in 768x768, 768x3072, 3072x768, 1024x1024; M = 1, 16, 128)
// with the requantizing epilogue (QRT_BENCH_F32OUT=1: the dequantizing one, f32 out, as a Dense
// that feeds float ops), narrow-weight twins on B clamped to their range, and quantize_u8
// throughput. Single thread; each figure is the best of several timed batches. GOPS counts
// 2*M*N*K (one multiply + one add per MAC). Environment: QRT_BENCH_SHAPES, QRT_BENCH_M,
// QRT_BENCH_THREADS, QRT_BENCH_KERNELS, QRT_BENCH_COLD and QRT_BENCH_COLD_C (see below).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <time.h>

#include "bench_registry.h"
#include "cpu/features.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/gemm_u8s8_pack.h"
#include "kernels/quantize_u8.h"
#include "runtime/thread_pool.h"

namespace {

// Wall clock by default; QRT_BENCH_CLOCK=cpu times with the calling thread's CPU time instead
// (insensitive to being descheduled on a shared machine; meaningful for one thread only, so
// multi-thread rows keep the wall clock).
struct Clock {
  using time_point = double;
  static bool& use_cpu() {
    static bool cpu = [] {
      const char* e = std::getenv("QRT_BENCH_CLOCK");
      return e && std::string(e) == "cpu";
    }();
    return cpu;
  }
  static thread_local bool force_wall;
  static double now() {
    timespec ts;
    clock_gettime(use_cpu() && !force_wall ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};
thread_local bool Clock::force_wall = false;

double seconds_since(Clock::time_point t0) { return Clock::now() - t0; }

// QRT_BENCH_KERNELS=a,b: only the variants whose name contains one of the substrings.
bool kernel_selected(const char* name) {
  const char* env = std::getenv("QRT_BENCH_KERNELS");
  if (!env || !*env) return true;
  const std::string list(env), n(name);
  for (size_t p = 0; p <= list.size();) {
    const size_t e = std::min(list.find(',', p), list.size());
    if (e > p && n.find(list.substr(p, e - p)) != std::string::npos) return true;
    p = e + 1;
  }
  return false;
}

// Best per-call time over `batches` batches of at least min_s seconds each.
template <class F>
double time_best(F&& fn, double min_s, int batches) {
  fn();
  long iters = 1;
  for (;;) {
    auto t0 = Clock::now();
    for (long i = 0; i < iters; ++i) fn();
    const double dt = seconds_since(t0);
    if (dt >= min_s) break;
    iters = dt > 0 ? std::max(iters * 2, static_cast<long>(iters * min_s / dt * 1.1)) : iters * 16;
  }
  double best = 1e30;
  for (int b = 0; b < batches; ++b) {
    auto t0 = Clock::now();
    for (long i = 0; i < iters; ++i) fn();
    best = std::min(best, seconds_since(t0) / iters);
  }
  return best;
}

// vpdpbusd issue rate on 24 independent zmm (or 12 ymm) accumulators, no memory operands:
// the ceiling for any u8 x s8 kernel on this core. Returns GOPS (2 ops per MAC).
// The zmm loop needs the AVX-512 register file, hence the function-level target attribute; it is
// only called when the CPU has AVX-512 VNNI (this file is otherwise baseline x86-64).
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vnni"), noinline)) void zmm_loop(long iters) {
  for (long i = 0; i < iters; ++i)
    __asm__ volatile(
#define P(n) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #n "\n\t"
        P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10) P(11)
        P(12) P(13) P(14) P(15) P(16) P(17) P(18) P(19) P(20) P(21) P(22) P(23)
#undef P
        ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23");
}
__attribute__((noinline)) void ymm_loop(long iters) {
  for (long i = 0; i < iters; ++i)
    __asm__ volatile(
#define P(n) "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm" #n "\n\t"
        P(0) P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10) P(11)
#undef P
        ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11");
}

// tdpbusd issue rate: 4 independent 16x16 int32 accumulator tiles (tmm0-3) fed by two A tiles
// (tmm4/5) and two B tiles (tmm6/7), no tile loads; each tdpbusd is 16*16*64 MACs. Called only
// when isa_supported(kAmx) (the OS granted the tile state). Inline asm, so no -mamx flags needed.
struct alignas(64) AmxTileConfig {
  unsigned char palette, start_row, reserved[14];
  unsigned short colsb[16];
  unsigned char rows[16];
};
__attribute__((noinline)) void amx_loop(long iters) {
  AmxTileConfig cfg{};
  cfg.palette = 1;
  for (int t = 0; t < 8; ++t) cfg.rows[t] = 16, cfg.colsb[t] = 64;
  __asm__ volatile("ldtilecfg %0\n\t" "tilezero %%tmm0\n\t" "tilezero %%tmm1\n\t"
                   "tilezero %%tmm2\n\t" "tilezero %%tmm3\n\t" "tilezero %%tmm4\n\t"
                   "tilezero %%tmm5\n\t" "tilezero %%tmm6\n\t" "tilezero %%tmm7\n\t"
                   :: "m"(cfg));
  for (long i = 0; i < iters; ++i)
    __asm__ volatile("tdpbusd %%tmm6, %%tmm4, %%tmm0\n\t" "tdpbusd %%tmm7, %%tmm4, %%tmm1\n\t"
                     "tdpbusd %%tmm6, %%tmm5, %%tmm2\n\t" "tdpbusd %%tmm7, %%tmm5, %%tmm3\n\t" ::);
  __asm__ volatile("tilerelease" ::);
}
#endif

double amx_peak_gops() {
#if defined(__x86_64__)
  const long iters = 20000;
  const double t = time_best([&] { amx_loop(iters); }, 0.002, 40);
  return static_cast<double>(iters) * 4 * 16 * 16 * 64 * 2 / t * 1e-9;
#else
  return 0;
#endif
}

double vnni_peak_gops(bool zmm) {
#if defined(__x86_64__)
  // Short batches, best of many: the machine may be shared, and the best batch is the one that
  // ran alone. The same policy times the kernels, so the ratio stays fair.
  const long iters = 100000;
  const double t = time_best([&] { zmm ? zmm_loop(iters) : ymm_loop(iters); }, 0.002, 40);
  const double instrs = static_cast<double>(iters) * (zmm ? 24 : 12);
  return instrs * (zmm ? 64 : 32) * 2 / t * 1e-9;
#else
  return 0;
#endif
}

struct Shape {
  size_t K, N;
};

// The runtime's Dense split for int8 (ops/dense.cc): rows in multiples of mr when there are at
// least 2 * threads * mr of them, unless N > M and packed B exceeds cpu::l2_resident_limit(); else columns in
// multiples of nr; one task per thread. QRT_BENCH_SPLIT=rows|cols forces one of them.
void split(size_t n, size_t parts, size_t align, size_t part, size_t* b, size_t* e) {
  const size_t blocks = (n + align - 1) / align, per = blocks / parts, extra = blocks % parts;
  const size_t b0 = part * per + std::min(part, extra), b1 = b0 + per + (part < extra ? 1 : 0);
  *b = std::min(n, b0 * align);
  *e = std::min(n, b1 * align);
}

template <class Run>
void run_split(qrt::rt::ThreadPool* pool, const qrt::kernels::GemmU8S8Kernel& k, size_t M, size_t N,
               size_t K, Run&& run) {
  const size_t T = static_cast<size_t>(pool ? pool->threads() : 1);
  if (T == 1) return run(size_t(0), M, size_t(0), N);
  static const std::string force = std::getenv("QRT_BENCH_SPLIT") ? std::getenv("QRT_BENCH_SPLIT") : "";
  const bool big_b = N * K > qrt::cpu::l2_resident_limit();
  const bool rows_ok = M >= T * k.mr * 2;
  bool by_rows = (rows_ok && !(N > M && big_b)) || N <= static_cast<size_t>(k.nr);
  if (force == "rows") by_rows = rows_ok || N <= static_cast<size_t>(k.nr);
  if (force == "cols") by_rows = N <= static_cast<size_t>(k.nr);
  // As Dense: one task per thread. QRT_BENCH_TASKS_PER_THREAD=n tries up to n per thread (each of
  // at least 2^22 multiply-adds, handed out dynamically by the pool).
  static const size_t per = [] {
    const char* e = std::getenv("QRT_BENCH_TASKS_PER_THREAD");
    return e ? std::max<size_t>(1, std::strtoul(e, nullptr, 10)) : size_t(1);
  }();
  const size_t units = by_rows ? (M + k.mr - 1) / k.mr : (N + k.nr - 1) / k.nr;
  const size_t max_tasks = std::max(T, std::min(T * per, units));
  const size_t tasks = std::min(std::max((M * N * K) >> 22, T), max_tasks);
  pool->parallel_for(tasks, [&](size_t t) {
    size_t m0 = 0, m1 = M, n0 = 0, n1 = N;
    if (by_rows) split(M, tasks, k.mr, t, &m0, &m1);
    else split(N, tasks, k.nr, t, &n0, &n1);
    if (m0 < m1 && n0 < n1) run(m0, m1, n0, n1);
  });
}

std::vector<size_t> env_list(const char* name, std::vector<size_t> dflt) {
  const char* env = std::getenv(name);
  if (!env) return dflt;
  std::vector<size_t> v;
  for (const char* p = env; *p;) {
    char* end;
    v.push_back(std::strtoul(p, &end, 10));
    p = *end ? end + 1 : end;
  }
  return v;
}

}  // namespace

QRT_BENCHMARK(int8_gemm) {
  using namespace qrt;
  const bool zmm_ok = cpu::isa_supported(cpu::Isa::kAvx512Vnni);
  const bool ymm_ok = cpu::isa_supported(cpu::Isa::kAvxVnni);
  double peak512 = zmm_ok ? vnni_peak_gops(true) : 0;
  double peak256 = ymm_ok ? vnni_peak_gops(false) : 0;
  if (zmm_ok) peak512 = std::max(peak512, vnni_peak_gops(true));
  if (ymm_ok) peak256 = std::max(peak256, vnni_peak_gops(false));
  const bool amx_ok = cpu::isa_supported(cpu::Isa::kAmx);
  double peak_amx = amx_ok ? std::max(amx_peak_gops(), amx_peak_gops()) : 0;
  ctx.log("L2 per core: %zu KiB detected, %zu KiB used (B above %zu KiB counts as not L2-resident)\n",
          cpu::detected_l2_bytes() >> 10, cpu::l2_cache_bytes() >> 10, cpu::l2_resident_limit() >> 10);
  ctx.log("vpdpbusd peak (1 core, register-only): zmm %.1f GOPS, ymm %.1f GOPS; tdpbusd (AMX) peak "
          "%.1f GOPS\n", peak512, peak256, peak_amx);
  ctx.emit(bench::Row().set("kind", "peak").set("zmm_vnni_gops", peak512).set("ymm_vnni_gops", peak256)
               .set("amx_int8_gops", peak_amx));

  std::vector<Shape> shapes = {{768, 768}, {768, 3072}, {3072, 768}, {1024, 1024}};
  if (const char* env = std::getenv("QRT_BENCH_SHAPES")) {  // e.g. "256x768,4096x4096" (K x N)
    shapes.clear();
    for (const char* p = env; *p;) {
      char* end;
      const size_t k = std::strtoul(p, &end, 10);
      const size_t n = std::strtoul(end + 1, &end, 10);
      if (k && n) shapes.push_back({k, n});
      p = *end ? end + 1 : end;
    }
  }
  const std::vector<size_t> Ms = env_list("QRT_BENCH_M", {1, 16, 128});  // e.g. "6,96"
  // QRT_BENCH_THREADS=1,2: thread counts; above 1 only the selected kernel runs, split over the
  // runtime's thread pool as Dense splits it (% of peak is then against threads x the 1-core peak).
  const std::vector<size_t> Ts = env_list("QRT_BENCH_THREADS", {1});
  // Batch length and count of the GEMM rows (default 4 ms x 25). On a shared machine, short batches
  // (QRT_BENCH_BATCH_US=500 QRT_BENCH_BATCHES=200) find windows in which the second core is free.
  const double batch_s = env_list("QRT_BENCH_BATCH_US", {4000})[0] * 1e-6;
  const int batches = static_cast<int>(env_list("QRT_BENCH_BATCHES", {25})[0]);
  ctx.log("%-30s %3s %5s %5s %5s %10s %9s %8s\n", "kernel", "thr", "M", "K", "N", "us", "GOPS", "%peak");
  for (const Shape& s : shapes) {
    std::vector<int8_t> B(s.N * s.K);
    const size_t max_m = *std::max_element(Ms.begin(), Ms.end());
    std::vector<uint8_t> A(max_m * s.K), C(max_m * s.N * 4);
    unsigned seed = 12345;
    for (auto& b : B) b = static_cast<int8_t>(static_cast<int>((seed = seed * 1103515245 + 12345) >> 16) % 255 - 127);
    for (auto& a : A) a = static_cast<uint8_t>((seed = seed * 1103515245 + 12345) >> 16);
    std::vector<float> scale(s.N, 1.0f / 65536);
    std::vector<int32_t> bias(s.N, 1000);
    kernels::GemmU8S8Epilogue ep;
    ep.a_zero_point = 128;
    ep.bias = bias.data();
    ep.scale = scale.data();
    ep.out_zero_point = 128;
    if (std::getenv("QRT_BENCH_F32OUT")) ep.kind = kernels::GemmU8S8Epilogue::Kind::kDequantF32;  // C sized for it
    // Narrow-weight twins (reached at run time through `narrow` when the packed weights allow)
    // run on the same shapes with B clamped into their range, as a model with weight_bits=7 has.
    std::vector<const kernels::GemmU8S8Kernel*> ks;
    for (const kernels::GemmU8S8Kernel* k : kernels::gemm_u8s8_variants()) {
      ks.push_back(k);
      if (k->narrow) ks.push_back(k->narrow);
    }
    std::vector<int8_t> Bn(B);
    for (const kernels::GemmU8S8Kernel* k : ks) {
      if (k->isa == cpu::Isa::kRef) continue;  // the reference is the spec, not a contender
      if (!kernel_selected(k->name)) continue;
      const int lim = k->b_abs_max < 127 ? k->b_abs_max : 127;
      for (size_t i = 0; i < B.size(); ++i) Bn[i] = static_cast<int8_t>(std::clamp<int>(B[i], -lim, lim));
      const size_t pbytes = (k->packed_size(s.N, s.K) + 63) / 64 * 64;
      void* packed = std::aligned_alloc(64, pbytes);
      k->pack(s.N, s.K, Bn.data(), s.K, packed);
      // QRT_BENCH_COLD=1: each call reads its weights from one of enough copies to fill 64 MB, so
      // B comes from DRAM as in a model whose weights do not fit the caches (the default times a
      // B that stays cache-resident between calls).
      std::vector<void*> copies{packed};
      if (std::getenv("QRT_BENCH_COLD"))
        while (copies.size() * pbytes < (64u << 20)) {
          copies.push_back(std::aligned_alloc(64, pbytes));
          std::memcpy(copies.back(), packed, pbytes);
        }
      // QRT_BENCH_COLD_C=1: likewise for C (each call writes lines that are not in any cache).
      std::vector<std::vector<uint8_t>> cold_c;
      if (std::getenv("QRT_BENCH_COLD_C"))
        while (cold_c.size() * C.size() < (64u << 20)) cold_c.emplace_back(C.size(), 0);
      size_t call = 0;
      for (size_t T : Ts) {
        if (T > 1 && k != &kernels::select_gemm_u8s8()) continue;
        std::unique_ptr<rt::ThreadPool> pool(T > 1 ? new rt::ThreadPool(static_cast<int>(T)) : nullptr);
        Clock::force_wall = T > 1;
        for (size_t M : Ms) {
          if (ctx.quick && M != 1 && M != 128) continue;
          const double t = time_best(
              [&] {
                run_split(pool.get(), *k, M, s.N, s.K, [&](size_t m0, size_t m1, size_t n0, size_t n1) {
                  k->run(M, s.N, s.K, A.data(), s.K, copies[call % copies.size()], ep,
                         cold_c.empty() ? C.data() : cold_c[call % cold_c.size()].data(), s.N,
                         m0, m1, n0, n1);
                });
                ++call;
              },
              batch_s, ctx.quick ? 5 : batches);
          const double gops = 2.0 * M * s.N * s.K / t * 1e-9;
          const double peak = T * (k->isa == cpu::Isa::kAvxVnni ? peak256
                                   : k->isa == cpu::Isa::kAmx  ? peak_amx
                                                               : peak512);
          const double pct = peak > 0 ? 100.0 * gops / peak : 0;
          ctx.log("%-30s %3zu %5zu %5zu %5zu %10.2f %9.1f %7.1f%%\n", k->name, T, M, s.K, s.N, t * 1e6,
                  gops, pct);
          ctx.emit(bench::Row()
                       .set("kind", "gemm_u8s8")
                       .set("kernel", k->name)
                       .set("threads", static_cast<double>(T))
                       .set("M", static_cast<double>(M))
                       .set("K", static_cast<double>(s.K))
                       .set("N", static_cast<double>(s.N))
                       .set("us", t * 1e6)
                       .set("gops", gops)
                       .set("pct_peak", pct)
                       .set("peak_ref", k->isa == cpu::Isa::kAvxVnni ? "ymm_vnni"
                                        : k->isa == cpu::Isa::kAmx    ? "amx_int8"
                                                                      : "zmm_vnni"));
        }
      }
      Clock::force_wall = false;
      // Dynamic quantization end to end with the selected kernels (what torch's dynamic Linear
      // does): minmax + choose params + quantize the fp32 activations, GEMM with fp32 output.
      if (k == &kernels::select_gemm_u8s8()) {
        const kernels::QuantizeU8Kernel& qk = kernels::select_quantize_u8();
        std::vector<float> X(max_m * s.K), Y(max_m * s.N);
        for (size_t i = 0; i < X.size(); ++i) X[i] = static_cast<float>(A[i]) * 0.01f - 1.0f;
        for (size_t M : Ms) {
          if (ctx.quick && M != 1 && M != 128) continue;
          const double t = time_best(
              [&] {
                float lo, hi, sc;
                int32_t zp;
                qk.minmax(X.data(), M * s.K, &lo, &hi);
                kernels::choose_u8_params(lo, hi, &sc, &zp);
                qk.quantize(X.data(), M * s.K, sc, zp, A.data());
                kernels::GemmU8S8Epilogue d = ep;
                d.kind = kernels::GemmU8S8Epilogue::Kind::kDequantF32;
                d.a_zero_point = zp;
                d.bias = nullptr;
                k->run(M, s.N, s.K, A.data(), s.K, packed, d, Y.data(), s.N, 0, M, 0, s.N);
              },
              0.004, ctx.quick ? 5 : 25);
          const double gops = 2.0 * M * s.N * s.K / t * 1e-9;
          ctx.log("%-30s %5zu %5zu %5zu %10.2f %9.1f   (dynamic: f32 in, quantize + GEMM, f32 out)\n",
                  (std::string("dyn+") + k->name).c_str(), M, s.K, s.N, t * 1e6, gops);
          ctx.emit(bench::Row()
                       .set("kind", "dynamic_f32")
                       .set("kernel", k->name)
                       .set("M", static_cast<double>(M))
                       .set("K", static_cast<double>(s.K))
                       .set("N", static_cast<double>(s.N))
                       .set("us", t * 1e6)
                       .set("gops", gops));
        }
      }
      for (void* c : copies) std::free(c);
    }
  }
}

// Weight packing (runs once per weight matrix at model load): every variant's pack() and the
// portable c4 packer, on the weight shapes of MiniLM/BERT (768x768, 768x3072, 3072x768) and the
// largest ResNet-18 conv (K = 3*3*512, N = 512). Source and destination are reused (warm caches):
// this is the packer's own speed; page faults of fresh buffers come on top at load.
QRT_BENCHMARK(int8_pack) {
  using namespace qrt;
  const Shape shapes[] = {{768, 768}, {768, 3072}, {3072, 768}, {4608, 512}, {27, 64}};
  ctx.log("%-30s %5s %5s %10s %9s\n", "packer", "K", "N", "us", "GB/s");
  for (const Shape& s : shapes) {
    std::vector<int8_t> B(s.N * s.K);
    for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<int8_t>((i * 2654435761u) >> 24);
    auto one = [&](const std::string& name, size_t bytes, auto&& pack) {
      void* packed = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      const double t = time_best([&] { pack(packed); }, 0.004, ctx.quick ? 3 : 10);
      std::free(packed);
      const double gbs = static_cast<double>(s.N * s.K) / t * 1e-9;
      ctx.log("%-30s %5zu %5zu %10.2f %9.2f\n", name.c_str(), s.K, s.N, t * 1e6, gbs);
      ctx.emit(bench::Row().set("kind", "pack").set("kernel", name).set("K", double(s.K))
                   .set("N", double(s.N)).set("us", t * 1e6).set("gbps", gbs));
    };
    for (const kernels::GemmU8S8Kernel* k : kernels::gemm_u8s8_variants())
      one(k->name, k->packed_size(s.N, s.K),
          [&](void* p) { k->pack(s.N, s.K, B.data(), s.K, p); });
    one("portable pack_c4 (nr=64)", kernels::gemm_u8s8_internal::packed_size_c4(s.N, s.K, 64),
        [&](void* p) { kernels::gemm_u8s8_internal::pack_c4(s.N, s.K, B.data(), s.K, p, 64); });
  }
}

QRT_BENCHMARK(int8_quantize) {
  using namespace qrt;
  const size_t n = 128 * 768;
  std::vector<float> x(n);
  std::vector<uint8_t> q(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) * 0.01f - 5.0f;
  ctx.log("%-30s %10s %12s %12s\n", "kernel", "n", "minmax GB/s", "quant GB/s");
  for (const kernels::QuantizeU8Kernel* k : kernels::quantize_u8_variants()) {
    float lo, hi;
    const double tm = time_best([&] { k->minmax(x.data(), n, &lo, &hi); }, 0.02, 5);
    const double tq = time_best([&] { k->quantize(x.data(), n, 0.04f, 128, q.data()); }, 0.02, 5);
    const double gm = n * 4 / tm * 1e-9, gq = n * 5 / tq * 1e-9;
    ctx.log("%-30s %10zu %12.1f %12.1f\n", k->name, n, gm, gq);
    ctx.emit(bench::Row().set("kind", "quantize_u8").set("kernel", k->name).set("n", double(n))
                 .set("minmax_gbps", gm).set("quantize_gbps", gq));
  }
}
