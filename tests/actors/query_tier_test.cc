// The query tier end to end through bel_api (SPEC sections 4 and 5): views, fallback scans and the
// ReferenceFold oracle agree on seeded random streams, also after a restart from snapshots;
// read-your-writes; snapshots of another view version are ignored; fallback scans do not hold up
// appends; the supervisor restarts a killed view.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/read/restore_turns.h"
#include "messages/event_keys.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "projections/stored_answers.h"
#include "storage/storage_factory.h"
#include "tests/actors/query_checks.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace query_checks;

// Long enough that a view never hands a query to the fallback for being slow, so a test can
// count exactly which path answered.
constexpr auto kPatientViews = std::chrono::milliseconds(30000);

// A coordinator in its own actor system, with a scoped actor to talk to it. stop() (also run by
// the destructor) stops every actor and destroys the system, so the log is closed afterwards.
class Coordinator {
 public:
  Coordinator(const std::string& uri, CoordinatorOptions options = {}) {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    self_ = std::make_unique<caf::scoped_actor>(*system_);
    auto api = start_coordinator(*system_, uri, std::move(options));
    if (api.ok()) {
      api_ = *api;
    } else {
      error_ = api.error().to_string();
    }
  }
  ~Coordinator() { stop(); }
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  void stop() {
    if (!system_) return;
    if (api_) stop_coordinator(api_);
    self_.reset();
    system_->await_all_actors_done();
    system_.reset();
  }

  bool ok() const { return static_cast<bool>(api_); }
  const std::string& error() const { return error_; }
  caf::scoped_actor& self() { return *self_; }
  const BelApi& api() const { return api_; }

  // Appends `events` (their idx cleared first) as one atomic batch, or as single appends all in
  // flight together (the storage actor groups them). Returns the acked idx of each, 0 where an
  // append failed (reported as a test failure).
  std::vector<int64_t> append(std::vector<BuildEvent> events, bool as_batch) {
    for (auto& e : events) e.set_idx(0);
    std::vector<int64_t> out(events.size(), 0);
    if (events.empty()) return out;
    auto& self = *self_;
    if (as_batch) {
      auto acks = request_value<AppendAcks>(self, api_, append_atom::value, events);
      if (!acks.ok()) {
        ADD_FAILURE() << "append of a batch of " << events.size() << ": "
                      << acks.error().to_string();
        return out;
      }
      EXPECT_EQ(acks->acks_size(), static_cast<int>(events.size()));
      for (int i = 0; i < acks->acks_size() && i < static_cast<int>(out.size()); ++i) {
        out[static_cast<size_t>(i)] = acks->acks(i).idx();
      }
      return out;
    }
    using Pending = decltype(self->request(api_, kTimeout, append_atom::value, events.front()));
    std::vector<Pending> pending;
    pending.reserve(events.size());
    // One sender, one receiver: the supervisor and then the storage actor see them in order.
    for (const auto& e : events) {
      pending.push_back(self->request(api_, kTimeout, append_atom::value, e));
    }
    for (size_t i = 0; i < pending.size(); ++i) {
      pending[i].receive([&](const AppendAck& ack) { out[i] = ack.idx(); },
                         [&](const caf::error& e) {
                           ADD_FAILURE()
                               << "append #" << i << ": " << from_caf_error(e).to_string();
                         });
    }
    return out;
  }

  ViewsStatus views() {
    auto s = request_value<ViewsStatus>(*self_, api_, views_atom::value);
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? *s : ViewsStatus{};
  }

  // Waits until every view is HEALTHY at `idx`; returns the views' status.
  ViewsStatus wait_healthy_at(int64_t idx) {
    auto s = wait_for_views(*self_, api_,
                            [idx](const ViewsStatus& v) { return all_healthy_at(v, idx); });
    EXPECT_TRUE(all_healthy_at(s, idx)) << "views not healthy at idx " << idx << ":\n"
                                        << s.DebugString();
    return s;
  }

 private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_;
  BelApi api_;
  std::string error_;
};

// What a property run counts, to prove which path answered.
struct Asked {
  int64_t valid_view_queries = 0;  // query_atom requests that reach a view
  int64_t fallback_queries = 0;    // fallback_atom requests
};

