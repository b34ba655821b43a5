// The client tier against a real coordinator on memory://: ApiClient's calls and error mapping
// (including timeouts, against a BelApi actor that never answers), the event builders, and each
// repository's reads and writes with read-your-writes.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "actors/client/activity_repository.h"
#include "actors/client/api_client.h"
#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/jobs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/coordinator.h"
#include "tests/support/events.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"
#include "tests/support/silent_api.h"

namespace bel::actors {
namespace {

using google::protobuf::util::MessageDifferencer;
using std::chrono::milliseconds;

BelApi::behavior_type silent_api() { return bel::testing::silent_api({}); }

using bel::testing::contains;

// Expects `result` to have failed with `code` and a message containing `part`.
template <class T>
void expect_error(const Result<T>& result, ErrorCode code, const std::string& part) {
  ASSERT_FALSE(result.ok()) << "expected " << to_string(code) << " containing \"" << part << "\"";
  EXPECT_EQ(result.error().code, code) << result.error().to_string();
  EXPECT_TRUE(contains(result.error().message, part))
      << result.error().to_string() << " does not name \"" << part << "\"";
}

std::vector<int64_t> idxs(const std::vector<BuildEvent>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.idx());
  return out;
}

// Every event of partition `ref`, paging list_events with small pages.
std::vector<BuildEvent> all_events_of(PartitionsRepository& partitions, const std::string& ref) {
  std::vector<BuildEvent> out;
  int64_t since = 0;
  for (;;) {
    auto page = partitions.events(ref, since, 7);
    EXPECT_TRUE(page.ok()) << page.error().to_string();
    if (!page.ok()) return out;
    out.insert(out.end(), page->events().begin(), page->events().end());
    if (!page->has_more()) return out;
    since = page->next_idx();
  }
}

// A coordinator on memory://, an ApiClient on it, and every repository.
class RepositoriesTest : public ::testing::Test {
 protected:
  RepositoriesTest() : system_(configure_actor_system(config_)) {}

  void SetUp() override {
    auto api = start_coordinator(system_, "memory://");
    ASSERT_TRUE(api.ok()) << api.error().to_string();
    api_ = *api;
    client_ = std::make_unique<ApiClient>(system_, api_);
    partitions_ = std::make_unique<PartitionsRepository>(*client_);
    builds_ = std::make_unique<BuildsRepository>(*client_);
    job_runs_ = std::make_unique<JobRunsRepository>(*client_);
    jobs_ = std::make_unique<JobsRepository>(*client_);
    activity_ = std::make_unique<ActivityRepository>(*client_);
  }

  void TearDown() override {
    if (api_) stop_coordinator(api_);
  }

  // Appends `events` as one batch; returns the idx of the last (0 on failure, which fails the
  // test).
  int64_t append(std::vector<BuildEvent> events) {
    auto acks = client_->append(std::move(events));
    EXPECT_TRUE(acks.ok()) << acks.error().to_string();
    if (!acks.ok() || acks->empty()) return 0;
    return acks->back().idx();
  }

  // br-1 requests data/a; job run jr-1 of //jobs:a is scheduled to build it. Returns the last idx.
  int64_t append_open_build() {
    return append({testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"}),
                   testing::partition_event("br-1", "data/a", v1::PARTITION_REQUESTED),
                   testing::job_event("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"}),
                   testing::partition_event("br-1", "data/a", v1::PARTITION_SCHEDULED, "jr-1")});
  }

  int64_t last_idx() {
    auto stats = client_->stats();
    EXPECT_TRUE(stats.ok()) << stats.error().to_string();
    return stats.ok() ? stats->last_idx() : -1;
  }

  caf::actor_system_config config_;
  caf::actor_system system_;
  BelApi api_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<PartitionsRepository> partitions_;
  std::unique_ptr<BuildsRepository> builds_;
  std::unique_ptr<JobRunsRepository> job_runs_;
  std::unique_ptr<JobsRepository> jobs_;
  std::unique_ptr<ActivityRepository> activity_;
};

// ---- ApiClient ---------------------------------------------------------------------------------

