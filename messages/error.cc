#include "messages/error.h"

namespace bel {
namespace {

struct CodeName {
  ErrorCode code;
  const char* name;
};

#define BEL_ERROR_CODE_NAME(name, value) {ErrorCode::name, #name},
constexpr CodeName kCodeNames[] = {BEL_ERROR_CODES(BEL_ERROR_CODE_NAME)};
#undef BEL_ERROR_CODE_NAME

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