// Every query of SPEC section 4 about the events so far (`events[0, n)`), asked of the views and
// of the scan with min_idx = the last acked idx, compared with the oracle.
void check_all_queries(Coordinator& c, const std::vector<BuildEvent>& events, size_t n,
                       QueryComparer& compare, Asked& asked) {
  const std::vector<BuildEvent> prefix(events.begin(), events.begin() + static_cast<long>(n));
  ReferenceFold oracle(prefix);
  const int64_t last = oracle.as_of_idx();
  const auto queries = queries_for(oracle, last);
  expect_answers(c.self(), c.api(), query_atom::value, queries, oracle, "views", compare);
  expect_answers(c.self(), c.api(), fallback_atom::value, queries, oracle, "fallback scan",
                 compare);
  asked.valid_view_queries += valid_count(queries);
  asked.fallback_queries += static_cast<int64_t>(queries.size());
}

// Appends events[from, to) through the coordinator in chunks of random size, some as one batch
// and some as single appends in flight together, and checks every query after every chunk.
void append_and_check(Coordinator& c, const std::vector<BuildEvent>& events, size_t from, size_t to,
                      std::mt19937_64& rng, QueryComparer& compare, Asked& asked) {
  std::uniform_int_distribution<size_t> chunk_size(1, 350);
  std::bernoulli_distribution as_batch(0.5);
  size_t next = from;
  while (next < to && compare.failures() == 0) {
    const size_t end = std::min(to, next + chunk_size(rng));
    const std::vector<BuildEvent> chunk(events.begin() + static_cast<long>(next),
                                        events.begin() + static_cast<long>(end));
    const auto acks = c.append(chunk, as_batch(rng));
    // A fresh log: the stream's own idx are the ones the log assigns.
    for (size_t i = 0; i < chunk.size(); ++i) {
      ASSERT_EQ(acks[i], chunk[i].idx()) << "event #" << next + i;
    }
    next = end;
    check_all_queries(c, events, next, compare, asked);
  }
}

// Every view answered every valid query_atom request itself (none went to the fallback), and the
// query actor ran exactly the fallback scans asked for.
void expect_views_answered(const ViewsStatus& status, const Asked& asked) {
  int64_t answered = 0;
  for (const auto& v : status.views()) {
    answered += v.answered();
    EXPECT_EQ(v.fallbacks(), 0) << v.view();
  }
  EXPECT_EQ(answered, asked.valid_view_queries);
  EXPECT_EQ(status.fallback_queries(), asked.fallback_queries);
}

CoordinatorOptions patient_views() {
  CoordinatorOptions options;
  options.supervisor.views.wait_budget = kPatientViews;
  options.supervisor.views.snapshot_interval = std::chrono::milliseconds(0);
  return options;
}

TEST(QueryTierTest, ViewsEqualScanAndOracleOnRandomStreams) {
  struct Case {
    uint64_t seed;
    RandomStreamOptions options;
  };
  const Case cases[] = {{11, stream_options(2500, 6, 24)}, {12, stream_options(1500, 9, 10)}};
  int64_t compared = 0;
  for (const auto& tc : cases) {
    SCOPED_TRACE("seed " + std::to_string(tc.seed));
    const auto events = random_stream(tc.seed, tc.options);
    Coordinator c("memory://", patient_views());
    ASSERT_TRUE(c.ok()) << c.error();
    std::mt19937_64 rng(tc.seed);
    QueryComparer compare("seed " + std::to_string(tc.seed));
    Asked asked;
    append_and_check(c, events, 0, events.size(), rng, compare, asked);
    ASSERT_EQ(compare.failures(), 0) << "seed " << tc.seed;
    const auto status = c.wait_healthy_at(static_cast<int64_t>(events.size()));
    expect_views_answered(status, asked);
    compared += compare.compared();
  }
  EXPECT_GT(compared, 10000);
}