TEST_F(RepositoriesTest, ApiClientAppendBatchAcksEachEventInOrder) {
  auto acks = client_->append({testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED),
                               testing::request_event("br-2", v1::BUILD_REQUEST_RECEIVED),
                               testing::request_event("br-1", v1::BUILD_REQUEST_PLANNING)});
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  ASSERT_EQ(acks->size(), 3u);
  for (size_t i = 0; i < acks->size(); ++i) {
    EXPECT_EQ((*acks)[i].idx(), static_cast<int64_t>(i) + 1);
    EXPECT_FALSE((*acks)[i].event_id().empty());  // the log assigned one
    EXPECT_FALSE((*acks)[i].duplicate());
  }
  auto one = client_->append(testing::request_event("br-2", v1::BUILD_REQUEST_PLANNING));
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(one->idx(), 4);
  EXPECT_EQ(last_idx(), 4);
}

TEST_F(RepositoriesTest, ApiClientRejectedBatchStoresNothingAndPassesTheLogsError) {
  append_open_build();
  const int64_t before = last_idx();
  // The second event skips RECEIVED: the whole batch is refused.
  auto acks = client_->append({testing::request_event("br-2", v1::BUILD_REQUEST_RECEIVED),
                               testing::request_event("br-3", v1::BUILD_REQUEST_EXECUTING)});
  expect_error(acks, ErrorCode::invalid_transition, "append #2");
  EXPECT_EQ(last_idx(), before);
  // One event is no batch: its error names no position in one.
  auto one = client_->append(testing::request_event("br-4", v1::BUILD_REQUEST_EXECUTING));
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().code, ErrorCode::invalid_transition);
  EXPECT_EQ(one.error().message.find("append #"), std::string::npos) << one.error().message;
  EXPECT_NE(one.error().message.find("br-4"), std::string::npos) << one.error().message;
  // A batch of no events is a mistake of the caller's, refused as such, as the header says.
  expect_error(client_->append(std::vector<BuildEvent>{}), ErrorCode::invalid_argument,
               "the batch has no events");
  EXPECT_EQ(last_idx(), before);
}

TEST_F(RepositoriesTest, ApiClientQueryAndFallbackGiveTheSameAnswer) {
  const int64_t idx = append_open_build();
  Query q;
  q.set_min_idx(idx);
  q.mutable_build_summary()->set_build_request_id("br-1");
  auto from_view = client_->query(q);
  auto from_scan = client_->fallback(q);
  ASSERT_TRUE(from_view.ok()) << from_view.error().to_string();
  ASSERT_TRUE(from_scan.ok()) << from_scan.error().to_string();
  ASSERT_TRUE(from_view->has_build_summary());
  EXPECT_EQ(from_view->build_summary().as_of_idx(), idx);
  EXPECT_TRUE(MessageDifferencer::Equals(*from_view, *from_scan))
      << from_view->DebugString() << "\n---\n"
      << from_scan->DebugString();
}

TEST_F(RepositoriesTest, ApiClientViewsStatusStatsAndRebuild) {
  const int64_t idx = append_open_build();
  auto views = client_->views_status();
  ASSERT_TRUE(views.ok()) << views.error().to_string();
  EXPECT_EQ(views->last_idx(), idx);
  EXPECT_EQ(views->views_size(), 4);
  auto stats = client_->stats();
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  EXPECT_EQ(stats->events_appended(), idx);
  auto rebuilt = client_->rebuild("partition_status");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
  for (const auto& v : rebuilt->views()) {
    if (v.view() == "partition_status") {
      EXPECT_EQ(v.applied_idx(), idx);
    }
  }
  expect_error(client_->rebuild("no_such_view"), ErrorCode::not_found, "no_such_view");
  expect_error(client_->rebuild("", milliseconds(0)), ErrorCode::invalid_argument, "timeout");
}

TEST_F(RepositoriesTest, ApiClientChecksQueriesAndPagesBeforeAsking) {
  // The silent actor would make any request time out: these fail at once, as invalid_argument.
  ApiClient silent(system_, system_.spawn(silent_api), milliseconds(60 * 1000));
  Query no_field;
  expect_error(silent.query(no_field), ErrorCode::invalid_argument, "");
  Query empty_ref;
  empty_ref.mutable_partition_status();
  expect_error(silent.query(empty_ref), ErrorCode::invalid_argument, "partition_ref");
  expect_error(silent.fallback(empty_ref), ErrorCode::invalid_argument, "partition_ref");
  Query negative;
  negative.set_min_idx(-1);
  negative.mutable_activity();
  expect_error(silent.query(negative), ErrorCode::invalid_argument, "min_idx");
  ListEventsRequest bad_since;
  bad_since.set_since_idx(-5);
  expect_error(silent.list_events(bad_since), ErrorCode::invalid_argument, "since_idx");
  ListEventsRequest bad_limit;
  for (int limit : {-1, 10001}) {  // the message gives 0 its meaning, as the header does
    bad_limit.set_limit(limit);
    expect_error(silent.list_events(bad_limit), ErrorCode::invalid_argument,
                 "list_events: limit " + std::to_string(limit) +
                     " is out of range (1..10000, or 0 for the default 1000)");
    bad_limit.set_order(v1::EVENT_ORDER_DESCENDING);
  }
  caf::anon_send_exit(silent.api(), caf::exit_reason::user_shutdown);
}

