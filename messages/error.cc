#include "messages/error.h"

namespace bel {
namespace {

struct CodeName {
  ErrorCode code;
  const char* name;
};

constexpr CodeName kCodeNames[] = {
    {ErrorCode::invalid_argument, "invalid_argument"},
    {ErrorCode::invalid_event, "invalid_event"},
    {ErrorCode::invalid_transition, "invalid_transition"},
    {ErrorCode::duplicate_event_id, "duplicate_event_id"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::overloaded, "overloaded"},
    {ErrorCode::timeout, "timeout"},
    {ErrorCode::storage_unavailable, "storage_unavailable"},
    {ErrorCode::storage_corrupt, "storage_corrupt"},
    {ErrorCode::schema_too_new, "schema_too_new"},
    {ErrorCode::unsupported_uri, "unsupported_uri"},
    {ErrorCode::unauthorized, "unauthorized"},
    {ErrorCode::internal, "internal"},
};

}  // namespace

const char* to_string(ErrorCode code) {
  for (const auto& c : kCodeNames) {
    if (c.code == code) return c.name;
  }
  return "internal";
}

std::optional<ErrorCode> parse_error_code(std::string_view name) {
  for (const auto& c : kCodeNames) {
    if (name == c.name) return c.code;
  }
  return std::nullopt;
}

std::string Error::to_string() const {
  return std::string(bel::to_string(code)) + ": " + message;
}

Error Error::with_context(std::string_view prefix) const {
  return Error{code, std::string(prefix) + ": " + message};
}

}  // namespace bel
