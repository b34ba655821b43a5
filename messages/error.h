// bel::Error and bel::Result<T>: failures as values (SPEC section 7).
//
// Every failure in bel is an ErrorCode, stable and machine-readable, plus a message for a human
// that names what was wrong and where (URI, batch position, field, id):
//
//   bel::Result<int64_t> idx = storage.last_idx();
//   if (!idx.ok()) return idx.error();   // the message already says what and where
//   use(*idx);
//
// Nothing in bel throws across a module or actor boundary; library exceptions are caught at the
// call and converted into an Error.
#ifndef BEL_MESSAGES_ERROR_H_
#define BEL_MESSAGES_ERROR_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bel {

// The stable error codes of SPEC section 7. The numeric values travel inside CAF errors and must
// never change; append new codes at the end.
// X(name, value) for every code: the one list the enum and the name table are made from.
#define BEL_ERROR_CODES(X)                                                                   \
  X(invalid_argument, 1) X(invalid_event, 2) X(invalid_transition, 3)                       \
  X(duplicate_event_id, 4) X(not_found, 5) X(overloaded, 6) X(timeout, 7)                   \
  X(storage_unavailable, 8) X(storage_corrupt, 9) X(schema_too_new, 10)                     \
  X(unsupported_uri, 11) X(unauthorized, 12) X(internal, 13)

#define BEL_ERROR_CODE_ENUMERATOR(name, value) name = value,
enum class ErrorCode : unsigned char { BEL_ERROR_CODES(BEL_ERROR_CODE_ENUMERATOR) };
#undef BEL_ERROR_CODE_ENUMERATOR

// Every code, in the order of the list above (e.g. to export one counter per code).
#define BEL_ERROR_CODE_ITEM(name, value) ErrorCode::name,
inline constexpr ErrorCode kErrorCodes[] = {BEL_ERROR_CODES(BEL_ERROR_CODE_ITEM)};
#undef BEL_ERROR_CODE_ITEM

// One more than the largest code's value: the size of an array indexed by code.
inline constexpr size_t kErrorCodeLimit = [] {
  size_t limit = 0;
  for (ErrorCode code : kErrorCodes) limit = std::max(limit, static_cast<size_t>(code) + 1);
  return limit;
}();

// The stable name of `code`, e.g. "invalid_event".
const char* to_string(ErrorCode code);

// The code named `name`, or nothing when no code has that name.
std::optional<ErrorCode> parse_error_code(std::string_view name);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  // "invalid_event: append #3: partition_event.partition_ref is empty"
  std::string to_string() const;

  // A copy whose message is "<prefix>: <message>", for adding where the error happened.
  Error with_context(std::string_view prefix) const;
};

// What an error about an append says became of it, in these words, so that a command adding
// its own advice (bel append) does not say it twice or say the opposite: nothing of the append
// was stored, or it may have been committed (its answer was lost).
inline constexpr const char* kNothingWritten = "nothing was written";
inline constexpr const char* kMayHaveBeenCommitted = "may or may not have been committed";

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// A value of type T or an Error. There is no default constructor: `return {};` never silently
// means "empty value". Check ok() before using * or ->.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations without a value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Result success() { return Result(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // REQUIRES: !ok()
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  Result() = default;
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status ok_status() { return Status::success(); }

}  // namespace bel

// Returns the error of `expr` (a Result) from the enclosing function when it failed.
#define BEL_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    auto bel_status_ = (expr);                    \
    if (!bel_status_.ok()) return bel_status_.error(); \
  } while (false)

#endif  // BEL_MESSAGES_ERROR_H_