TEST_F(RepositoriesTest, ApiClientTimeoutIsTimeoutNamingTheCall) {
  auto never = system_.spawn(silent_api);
  ApiClient silent(system_, never, milliseconds(50));
  Query q;
  q.mutable_partition_status()->set_partition_ref("data/a");
  expect_error(silent.query(q), ErrorCode::timeout, "query partition_status(data/a)");
  expect_error(silent.query(q), ErrorCode::timeout, "50 ms");
  expect_error(silent.fallback(q), ErrorCode::timeout, "fallback");
  expect_error(silent.append(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED)),
               ErrorCode::timeout, "append");
  expect_error(silent.append(std::vector<BuildEvent>{
                   testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED)}),
               ErrorCode::timeout, "append batch of 1");
  expect_error(silent.list_events(ListEventsRequest{}), ErrorCode::timeout, "list_events");
  expect_error(silent.views_status(), ErrorCode::timeout, "views");
  expect_error(silent.stats(), ErrorCode::timeout, "stats");
  // rebuild waits its own timeout, not the client's.
  expect_error(silent.rebuild("activity", milliseconds(20)), ErrorCode::timeout, "20 ms");
  // A repository passes the timeout through.
  PartitionsRepository partitions(silent);
  expect_error(partitions.status("data/a"), ErrorCode::timeout, "data/a");
  caf::anon_send_exit(never, caf::exit_reason::user_shutdown);
}

TEST_F(RepositoriesTest, ApiClientOnAStoppedActorIsStorageUnavailable) {
  auto gone = system_.spawn(silent_api);
  {
    caf::scoped_actor self{system_};
    self->send_exit(gone, caf::exit_reason::kill);
    self->wait_for(gone);
  }
  ApiClient client(system_, gone, milliseconds(60 * 1000));
  expect_error(client.stats(), ErrorCode::storage_unavailable, "bel_api stats");
  ApiClient no_actor(system_, BelApi{});
  expect_error(no_actor.views_status(), ErrorCode::storage_unavailable, "no bel_api actor");
}

// ---- Event builders ----------------------------------------------------------------------------

TEST(RepositoryEventsTest, BuildersFillTheEventAndLeaveIdsToTheLog) {
  auto inv = make_partition_invalidation_event("data/a", "stale", "br-1");
  ASSERT_TRUE(inv.ok()) << inv.error().to_string();
  EXPECT_EQ(inv->build_request_id(), "br-1");
  EXPECT_EQ(inv->partition_invalidation_event().partition_ref().str(), "data/a");
  EXPECT_EQ(inv->partition_invalidation_event().reason(), "stale");
  EXPECT_EQ(inv->event_id(), "");
  EXPECT_EQ(inv->timestamp(), 0);
  EXPECT_EQ(inv->idx(), 0);

  auto build = make_build_cancel_event("br-1", "superseded", "ev-7");
  ASSERT_TRUE(build.ok()) << build.error().to_string();
  EXPECT_EQ(build->build_request_id(), "br-1");
  EXPECT_EQ(build->build_cancel_event().reason(), "superseded");
  EXPECT_EQ(build->event_id(), "ev-7");

  auto run = make_job_run_cancel_event("br-1", "jr-1", "worker lost");
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->build_request_id(), "br-1");
  EXPECT_EQ(run->job_run_cancel_event().job_run_id(), "jr-1");
  EXPECT_EQ(run->job_run_cancel_event().reason(), "worker lost");
}

