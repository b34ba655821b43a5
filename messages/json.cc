#include "messages/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace bel {
namespace {

// Finds a key given twice in one JSON object, which protobuf's parser would read as the last one
// given. A message's fields count by field, whichever of their two names (snake_case or
// lowerCamelCase) is given; any other object's keys (a map's, a well-known type's) count as
// written. Runs on text protobuf has parsed; where nlohmann's parser is stricter than protobuf's
// (an escape such as "\x", which protobuf reads as "x"), the search ends without a finding.
class DuplicateKeys : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DuplicateKeys(const google::protobuf::Descriptor* root) : root_(root) {}

  // "field build_request_event.status_code given twice", or "" when each key is given once.
  const std::string& finding() const { return finding_; }

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  bool start_object(std::size_t) override {
    value();
    const google::protobuf::Descriptor* message = nullptr;
    if (frames_.empty()) {
      message = root_;
    } else if (const auto* field = frames_.back().field;
               field != nullptr && field->message_type() != nullptr && !field->is_map() &&
               field->message_type()->file()->package() != "google.protobuf") {
      message = field->message_type();
    }
    frames_.push_back(Frame{message, nullptr, path_for_child(), /*array=*/false, 0, "", {}});
    return true;
  }
  bool end_object() override { return pop(); }
  bool start_array(std::size_t) override {
    value();
    // The elements of a repeated field are of the field's type.
    const google::protobuf::FieldDescriptor* field =
        frames_.empty() ? nullptr : frames_.back().field;
    frames_.push_back(Frame{nullptr, field, path_for_child(), /*array=*/true, 0, "", {}});
    return true;
  }
  bool end_array() override { return pop(); }

  bool key(string_t& name) override {
    Frame& frame = frames_.back();
    frame.field = nullptr;
    frame.key = name;
    std::string counted = name;
    if (frame.message != nullptr) {
      for (int i = 0; i < frame.message->field_count(); ++i) {
        const auto* field = frame.message->field(i);
        if (field->name() == name || field->json_name() == name) {
          frame.field = field;
          counted = "field " + field->name();
          break;
        }
      }
    }
    if (frame.seen.insert(counted).second) return true;
    const std::string where = frame.path.empty() ? "" : frame.path + ".";
    finding_ = frame.field != nullptr ? "field " + where + frame.field->name() + " given twice"
                                      : "key \"" + name + "\" given twice" +
                                            (frame.path.empty() ? "" : " in " + frame.path);
    return false;
  }

 private:
  struct Frame {
    const google::protobuf::Descriptor* message = nullptr;     // null: keys count as written
    const google::protobuf::FieldDescriptor* field = nullptr;  // the value read is this field's
    std::string path;                                          // "build_request_event.metadata"
    bool array = false;
    int elements = 0;  // arrays: the values begun so far
    std::string key;   // the last key read (objects)
    std::set<std::string> seen;
  };

  std::string path_for_child() const {
    if (frames_.empty()) return "";
    const Frame& parent = frames_.back();
    if (parent.array) return parent.path + "[" + std::to_string(parent.elements - 1) + "]";
    const std::string name = parent.field != nullptr ? parent.field->name() : parent.key;
    return parent.path.empty() ? name : parent.path + "." + name;
  }
  // Counts a value that begins in an array.
  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().elements;
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return true;
  }

  const google::protobuf::Descriptor* root_;
  std::vector<Frame> frames_;
  std::string finding_;
};

std::string print(const google::protobuf::Message& message, bool defaults) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = defaults;
  options.add_whitespace = false;
  // What MessageToJsonString does, from a deterministic serialization: a map's entries come out
  // sorted by key, the same for every run (its own order follows a hash seeded per process), so
  // scripts can compare two answers byte for byte.
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool());
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) return "{}";
  }
  std::string out;
  auto status = google::protobuf::util::BinaryToJsonString(
      resolver, "type.googleapis.com/" + message.GetDescriptor()->full_name(), binary, &out,
      options);
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
  DuplicateKeys keys(out->GetDescriptor());
  nlohmann::json::sax_parse(json.begin(), json.end(), &keys);
  if (!keys.finding().empty()) {
    return make_error(ErrorCode::invalid_event,
                      "invalid JSON for " + out->GetDescriptor()->name() + ": " + keys.finding());
  }
  return ok_status();
}

}  // namespace bel