TEST(QueryTierTest, ViewsRestoredFromSnapshotsEqualScanAndOracle) {
  constexpr uint64_t kSeed = 21;
  const auto events = random_stream(kSeed, stream_options(1600, 7, 20));
  const size_t before_restart = 1200;
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  std::mt19937_64 rng(kSeed);
  QueryComparer compare("seed " + std::to_string(kSeed));
  {
    CoordinatorOptions options = patient_views();
    options.supervisor.views.snapshot_every_events = 150;
    Coordinator c(uri, options);
    ASSERT_TRUE(c.ok()) << c.error();
    Asked asked;
    append_and_check(c, events, 0, before_restart, rng, compare, asked);
    ASSERT_EQ(compare.failures(), 0) << "seed " << kSeed;
    // Every view has stored a snapshot (snapshot_idx moves once the storage actor confirmed it).
    auto status = wait_for_views(c.self(), c.api(), [](const ViewsStatus& s) {
      for (const auto& v : s.views()) {
        if (v.snapshot_idx() == 0) return false;
      }
      return s.views_size() > 0;
    });
    for (const auto& v : status.views()) {
      EXPECT_GT(v.snapshot_idx(), 0) << v.view();
      EXPECT_GT(v.snapshots_written(), 0) << v.view();
    }
    expect_views_answered(c.wait_healthy_at(static_cast<int64_t>(before_restart)), asked);
    c.stop();
  }
  CoordinatorOptions options = patient_views();
  options.supervisor.views.snapshot_every_events = 1000000;  // none written after the restart
  Coordinator c(uri, options);
  ASSERT_TRUE(c.ok()) << c.error();
  const int64_t last = static_cast<int64_t>(before_restart);
  const auto status = c.wait_healthy_at(last);
  for (const auto& v : status.views()) {
    SCOPED_TRACE(v.view());
    // Restored from a snapshot, then caught up from the log: only the rest was applied.
    EXPECT_GT(v.snapshot_idx(), 0);
    EXPECT_LT(v.applies(), last);
    EXPECT_EQ(v.applies(), last - v.snapshot_idx());
    EXPECT_EQ(v.snapshots_written(), 0);
  }
  Asked asked;
  check_all_queries(c, events, before_restart, compare, asked);
  append_and_check(c, events, before_restart, events.size(), rng, compare, asked);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
  expect_views_answered(c.wait_healthy_at(static_cast<int64_t>(events.size())), asked);
}

// The partition refs, build request and job run `e` is about, as queries with min_idx.
std::vector<Query> queries_about(const BuildEvent& e, int64_t min_idx) {
  std::vector<Query> out;
  for (const auto& ref : keys_of(e).partitions) {
    out.push_back(partition_status_query(ref, min_idx));
    out.push_back(active_builds_query(ref, min_idx));
  }
  Query build;
  build.set_min_idx(min_idx);
  build.mutable_build_summary()->set_build_request_id(e.build_request_id());
  out.push_back(build);
  for (const auto& run : keys_of(e).job_run_ids) {
    Query q;
    q.set_min_idx(min_idx);
    q.mutable_job_run()->set_job_run_id(run);
    out.push_back(q);
  }
  Query activity;
  activity.set_min_idx(min_idx);
  activity.mutable_activity();
  out.push_back(activity);
  return out;
}

TEST(QueryTierTest, QueryWithMinIdxReflectsOwnAppend) {
  constexpr uint64_t kSeed = 31;
  const auto events = random_stream(kSeed, stream_options(400, 5, 12));
  Coordinator c("memory://");  // the default wait budget: read-your-writes holds on either path
  ASSERT_TRUE(c.ok()) << c.error();
  QueryComparer compare("seed " + std::to_string(kSeed));
  int partition_updates = 0;
  for (size_t i = 0; i < events.size() && compare.failures() == 0; ++i) {
    const auto acks = c.append({events[i]}, /*as_batch=*/false);
    ASSERT_EQ(acks[0], events[i].idx());
    const int64_t idx = acks[0];
    const std::vector<BuildEvent> prefix(events.begin(), events.begin() + static_cast<long>(i + 1));
    ReferenceFold oracle(prefix);
    // Asked right after the ack: the view may not have heard of the event yet.
    const auto queries = queries_about(events[i], idx);
    const auto answers = ask_all(c.self(), c.api(), query_atom::value, queries);
    for (size_t k = 0; k < queries.size(); ++k) {
      compare.same(oracle.answer(queries[k]), answers[k], queries[k], "views");
    }
    // The plain facts, independent of the oracle: the partition shows its new status.
    const auto& pe = events[i].partition_event();
    if (events[i].has_partition_event() && pe.status_code() != v1::PARTITION_DELEGATED) {
      ++partition_updates;
      const Query q = partition_status_query(pe.partition_ref().str(), idx);
      auto answer = request_value<QueryResult>(c.self(), c.api(), query_atom::value, q);
      ASSERT_TRUE(answer.ok()) << answer.error().to_string();
      const auto& status = answer->partition_status();
      EXPECT_EQ(status.status_code(), pe.status_code()) << "idx " << idx;
      EXPECT_EQ(status.last_idx(), idx);
      EXPECT_EQ(status.as_of_idx(), idx);
    }
    ASSERT_TRUE(answers.back().ok()) << answers.back().error().to_string();
    EXPECT_EQ(answers.back()->activity().event_count(), idx);
  }
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
  EXPECT_GT(partition_updates, 20);
}

