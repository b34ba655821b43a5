#include "messages/json.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "messages/escape.h"

namespace bel {
namespace {

// How deep objects and arrays may nest in an event's JSON: far more than any event's schema
// needs (a few levels). The second pass below (LenientShapes) keeps each open level's path, which
// grows with the depth: unbounded, 50 000 nested arrays in one line took it ~4 GB.
constexpr int kMaxDepth = 64;

// What the bytes of `json` hold that no JSON document may, read before anything parses them:
// nesting deeper than kMaxDepth, and a control character (below U+0020) unescaped inside a string,
// which JSON forbids (protobuf's parser keeps it). "" when there is neither. Strings are JSON's,
// in double quotes: text that protobuf reads in single quotes is refused by the second pass.
std::string scan_bytes(std::string_view json) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const auto c = static_cast<unsigned char>(json[i]);
    if (in_string) {
      if (c < 0x20) {
        // The advice names the backslash in words: error messages are shown escaped, each
        // backslash doubled, and "\\u001f" would read as the wrong JSON.
        return fmt::format(
            "a control character (U+{:04X}) inside a string at byte {}: JSON requires it escaped "
            "(a backslash, then u{:04x})",
            c, i + 1, c);
      }
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) {
        return fmt::format("objects and arrays nested more than {} deep, at byte {}", kMaxDepth,
                           i + 1);
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return "";
}

// Finds what protobuf's parser reads leniently in text it has parsed: text that is not JSON
// (RFC 8259) at all (protobuf takes single-quoted strings, unquoted keys and an escape such as
// "\x", read as "x"), a key given twice in one object (it keeps the last value), a repeated field
// given one value rather than an array (it reads a list of one), an array inside a repeated
// field's array (it flattens it) and a null in one (it drops it, so a value meant for the list
// would vanish without a word). A message's fields count by field, whichever of their two names
// (snake_case or lowerCamelCase) is given; any other object's keys (a map's, a well-known type's)
// count as written, and a well-known type's values (google.protobuf.Value) are not checked.
class LenientShapes : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit LenientShapes(const google::protobuf::Descriptor* root) : root_(root) {}

  // "field build_request_event.status_code given twice", or "" when nothing was found.
  const std::string& finding() const { return finding_; }

  bool null() override { return value(Shape::null); }
  bool boolean(bool) override { return value(Shape::scalar); }
  bool number_integer(number_integer_t) override { return value(Shape::scalar); }
  bool number_unsigned(number_unsigned_t) override { return value(Shape::scalar); }
  bool number_float(number_float_t, const string_t&) override { return value(Shape::scalar); }
  bool string(string_t&) override { return value(Shape::scalar); }
  bool binary(binary_t&) override { return value(Shape::scalar); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error
    // while parsing ...": what follows the column.
    const std::string what = ex.what();
    const size_t column = what.find("column ");
    const size_t reason = column == std::string::npos ? column : what.find(": ", column);
    finding_ = fmt::format(
        "not JSON at byte {}: {}", position,
        ascii_escaped(reason == std::string::npos ? std::string_view(what)
                                                  : std::string_view(what).substr(reason + 2)));
    return false;
  }

  bool start_object(std::size_t) override {
    if (!value(Shape::object)) return false;
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
    if (!value(Shape::array)) return false;
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
  enum class Shape { null, scalar, object, array };

  // Counts a value that begins in an array, and checks its shape against the field it is a value
  // of: false, with the finding, when it is not what that field takes.
  bool value(Shape shape) {
    if (frames_.empty()) return true;
    Frame& parent = frames_.back();
    const google::protobuf::FieldDescriptor* field = parent.field;
    if (parent.array) {
      ++parent.elements;
      if (field == nullptr || (shape != Shape::array && shape != Shape::null)) return true;
      finding_ = "field " + path_for_child() +
                 (shape == Shape::array ? ": an array inside the array of a repeated field"
                                        : ": null in the array of a repeated field (a list holds "
                                          "no nulls)");
      return false;
    }
    // (A map field's value is refused by protobuf's parser unless it is an object.)
    if (field == nullptr || !field->is_repeated() || field->is_map() || shape == Shape::null ||
        shape == Shape::array) {
      return true;
    }
    finding_ = "field " + path_for_child() + ": a repeated field takes an array";
    return false;
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

// Appends `text`, well-formed UTF-8, as the inside of a JSON string.
void append_json_chars(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

}  // namespace

std::string to_json(const google::protobuf::Message& message) { return print(message, false); }

std::string to_json_with_defaults(const google::protobuf::Message& message) {
  return print(message, true);
}

Status from_json(std::string_view json, google::protobuf::Message* out) {
  out->Clear();
  if (const std::string finding = scan_bytes(json); !finding.empty()) {
    return make_error(ErrorCode::invalid_event,
                      "invalid JSON for " + out->GetDescriptor()->name() + ": " + finding);
  }
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
  LenientShapes shapes(out->GetDescriptor());
  nlohmann::json::sax_parse(json.begin(), json.end(), &shapes);
  if (!shapes.finding().empty()) {
    return make_error(ErrorCode::invalid_event,
                      "invalid JSON for " + out->GetDescriptor()->name() + ": " + shapes.finding());
  }
  return ok_status();
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  append_json_chars(out, utf8_escaped(text));
  return out + "\"";
}

std::string error_json(const Error& error) {
  return std::string("{\"code\":") + json_string(to_string(error.code)) +
         ",\"message\":" + json_string(error.message) + "}";
}

}  // namespace bel
