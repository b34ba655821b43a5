#include "storage/payload_text.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdint>

#include "messages/glob.h"
#include "messages/types.h"

namespace bel::storage {
namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;

constexpr int kMaxDepth = 64;  // deeper than any bel message; a bound against hostile nesting

void put_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// `text` with each ill-formed byte replaced by U+FFFD, appended to `out`.
void append_repaired(std::string_view text, std::string& out) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (!text.empty()) {
    const size_t at = utf8_error_at(text);
    if (at == std::string_view::npos) {
      out.append(text);
      return;
    }
    out.append(text.substr(0, at));
    out.append(kReplacement);
    text.remove_prefix(at + 1);
  }
}

void note_field(const std::string& path, std::string* fields) {
  if (fields == nullptr) return;
  // Each path once: a repeated field or several map entries name it once.
  size_t from = 0;
  while (from <= fields->size()) {
    const size_t end = std::min(fields->find(", ", from), fields->size());
    if (std::string_view(*fields).substr(from, end - from) == path) return;
    from = end + 2;
  }
  if (!fields->empty()) fields->append(", ");
  fields->append(path);
}

// Appends `in`, a message of type `type`, to `out` with its text repaired; `*changed` is set
// when something was replaced. False when `in` is not well-formed.
bool repair_message(std::string_view in, const pb::Descriptor* type, const std::string& path,
                    int depth, std::string& out, bool* changed, std::string* fields) {
  if (depth > kMaxDepth) return false;
  pb::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(in.data()),
                                  static_cast<int>(in.size()));
  for (;;) {
    const int begin = stream.CurrentPosition();
    const uint32_t tag = stream.ReadTag();
    if (tag == 0) return stream.CurrentPosition() == static_cast<int>(in.size());
    const pb::FieldDescriptor* field =
        type == nullptr ? nullptr : type->FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    const bool text = field != nullptr && field->type() == pb::FieldDescriptor::TYPE_STRING;
    const bool nested = field != nullptr && field->type() == pb::FieldDescriptor::TYPE_MESSAGE;
    if (!delimited || !(text || nested)) {
      if (!WireFormatLite::SkipField(&stream, tag)) return false;
      out.append(in.data() + begin, static_cast<size_t>(stream.CurrentPosition() - begin));
      continue;
    }
    uint32_t size = 0;
    if (!stream.ReadVarint32(&size)) return false;
    const int body = stream.CurrentPosition();
    if (!stream.Skip(static_cast<int>(size))) return false;
    const std::string_view bytes = in.substr(static_cast<size_t>(body), size);
    const std::string name = path.empty() ? field->name() : path + "." + field->name();
    std::string inner;
    if (text) {
      if (utf8_error_at(bytes) == std::string_view::npos) {
        out.append(in.data() + begin, static_cast<size_t>(stream.CurrentPosition() - begin));
        continue;
      }
      append_repaired(bytes, inner);
      *changed = true;
      // A map's key or value is named by the map field.
      note_field(field->containing_type()->options().map_entry() ? path : name, fields);
    } else if (!repair_message(bytes, field->message_type(), name, depth + 1, inner, changed,
                               fields)) {
      return false;
    }
    put_varint(tag, out);
    put_varint(inner.size(), out);
    out += inner;
  }
}

}  // namespace

bool repair_payload_text(std::string_view in, std::string& out, std::string* fields) {
  out.clear();
  if (fields != nullptr) fields->clear();
  bool changed = false;
  if (!repair_message(in, BuildEvent::descriptor(), "", 0, out, &changed, fields)) return false;
  return changed;
}

}  // namespace bel::storage
