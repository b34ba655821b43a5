// JSON input (messages/json.h): a key given twice in one object is refused, naming it, rather
// than read as its last value, as the proto3 JSON conformance suite recommends.
#include "messages/json.h"

#include <gtest/gtest.h>

#include "messages/bel.pb.h"

namespace bel {
namespace {

constexpr const char* kRequested =
    R"("build_request_event":{"status_code":"BUILD_REQUEST_RECEIVED",)"
    R"("requested_partitions":[{"str":"p/1"}]})";

Status parse(const std::string& json) {
  BuildEvent event;
  return from_json(json, &event);
}

TEST(JsonInput, AnEventWithEachKeyOnceParses) {
  BuildEvent event;
  ASSERT_TRUE(
      from_json(std::string(R"({"event_id":"e-1","build_request_id":"b-1",)") + kRequested + "}",
                &event)
          .ok());
  EXPECT_EQ(event.event_id(), "e-1");
  EXPECT_EQ(event.build_request_event().requested_partitions(0).str(), "p/1");
  // The same names in different objects are different keys.
  EXPECT_TRUE(parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                    R"("BUILD_REQUEST_RECEIVED","requested_partitions":[{"str":"p/1"},)"
                    R"({"str":"p/2"}]}})")
                  .ok());
}

TEST(JsonInput, AFieldGivenTwiceIsRefusedNamingIt) {
  auto twice = parse(std::string(R"({"event_id":"a","build_request_id":"b-1",)") + kRequested +
                     R"(,"event_id":"b"})");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::invalid_event);
  EXPECT_EQ(twice.error().message, "invalid JSON for BuildEvent: field event_id given twice");

  // Its two names (snake_case and lowerCamelCase) are one field.
  auto both =
      parse(std::string(R"({"build_request_id":"b-1","buildRequestId":"b-2",)") + kRequested + "}");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().message,
            "invalid JSON for BuildEvent: field build_request_id given twice");
}

TEST(JsonInput, ANestedFieldGivenTwiceIsNamedByItsPath) {
  auto nested = parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                      R"("BUILD_REQUEST_RECEIVED","statusCode":"BUILD_REQUEST_PLANNING",)"
                      R"("requested_partitions":[{"str":"p/1"}]}})");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message,
            "invalid JSON for BuildEvent: field build_request_event.status_code given twice");

  auto element = parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                       R"("BUILD_REQUEST_RECEIVED","requested_partitions":[{"str":"p/1"},)"
                       R"({"str":"p/2","str":"p/3"}]}})");
  ASSERT_FALSE(element.ok());
  EXPECT_EQ(element.error().message,
            "invalid JSON for BuildEvent: field "
            "build_request_event.requested_partitions[1].str given twice");
}

TEST(JsonInput, AMapKeyGivenTwiceIsRefused) {
  auto map = parse(R"({"build_request_id":"b-1","job_graph_event":{"job_graph":{"label":"g",)"
                   R"("nodes":[{"job":{"label":"//x"},"config":{"env":{"A":"1","A":"2"}}}]}}})");
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.error().code, ErrorCode::invalid_event);
  EXPECT_NE(map.error().message.find("'A'"), std::string::npos) << map.error().message;
}

}  // namespace
}  // namespace bel

namespace bel {
namespace {

// A map's entries print sorted by key, whatever order they were made in: two runs of one command
// print the same bytes.
TEST(JsonOutput, AMapsEntriesComeOutSortedByKey) {
  ActivityResponse activity;
  const std::vector<std::string> keys = {"h", "c", "f", "a", "g", "e", "b", "d"};
  for (size_t i = 0; i < keys.size(); ++i) {
    (*activity.mutable_build_requests_by_status())[keys[i]] = static_cast<int64_t>(i + 1);
  }
  for (const std::string& json : {to_json(activity), to_json_with_defaults(activity)}) {
    size_t last = 0;
    for (const char* key : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
      const size_t at = json.find(std::string("\"") + key + "\":");
      ASSERT_NE(at, std::string::npos) << json;
      EXPECT_GT(at, last) << key << " in " << json;
      last = at;
    }
    ActivityResponse back;
    ASSERT_TRUE(from_json(json, &back).ok()) << json;
    EXPECT_EQ(back.build_requests_by_status().size(), keys.size());
  }
}

}  // namespace
}  // namespace bel
