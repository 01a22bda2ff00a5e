// Status and Result<T>: errors as values at module boundaries.
//
// A Status carries a code and a message meant for the client ("names the offending thing"). The one
// place that maps codes to HTTP statuses is api/error_mapping.h. Thread-compatible value types.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sigil {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input from the client (400)
  kUnauthenticated,   // no/unknown credentials (403 in Tecken's API)
  kPermissionDenied,  // known caller, not allowed (403)
  kNotFound,          // (404)
  kAlreadyExists,     // (409)
  kTooLarge,          // an input limit was exceeded (413)
  kUnavailable,       // overloaded or a dependency is down; retry later (503)
  kDeadlineExceeded,  // a timeout (504)
  kUpstream,          // an upstream server failed (502/500 depending on the route)
  kInternal,          // broken invariant or unexpected failure (500)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE: message", for logs.
  std::string ToString() const;

  // Prepends context ("reading x: ") to the message; keeps the code.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status UpstreamError(std::string m) { return {StatusCode::kUpstream, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a T or a non-OK Status (a small std::expected for C++20).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sigil

// Early-return helpers.
#define SIGIL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::sigil::Status sigil_status_ = (expr);        \
    if (!sigil_status_.ok()) return sigil_status_; \
  } while (0)

#define SIGIL_CONCAT_INNER_(a, b) a##b
#define SIGIL_CONCAT_(a, b) SIGIL_CONCAT_INNER_(a, b)
#define SIGIL_ASSIGN_OR_RETURN(lhs, expr) \
  SIGIL_ASSIGN_OR_RETURN_IMPL_(SIGIL_CONCAT_(sigil_result_, __LINE__), lhs, expr)
#define SIGIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
