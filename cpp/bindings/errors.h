// The one place C++ failures become Python exceptions. Binding code throws StatusError (or calls
// throw_if_error); the translator registered in module.cc maps the code to qrt's classes:
//   kInvalidArgument -> qrt.InvalidArgumentError (ValueError)   kFormatError -> qrt.FormatError (ValueError)
//   kUnsupported -> qrt.UnsupportedError (NotImplementedError)  kOutOfMemory -> qrt.QrtMemoryError (MemoryError)
//   kNotFound -> FileNotFoundError                              kInternal -> qrt.InternalError (RuntimeError)
#pragma once

#include <stdexcept>

#include "qrt/status.h"

namespace qrt::binding {

class StatusError : public std::runtime_error {
 public:
  explicit StatusError(Status s) : std::runtime_error(s.message()), status_(std::move(s)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

inline void throw_if_error(const Status& s) {
  if (!s.ok()) throw StatusError(s);
}

template <typename T>
T unwrap(Result<T> r) {
  if (!r.ok()) throw StatusError(r.status());
  return std::move(r).value();
}

}  // namespace qrt::binding
