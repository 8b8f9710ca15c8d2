// A small self-contained test harness (no external dependency, so CI needs nothing from apt).
//   QRT_TEST(suite, name) { QRT_EXPECT(cond) << "context"; QRT_EXPECT_EQ(a, b); ... }
//   QRT_SKIP("reason") ends the test as skipped (e.g. a missing ISA).
// The binary prints one line per test and, last, "N passed, N failed, N skipped".
// Arguments: a substring filter on "suite.name". QRT_LONG_TESTS=1 enables long sweeps.
#pragma once

#include <cstdlib>
#include <functional>
#include <ostream>
#include <type_traits>
#include <sstream>
#include <string>
#include <vector>

namespace qrt_test {

struct TestCase {
  std::string name;
  std::function<void()> fn;
};
std::vector<TestCase>& registry();
struct Registrar {
  Registrar(const char* suite, const char* name, std::function<void()> fn) {
    registry().push_back({std::string(suite) + "." + name, std::move(fn)});
  }
};

// Failure state of the running test.
void record_failure(const char* file, int line, const std::string& msg);
struct SkipException {
  std::string reason;
};
bool long_tests();

class FailStream {
 public:
  FailStream(bool failed, const char* file, int line, std::string expr)
      : failed_(failed), file_(file), line_(line) {
    if (failed_) os_ << expr;
  }
  ~FailStream() {
    if (failed_) record_failure(file_, line_, os_.str());
  }
  template <typename T>
  FailStream& operator<<(const T& v) {
    if (failed_) os_ << " " << v;
    return *this;
  }

 private:
  bool failed_;
  const char* file_;
  int line_;
  std::ostringstream os_;
};

// Prints chars as numbers (int8/uint8 data), everything else as it streams.
template <typename T>
auto printable(const T& v) {
  if constexpr (std::is_arithmetic_v<T>) return +v;
  else return std::cref(v);
}
template <typename T>
std::ostream& operator<<(std::ostream& os, std::reference_wrapper<const T> r) {
  if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) return os << r.get();
  else return os << "<value>";
}

template <typename A, typename B>
std::string eq_message(const char* ea, const char* eb, const A& a, const B& b) {
  std::ostringstream os;
  os << ea << " == " << eb << " failed: " << printable(a) << " vs " << printable(b);
  return os.str();
}

}  // namespace qrt_test

#define QRT_TEST(suite, name)                                                        \
  static void qrt_test_##suite##_##name();                                           \
  static ::qrt_test::Registrar qrt_reg_##suite##_##name(#suite, #name,               \
                                                        qrt_test_##suite##_##name);  \
  static void qrt_test_##suite##_##name()

#define QRT_EXPECT(cond) ::qrt_test::FailStream(!(cond), __FILE__, __LINE__, "expected: " #cond)
#define QRT_EXPECT_EQ(a, b)                                                                   \
  ::qrt_test::FailStream(!((a) == (b)), __FILE__, __LINE__,                                   \
                         ((a) == (b)) ? std::string() : ::qrt_test::eq_message(#a, #b, (a), (b)))
#define QRT_ASSERT(cond)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      ::qrt_test::record_failure(__FILE__, __LINE__, "assertion: " #cond); \
      return;                                                             \
    }                                                                     \
  } while (0)
#define QRT_SKIP(reason) throw ::qrt_test::SkipException{reason}
