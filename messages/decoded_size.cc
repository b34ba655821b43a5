#include "messages/decoded_size.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>

namespace bel {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr int kMaxNesting = 100;  // protobuf's own default recursion limit

// Counts the messages in the rest of `in` (a `type` message) into `size`; false when the bytes
// are not well-formed or nest deeper than kMaxNesting.
bool count_messages(const Descriptor& type, CodedInputStream& in, int depth, DecodedSize& size) {
  if (depth > kMaxNesting) return false;
  ++size.messages;
  if (depth == 1) ++size.children;
  while (const uint32_t tag = in.ReadTag()) {
    const FieldDescriptor* field = type.FindFieldByNumber(static_cast<int>(tag >> 3));
    if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return false;
      const auto limit = in.PushLimit(static_cast<int>(length));
      if (!count_messages(*field->message_type(), in, depth + 1, size)) return false;
      if (!in.ConsumedEntireMessage()) return false;
      in.PopLimit(limit);
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
  return true;
}

}  // namespace

std::optional<DecodedSize> estimate_decoded_size(const Descriptor& type, std::string_view wire) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()), static_cast<int>(wire.size()));
  in.SetRecursionLimit(kMaxNesting + 1);
  DecodedSize out;
  if (!count_messages(type, in, 0, out) || !in.ConsumedEntireMessage()) {
    return std::nullopt;
  }
  out.bytes = wire.size() + out.messages * kDecodedBytesPerMessage;
  return out;
}

size_t decoded_bytes_if_large(const google::protobuf::Message& message, size_t encoded_bytes,
                              size_t small_bytes) {
  if (encoded_bytes <= small_bytes) return encoded_bytes;
  return std::max(encoded_bytes, message.SpaceUsedLong());
}

}  // namespace bel