TEST(RepositoryEventsTest, BuildersNameTheEmptyField) {
  expect_error(make_partition_invalidation_event("", "r", "b"), ErrorCode::invalid_argument,
               "partition_ref is empty");
  expect_error(make_partition_invalidation_event("p", "", "b"), ErrorCode::invalid_argument,
               "reason is empty");
  expect_error(make_partition_invalidation_event("p", "r", ""), ErrorCode::invalid_argument,
               "build_request_id is empty");
  expect_error(make_build_cancel_event("", "r"), ErrorCode::invalid_argument,
               "build_request_id is empty");
  expect_error(make_build_cancel_event("b", ""), ErrorCode::invalid_argument, "reason is empty");
  expect_error(make_job_run_cancel_event("", "j", "r"), ErrorCode::invalid_argument,
               "build_request_id is empty");
  expect_error(make_job_run_cancel_event("b", "", "r"), ErrorCode::invalid_argument,
               "job_run_id is empty");
  expect_error(make_job_run_cancel_event("b", "j", ""), ErrorCode::invalid_argument,
               "reason is empty");
}

// ---- PartitionsRepository ----------------------------------------------------------------------

TEST_F(RepositoriesTest, InvalidateMakesThePartitionInvalidatedWithTheReason) {
  append_open_build();
  auto ack = partitions_->invalidate("data/a", "bad upstream file", "br-1");
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  auto status = partitions_->status("data/a", ack->idx());
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(status->status_code(), v1::PARTITION_INVALIDATED);
  EXPECT_EQ(status->status_name(), "PARTITION_INVALIDATED");
  EXPECT_EQ(status->message(), "bad upstream file");
  EXPECT_EQ(status->last_idx(), ack->idx());
  EXPECT_GE(status->as_of_idx(), ack->idx());
  auto events = partitions_->events("data/a", ack->idx() - 1);
  ASSERT_TRUE(events.ok()) << events.error().to_string();
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).event_id(), ack->event_id());
  EXPECT_TRUE(events->events(0).has_partition_invalidation_event());
}

TEST_F(RepositoriesTest, InvalidateRetriedWithTheSameEventIdIsAcknowledgedOnce) {
  append_open_build();
  auto first = partitions_->invalidate("data/a", "stale", "br-1", "inv-1");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->event_id(), "inv-1");
  EXPECT_FALSE(first->duplicate());
  auto retry = partitions_->invalidate("data/a", "stale", "br-1", "inv-1");
  ASSERT_TRUE(retry.ok()) << retry.error().to_string();
  EXPECT_EQ(retry->idx(), first->idx());
  EXPECT_TRUE(retry->duplicate());
  EXPECT_EQ(last_idx(), first->idx());
  expect_error(partitions_->invalidate("data/a", "other reason", "br-1", "inv-1"),
               ErrorCode::duplicate_event_id, "inv-1");
}

// SPEC section 2: an id never received as a build request makes the invalidation an operator's.
TEST_F(RepositoriesTest, InvalidateByAnIdNeverReceivedIsAnOperatorAction) {
  append_open_build();
  const int64_t before = last_idx();
  auto ack = partitions_->invalidate("data/a", "stale", operator_id("alice"));
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  EXPECT_EQ(ack->idx(), before + 1);
  auto status = partitions_->status("data/a", ack->idx());
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(status->status_code(), v1::PARTITION_INVALIDATED);
  EXPECT_EQ(status->build_request_id(), "operator:alice");
  EXPECT_EQ(status->message(), "stale");
}

TEST_F(RepositoriesTest, PartitionReadsOfAnUnseenRefAreEmptyNotErrors) {
  append_open_build();
  auto detail = partitions_->show("data/never");
  ASSERT_TRUE(detail.ok()) << detail.error().to_string();
  EXPECT_EQ(detail->status.status_code(), v1::PARTITION_UNKNOWN);
  EXPECT_TRUE(detail->active_builds.empty());
  EXPECT_TRUE(detail->recent_events.empty());
  auto page = partitions_->events("data/never");
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->events_size(), 0);
  EXPECT_FALSE(page->has_more());
}

