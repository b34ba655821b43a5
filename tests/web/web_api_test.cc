// The web API (actors/web/web_api.h) against a coordinator on memory://: each endpoint's JSON is
// the repositories' answer, errors carry their SPEC section 7 code and the status of the table in
// docs/web.md, bad path parts and parameters are 400, and nothing is answered without the token.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "actors/client/activity_repository.h"
#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/jobs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/web/web_request.h"
#include "messages/json.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

using actors::web::encode_path_part;
using namespace bel::v1;

class WebApiTest : public WebFixture {
 protected:
  // GETs `path` (with ?min_idx= the seeded idx appended) and expects 200 with `expected` as JSON.
  void expect_json(const std::string& path, const google::protobuf::Message& expected,
                   int64_t as_of) {
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    auto res = get(path + sep + "min_idx=" + std::to_string(seeded_idx_));
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    // Equal as messages: JSON prints map entries in no particular order.
    std::unique_ptr<google::protobuf::Message> got(expected.New());
    ASSERT_TRUE(from_json(res->body, got.get()).ok()) << path << ": " << res->body;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got, expected))
        << path << "\n got " << res->body << "\n want " << to_json(expected);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    EXPECT_EQ(res->get_header_value("Bel-As-Of-Idx"), std::to_string(as_of)) << path;
  }
  void expect_error(const httplib::Result& res, int status, const std::string& code,
                    const std::string& what) {
    ASSERT_TRUE(res) << what;
    EXPECT_EQ(res->status, status) << what << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Bel-Error"), code) << what;
    // Code first, as web.md shows it, for whoever reads the body by eye or with a prefix match.
    EXPECT_EQ(res->body.rfind("{\"code\":\"" + code + "\",\"message\":\"", 0), 0u) << res->body;
  }
};

template <class T>
T value(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : T{};
}

TEST_F(WebApiTest, EveryReadEndpointAnswersTheRepositoriesJson) {
  const int64_t at = seeded_idx_;
  actors::ActivityRepository activity(*client_);
  actors::BuildsRepository builds(*client_);
  actors::PartitionsRepository partitions(*client_);
  actors::JobsRepository jobs(*client_);
  actors::JobRunsRepository runs(*client_);
  auto a = value(activity.activity(at));
  expect_json("/api/v1/activity", a, a.as_of_idx());
  BuildsListRequest bq;
  bq.add_status_filter(BUILD_REQUEST_FAILED);
  bq.add_status_filter(BUILD_REQUEST_COMPLETED);
  bq.set_limit(1);
  auto bl = value(builds.list(bq, at));
  expect_json("/api/v1/builds?status=failed,completed&limit=1", bl, bl.as_of_idx());
  auto b = value(builds.show("br-fail", at));
  expect_json("/api/v1/builds/" + encode_path_part("br-fail"), b, b.as_of_idx());
  PartitionsListRequest pq;
  pq.set_pattern("data/*");
  pq.add_status_filter(PARTITION_AVAILABLE);
  auto pl = value(partitions.list(pq, at));
  ASSERT_EQ(pl.partitions_size(), 1);
  expect_json("/api/v1/partitions?pattern=data/*&status=available", pl, pl.as_of_idx());
  auto ps = value(partitions.status("data/a", at));
  expect_json("/api/v1/partitions/" + encode_path_part("data/a"), ps, ps.as_of_idx());
  auto ab = value(partitions.active_builds("data/b", at));
  expect_json("/api/v1/partitions/" + encode_path_part("data/b") + "/active-builds", ab,
              ab.as_of_idx());
  auto pe = value(partitions.events("data/a", 2, 3, at));
  expect_json("/api/v1/partitions/" + encode_path_part("data/a") + "/events?since=2&limit=3", pe,
              at);
  auto be = value(builds.events("br-ok", 0, 0, at));
  expect_json("/api/v1/builds/" + encode_path_part("br-ok") + "/events", be, at);
  auto jl = value(jobs.list(at));
  expect_json("/api/v1/jobs", jl, jl.as_of_idx());
  auto jm = value(jobs.metrics("//pkg:job", at));
  expect_json("/api/v1/jobs/" + encode_path_part("//pkg:job"), jm, jm.as_of_idx());
  JobRunsListRequest rq;
  rq.set_job_label("//pkg:other");
  rq.add_status_filter(JOB_COMPLETED);
  rq.set_build_request_id("br-ok");
  auto rl = value(runs.list(rq, at));
  ASSERT_EQ(rl.job_runs_size(), 1);
  expect_json("/api/v1/job-runs?job_label=//pkg:other&status=completed&build_request_id=br-ok",
              rl, rl.as_of_idx());
  auto r = value(runs.show("jr-1", at));
  expect_json("/api/v1/job-runs/" + encode_path_part("jr-1"), r, r.as_of_idx());
}

