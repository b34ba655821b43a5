// JSON input (messages/json.h): what protobuf's parser would read leniently is refused, naming it:
// a key given twice in one object (rather than read as its last value, as the proto3 JSON
// conformance suite recommends), deep nesting, a repeated field not given one flat array, and a
// control character unescaped in a string.
#include "messages/json.h"

#include <fmt/format.h>
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

// The check after protobuf's parser kept each open level's path, in memory growing with the
// square of the depth (a 400 KB line of nested arrays took 24 GB), and protobuf flattens arrays
// nested in a repeated field: nesting is refused past 64 levels before anything parses, and an
// array inside a repeated field's array at any depth.
TEST(JsonInput, DeepNestingIsRefusedBeforeItIsParsed) {
  auto nested = [](int depth) {
    return R"({"build_request_id":"b-1","job_event":{"job_run_id":"r","job_label":{"label":"//j"},)"
           R"("status_code":"JOB_SCHEDULED","config":{"args":)" +
           std::string(depth, '[') + std::string(depth, ']') + "}}}";
  };
  // The event's own objects are three levels: 61 arrays reach 64, 62 go past it.
  auto deepest = parse(nested(61));
  ASSERT_FALSE(deepest.ok());
  EXPECT_EQ(deepest.error().message,
            "invalid JSON for BuildEvent: field job_event.config.args[0]: an array inside the "
            "array of a repeated field");
  auto past = parse(nested(62));
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::invalid_event);
  EXPECT_EQ(past.error().message,
            "invalid JSON for BuildEvent: objects and arrays nested more than 64 deep, at byte " +
                std::to_string(nested(62).find('[') + 62));
  auto huge = parse(nested(20000));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("nested more than 64 deep"), std::string::npos);
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(parse(R"({"build_request_id":"b-1","job_event":{"job_run_id":"r","job_label":)"
                    R"({"label":"//j"},"status_code":"JOB_SCHEDULED","message":")" +
                    std::string(100, '[') + R"(\"{{"}})")
                  .ok());
}

