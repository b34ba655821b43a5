// Property: a console command about one key with no coordinator running (`partitions show`,
// `builds show`, `job-runs show`) answers from indexed reads of that key's events and of what
// SPEC section 4 makes it depend on, in a session that starts no view (SessionOptions::
// start_views = false). Over adversarial random streams (actors/sim), stored in an SQLite log
// whose key index covers only part of it, with the claim checkpoints a partition's active builds
// start from, every such answer equals the independent reference
// fold (tests/support) and the views folded from the whole log. Failures print the seed.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/client/session.h"
#include "actors/sim/workload.h"
#include "messages/filter_match.h"
#include "projections/queries.h"
#include "projections/stored_answers.h"
#include "storage/storage_factory.h"
#include "tests/support/reference_fold.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using google::protobuf::util::MessageDifferencer;

// Compares one answer with the reference's and the views'; counts failures to stop early.
class Compare {
 public:
  explicit Compare(std::string context) : context_(std::move(context)) {}

  template <class Message>
  void same(const std::string& what, const Result<Message>& got, const Result<Message>& reference,
            const Result<QueryResult>& from_views, Message* (QueryResult::*field)()) {
    if (failures_ >= 5) return;
    const std::string where = context_ + ": " + what;
    if (!reference.ok()) {
      EXPECT_FALSE(got.ok()) << where << " answered " << got->ShortDebugString();
      if (!got.ok()) {
        EXPECT_EQ(got.error().code, reference.error().code) << where;
      }
      EXPECT_FALSE(from_views.ok()) << where;
      failures_ += got.ok() ? 1 : 0;
      return;
    }
    if (!got.ok()) {
      ADD_FAILURE() << where << " failed: " << got.error().to_string();
      ++failures_;
      return;
    }
    if (!MessageDifferencer::Equals(*got, *reference)) {
      ADD_FAILURE() << where << "\n got:       " << got->ShortDebugString()
                    << "\n reference: " << reference->ShortDebugString();
      ++failures_;
    }
    ASSERT_TRUE(from_views.ok()) << where << ": " << from_views.error().to_string();
    QueryResult views = *from_views;
    if (!MessageDifferencer::Equals(*got, *(views.*field)())) {
      ADD_FAILURE() << where << "\n got:   " << got->ShortDebugString()
                    << "\n views: " << (views.*field)()->ShortDebugString();
      ++failures_;
    }
  }

  int failures() const { return failures_; }

 private:
  std::string context_;
  int failures_ = 0;
};

template <class T>
Result<T> as_result(T value) {
  return value;
}

struct Case {
  uint64_t seed;
  double oddity_rate;  // > 0: a lenient log with events breaking the strict rules
};

