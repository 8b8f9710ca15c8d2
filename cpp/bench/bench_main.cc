// qrt_bench main(): runs the benchmarks registered with QRT_BENCHMARK (see bench_registry.h).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_registry.h"
#include "cpu/features.h"

namespace qrt::bench {
namespace {

struct Entry {
  std::string name;
  BenchFn fn;
};
std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}
bool g_json = false;

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += c;
  }
  return o + "\"";
}

}  // namespace

Row& Row::set(const std::string& key, double v) {
  char b[64];
  if (std::isfinite(v)) std::snprintf(b, sizeof b, "%.6g", v);
  else std::snprintf(b, sizeof b, "null");
  f_.emplace_back(key, b);
  return *this;
}
Row& Row::set(const std::string& key, const std::string& v) {
  f_.emplace_back(key, json_string(v));
  return *this;
}

void Context::log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(g_json ? stderr : stdout, fmt, ap);
  va_end(ap);
  std::fflush(g_json ? stderr : stdout);
}

Registrar::Registrar(const char* name, BenchFn fn) { registry().push_back({name, fn}); }

}  // namespace qrt::bench

int main(int argc, char** argv) {
  using namespace qrt::bench;
  bool quick = false, list = false;
  std::vector<std::string> filters;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) g_json = true;
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--list")) list = true;
    else if (argv[i][0] == '-') {
      std::fprintf(stderr, "usage: qrt_bench [--json] [--quick] [--list] [name-substring ...]\n");
      return 2;
    } else filters.push_back(argv[i]);
  }
  if (list) {
    for (const auto& e : registry()) std::printf("%s\n", e.name.c_str());
    return 0;
  }
  std::fprintf(g_json ? stderr : stdout, "cpu: %s; ISA cap %s\n", qrt::cpu::cpu_brand().c_str(),
               qrt::cpu::isa_name(qrt::cpu::isa_cap()));
  if (g_json) std::printf("{\"cpu\": %s, \"benchmarks\": [", json_string(qrt::cpu::cpu_brand()).c_str());
  bool first = true;
  for (const auto& e : registry()) {
    bool match = filters.empty();
    for (const auto& s : filters) match = match || e.name.find(s) != std::string::npos;
    if (!match) continue;
    Context ctx;
    ctx.json = g_json;
    ctx.quick = quick;
    e.fn(ctx);
    if (!g_json) continue;
    std::printf("%s\n  {\"name\": %s, \"rows\": [", first ? "" : ",", json_string(e.name).c_str());
    first = false;
    for (size_t r = 0; r < ctx.rows.size(); ++r) {
      std::printf("%s\n    {", r ? "," : "");
      const auto& fs = ctx.rows[r].fields();
      for (size_t i = 0; i < fs.size(); ++i)
        std::printf("%s%s: %s", i ? ", " : "", json_string(fs[i].first).c_str(), fs[i].second.c_str());
      std::printf("}");
    }
    std::printf("]}");
  }
  if (g_json) std::printf("\n]}\n");
  return 0;
}
