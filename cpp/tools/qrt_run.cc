// qrt_run: load a .qmodel and time it from C++, no Python needed.
//   qrt_run model.qmodel [--threads N] [--runs R] [--warmup W] [--dim D | --dims D0,D1,...]
// Inputs are filled with deterministic pseudo-random values: f32 normal, integers and bool 0 or 1.
// Dynamic dimensions are set to D, or with --dims to D0, D1, ... in the order they appear in each
// input's shape (e.g. --dims 1,128 for [batch, sequence] inputs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qrt/qrt.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: qrt_run model.qmodel [--threads N] [--runs R] [--warmup W] [--dim D | --dims D0,D1,...]\n");
    return 2;
  }
  std::string path = argv[1];
  int threads = 1, runs = 50, warmup = 5;
  int64_t dim = 1;
  std::vector<int64_t> dims;  // --dims: per dynamic dimension, in order within each input
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (a == "--threads") threads = int(v);
    else if (a == "--runs") runs = int(v);
    else if (a == "--warmup") warmup = int(v);
    else if (a == "--dim") dim = v;
    else if (a == "--dims") {
      for (const char* p = argv[i + 1]; *p;) {
        char* end = nullptr;
        long d = std::strtol(p, &end, 10);
        if (end == p || d < 0 || (*end && *end != ',')) {
          std::fprintf(stderr, "qrt_run: --dims wants non-negative integers separated by commas, got '%s'\n", argv[i + 1]);
          return 2;
        }
        dims.push_back(d);
        p = *end ? end + 1 : end;
      }
    }
    else { std::fprintf(stderr, "qrt_run: unknown option %s\n", a.c_str()); return 2; }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto model = qrt::Model::load(path);
  if (!model.ok()) { std::fprintf(stderr, "qrt_run: %s\n", model.status().to_string().c_str()); return 1; }
  qrt::SessionOptions opts;
  opts.threads = threads;
  auto session = qrt::Session::create(model.value(), opts);
  if (!session.ok()) { std::fprintf(stderr, "qrt_run: %s\n", session.status().to_string().c_str()); return 1; }

  std::mt19937 rng(0);
  std::vector<std::vector<uint8_t>> storage;
  std::vector<std::pair<std::string, qrt::TensorView>> inputs;
  for (const qrt::TensorInfo& t : model.value()->inputs()) {
    qrt::TensorView v;
    v.dtype = t.dtype;
    size_t n = 1;
    size_t next = 0;
    for (int64_t d : t.shape) {
      v.shape.push_back(d >= 0 ? d : next < dims.size() ? dims[next++] : dim);
      n *= size_t(v.shape.back());
    }
    storage.emplace_back(n * qrt::element_size(t.dtype));
    auto& buf = storage.back();
    if (t.dtype == qrt::ElementType::kF32) {
      std::normal_distribution<float> nd;
      for (size_t i = 0; i < n; ++i) { float f = nd(rng); std::memcpy(&buf[i * 4], &f, 4); }
    } else {
      // Each element 0 or 1 (valid ids, masks, types): the low byte, little-endian, the rest 0.
      // (Random 0/1 per byte had made s64 ids like 0x0101000100010000, out of any vocabulary.)
      const size_t es = qrt::element_size(t.dtype);
      for (size_t i = 0; i < n; ++i) buf[i * es] = uint8_t(rng() % 2);
    }
    v.data = buf.data();
    inputs.emplace_back(t.name, v);
  }
  auto first = session.value()->run(inputs);
  if (!first.ok()) { std::fprintf(stderr, "qrt_run: %s\n", first.status().to_string().c_str()); return 1; }
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (int i = 0; i < warmup; ++i) (void)session.value()->run(inputs);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t = std::chrono::steady_clock::now();
    auto r = session.value()->run(inputs);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
    if (!r.ok()) { std::fprintf(stderr, "qrt_run: %s\n", r.status().to_string().c_str()); return 1; }
  }
  std::sort(ms.begin(), ms.end());
  qrt::MemoryPlan plan = session.value()->memory_plan();
  std::printf("%s: load+first run %.2f ms; median %.3f ms, p90 %.3f ms, min %.3f ms (%d runs, %d threads)\n",
              path.c_str(), load_ms, ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms[0], runs, threads);
  std::printf("arena %zu bytes (naive %zu, lower bound %zu); packed weights %zu bytes\n",
              plan.arena_bytes, plan.naive_bytes, plan.lower_bound_bytes, model.value()->packed_bytes());
  for (size_t i = 0; i < first.value().size(); ++i) {
    const auto& o = first.value()[i];
    std::printf("output %zu: %s [", i, qrt::element_type_name(o.dtype));
    for (size_t d = 0; d < o.shape.size(); ++d) std::printf("%s%lld", d ? ", " : "", (long long)o.shape[d]);
    std::printf("]\n");
  }
  return 0;
}