TEST_F(RepositoriesTest, ShowReturnsStatusActiveBuildsAndTheLastEventsAscending) {
  // Twelve build requests each request data/a (two events of data/a each), interleaved with
  // events of data/b that show() must leave out.
  std::vector<BuildEvent> events;
  for (int i = 0; i < 12; ++i) {
    const std::string br = "br-" + std::to_string(10 + i);
    events.push_back(testing::request_event(br, v1::BUILD_REQUEST_RECEIVED, {"data/a"}));
    events.push_back(testing::request_event(br + "-b", v1::BUILD_REQUEST_RECEIVED, {"data/b"}));
    events.push_back(testing::partition_event(br, "data/a", v1::PARTITION_REQUESTED));
  }
  const int64_t idx = append(std::move(events));

  auto detail = partitions_->show("data/a", 5, idx);
  ASSERT_TRUE(detail.ok()) << detail.error().to_string();
  EXPECT_EQ(detail->status.status_code(), v1::PARTITION_REQUESTED);
  EXPECT_EQ(detail->status.build_request_id(), "br-21");
  ASSERT_EQ(detail->active_builds.size(), 12u);
  EXPECT_TRUE(std::is_sorted(detail->active_builds.begin(), detail->active_builds.end()));
  EXPECT_EQ(detail->active_builds.front(), "br-10");

  auto all = all_events_of(*partitions_, "data/a");
  ASSERT_EQ(all.size(), 24u);
  std::vector<BuildEvent> tail(all.end() - 5, all.end());
  EXPECT_EQ(idxs(detail->recent_events), idxs(tail));
  EXPECT_EQ(detail->recent_events.back().idx(), idx);
  EXPECT_TRUE(std::is_sorted(detail->recent_events.begin(), detail->recent_events.end(),
                             [](const auto& a, const auto& b) { return a.idx() < b.idx(); }));

  auto everything = partitions_->show("data/a", 100, idx);
  ASSERT_TRUE(everything.ok()) << everything.error().to_string();
  EXPECT_EQ(idxs(everything->recent_events), idxs(all));
  auto none = partitions_->show("data/a", 0, idx);
  ASSERT_TRUE(none.ok()) << none.error().to_string();
  EXPECT_TRUE(none->recent_events.empty());
  EXPECT_EQ(none->active_builds.size(), 12u);
}

TEST_F(RepositoriesTest, ShowReadsTheNewestEventsOfALongHistory) {
  const int kBuilds = 1500;  // two events of data/a each, more than one default page
  std::vector<BuildEvent> events;
  for (int i = 0; i < kBuilds; ++i) {
    const std::string br = "br-" + std::to_string(100000 + i);
    events.push_back(testing::request_event(br, v1::BUILD_REQUEST_RECEIVED, {"data/a"}));
    events.push_back(testing::partition_event(br, "data/a", v1::PARTITION_REQUESTED));
  }
  const int64_t idx = append(std::move(events));
  ASSERT_EQ(idx, 2 * kBuilds);
  auto detail = partitions_->show("data/a", 3, idx);
  ASSERT_TRUE(detail.ok()) << detail.error().to_string();
  EXPECT_EQ(idxs(detail->recent_events), (std::vector<int64_t>{idx - 2, idx - 1, idx}));
  auto most = partitions_->show("data/a", PartitionsRepository::kMaxRecentEvents, idx);
  ASSERT_TRUE(most.ok()) << most.error().to_string();
  ASSERT_EQ(most->recent_events.size(), static_cast<size_t>(2 * kBuilds));  // all, ascending
  EXPECT_EQ(most->recent_events.front().idx(), 1);
  EXPECT_EQ(most->recent_events.back().idx(), idx);
}

TEST_F(RepositoriesTest, ShowMatchesTheEventsOfEachPartitionOfARandomStream) {
  testing::RandomStreamOptions options;
  options.num_events = 400;
  auto events = testing::random_stream(11, options);
  for (auto& e : events) e.set_idx(0);
  const int64_t idx = append(std::move(events));
  ASSERT_EQ(idx, 400);
  for (int n = 0; n < 4; ++n) {
    const std::string ref = testing::random_stream_partition(n);
    SCOPED_TRACE(ref);
    auto detail = partitions_->show(ref, 7, idx);
    ASSERT_TRUE(detail.ok()) << detail.error().to_string();
    auto all = all_events_of(*partitions_, ref);
    std::vector<BuildEvent> tail(all.end() - std::min<size_t>(7, all.size()), all.end());
    EXPECT_EQ(idxs(detail->recent_events), idxs(tail));
    Query q;
    q.set_min_idx(idx);
    q.mutable_partition_status()->set_partition_ref(ref);
    auto scanned = client_->fallback(q);
    ASSERT_TRUE(scanned.ok()) << scanned.error().to_string();
    EXPECT_TRUE(MessageDifferencer::Equals(detail->status, scanned->partition_status()))
        << detail->status.DebugString() << "\n---\n"
        << scanned->DebugString();
  }
}