TEST_F(WebApiTest, EventsTakeEverySpec32Filter) {
  ListEventsRequest q;
  q.set_since_idx(1);
  q.set_limit(5);
  auto* f = q.mutable_filter();
  f->add_partition_refs("data/a");
  f->add_partition_patterns("data/b*");
  f->add_job_labels("//pkg:job");
  f->add_job_labels("//pkg:other");
  f->add_job_run_ids("jr-1");
  f->add_job_run_ids("jr-2");
  f->add_build_request_ids("br-fail");
  f->add_build_request_ids("br-ok");
  f->add_event_types("job_event");
  auto page = value(client_->list_events(q));
  ASSERT_GT(page.events_size(), 0);
  expect_json(
      "/api/v1/events?since=1&limit=5&partition_refs=data/a&partition_patterns=data/b*"
      "&job_labels=//pkg:job&job_labels=//pkg:other&job_run_ids=jr-1&job_run_ids=jr-2"
      "&build_request_ids=br-fail&build_request_ids=br-ok&event_types=job_event",
      page, seeded_idx_);
}

// event_types reads names as the console's --type does: any case, with or without "_event".
TEST_F(WebApiTest, EventTypesAreReadInAnyCaseAndShortForm) {
  ListEventsRequest q;
  q.set_limit(1000);
  q.mutable_filter()->add_event_types("job_event");
  q.mutable_filter()->add_event_types("partition_event");
  auto page = value(client_->list_events(q));
  ASSERT_GT(page.events_size(), 0);
  for (const char* types : {"job_event,partition_event", "Job,PARTITION", "JOB_EVENT,partition",
                            "job&event_types=Partition_Event"}) {
    expect_json(std::string("/api/v1/events?limit=1000&event_types=") + types, page, seeded_idx_);
  }
  expect_error(get("/api/v1/events?event_types=jobs"), 400, "invalid_argument", "jobs");
}

// An empty filter value (a script's unset variable) is refused, naming the parameter, rather
// than read as no filter: the whole log is never the answer to "events of ''".
TEST_F(WebApiTest, AnEmptyFilterValueIsRefusedNamingItsParameter) {
  for (const std::string name : {"partition_refs", "partition_patterns", "job_labels",
                                 "job_run_ids", "build_request_ids", "event_types"}) {
    auto res = get("/api/v1/events?" + name + "=");
    expect_error(res, 400, "invalid_argument", name);
    EXPECT_NE(res->body.find("query parameter " + name + "=: is empty"), std::string::npos)
        << res->body;
    expect_error(get("/api/v1/events?" + name + "=x&" + name + "="), 400, "invalid_argument",
                 name + " twice");
  }
  expect_error(get("/api/v1/events?event_types=,"), 400, "invalid_argument", "event_types=,");
  // The lists' filters alike: an empty one is refused, not read as "every row".
  for (const char* query :
       {"/api/v1/job-runs?build_request_id=", "/api/v1/job-runs?job_label=",
        "/api/v1/partitions?pattern=", "/api/v1/job-runs?status=", "/api/v1/partitions?status=",
        "/api/v1/builds?status=", "/api/v1/builds?status=,"}) {
    auto res = get(query);
    expect_error(res, 400, "invalid_argument", query);
    EXPECT_NE(res->body.find("leave the parameter out to not filter by it"), std::string::npos)
        << query << ": " << res->body;
  }
  auto listed = get("/api/v1/job-runs?build_request_id=br-ok&status=completed,");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200) << listed->body;
}

