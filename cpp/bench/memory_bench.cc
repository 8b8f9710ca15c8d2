// The machine's memory hierarchy as the kernels see it, so that a table of kernel or model
// figures can be read against it: a dependent-load (pointer chase) latency per working-set size,
// which shows where the cache that a core can actually use ends, and streaming read bandwidth of
// one and of two threads for an L2-sized and a DRAM-sized buffer.
//
// Why it exists: on a 2-vCPU Cascade Lake VM whose lscpu reports a 35.8 MB L3, the chase went
// from 25 ns at 2 MB to 103-109 ns at 4 MB, i.e. the guest's usable last-level cache is a few MB
// (a cache partition or other tenants). ResNet-18's 11.7 MB of int8 weights then stream from DRAM
// in every batch-1 inference, which no kernel table taken with hot, repeated weights shows.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_registry.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One 64-byte line per node, visited in a random cyclic order: every load depends on the last.
double chase_ns(size_t bytes, size_t steps) {
  const size_t n = bytes / 64;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (size_t i = n - 1; i > 0; --i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    std::swap(order[i], order[s % (i + 1)]);
  }
  std::vector<uint64_t> lines(n * 8);
  for (size_t i = 0; i < n; ++i) lines[order[i] * 8] = order[(i + 1) % n] * 8;
  volatile uint64_t sink = 0;
  uint64_t p = 0;
  for (size_t i = 0; i < n; ++i) p = lines[p];  // warm: every line once
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < steps; ++i) p = lines[p];
    best = std::min(best, seconds_since(t0) / static_cast<double>(steps) * 1e9);
  }
  sink = p;
  (void)sink;
  return best;
}

// Sum of 64-bit words with 8 independent accumulators (the compiler vectorises it); best pass.
double stream_gbs(const std::vector<uint64_t>& buf, int passes) {
  double best = 0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < passes; ++r) {
    const auto t0 = Clock::now();
    uint64_t a[8] = {};
    for (size_t i = 0; i + 8 <= buf.size(); i += 8)
      for (int j = 0; j < 8; ++j) a[j] += buf[i + j];
    const double t = seconds_since(t0);
    uint64_t x = 0;
    for (uint64_t v : a) x += v;
    sink = x;
    best = std::max(best, static_cast<double>(buf.size() * 8) / t * 1e-9);
  }
  (void)sink;
  return best;
}

}  // namespace

QRT_BENCHMARK(memory) {
  const std::vector<size_t> sizes_kb = ctx.quick ? std::vector<size_t>{64, 1024, 16384}
                                                  : std::vector<size_t>{32, 256, 1024, 2048, 4096, 8192, 16384, 65536};
  ctx.log("dependent-load latency (pointer chase, 64-byte lines in random order):\n");
  ctx.log("%12s %10s\n", "working set", "ns/load");
  for (size_t kb : sizes_kb) {
    const double ns = chase_ns(kb * 1024, ctx.quick ? 200000 : 2000000);
    ctx.log("%9zu KB %10.1f\n", kb, ns);
    ctx.emit(qrt::bench::Row().set("kind", "latency").set("kb", static_cast<double>(kb)).set("ns", ns));
  }
  ctx.log("streaming read bandwidth (per-thread buffers, best pass):\n");
  ctx.log("%12s %8s %12s\n", "buffer", "threads", "GB/s total");
  for (size_t mb : {size_t(1), size_t(ctx.quick ? 64 : 256)}) {
    for (int threads : {1, 2}) {
      std::vector<std::vector<uint64_t>> bufs(static_cast<size_t>(threads));
      for (auto& b : bufs) b.assign(mb * 1024 * 1024 / 8, 1);
      std::vector<double> gbs(static_cast<size_t>(threads));
      std::vector<std::thread> th;
      const int passes = mb <= 1 ? 200 : 5;
      for (int t = 0; t < threads; ++t)
        th.emplace_back([&, t] { gbs[static_cast<size_t>(t)] = stream_gbs(bufs[static_cast<size_t>(t)], passes); });
      for (auto& t : th) t.join();
      double total = 0;
      for (double g : gbs) total += g;
      ctx.log("%9zu MB %8d %12.1f\n", mb, threads, total);
      ctx.emit(qrt::bench::Row().set("kind", "bandwidth").set("mb", static_cast<double>(mb))
                   .set("threads", static_cast<double>(threads)).set("gbs", total));
    }
  }
}