TEST_F(RepositoriesTest, PartitionsListFiltersByPatternNewestFirst) {
  append({testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "logs/x"}),
          testing::partition_event("br-1", "data/a", v1::PARTITION_REQUESTED),
          testing::partition_event("br-1", "logs/x", v1::PARTITION_REQUESTED)});
  const int64_t idx =
      append({testing::request_event("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/b"}),
              testing::partition_event("br-2", "data/b", v1::PARTITION_REQUESTED)});
  PartitionsListRequest request;
  request.set_pattern("data/*");
  auto list = partitions_->list(request, idx);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->partitions_size(), 2);
  EXPECT_EQ(list->partitions(0).partition_ref(), "data/b");
  EXPECT_EQ(list->partitions(1).partition_ref(), "data/a");
  EXPECT_EQ(list->total_count(), 2);
  EXPECT_GE(list->as_of_idx(), idx);
}

TEST_F(RepositoriesTest, PartitionsRepositoryNamesTheBadArgument) {
  expect_error(partitions_->status(""), ErrorCode::invalid_argument, "partition_ref is empty");
  expect_error(partitions_->status("data/a", -1), ErrorCode::invalid_argument, "min_idx");
  expect_error(partitions_->active_builds(""), ErrorCode::invalid_argument, "partition_ref");
  expect_error(partitions_->events(""), ErrorCode::invalid_argument, "partition_ref");
  expect_error(partitions_->events("data/a", -1), ErrorCode::invalid_argument, "since_idx");
  expect_error(partitions_->events("data/a", 0, -1), ErrorCode::invalid_argument, "limit");
  expect_error(partitions_->events("data/a", 0, 10001), ErrorCode::invalid_argument, "limit");
  expect_error(partitions_->events("data/a", 0, 0, -1), ErrorCode::invalid_argument, "min_idx");
  expect_error(partitions_->show(""), ErrorCode::invalid_argument, "partition_ref");
  expect_error(partitions_->show("data/a", -1), ErrorCode::invalid_argument, "recent");
  expect_error(partitions_->show("data/a", PartitionsRepository::kMaxRecentEvents + 1),
               ErrorCode::invalid_argument, "recent");
  expect_error(partitions_->show("data/a", 20, -1), ErrorCode::invalid_argument, "min_idx");
  expect_error(partitions_->invalidate("", "r", "br-1"), ErrorCode::invalid_argument,
               "partition_ref");
  expect_error(partitions_->invalidate("data/a", "", "br-1"), ErrorCode::invalid_argument,
               "reason");
  expect_error(partitions_->invalidate("data/a", "r", ""), ErrorCode::invalid_argument,
               "build_request_id");
  PartitionsListRequest bad_limit;
  bad_limit.set_limit(1001);
  expect_error(partitions_->list(bad_limit), ErrorCode::invalid_argument, "limit");
  PartitionsListRequest bad_offset;
  bad_offset.set_offset(-1);
  expect_error(partitions_->list(bad_offset), ErrorCode::invalid_argument, "offset");
  expect_error(partitions_->list(PartitionsListRequest{}, -3), ErrorCode::invalid_argument,
               "min_idx");
  EXPECT_EQ(last_idx(), 0);
}

// ---- BuildsRepository --------------------------------------------------------------------------

TEST_F(RepositoriesTest, CancelMakesTheBuildCancelledAndCancellingAgainIsRejected) {
  append_open_build();
  auto ack = builds_->cancel("br-1", "superseded by br-2");
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  auto summary = builds_->show("br-1", ack->idx());
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->status_code(), v1::BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(summary->cancel_reason(), "superseded by br-2");
  EXPECT_EQ(summary->last_idx(), ack->idx());

  const int64_t before = last_idx();
  auto events_before = builds_->events("br-1");
  ASSERT_TRUE(events_before.ok()) << events_before.error().to_string();
  expect_error(builds_->cancel("br-1", "again"), ErrorCode::invalid_transition, "br-1");
  EXPECT_EQ(last_idx(), before);
  auto events_after = builds_->events("br-1");
  ASSERT_TRUE(events_after.ok()) << events_after.error().to_string();
  EXPECT_TRUE(MessageDifferencer::Equals(*events_before, *events_after));
  auto unchanged = builds_->show("br-1", before);
  ASSERT_TRUE(unchanged.ok()) << unchanged.error().to_string();
  EXPECT_EQ(unchanged->cancel_reason(), "superseded by br-2");
}