TEST_F(WebApiTest, RefsAndIdsInAQueryAreTakenWholeWithTheirEqualsSignsAndCommas) {
  const int64_t idx = append({request_event("br-eq", v1::BUILD_REQUEST_RECEIVED, {"z/d=1,2"})});
  // A ref is taken whole, commas included (written as they are or as %2C); '=' in a value is
  // the value's.
  ListEventsRequest q;
  q.mutable_filter()->add_partition_refs("z/d=1,2");
  auto page = value(client_->list_events(q));
  ASSERT_EQ(page.events_size(), 1);
  auto res = get("/api/v1/events?partition_refs=z/d=1%2C2&min_idx=" + std::to_string(idx));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EventPage got;
  ASSERT_TRUE(from_json(res->body, &got).ok()) << res->body;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, page)) << res->body;
  res = get("/api/v1/events?partition_refs=z/d=1,2&min_idx=" + std::to_string(idx));
  ASSERT_TRUE(res);
  ASSERT_TRUE(from_json(res->body, &got).ok()) << res->body;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, page)) << res->body;

  auto invalidated =
      post("/api/v1/partitions/" + encode_path_part("data/b") + "/invalidate?reason=rows=0");
  ASSERT_TRUE(invalidated);
  ASSERT_EQ(invalidated->status, 200) << invalidated->body;
  AppendAck ack;
  ASSERT_TRUE(from_json(invalidated->body, &ack).ok());
  auto status = actors::PartitionsRepository(*client_).status("data/b", ack.idx());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->message(), "rows=0");

  // A number of 19 digits is read whole; one past int64 is out of range, not malformed.
  res = get("/api/v1/events?since=1000000000000000000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = get("/api/v1/events?since=9223372036854775808");
  expect_error(res, 400, "invalid_argument", "since past int64");
  EXPECT_NE(res->body.find("out of range"), std::string::npos) << res->body;
}