// ---- snapshots of another version ---------------------------------------------------------------

struct ViewVersion {
  const char* name;
  int version;
};
constexpr ViewVersion kViewVersions[] = {
    {projections::PartitionStatusView::kName, projections::PartitionStatusView::kVersion},
    {projections::BuildSummaryView::kName, projections::BuildSummaryView::kVersion},
    {projections::JobRunsView::kName, projections::JobRunsView::kVersion},
    {projections::ActivityView::kName, projections::ActivityView::kVersion},
};

// Bytes no view restores (a protobuf field with wire type 6 in its first byte).
const std::string kGarbage = "not a snapshot";

// Appends `events` to a fresh log at `uri` through a coordinator that writes no snapshots.
void write_log(const std::string& uri, const std::vector<BuildEvent>& events) {
  CoordinatorOptions options;
  options.supervisor.views.snapshot_interval = std::chrono::milliseconds(0);
  options.supervisor.views.snapshot_every_events = 0;
  Coordinator c(uri, options);
  ASSERT_TRUE(c.ok()) << c.error();
  const auto acks = c.append(events, /*as_batch=*/true);
  ASSERT_EQ(acks.back(), static_cast<int64_t>(events.size()));
}

void save_snapshots(const std::string& uri, const std::vector<storage::Snapshot>& snapshots) {
  auto log = storage::open_storage(uri, {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  for (const auto& s : snapshots) {
    auto saved = (*log)->save_snapshot(s);
    ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  }
}

// Garbage snapshots with a high applied_idx for the versions before and after each view's own.
std::vector<storage::Snapshot> other_version_snapshots() {
  std::vector<storage::Snapshot> out;
  for (const auto& v : kViewVersions) {
    out.push_back({v.name, v.version + 1, 1000000, kGarbage});
    out.push_back({v.name, v.version - 1, 1000000, kGarbage});
  }
  return out;
}

// Starts a coordinator on `uri` (writing no snapshots), waits until its views are healthy at
// `last` and checks every answer against the oracle of `events`; returns the views' status.
ViewsStatus start_and_check(const std::string& uri, const std::vector<BuildEvent>& events,
                            const std::string& context) {
  CoordinatorOptions options = patient_views();
  options.supervisor.views.snapshot_every_events = 0;
  Coordinator c(uri, options);
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return {};
  const auto status = c.wait_healthy_at(static_cast<int64_t>(events.size()));
  QueryComparer compare(context);
  Asked asked;
  check_all_queries(c, events, events.size(), compare, asked);
  expect_views_answered(c.views(), asked);
  EXPECT_GT(compare.compared(), 100);
  return status;
}

TEST(QueryTierTest, SnapshotOfAnotherVersionIsIgnored) {
  constexpr uint64_t kSeed = 41;
  const auto events = random_stream(kSeed, stream_options(600, 5, 16));
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  write_log(uri, events);
  save_snapshots(uri, other_version_snapshots());
  const auto status = start_and_check(uri, events, "seed 41, snapshots of other versions");
  ASSERT_EQ(status.views_size(), 4);
  for (const auto& v : status.views()) {
    SCOPED_TRACE(v.view());
    EXPECT_EQ(v.snapshot_idx(), 0);  // nothing loaded: folded from idx 1
    EXPECT_EQ(v.applies(), static_cast<int64_t>(events.size()));
  }
}

TEST(QueryTierTest, UnreadableSnapshotOfCurrentVersionIsIgnored) {
  constexpr uint64_t kSeed = 42;
  const auto events = random_stream(kSeed, stream_options(500, 5, 16));
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  write_log(uri, events);
  std::vector<storage::Snapshot> snapshots;
  for (const auto& v : kViewVersions) snapshots.push_back({v.name, v.version, 300, kGarbage});
  save_snapshots(uri, snapshots);
  const auto status = start_and_check(uri, events, "seed 42, unreadable snapshots");
  ASSERT_EQ(status.views_size(), 4);
  for (const auto& v : status.views()) {
    SCOPED_TRACE(v.view());
    EXPECT_EQ(v.snapshot_idx(), 0);
    EXPECT_EQ(v.applies(), static_cast<int64_t>(events.size()));
  }
}

// The serialized state of View after folding `events[0, n)`.
template <class View>
storage::Snapshot snapshot_of(const std::vector<BuildEvent>& events, size_t n) {
  View view;
  for (size_t i = 0; i < n; ++i) view.apply(events[i]);
  return {View::kName, View::kVersion, static_cast<int64_t>(n), view.serialize()};
}

TEST(QueryTierTest, SnapshotOfCurrentVersionIsUsed) {
  constexpr uint64_t kSeed = 43;
  const auto events = random_stream(kSeed, stream_options(600, 5, 16));
  const size_t snapshot_at = 450;
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  write_log(uri, events);
  auto snapshots = other_version_snapshots();
  snapshots.push_back(snapshot_of<projections::PartitionStatusView>(events, snapshot_at));
  snapshots.push_back(snapshot_of<projections::BuildSummaryView>(events, snapshot_at));
  snapshots.push_back(snapshot_of<projections::JobRunsView>(events, snapshot_at));
  snapshots.push_back(snapshot_of<projections::ActivityView>(events, snapshot_at));
  save_snapshots(uri, snapshots);
  const auto status = start_and_check(uri, events, "seed 43, snapshots at idx 450");
  ASSERT_EQ(status.views_size(), 4);
  for (const auto& v : status.views()) {
    SCOPED_TRACE(v.view());
    EXPECT_EQ(v.snapshot_idx(), static_cast<int64_t>(snapshot_at));
    EXPECT_EQ(v.applies(), static_cast<int64_t>(events.size() - snapshot_at));
  }
}

// Property: whatever idx each view's snapshot was taken at, restoring it and folding the tail
// answers like a full fold; a corrupt blob of the right version is ignored and that view folds
// from idx 1.
TEST(QueryTierTest, SnapshotPlusTailEqualsFullFoldAtRandomSnapshotPoints) {
  for (uint64_t seed = 61; seed <= 66; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto events = random_stream(
        seed, stream_options(300 + static_cast<int>(rng() % 400), 3 + static_cast<int>(seed % 5),
                             8 + static_cast<int>(rng() % 20)));
    testing::TempDir dir;
    const std::string uri = "sqlite://" + dir.path() + "/bel.db";
    write_log(uri, events);
    auto at = [&] { return 1 + static_cast<size_t>(rng() % events.size()); };
    std::vector<storage::Snapshot> snapshots = {
        snapshot_of<projections::PartitionStatusView>(events, at()),
        snapshot_of<projections::BuildSummaryView>(events, at()),
        snapshot_of<projections::JobRunsView>(events, at()),
        snapshot_of<projections::ActivityView>(events, at())};
    const size_t torn = seed % 2 == 0 ? rng() % snapshots.size() : snapshots.size();
    if (torn < snapshots.size()) {
      // Cut, and ended by a byte no protobuf field starts with (wire type 7).
      auto& data = snapshots[torn].data;
      data.resize(data.size() / 2);
      data.push_back('\xff');
    }
    save_snapshots(uri, snapshots);
    const auto status = start_and_check(uri, events, "seed " + std::to_string(seed));
    ASSERT_EQ(status.views_size(), 4);
    for (size_t k = 0; k < snapshots.size(); ++k) {
      const auto& v = status.views(static_cast<int>(k));
      SCOPED_TRACE(v.view());
      ASSERT_EQ(v.view(), snapshots[k].view);
      const int64_t restored = k == torn ? 0 : snapshots[k].applied_idx;
      EXPECT_EQ(v.snapshot_idx(), restored);
      EXPECT_EQ(v.applies(), static_cast<int64_t>(events.size()) - restored);
    }
  }
}

TEST(QueryTierTest, RebuildReplacesTheSnapshotSoTheNextStartRestoresTheRebuiltViews) {
  const auto events = random_stream(44, stream_options(300, 4, 12));
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  CoordinatorOptions options;
  options.supervisor.views.snapshot_every_events = 0;  // no periodic snapshots
  options.supervisor.views.snapshot_interval = std::chrono::milliseconds(0);
  {
    Coordinator c(uri, options);
    ASSERT_TRUE(c.ok()) << c.error();
    c.append(events, /*as_batch=*/true);
    c.wait_healthy_at(static_cast<int64_t>(events.size()));
    auto rebuilt = request_value<ViewsStatus>(c.self(), c.api(), rebuild_atom::value,
                                              std::string());
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
    // The rebuild answers once its snapshots and their stored answers are saved.
    storage::StorageOptions read_only;
    read_only.read_only = true;
    auto log = storage::open_storage(uri, read_only);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    for (const auto& v : rebuilt->views()) {
      for (const std::string& name : {v.view(), projections::answers_name(v.view())}) {
        auto saved = (*log)->load_snapshot(name, v.version());
        ASSERT_TRUE(saved.ok() && *saved) << name << " not saved when the rebuild answered";
        EXPECT_EQ((*saved)->applied_idx, static_cast<int64_t>(events.size())) << name;
      }
    }
  }
  // Only the rebuild can have written these snapshots.
  Coordinator c(uri, options);
  ASSERT_TRUE(c.ok()) << c.error();
  const auto status = c.wait_healthy_at(static_cast<int64_t>(events.size()));
  ASSERT_EQ(status.views_size(), 4);
  for (const auto& v : status.views()) {
    SCOPED_TRACE(v.view());
    EXPECT_EQ(v.snapshot_idx(), static_cast<int64_t>(events.size()));
    EXPECT_EQ(v.applies(), 0);
  }
}

// ---- scans beside appends -----------------------------------------------------------------------

// Holds the first page of the first fallback scan until released (ReaderOptions::after_page).
struct ScanGate {
  std::atomic<bool> armed{true};
  std::atomic<bool> blocked{false};
  std::atomic<bool> released_in_time{false};
  std::promise<void> paused;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();

  // Runs on the reader's thread.
  void after_page() {
    if (!armed.exchange(false)) return;
    blocked = true;
    paused.set_value();
    // Generous, so that a broken test fails instead of hanging.
    released_in_time = released.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    blocked = false;
  }
};

TEST(QueryTierTest, FallbackScanDoesNotHoldUpAppends) {
  constexpr uint64_t kSeed = 51;
  const auto events = random_stream(kSeed, stream_options(500, 5, 16));
  const size_t before = 300;
  auto gate = std::make_shared<ScanGate>();
  testing::TempDir dir;
  CoordinatorOptions options = patient_views();
  options.supervisor.reader.page_size = 50;
  options.supervisor.reader.after_page = [gate] { gate->after_page(); };
  Coordinator c("sqlite://" + dir.path() + "/bel.db", options);
  ASSERT_TRUE(c.ok()) << c.error();
  const std::vector<BuildEvent> first(events.begin(), events.begin() + before);
  ASSERT_EQ(c.append(first, true).back(), static_cast<int64_t>(before));

  // A scan of every event, held after its first page.
  Query activity;
  activity.mutable_activity();
  auto scan = c.self()->request(c.api(), kTimeout, fallback_atom::value, activity);
  auto paused = gate->paused.get_future();
  ASSERT_EQ(paused.wait_for(kTimeout), std::future_status::ready) << "the scan never started";

  // Appends are committed and acked while the scan is held.
  const std::vector<BuildEvent> rest(events.begin() + before, events.end());
  const auto acks = c.append(std::vector<BuildEvent>(rest.begin(), rest.begin() + 100), false);
  const auto batch_acks = c.append(std::vector<BuildEvent>(rest.begin() + 100, rest.end()), true);
  EXPECT_EQ(acks.back(), static_cast<int64_t>(before + 100));
  EXPECT_EQ(batch_acks.back(), static_cast<int64_t>(events.size()));
  EXPECT_TRUE(gate->blocked) << "the scan was not held while the appends were acked";

  // So are view queries and a second scan (on the query actor's other reader).
  const int64_t last = static_cast<int64_t>(events.size());
  ReferenceFold all(events);
  Query now = activity;
  now.set_min_idx(last);
  auto from_view = request_value<QueryResult>(c.self(), c.api(), query_atom::value, now);
  auto second_scan = request_value<QueryResult>(c.self(), c.api(), fallback_atom::value, now);
  EXPECT_TRUE(gate->blocked);
  QueryComparer compare("seed 51");
  compare.same(all.answer(now), from_view, now, "views, while a scan is held");
  compare.same(all.answer(now), second_scan, now, "second scan, while one is held");

  // Released, the held scan completes, as of the idx it started at.
  gate->release.set_value();
  Result<QueryResult> held = make_error(ErrorCode::internal, "no answer");
  scan.receive([&](const QueryResult& r) { held = r; },
               [&](const caf::error& e) { held = from_caf_error(e); });
  EXPECT_TRUE(gate->released_in_time);
  ReferenceFold at_start(first);
  compare.same(at_start.answer(activity), held, activity, "held scan");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->activity().as_of_idx(), static_cast<int64_t>(before));
}

// ---- supervision --------------------------------------------------------------------------------

TEST(QueryTierTest, SupervisorRestartsKilledView) {
  constexpr uint64_t kSeed = 61;
  const auto events = random_stream(kSeed, stream_options(700, 6, 16));
  const size_t before = 500;
  struct Started {
    std::mutex mu;
    std::vector<ViewActor> partition_views;
    std::vector<projections::ViewKind> kinds;  // in the order they started
  };
  auto started = std::make_shared<Started>();
  CoordinatorOptions options = patient_views();
  options.supervisor.on_view_started = [started](projections::ViewKind kind, const ViewActor& v) {
    std::lock_guard<std::mutex> lock(started->mu);
    started->kinds.push_back(kind);
    if (kind == projections::ViewKind::partition_status) started->partition_views.push_back(v);
  };
  Coordinator c("memory://", options);
  ASSERT_TRUE(c.ok()) << c.error();
  const std::vector<BuildEvent> first(events.begin(), events.begin() + before);
  ASSERT_EQ(c.append(first, true).back(), static_cast<int64_t>(before));
  c.wait_healthy_at(static_cast<int64_t>(before));
  ViewActor victim;
  {
    std::lock_guard<std::mutex> lock(started->mu);
    ASSERT_EQ(started->partition_views.size(), 1u);
    victim = started->partition_views.front();
    // Largest state first: they restore their snapshots in this order (restore_turns.h).
    EXPECT_EQ(started->kinds, std::vector<projections::ViewKind>(std::begin(kRestoreOrder),
                                                                 std::end(kRestoreOrder)));
  }
  EXPECT_EQ(view_named(c.views(), "partition_status").restarts(), 0);

  caf::anon_send_exit(victim, caf::exit_reason::kill);
  auto status = wait_for_views(c.self(), c.api(), [&](const ViewsStatus& s) {
    auto v = view_named(s, "partition_status");
    return v.restarts() == 1 && v.state() == v1::VIEW_HEALTHY &&
           v.applied_idx() == static_cast<int64_t>(before);
  });
  const auto restarted = view_named(status, "partition_status");
  EXPECT_EQ(restarted.restarts(), 1);
  EXPECT_EQ(restarted.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(restarted.applied_idx(), static_cast<int64_t>(before));
  EXPECT_EQ(restarted.applies(), static_cast<int64_t>(before));  // folded again from idx 1
  for (const auto& v : status.views()) {
    if (v.view() != "partition_status") {
      EXPECT_EQ(v.restarts(), 0) << v.view();
    }
  }
  {
    std::lock_guard<std::mutex> lock(started->mu);
    ASSERT_EQ(started->partition_views.size(), 2u);
    EXPECT_NE(started->partition_views[1].address(), victim.address());
  }

  // The new view answers, correctly, and follows new appends.
  QueryComparer compare("seed 61");
  ReferenceFold at_kill(first);
  const auto queries = partition_queries_for(at_kill, static_cast<int64_t>(before));
  expect_answers(c.self(), c.api(), query_atom::value, queries, at_kill, "restarted view", compare);
  const std::vector<BuildEvent> rest(events.begin() + before, events.end());
  ASSERT_EQ(c.append(rest, false).back(), static_cast<int64_t>(events.size()));
  ReferenceFold all(events);
  const auto later = partition_queries_for(all, static_cast<int64_t>(events.size()));
  expect_answers(c.self(), c.api(), query_atom::value, later, all, "restarted view", compare);
  EXPECT_EQ(compare.failures(), 0);
  const auto after = view_named(c.views(), "partition_status");
  EXPECT_EQ(after.answered(), valid_count(queries) + valid_count(later));
  EXPECT_EQ(after.fallbacks(), 0);
  EXPECT_EQ(after.restarts(), 1);
}

}  // namespace
}  // namespace bel::actors
