#include <cstdio>
#include <exception>

#include "cpu/features.h"
#include "harness.h"

namespace qrt_test {

std::vector<TestCase>& registry() {
  static std::vector<TestCase> r;
  return r;
}

static int g_failures_in_test = 0;

void record_failure(const char* file, int line, const std::string& msg) {
  if (g_failures_in_test < 10) std::printf("    %s:%d: %s\n", file, line, msg.c_str());
  ++g_failures_in_test;
}

bool long_tests() {
  const char* e = std::getenv("QRT_LONG_TESTS");
  return e && *e && std::string(e) != "0";
}

}  // namespace qrt_test

int main(int argc, char** argv) {
  using namespace qrt_test;
  std::string filter = argc > 1 ? argv[1] : "";
  std::printf("cpu: %s; ISA cap %s\n", qrt::cpu::cpu_brand().c_str(), qrt::cpu::isa_name(qrt::cpu::isa_cap()));
  if (!qrt::cpu::isa_env_status().ok()) {
    std::printf("error: %s\n", qrt::cpu::isa_env_status().message().c_str());
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const TestCase& t : registry()) {
    if (!filter.empty() && t.name.find(filter) == std::string::npos) continue;
    g_failures_in_test = 0;
    std::string skip;
    try {
      t.fn();
    } catch (const SkipException& s) {
      skip = s.reason;
    } catch (const std::exception& e) {
      record_failure(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
    }
    if (g_failures_in_test) {
      ++failed;
      std::printf("FAIL %s (%d failures)\n", t.name.c_str(), g_failures_in_test);
    } else if (!skip.empty()) {
      ++skipped;
      std::printf("SKIP %s: %s\n", t.name.c_str(), skip.c_str());
    } else {
      ++passed;
      std::printf("ok   %s\n", t.name.c_str());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : (passed ? 0 : 1);
}
