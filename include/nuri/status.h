// nuri/status.h — errors that cross a boundary with the outside world (public API).
// Purpose: Status (ok or a user-actionable message) and Result<T> (a value or a Status).
// Non-goals: exceptions, error code hierarchies.
// Invariant: a Result holds exactly one of value or error; reading the wrong one aborts.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace nuri {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    if (s.message_.empty()) s.message_ = "unknown error";
    return s;
  }
  bool is_ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& message() const { return message_; }
  // Prefix context: "reading model.gguf: " + message.
  Status with_context(const std::string& context) const {
    if (ok_) return *this;
    return error(context + ": " + message_);
  }

 private:
  bool ok_ = true;
  std::string message_;
};

inline Status Error(std::string message) { return Status::error(std::move(message)); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT implicit
    if (std::get<1>(v_).is_ok()) {
      std::fprintf(stderr, "nuri: Result constructed from an ok Status\n");
      std::abort();
    }
  }
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  const std::string& error() const { return status().message(); }
  T& value() & { check_value(); return std::get<0>(v_); }
  const T& value() const& { check_value(); return std::get<0>(v_); }
  T&& value() && { check_value(); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void check_value() const {
    if (!ok()) {
      std::fprintf(stderr, "nuri: value() on an error Result: %s\n", std::get<1>(v_).message().c_str());
      std::abort();
    }
  }
  std::variant<T, Status> v_;
};

}  // namespace nuri