TEST_F(WebApiTest, AMinIdxBeyondTheLogIsATimeoutOnEveryRoute) {
  const std::string beyond = "min_idx=" + std::to_string(seeded_idx_ + 1000);
  for (const std::string& path :
       {"/api/v1/events?" + beyond,
        "/api/v1/builds/" + encode_path_part("br-ok") + "/events?" + beyond,
        "/api/v1/partitions/" + encode_path_part("data/a") + "/events?" + beyond,
        "/api/v1/activity?" + beyond}) {
    auto res = get(path);
    expect_error(res, 504, "timeout", path);
    EXPECT_NE(res->body.find("beyond the last committed idx"), std::string::npos) << res->body;
  }
  // Up to the last committed idx, an event page reflects it.
  auto res = get("/api/v1/events?min_idx=" + std::to_string(seeded_idx_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(WebApiTest, BadPathPartsAndParametersAre400WithTheCode) {
  const std::vector<std::string> bad = {
      "/api/v1/builds/br+fail",       // '+' is not base64url
      "/api/v1/builds/YnItZmFpbA==",  // padding
      "/api/v1/partitions/a",         // a length no encoding has
      "/api/v1/builds?limit=abc",
      "/api/v1/builds?limit=100000",
      "/api/v1/builds?status=bogus",
      "/api/v1/partitions?status=failed&status=nope",
      "/api/v1/job-runs?status=building",  // a partition status, not a job status
      "/api/v1/events?event_types=bogus_event",
      "/api/v1/events?since=-1",
      "/api/v1/activity?min_idx=-1",
      "/api/v1/activity?colour=red",  // unknown parameter
      "/api/v1/builds?offset=1&offset=2",
      "/api/v1/builds/nope",       // plain ids whose letters are base64url's decode to bytes
      "/api/v1/job-runs/jr-nope",  // that are not UTF-8, or hold control characters
      "/api/v1/job-runs?job_label=%2F%2Fx%FF",  // a filter no event's key could match
      "/api/v1/job-runs?build_request_id=br-%C0",
  };
  for (const auto& path : bad) expect_error(get(path), 400, "invalid_argument", path);
  auto plain = get("/api/v1/builds/br-6baec0-000004");
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->body.find("build request id 'br-6baec0-000004' in the path: decodes to bytes "
                             "that no build request id holds: a path part is the base64url"),
            std::string::npos)
      << plain->body;
  auto never = get("/api/v1/builds/" + encode_path_part("br-never"));
  expect_error(never, 404, "not_found", "build");
  EXPECT_NE(
      never->body.find("'br-never' (the path's '" + encode_path_part("br-never") + "', base64url)"),
      std::string::npos)
      << never->body;
  expect_error(get("/api/v1/job-runs/" + encode_path_part("jr-never")), 404, "not_found", "run");
  expect_error(get("/api/v1/jobs/" + encode_path_part("//never")), 404, "not_found", "job");
  expect_error(get("/api/v1/nothing-here"), 404, "not_found", "route");
  // A message keeps what it quotes, bytes that are not UTF-8 written \xNN (JSON holds UTF-8).
  auto odd = get("/api/v1/builds/%FF");
  expect_error(odd, 400, "invalid_argument", "a path part of a byte that is not UTF-8");
  EXPECT_NE(odd->body.find("'\\\\xff'"), std::string::npos) << odd->body;
  // A write takes no body: its arguments are query parameters.
  auto with_body =
      http(true).Post("/api/v1/builds/" + encode_path_part("br-deleg") + "/cancel?reason=x",
                      "{\"reason\": \"y\"}", "application/json");
  expect_error(with_body, 400, "invalid_argument", "a body");
  EXPECT_NE(with_body->body.find("a body is not accepted"), std::string::npos) << with_body->body;
  // A '%' that starts no escape is refused, naming the parameter, not stored as typed.
  for (const std::string reason : {"%", "100%", "%G1", "%4"}) {
    auto cancel = http(true).Post(
        "/api/v1/builds/" + encode_path_part("br-deleg") + "/cancel?reason=" + reason, "",
        "text/plain");
    expect_error(cancel, 400, "invalid_argument", reason);
    EXPECT_NE(cancel->body.find("query parameter 'reason': '%' not followed by two hex digits"),
              std::string::npos)
        << cancel->body;
  }
  auto escaped = get("/api/v1/partitions?pattern=a%25b");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->status, 200) << escaped->body;
}

TEST_F(WebApiTest, EveryEndpointRefusesARequestWithoutTheToken) {
  const std::string b = encode_path_part("br-ok");
  const std::vector<std::string> gets = {
      "/", "/builds", "/builds/" + b, "/partitions", "/partitions/" + encode_path_part("data/a"),
      "/jobs", "/jobs/" + encode_path_part("//pkg:job"), "/search?q=br-ok", "/metrics",
      "/api/v1/activity", "/api/v1/builds", "/api/v1/builds/" + b,
      "/api/v1/builds/" + b + "/events", "/api/v1/partitions",
      "/api/v1/partitions/" + encode_path_part("data/a"),
      "/api/v1/partitions/" + encode_path_part("data/a") + "/events",
      "/api/v1/partitions/" + encode_path_part("data/a") + "/active-builds", "/api/v1/jobs",
      "/api/v1/jobs/" + encode_path_part("//pkg:job"), "/api/v1/job-runs",
      "/api/v1/job-runs/" + encode_path_part("jr-1"), "/api/v1/events",
      "/api/v1/events/stream"};
  const std::vector<std::string> posts = {
      "/api/v1/builds/" + encode_path_part("br-deleg") + "/cancel?reason=x",
      "/api/v1/job-runs/" + encode_path_part("jr-1") + "/cancel?reason=x",
      "/api/v1/partitions/" + encode_path_part("data/b") + "/invalidate?reason=x",
      "/api/v1/sign-in"};
  for (bool wrong : {false, true}) {
    auto client = http(false);
    if (wrong) client.set_bearer_token_auth("not-the-token");
    for (const auto& path : gets) expect_error(client.Get(path), 401, "unauthorized", path);
    for (const auto& path : posts) {
      expect_error(client.Post(path, "", "text/plain"), 401, "unauthorized", path);
    }
  }
  // Nothing was written by the refused writes.
  auto stats = client_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->last_idx(), seeded_idx_);
}

