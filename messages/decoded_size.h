// What a protobuf message takes in memory once decoded, estimated from its wire bytes without
// decoding them. Decoded, a message costs far more than its encoded bytes when it holds many
// small messages (an empty PartitionManifest is 2 bytes on the wire and over a hundred in
// memory), so a body is judged by this estimate before it is decoded (docs/reliability.md, R5).
//
//   auto size = bel::estimate_decoded_size(*AppendRequest::descriptor(), body);
//   if (size && size->bytes > limit) refuse();
#ifndef BEL_MESSAGES_DECODED_SIZE_H_
#define BEL_MESSAGES_DECODED_SIZE_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace bel {

// What one decoded message costs beyond its encoded bytes, at least: an empty
// PartitionManifest in a repeated field takes about this much (its object, the field's pointer
// to it and the allocator's rounding).
inline constexpr size_t kDecodedBytesPerMessage = 128;

struct DecodedSize {
  size_t messages = 0;  // the message itself and every message in it, at any depth
  size_t children = 0;  // the messages directly in it (an AppendRequest's events)
  size_t bytes = 0;     // its wire bytes + kDecodedBytesPerMessage per message
};

// The estimate for `wire`, the encoded form of a `type` message: nullopt when the bytes are not
// a well-formed message (the parse then says so), or nest messages deeper than protobuf's
// default limit of 100.
std::optional<DecodedSize> estimate_decoded_size(const google::protobuf::Descriptor& type,
                                                 std::string_view wire);

// A decoded message's memory as protobuf counts it (SpaceUsedLong), for messages over
// `small_bytes` encoded (`encoded_bytes`); `encoded_bytes` itself for smaller ones, whose
// decoded size stays within a few times that, so that the common case costs nothing.
size_t decoded_bytes_if_large(const google::protobuf::Message& message, size_t encoded_bytes,
                              size_t small_bytes = 1024);

}  // namespace bel

#endif  // BEL_MESSAGES_DECODED_SIZE_H_