TEST(PerKeyPropertyTest, ShowCommandsWithoutViewsEqualTheReferenceFoldAndTheViews) {
  constexpr int64_t kEvents = 2500;
  int64_t compared = 0;
  for (const Case& c : {Case{3, 0.0}, Case{4, 0.0}, Case{5, 0.03}}) {
    SCOPED_TRACE("seed " + std::to_string(c.seed));
    bel::testing::TempDir tmp;
    const std::string uri = "sqlite://" + tmp.path() + "/bel.db";
    sim::WorkloadOptions options;
    options.seed = c.seed;
    options.mode = sim::WorkloadMode::adversarial;
    options.partitions = 40;
    options.concurrent_builds = 12;
    options.oddity_rate = c.oddity_rate;
    std::vector<BuildEvent> events = sim::generate_events(options, kEvents);
    {
      auto log = storage::open_storage(uri, {});
      ASSERT_TRUE(log.ok()) << log.error().to_string();
      for (size_t start = 0; start < events.size(); start += 500) {
        std::vector<BuildEvent> batch(
            events.begin() + static_cast<std::ptrdiff_t>(start),
            events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), start + 500)));
        ASSERT_TRUE((*log)->append_batch(batch).ok());
      }
      // The key index covers part of the log: reads combine it with the unindexed tail. (A
      // writer opening the log would index the rest; this one only reads.)
      ASSERT_TRUE((*log)->catch_up_indexes(kEvents / 2 + static_cast<int64_t>(c.seed)).ok());
      // Claim checkpoints of every partition with a status, as the partition status view stores
      // them with its answers, at an idx below, near or above the index's: active builds read
      // the claim events after it (docs/query-tier.md).
      for (size_t i = 0; i < events.size(); ++i) events[i].set_idx(static_cast<int64_t>(i) + 1);
      const int64_t at = 1000 + 250 * static_cast<int64_t>(c.seed - 3);
      projections::PartitionStatusView view;
      for (int64_t i = 0; i < at; ++i) view.apply(events[static_cast<size_t>(i)]);
      storage::Snapshot answers;
      answers.view = projections::answers_name(projections::PartitionStatusView::kName);
      answers.version = projections::PartitionStatusView::kVersion;
      answers.applied_idx = at;
      answers.data = projections::encode_answers(projections::PartitionStatusView::kName,
                                                 projections::PartitionStatusView::kVersion, at, {},
                                                 view.claim_checkpoints(1));
      ASSERT_TRUE((*log)->save_snapshot(answers).ok());
    }
    const bel::testing::ReferenceFold reference(events);
    projections::AllViews views;
    for (const auto& e : events) views.apply(e);

    SessionOptions session_options;
    session_options.log_uri = uri;
    session_options.start_views = false;
    auto session = Session::open(session_options);
    ASSERT_TRUE(session.ok()) << session.error().to_string();
    ApiClient& client = (*session)->client();
    auto status = client.views_status();
    ASSERT_TRUE(status.ok()) << status.error().to_string();
    for (const auto& v : status->views()) {
      EXPECT_EQ(v.last_error(), "not running") << v.view() << ": no view starts";
    }

    Compare compare("seed " + std::to_string(c.seed));
    PartitionsRepository partitions(client);
    std::vector<std::string> refs = reference.partition_refs();
    refs.push_back("data/never/seen");
    for (const auto& ref : refs) {
      auto detail = partitions.show(ref, 4, kEvents);
      ASSERT_TRUE(detail.ok()) << ref << ": " << detail.error().to_string();
      Query q;
      q.mutable_partition_status()->set_partition_ref(ref);
      compare.same("partition_status(" + ref + ")", as_result(detail->status),
                   as_result(reference.partition_status(ref)), views.answer(q),
                   &QueryResult::mutable_partition_status);
      ActiveBuildsResponse active;
      active.set_partition_ref(ref);
      for (const auto& id : detail->active_builds) active.add_build_request_ids(id);
      active.set_as_of_idx(detail->status.as_of_idx());
      q.mutable_active_builds()->set_partition_ref(ref);
      compare.same("active_builds(" + ref + ")", as_result(active),
                   as_result(reference.active_builds(ref)), views.answer(q),
                   &QueryResult::mutable_active_builds);
      // The recent events: the last four of the partition's, ascending.
      EventFilter filter;
      filter.add_partition_refs(ref);
      std::vector<int64_t> want, got;
      for (const auto& e : events) {
        if (event_matches(filter, e)) want.push_back(e.idx());
      }
      want.erase(want.begin(), want.end() - std::min<size_t>(4, want.size()));
      for (const auto& e : detail->recent_events) got.push_back(e.idx());
      EXPECT_EQ(got, want) << ref;
      compared += 3;
    }
    BuildsRepository builds(client);
    std::vector<std::string> ids = reference.build_request_ids();
    ids.push_back("br-never-seen");
    for (const auto& id : ids) {
      Query q;
      q.mutable_build_summary()->set_build_request_id(id);
      compare.same("build_summary(" + id + ")", builds.show(id, kEvents),
                   reference.build_summary(id), views.answer(q),
                   &QueryResult::mutable_build_summary);
      ++compared;
    }
    JobRunsRepository runs(client);
    std::vector<std::string> run_ids = reference.job_run_ids();
    run_ids.push_back("jr-never-seen");
    for (const auto& id : run_ids) {
      Query q;
      q.mutable_job_run()->set_job_run_id(id);
      compare.same("job_run(" + id + ")", runs.show(id, kEvents), reference.job_run(id),
                   views.answer(q), &QueryResult::mutable_job_run);
      ++compared;
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(compared, 500);
}

}  // namespace
}  // namespace bel::actors