TEST_F(WebApiTest, WritesAppendWithTheTokenAndAreReadBackWithMinIdx) {
  auto res = post("/api/v1/builds/" + encode_path_part("br-deleg") + "/cancel?reason=superseded");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  AppendAck ack;
  ASSERT_TRUE(from_json(res->body, &ack).ok()) << res->body;
  EXPECT_EQ(ack.idx(), seeded_idx_ + 1);
  EXPECT_EQ(res->get_header_value("Bel-As-Of-Idx"), std::to_string(ack.idx()));
  // A new write says it is not a duplicate, in so many words.
  EXPECT_NE(res->body.find("\"duplicate\":false"), std::string::npos) << res->body;
  auto shown = get("/api/v1/builds/" + encode_path_part("br-deleg") +
                   "?min_idx=" + std::to_string(ack.idx()));
  ASSERT_TRUE(shown);
  EXPECT_NE(shown->body.find("BUILD_REQUEST_CANCELLED"), std::string::npos) << shown->body;
  EXPECT_NE(shown->body.find("superseded"), std::string::npos);

  expect_error(post("/api/v1/builds/" + encode_path_part("br-ok") + "/cancel?reason=late"), 409,
               "invalid_transition", "cancel a completed build");
  expect_error(post("/api/v1/builds/" + encode_path_part("br-deleg") + "/cancel"), 400,
               "invalid_argument", "no reason");
  expect_error(post("/api/v1/job-runs/" + encode_path_part("jr-never") + "/cancel?reason=x"),
               404, "not_found", "unknown run");

  auto invalidated = post("/api/v1/partitions/" + encode_path_part("data/b") +
                          "/invalidate?reason=bad%20upstream");
  ASSERT_TRUE(invalidated);
  ASSERT_EQ(invalidated->status, 200) << invalidated->body;
  ASSERT_TRUE(from_json(invalidated->body, &ack).ok());
  auto status = actors::PartitionsRepository(*client_).status("data/b", ack.idx());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status_code(), PARTITION_INVALIDATED);
  EXPECT_EQ(status->message(), "bad upstream");
  EXPECT_EQ(status->build_request_id(), actors::operator_id("web"));

  // On behalf of a build: one the log has received, or an operator named as such; a typo is
  // refused and changes nothing.
  auto typo = post("/api/v1/partitions/" + encode_path_part("data/b") +
                   "/invalidate?reason=x&build_request_id=br-typo");
  expect_error(typo, 404, "not_found", "unknown build");
  auto empty = post("/api/v1/partitions/" + encode_path_part("data/b") +
                    "/invalidate?reason=x&build_request_id=");
  expect_error(empty, 400, "invalid_argument", "empty build");
  EXPECT_NE(empty->body.find("leave the parameter out for the operator's own invalidation"),
            std::string::npos)
      << empty->body;
  // The message is about the parameter; the partition in the path exists.
  EXPECT_NE(typo->body.find("\"message\":\"query parameter 'build_request_id': build request "
                            "br-typo not found"),
            std::string::npos)
      << typo->body;
  auto named = post("/api/v1/partitions/" + encode_path_part("data/b") +
                    "/invalidate?reason=again&build_request_id=operator%3Aann");
  ASSERT_TRUE(named);
  ASSERT_EQ(named->status, 200) << named->body;
  AppendAck named_ack;
  ASSERT_TRUE(from_json(named->body, &named_ack).ok());
  EXPECT_EQ(named_ack.idx(), ack.idx() + 1);  // the refused one appended nothing
  status = actors::PartitionsRepository(*client_).status("data/b", named_ack.idx());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->build_request_id(), "operator:ann");
}

TEST_F(WebApiTest, AWriteRetriedWithItsEventIdIsAcknowledgedAsADuplicate) {
  const std::string path = "/api/v1/partitions/" + encode_path_part("data/b") +
                           "/invalidate?reason=stale&event_id=web-retry-1";
  auto first = post(path);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  AppendAck first_ack;
  ASSERT_TRUE(from_json(first->body, &first_ack).ok()) << first->body;
  EXPECT_FALSE(first_ack.duplicate());
  EXPECT_NE(first->body.find("\"duplicate\":false"), std::string::npos) << first->body;

  auto again = post(path);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200) << again->body;
  AppendAck again_ack;
  ASSERT_TRUE(from_json(again->body, &again_ack).ok()) << again->body;
  EXPECT_TRUE(again_ack.duplicate());
  EXPECT_EQ(again_ack.idx(), first_ack.idx());
  EXPECT_EQ(again_ack.event_id(), "web-retry-1");
  auto stats = client_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->last_idx(), first_ack.idx());  // stored once
}

TEST_F(WebApiTest, PathPartsRoundTripThroughBase64Url) {
  for (const std::string raw : {"a", "ab", "abc", "//pkg:job", "data/x?y=1&z",
                                "donn\xc3\xa9"
                                "es/\xf0\x9f\x93\x88"}) {
    auto decoded = actors::web::decode_path_part(encode_path_part(raw), "part");
    ASSERT_TRUE(decoded.ok()) << raw;
    EXPECT_EQ(*decoded, raw);
    EXPECT_EQ(encode_path_part(raw).find_first_of("+/="), std::string::npos);
  }
  // No id, ref or label holds bytes that are not UTF-8, or control characters.
  for (const std::string raw : {"\xff\xfe", "a\tb", "data/\x7f"}) {
    auto decoded = actors::web::decode_path_part(encode_path_part(raw), "part");
    ASSERT_FALSE(decoded.ok()) << raw;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_argument);
  }
}

}  // namespace
}  // namespace bel::testing