TEST(JsonInput, ARepeatedFieldTakesOneFlatArray) {
  auto flattened = parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                         R"("BUILD_REQUEST_RECEIVED","requested_partitions":[{"str":"p/1"},)"
                         R"([{"str":"p/2"}]]}})");
  ASSERT_FALSE(flattened.ok());
  EXPECT_EQ(flattened.error().message,
            "invalid JSON for BuildEvent: field build_request_event.requested_partitions[1]: an "
            "array inside the array of a repeated field");

  auto one = parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                   R"("BUILD_REQUEST_RECEIVED","requested_partitions":{"str":"p/1"}}})");
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().message,
            "invalid JSON for BuildEvent: field build_request_event.requested_partitions: a "
            "repeated field takes an array");

  auto word = parse(R"({"build_request_id":"b-1","job_event":{"job_run_id":"r","job_label":)"
                    R"({"label":"//j"},"status_code":"JOB_SCHEDULED","config":{"args":"x"}}})");
  ASSERT_FALSE(word.ok());
  EXPECT_EQ(word.error().message,
            "invalid JSON for BuildEvent: field job_event.config.args: a repeated field takes an "
            "array");
  // A map field takes only an object (protobuf's parser refuses the rest itself).
  for (const char* env : {R"(["A"])", R"("A")", "1"}) {
    EXPECT_FALSE(parse(R"({"build_request_id":"b-1","job_graph_event":{"job_graph":{"label":)"
                       R"("g","nodes":[{"job":{"label":"//x"},"config":{"env":)" +
                       std::string(env) + "}}]}}}")
                     .ok())
        << env;
  }

  // A null in the list is no value of it (protobuf's parser would drop it without a word).
  auto null_item =
      parse(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
            R"("BUILD_REQUEST_RECEIVED","requested_partitions":[{"str":"p/1"},null]}})");
  ASSERT_FALSE(null_item.ok());
  EXPECT_EQ(null_item.error().message,
            "invalid JSON for BuildEvent: field build_request_event.requested_partitions[1]: null "
            "in the array of a repeated field (a list holds no nulls)");
  EXPECT_FALSE(parse(R"({"build_request_id":"b-1","job_event":{"job_run_id":"r","job_label":)"
                     R"({"label":"//j"},"status_code":"JOB_SCHEDULED","config":{"args":[null]}}})")
                   .ok());

  // null is the field's default, an empty list, as proto3 JSON says.
  BuildEvent event;
  ASSERT_TRUE(from_json(R"({"build_request_id":"b-1","build_request_event":{"status_code":)"
                        R"("BUILD_REQUEST_RECEIVED","requested_partitions":null}})",
                        &event)
                  .ok());
  EXPECT_EQ(event.build_request_event().requested_partitions_size(), 0);
}

// protobuf's parser also takes what is not JSON: single-quoted strings, unquoted keys, an unknown
// escape. Refused, also where the checks above would not see through it (a single-quoted '"'
// hides the brackets after it from the byte scan).
TEST(JsonInput, TextThatIsNotJsonIsRefusedNamingTheByte) {
  const std::string deep =
      "{'build_request_id':'b-1','job_event':{'job_run_id':'r','job_label':"
      "{'label':'//j'},'status_code':'JOB_SCHEDULED','message':'\"',"
      "'config':{'args':" +
      std::string(1000, '[') + std::string(1000, ']') + "}}}";
  const std::pair<std::string, std::string> cases[] = {
      {deep,
       "not JSON at byte 2: syntax error while parsing object key - invalid literal; last "
       "read: '{''; expected string literal"},
      {R"({build_request_id:"b-1","build_cancel_event":{}})",
       "not JSON at byte 2: syntax error while parsing object key - invalid literal; last read: "
       "'{b'; expected string literal"},
      {R"({"build_request_id":"b\x31","build_cancel_event":{}})",
       "not JSON at byte 24: syntax error while parsing value - invalid string: forbidden "
       "character after backslash; last read: '\"b\\x5cx'"},
      {R"({"build_request_id":"b-1","build_cancel_event":{},})",
       "not JSON at byte 51: syntax error while parsing object key - unexpected '}'; expected "
       "string literal"},
  };
  for (const auto& [text, why] : cases) {
    auto refused = parse(text);
    ASSERT_FALSE(refused.ok()) << text.substr(0, 80);
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_event);
    EXPECT_EQ(refused.error().message, "invalid JSON for BuildEvent: " + why);
  }
}

TEST(JsonInput, AControlCharacterInsideAStringMustBeEscaped) {
  const std::string head =
      R"({"build_request_id":"b-1","job_event":{"job_run_id":"r","job_label":{"label":"//j"},)"
      R"("status_code":"JOB_SCHEDULED","message":")";
  for (const char c : {'\0', '\x01', '\t', '\n', '\x1f'}) {
    const std::string json = head + "a" + std::string(1, c) + "b\"}}";
    auto raw = parse(json);
    ASSERT_FALSE(raw.ok()) << int(c);
    EXPECT_EQ(raw.error().message,
              fmt::format("invalid JSON for BuildEvent: a control character (U+{:04X}) inside a "
                          "string at byte {}: JSON requires it escaped (a backslash, then "
                          "u{:04x})",
                          int(c), head.size() + 2, int(c)));
  }
  // Escaped, it is the character; between tokens, whitespace is whitespace.
  BuildEvent event;
  ASSERT_TRUE(from_json("{\t\"build_request_id\":\"b-1\",\r\n\"job_event\":{\"job_run_id\":\"r\","
                        "\"job_label\":{\"label\":\"//j\"},\"status_code\":\"JOB_SCHEDULED\","
                        "\"message\":\"a\\u0001\\tb\"}}",
                        &event)
                  .ok());
  EXPECT_EQ(event.job_event().message(), std::string("a\x01\tb"));
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

TEST(JsonOutput, AnErrorIsItsCodeThenItsMessageEscaped) {
  EXPECT_EQ(error_json(make_error(ErrorCode::not_found, "no build \"b\\1\"\n\xff\xc3\xa9")),
            "{\"code\":\"not_found\",\"message\":\"no build \\\"b\\\\1\\\"\\n\\\\xff\xc3\xa9\"}");
  EXPECT_EQ(json_string(std::string("a\0b", 3)), "\"a\\u0000b\"");
}

}  // namespace
}  // namespace bel