TEST_F(RepositoriesTest, CancelRetriedWithTheSameEventIdIsAcknowledgedOnce) {
  append_open_build();
  auto first = builds_->cancel("br-1", "stop", "cancel-br-1");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto retry = builds_->cancel("br-1", "stop", "cancel-br-1");
  ASSERT_TRUE(retry.ok()) << retry.error().to_string();
  EXPECT_TRUE(retry->duplicate());
  EXPECT_EQ(retry->idx(), first->idx());
}

// A completed build request's cancel is invalid_transition; an unknown one's is not_found, as a
// show of it would be (the job runs' cancel says the same of an unknown run).
TEST_F(RepositoriesTest, CancelOfACompletedBuildIsInvalidTransitionAndOfAnUnknownOneNotFound) {
  append({testing::request_event("br-9", v1::BUILD_REQUEST_RECEIVED),
          testing::request_event("br-9", v1::BUILD_REQUEST_COMPLETED)});
  const int64_t before = last_idx();
  // Said plainly for people, with the stable code for scripts.
  expect_error(builds_->cancel("br-9", "too late"), ErrorCode::invalid_transition,
               "br-9 already completed at idx 2; nothing was changed");
  expect_error(builds_->cancel("br-unknown", "x"), ErrorCode::not_found,
               "build request br-unknown not found; nothing was changed");
  EXPECT_EQ(last_idx(), before);
}

TEST_F(RepositoriesTest, BuildsShowEventsAndList) {
  append_open_build();
  const int64_t idx =
      append({testing::request_event("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/z"})});
  auto summary = builds_->show("br-1", idx);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->status_code(), v1::BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(summary->event_count(), 4);
  auto page = builds_->events("br-1", 0, 2);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(idxs({page->events().begin(), page->events().end()}), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(page->has_more());
  auto rest = builds_->events("br-1", page->next_idx());
  ASSERT_TRUE(rest.ok()) << rest.error().to_string();
  EXPECT_EQ(idxs({rest->events().begin(), rest->events().end()}), (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE(rest->has_more());
  auto list = builds_->list(BuildsListRequest{}, idx);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->builds_size(), 2);
  EXPECT_EQ(list->builds(0).build_request_id(), "br-2");  // newest first
  EXPECT_EQ(list->builds(1).build_request_id(), "br-1");
}

TEST_F(RepositoriesTest, BuildsRepositoryNotFoundAndBadArguments) {
  append_open_build();
  expect_error(builds_->show("br-nope", last_idx()), ErrorCode::not_found, "br-nope");
  expect_error(builds_->show(""), ErrorCode::invalid_argument, "build_request_id is empty");
  expect_error(builds_->show("br-1", -1), ErrorCode::invalid_argument, "min_idx");
  expect_error(builds_->events(""), ErrorCode::invalid_argument, "build_request_id");
  expect_error(builds_->events("br-1", -2), ErrorCode::invalid_argument, "since_idx");
  expect_error(builds_->events("br-1", 0, 0, -1), ErrorCode::invalid_argument, "min_idx");
  expect_error(builds_->cancel("", "r"), ErrorCode::invalid_argument, "build_request_id");
  expect_error(builds_->cancel("br-1", ""), ErrorCode::invalid_argument, "reason");
  BuildsListRequest bad;
  bad.add_status_filter(static_cast<BuildRequestStatus>(99));
  expect_error(builds_->list(bad), ErrorCode::invalid_argument, "status_filter");
}

// ---- JobRunsRepository -------------------------------------------------------------------------

TEST_F(RepositoriesTest, JobRunCancelMakesTheRunCancelledWithTheReason) {
  const int64_t scheduled = append_open_build();
  auto ack = job_runs_->cancel("jr-1", "worker lost", scheduled);
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  auto run = job_runs_->show("jr-1", ack->idx());
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->status_code(), v1::JOB_CANCELLED);
  EXPECT_EQ(run->message(), "worker lost");
  EXPECT_EQ(run->build_request_id(), "br-1");
  auto events = job_runs_->events("jr-1", scheduled);
  ASSERT_TRUE(events.ok()) << events.error().to_string();
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).build_request_id(), "br-1");
  EXPECT_EQ(events->events(0).job_run_cancel_event().reason(), "worker lost");
  auto summary = builds_->show("br-1", ack->idx());
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->job_runs_by_status().at("JOB_CANCELLED"), 1);

  const int64_t before = last_idx();
  expect_error(job_runs_->cancel("jr-1", "again", ack->idx()), ErrorCode::invalid_transition,
               "jr-1");
  EXPECT_EQ(last_idx(), before);
}

