// The decoded size of a message is estimated from its wire bytes alone, and not far below what
// protobuf then takes: a body of many empty manifests is judged by what it would cost decoded.
#include "messages/decoded_size.h"

#include <gtest/gtest.h>

#include <string>

#include "messages/types.h"

namespace bel {
namespace {

// A job event holding `manifests` empty manifests (2 bytes each on the wire).
BuildEvent with_manifests(int manifests) {
  BuildEvent event;
  event.set_build_request_id("br-1");
  auto* job = event.mutable_job_event();
  job->set_job_run_id("jr-1");
  job->mutable_job_label()->set_label("//j");
  for (int i = 0; i < manifests; ++i) job->add_manifests();
  return event;
}

TEST(DecodedSizeTest, CountsEveryMessageAtAnyDepthFromTheWireBytes) {
  const std::string wire = with_manifests(1000).SerializeAsString();
  const auto size = estimate_decoded_size(*BuildEvent::descriptor(), wire);
  ASSERT_TRUE(size.has_value());
  // The event, its job event, its job label and the manifests.
  EXPECT_EQ(size->messages, 1003u);
  EXPECT_EQ(size->children, 1u);  // the job event: the rest are inside it
  EXPECT_EQ(size->bytes, wire.size() + 1003 * kDecodedBytesPerMessage);
  // Strings and numbers are bytes, not messages.
  BuildEvent plain;
  plain.set_build_request_id(std::string(5000, 'b'));
  plain.set_idx(7);
  const auto small = estimate_decoded_size(*BuildEvent::descriptor(), plain.SerializeAsString());
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->messages, 1u);
}

TEST(DecodedSizeTest, TheEstimateIsNotFarBelowWhatProtobufTakes) {
  for (int manifests : {0, 10, 100000}) {
    const BuildEvent event = with_manifests(manifests);
    const std::string wire = event.SerializeAsString();
    const auto size = estimate_decoded_size(*BuildEvent::descriptor(), wire);
    ASSERT_TRUE(size.has_value());
    BuildEvent decoded;
    ASSERT_TRUE(decoded.ParseFromString(wire));
    EXPECT_GE(2 * size->bytes, decoded.SpaceUsedLong()) << manifests << " manifests";
    EXPECT_EQ(decoded_bytes_if_large(decoded, wire.size()),
              wire.size() > 1024 ? decoded.SpaceUsedLong() : wire.size());
  }
}

TEST(DecodedSizeTest, BytesThatAreNotAMessageHaveNoEstimate) {
  const std::string wire = with_manifests(3).SerializeAsString();
  EXPECT_FALSE(estimate_decoded_size(*BuildEvent::descriptor(), wire.substr(0, wire.size() - 1)));
  // An unknown field (number 127, a varint) is skipped, as protobuf keeps it: bytes, no message.
  const auto unknown =
      estimate_decoded_size(*BuildEvent::descriptor(), wire + std::string("\xf8\x07\x01", 3));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->messages, 6u);
}

}  // namespace
}  // namespace bel
