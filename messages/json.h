// The JSON interface of SPEC section 1: the proto3 JSON mapping with the original snake_case
// field names, enum values as names, int64 as strings and default values omitted. Input accepts
// snake_case and lowerCamelCase.
//
//   std::string line = bel::to_json(event);           // one line, no trailing newline
//   bel::BuildEvent parsed;
//   if (auto ok = bel::from_json(line, &parsed); !ok.ok()) report(ok.error());
#ifndef BEL_MESSAGES_JSON_H_
#define BEL_MESSAGES_JSON_H_

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "messages/error.h"

namespace bel {

// One line of JSON, default values omitted.
std::string to_json(const google::protobuf::Message& message);

// One line of JSON with fields at their default values printed too (e.g. "duplicate": false).
std::string to_json_with_defaults(const google::protobuf::Message& message);

// Parses `json` into `out` (cleared first). invalid_event naming the offending field or the
// syntax problem otherwise; `out` is then unspecified.
Status from_json(std::string_view json, google::protobuf::Message* out);

// `text` as a JSON string literal, quoted and escaped; bytes that are not UTF-8 (a damaged row a
// check quotes) as the text \xNN, so that the document stays JSON.
std::string json_string(std::string_view text);

// An error as bel's JSON answers carry it, code first: {"code":"not_found","message":"..."}.
std::string error_json(const Error& error);

}  // namespace bel

#endif  // BEL_MESSAGES_JSON_H_
