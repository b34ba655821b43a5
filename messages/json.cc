#include "messages/json.h"

#include <google/protobuf/util/json_util.h>

namespace bel {
namespace {

std::string print(const google::protobuf::Message& message, bool defaults) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = defaults;
  options.add_whitespace = false;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  // Printing a well-formed message cannot fail; keep the output parseable if it ever does.
  if (!status.ok()) return "{}";
  return out;
}

}  // namespace

std::string to_json(const google::protobuf::Message& message) { return print(message, false); }

std::string to_json_with_defaults(const google::protobuf::Message& message) {
  return print(message, true);
}

Status from_json(std::string_view json, google::protobuf::Message* out) {
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (!status.ok()) {
    // protobuf's message may go on with a caret under the input it no longer shows: its first
    // line says what was wrong.
    std::string why(status.message());
    why = why.substr(0, why.find('\n'));
    while (!why.empty() && (why.back() == ' ' || why.back() == '.')) why.pop_back();
    // Some of its messages start with a separator of their own (": Root element must be ...").
    while (!why.empty() && (why.front() == ':' || why.front() == ' ')) why.erase(0, 1);
    return make_error(ErrorCode::invalid_event,
                      "invalid JSON for " + out->GetDescriptor()->name() + ": " + why);
  }
  return ok_status();
}

}  // namespace bel
