// The qrt_bench registry: every cpp/bench/*.cc file registers named benchmarks, bench_main.cc
// runs them (like the test harness). Usage:
//   QRT_BENCHMARK(int8_gemm) { ctx.log("..."); ctx.emit(qrt::bench::Row().set("gops", 1.0)); }
// Command line: qrt_bench [--json] [--quick] [--list] [name-substring ...]
//   --json   machine-readable results on stdout ({"benchmarks": [{"name", "rows": [...]}]});
//            human-readable log lines then go to stderr.
//   --quick  benchmarks should use fewer shapes / shorter timing (CI smoke runs).
// Rows are ordered key/value pairs (numbers or strings); in text mode each benchmark prints its
// own table through ctx.log and rows are only collected.
#pragma once

#include <cstdarg>
#include <string>
#include <utility>
#include <vector>

namespace qrt::bench {

class Row {
 public:
  Row& set(const std::string& key, double v);
  Row& set(const std::string& key, const std::string& v);
  Row& set(const std::string& key, const char* v) { return set(key, std::string(v)); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return f_; }  // JSON-encoded values

 private:
  std::vector<std::pair<std::string, std::string>> f_;
};

struct Context {
  bool json = false;
  bool quick = false;
  std::vector<Row> rows;
  void emit(const Row& r) { rows.push_back(r); }
  // printf-style human output (stdout, or stderr under --json).
  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
};

using BenchFn = void (*)(Context&);
struct Registrar {
  Registrar(const char* name, BenchFn fn);
};

}  // namespace qrt::bench

#define QRT_BENCHMARK(name)                                                             \
  static void qrt_bench_##name(::qrt::bench::Context& ctx);                            \
  static ::qrt::bench::Registrar qrt_bench_reg_##name(#name, qrt_bench_##name);        \
  static void qrt_bench_##name(::qrt::bench::Context& ctx)
