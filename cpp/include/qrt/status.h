// qrt/status.h — how every fallible qrt call reports failure.
//
// Functions that can fail because of their input (a file, a shape, an option, an environment
// variable) return `qrt::Status` or `qrt::Result<T>`; they never throw and never abort on bad
// input. A Status carries a code and a message that says what is wrong, on which object, and
// expected versus actual, e.g.
//   "tensor 'conv1.w': data [offset 4096, size 9216] exceeds file size 8192".
// The Python binding maps the code to an exception class in one place (cpp/bindings):
//   kInvalidArgument -> qrt.InvalidArgumentError (a ValueError)
//   kFormatError     -> qrt.FormatError          (a ValueError)
//   kUnsupported     -> qrt.UnsupportedError     (a NotImplementedError)
//   kOutOfMemory     -> qrt.QrtMemoryError       (a MemoryError)
//   kNotFound        -> FileNotFoundError
//   kInternal        -> qrt.InternalError        (a RuntimeError)
// Broken internal invariants (bugs, not input) are not Status: they abort with file:line.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace qrt {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,
  kFormatError = 2,
  kUnsupported = 3,
  kOutOfMemory = 4,
  kNotFound = 5,
  kInternal = 6,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", for logs and C++ callers without their own formatting.
  std::string to_string() const;

  // Prefixes context ("loading 'x.qmodel': ") to the message; a no-op on success.
  Status with_context(const std::string& prefix) const {
    if (ok()) return *this;
    return Status(code_, prefix + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status FormatError(std::string m) { return Status(StatusCode::kFormatError, std::move(m)); }
inline Status Unsupported(std::string m) { return Status(StatusCode::kUnsupported, std::move(m)); }
inline Status OutOfMemory(std::string m) { return Status(StatusCode::kOutOfMemory, std::move(m)); }
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}    // NOLINT: must not be OK
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace qrt

#define QRT_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::qrt::Status _qrt_st = (expr);          \
    if (!_qrt_st.ok()) return _qrt_st;       \
  } while (0)

#define QRT_CONCAT_INNER_(a, b) a##b
#define QRT_CONCAT_(a, b) QRT_CONCAT_INNER_(a, b)
#define QRT_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto QRT_CONCAT_(_qrt_res_, __LINE__) = (expr);                       \
  if (!QRT_CONCAT_(_qrt_res_, __LINE__).ok())                           \
    return QRT_CONCAT_(_qrt_res_, __LINE__).status();                   \
  lhs = std::move(QRT_CONCAT_(_qrt_res_, __LINE__)).value()