TEST_F(RepositoriesTest, JobRunCancelOfAnUnknownRunIsNotFoundAndStoresNothing) {
  const int64_t idx = append_open_build();
  expect_error(job_runs_->cancel("jr-nope", "x", idx), ErrorCode::not_found, "jr-nope");
  EXPECT_EQ(last_idx(), idx);
  expect_error(job_runs_->show("jr-nope", idx), ErrorCode::not_found, "jr-nope");
}

TEST_F(RepositoriesTest, JobRunsListAndBadArguments) {
  append_open_build();
  const int64_t idx =
      append({testing::job_event("br-1", "jr-2", "//jobs:b", v1::JOB_SCHEDULED, {"data/a"})});
  JobRunsListRequest request;
  request.set_job_label("//jobs:b");
  auto list = job_runs_->list(request, idx);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->job_runs_size(), 1);
  EXPECT_EQ(list->job_runs(0).job_run_id(), "jr-2");

  expect_error(job_runs_->show(""), ErrorCode::invalid_argument, "job_run_id is empty");
  expect_error(job_runs_->events(""), ErrorCode::invalid_argument, "job_run_id");
  expect_error(job_runs_->events("jr-1", 0, 20000), ErrorCode::invalid_argument, "limit");
  expect_error(job_runs_->cancel("", "r"), ErrorCode::invalid_argument, "job_run_id");
  expect_error(job_runs_->cancel("jr-1", ""), ErrorCode::invalid_argument, "reason");
  expect_error(job_runs_->cancel("jr-1", "r", -1), ErrorCode::invalid_argument, "min_idx");
  EXPECT_EQ(last_idx(), idx);
}

// ---- JobsRepository and ActivityRepository ----------------------------------------------------

TEST_F(RepositoriesTest, JobMetricsCountRunsPerLabel) {
  append_open_build();
  const int64_t idx =
      append({testing::job_event("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING, {"data/a"}),
              testing::job_event("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED, {"data/a"}),
              testing::job_event("br-1", "jr-2", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"}),
              testing::job_event("br-1", "jr-2", "//jobs:a", v1::JOB_FAILED, {"data/a"})});
  auto metrics = jobs_->metrics("//jobs:a", idx);
  ASSERT_TRUE(metrics.ok()) << metrics.error().to_string();
  EXPECT_EQ(metrics->total_runs(), 2);
  EXPECT_DOUBLE_EQ(metrics->success_rate(), 0.5);
  EXPECT_EQ(metrics->runs_by_status().at("JOB_COMPLETED"), 1);
  auto list = jobs_->list(idx);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->jobs_size(), 1);
  EXPECT_EQ(list->jobs(0).job_label(), "//jobs:a");
  expect_error(jobs_->metrics("//jobs:nope", idx), ErrorCode::not_found, "//jobs:nope");
  expect_error(jobs_->metrics(""), ErrorCode::invalid_argument, "job_label is empty");
  expect_error(jobs_->list(-1), ErrorCode::invalid_argument, "min_idx");
}

TEST_F(RepositoriesTest, ActivityReflectsTheWritesItWasAskedFor) {
  auto empty = activity_->activity();
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_EQ(empty->event_count(), 0);
  append_open_build();
  auto ack = builds_->cancel("br-1", "stop");
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  auto activity = activity_->activity(ack->idx());
  ASSERT_TRUE(activity.ok()) << activity.error().to_string();
  EXPECT_EQ(activity->event_count(), ack->idx());
  EXPECT_EQ(activity->total_build_requests(), 1);
  EXPECT_EQ(activity->active_builds_count(), 0);
  EXPECT_EQ(activity->build_requests_by_status().at("BUILD_REQUEST_CANCELLED"), 1);
  expect_error(activity_->activity(-1), ErrorCode::invalid_argument, "min_idx");
}

}  // namespace
}  // namespace bel::actors
