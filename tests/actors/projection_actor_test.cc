// The generic projection actor (actors/projection_actor.h) on its own: a gap between the storage
// actor and the view is filled from the log (nothing skipped, nothing applied twice), and a view
// that throws is marked failed, answers through the fallback meanwhile, and is healed by a rebuild.
#include "actors/read/projection_actor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/check/view_rebuild.h"
#include "actors/coordinator.h"
#include "actors/read/query_actor.h"
#include "actors/read/reader_actor.h"
#include "actors/write/storage_actor.h"
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

// ---- a view that throws on request --------------------------------------------------------------

// Which idx FlakyPartitionView throws on, while armed. Shared with the view actor's thread.
struct FlakyControl {
  std::atomic<bool> armed{false};
  std::atomic<int64_t> throw_at{0};
};

FlakyControl& flaky() {
  static FlakyControl control;
  return control;
}

// PartitionStatusView, except that apply throws on flaky().throw_at while flaky().armed.
class FlakyPartitionView {
 public:
  static constexpr const char* kName = "flaky_partition_status";
  static constexpr int kVersion = projections::PartitionStatusView::kVersion;

  void apply(const BuildEvent& event) {
    if (flaky().armed && event.idx() == flaky().throw_at) {
      throw std::runtime_error("injected failure");
    }
    inner_.apply(event);
  }
  std::string serialize(projections::SnapshotTarget target = {}) const {
    return inner_.serialize(std::move(target));
  }
  static Result<FlakyPartitionView> restore(const std::string& bytes) {
    auto inner = projections::PartitionStatusView::restore(bytes);
    if (!inner.ok()) return inner.error();
    FlakyPartitionView out;
    out.inner_ = std::move(*inner);
    return out;
  }
  const projections::PartitionStatusView& inner() const { return inner_; }

 private:
  projections::PartitionStatusView inner_;
};

// Found by argument-dependent lookup from the projection actor.
Result<QueryResult> answer(const FlakyPartitionView& view, const Query& query) {
  return projections::answer(view.inner(), query);
}

// ---- a reader that holds snapshot loads ---------------------------------------------------------

using open_atom = caf::atom_constant<caf::atom("open")>;
using held_atom = caf::atom_constant<caf::atom("held")>;

struct GatedReaderState {
  ReaderActor real;
  bool open = false;
  struct Held {
    caf::typed_response_promise<ViewSnapshot> promise;
    std::string view;
    int32_t version;
  };
  std::vector<Held> held;
  static inline const char* name = "test.gated_reader";
};

// Stands in for a view's ReaderActor: passes everything to `real`, except that snapshot loads
// (not those of stored answers) wait until it receives open_atom (so a test decides when a view
// finishes loading).
caf::behavior gated_reader(caf::stateful_actor<GatedReaderState>* self, ReaderActor real) {
  self->state.real = std::move(real);
  return {
      [=](load_atom, const std::string& view, int32_t version) -> caf::result<ViewSnapshot> {
        auto& st = self->state;
        // Stored answers (projections/stored_answers.h) are never held: only snapshots are.
        const std::string suffix = projections::answers_name("");
        const bool answers = view.size() > suffix.size() &&
                             view.compare(view.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (st.open || answers) {
          return self->delegate(st.real, load_atom::value, view, version);
        }
        auto rp = self->make_response_promise<ViewSnapshot>();
        st.held.push_back({rp, view, version});
        return rp;
      },
      [=](list_atom, const ListEventsRequest& request) -> caf::result<EventPage> {
        return self->delegate(self->state.real, list_atom::value, request);
      },
      [=](scan_atom, int64_t since_idx, int32_t limit) -> caf::result<SharedPage> {
        return self->delegate(self->state.real, scan_atom::value, since_idx, limit);
      },
      // How many snapshot loads it holds now.
      [=](held_atom) { return static_cast<int32_t>(self->state.held.size()); },
      [=](open_atom) {
        auto& st = self->state;
        st.open = true;
        for (auto& h : st.held) h.promise.delegate(st.real, load_atom::value, h.view, h.version);
        st.held.clear();
      },
  };
}

// ---- a snapshot store that never answers
// ---------------------------------------------------------

// Stands in for the snapshot store: takes every save and never answers it (a store stuck on its
// disk), so that a rebuild waiting for its saves is still waiting when the view stops.
caf::behavior silent_store(caf::event_based_actor* self) {
  return {
      [=](snapshot_atom, const ViewSnapshot&) -> caf::result<int64_t> {
        return self->make_response_promise<int64_t>();  // dropped: never delivered
      },
  };
}

// Stands in for the snapshot store: refuses every save while `*refuse` (a disk that is full),
// saves afterwards (answers the snapshot's idx).
caf::behavior refusing_store(caf::event_based_actor* self,
                             std::shared_ptr<std::atomic<bool>> refuse) {
  (void)self;
  return {
      [=](snapshot_atom, const ViewSnapshot& snap) -> caf::result<int64_t> {
        if (*refuse) {
          return to_caf_error(make_error(ErrorCode::storage_unavailable, "disk full (injected)"));
        }
        return snap.applied_idx();
      },
  };
}

// ---- the fixture --------------------------------------------------------------------------------

ViewActorConfig test_view_config();

class ProjectionActorTest : public ::testing::Test {
 protected:
  ProjectionActorTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    self_ = std::make_unique<caf::scoped_actor>(*system_);
  }
  ~ProjectionActorTest() override {
    flaky().armed = false;
    // Views first (their readers are linked to them), the storage actors last.
    for (auto it = spawned_.rbegin(); it != spawned_.rend(); ++it) {
      caf::anon_send_exit(*it, caf::exit_reason::user_shutdown);
    }
    self_.reset();
    system_->await_all_actors_done();
  }

  caf::scoped_actor& self() { return *self_; }

  template <class Handle>
  Handle keep(Handle h) {
    spawned_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  std::unique_ptr<storage::Storage> open(const std::string& uri) {
    auto log = storage::open_storage(uri, {});
    EXPECT_TRUE(log.ok()) << log.error().to_string();
    return log.ok() ? std::move(*log) : nullptr;
  }

  ReaderActor reader_of(storage::Storage& log, ReaderOptions options = {}) {
    auto handle = log.open_reader();
    EXPECT_TRUE(handle.ok()) << handle.error().to_string();
    return keep(spawn_reader_actor(*system_, std::move(*handle), std::move(options)));
  }

  StorageActor storage_actor_of(std::unique_ptr<storage::Storage> log) {
    auto writer = LogWriter::open(std::move(log), {});
    EXPECT_TRUE(writer.ok()) << writer.error().to_string();
    return keep(spawn_storage_actor(*system_, std::move(*writer), {}));
  }

  // A partition status view over a log holding `events` (appended through the storage actor),
  // whose snapshots go to `store`, once it has applied them all.
  ViewActor partition_view_saving_to(const caf::actor& store,
                                     const std::vector<BuildEvent>& events) {
    auto log = open("memory://");
    EXPECT_TRUE(log);
    ReaderActor view_reader = reader_of(*log);
    ReaderActor scan = reader_of(*log);
    StorageActor storage = storage_actor_of(std::move(log));
    ViewActor view = keep(spawn_projection_actor<projections::PartitionStatusView>(
        *system_,
        ViewDeps{storage, view_reader, caf::actor_cast<FallbackActor>(scan),
                 caf::actor_cast<SnapshotStore>(store)},
        test_view_config()));
    append(storage, events, 0, events.size());
    const auto n = static_cast<int64_t>(events.size());
    wait_for(view, [n](const ViewStatus& v) {
      return v.state() == v1::VIEW_HEALTHY && v.applied_idx() == n;
    });
    return view;
  }

  // Appends events[from, to) through `storage` as one batch; expects their own idx back.
  void append(const StorageActor& storage, const std::vector<BuildEvent>& events, size_t from,
              size_t to) {
    std::vector<BuildEvent> batch(events.begin() + static_cast<long>(from),
                                  events.begin() + static_cast<long>(to));
    for (auto& e : batch) e.set_idx(0);
    auto acks = request_value<AppendAcks>(self(), storage, append_atom::value, batch);
    ASSERT_TRUE(acks.ok()) << acks.error().to_string();
    ASSERT_EQ(acks->acks_size(), static_cast<int>(to - from));
    EXPECT_EQ(acks->acks(acks->acks_size() - 1).idx(), events[to - 1].idx());
  }

  // Delivers events[from, to), idx as in the stream, as one committed message.
  void deliver(const ViewActor& view, const std::vector<BuildEvent>& events, size_t from,
               size_t to) {
    std::vector<BuildEvent> batch(events.begin() + static_cast<long>(from),
                                  events.begin() + static_cast<long>(to));
    self()->send(view, committed_atom::value, std::move(batch));
  }

  ViewStatus status(const ViewActor& view) {
    auto s = request_value<ViewStatus>(self(), view, status_atom::value);
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? *s : ViewStatus{};
  }

  // Asks `view` for its status until `done` holds or kTimeout ran out; returns the last one.
  template <class Done>
  ViewStatus wait_for(const ViewActor& view, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    ViewStatus s;
    do {
      s = status(view);
      if (done(s)) return s;
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "view status never got there:\n" << s.DebugString();
    return s;
  }

  // A log holding `first`, with view `kind`'s snapshot and stored answers at its last idx (the
  // snapshot then replaced by bytes that do not restore when `garbage_snapshot`), and a view of
  // `kind` over it that restores on demand; its storage actor in `*storage`. With `turns`, the
  // view restores in its turn; `turn_queued`: queued as it is spawned, as a coordinator does.
  ViewActor view_over_snapshot(projections::ViewKind kind, const std::vector<BuildEvent>& first,
                               bool garbage_snapshot, StorageActor* storage,
                               bool restore_on_demand = true, caf::actor* gate = nullptr,
                               std::shared_ptr<RestoreTurns> turns = nullptr,
                               bool turn_queued = false) {
    auto log = open("memory://");
    std::vector<BuildEvent> batch = first;
    for (auto& e : batch) e.set_idx(0);
    EXPECT_TRUE(log->append_batch(batch).ok());
    EXPECT_TRUE(check::rebuild_view_snapshots(*log, {kind}, {}).ok());
    const std::string name(projections::view_name(kind));
    const int64_t last = static_cast<int64_t>(first.size());
    int version = 0;
    projections::AllViews views;
    projections::AllViews::with_view(
        views, kind, [&](const auto& v) { version = std::decay_t<decltype(v)>::kVersion; });
    auto saved = log->load_snapshot(projections::answers_name(name), version);
    EXPECT_TRUE(saved.ok() && *saved) << "no stored answers beside the " << name << " snapshot";
    if (garbage_snapshot) {
      EXPECT_TRUE(log->save_snapshot({name, version, last, "garbage"}).ok());
    }
    ReaderActor view_reader = reader_of(*log);
    ReaderActor scan = reader_of(*log);
    *storage = storage_actor_of(std::move(log));
    ViewActorConfig config = test_view_config();
    config.restore_on_demand = restore_on_demand;
    if (gate != nullptr) {
      *gate = keep(system_->spawn(gated_reader, view_reader));
      view_reader = caf::actor_cast<ReaderActor>(*gate);
    }
    ViewActor view = keep(spawn_view_actor(
        *system_, kind,
        ViewDeps{
            *storage, view_reader, caf::actor_cast<FallbackActor>(scan), {}, turns, turn_queued},
        config));
    if (turn_queued) turns->wait(caf::actor_cast<caf::actor>(view));
    return view;
  }

  // Holds the next turn of `turns` (the test's own, asked for now) until the result is dropped.
  RestoreTurn take_turn(RestoreTurns& turns) {
    RestoreTurn out;
    turns.wait(caf::actor{self()});
    self()->receive([&](restore_atom, RestoreTurn turn) { out = std::move(turn); },
                    caf::after(kTimeout) >> [] { ADD_FAILURE() << "no turn came"; });
    return out;
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_;
  std::vector<caf::actor> spawned_;
};

ViewActorConfig test_view_config() {
  ViewActorConfig config;
  config.snapshot_every_events = 0;  // no snapshots: every apply is counted from idx 1
  config.snapshot_interval = std::chrono::milliseconds(0);
  config.wait_budget = std::chrono::milliseconds(30000);  // a query waits rather than falls back
  return config;
}

RandomStreamOptions small_stream(int num_events) { return stream_options(num_events, 5, 12); }

// Compares every partition query, asked of `view` and of the scan on `scan` with min_idx = the
// last idx of events[0, n), with the oracle over those events.
void expect_partition_answers(caf::scoped_actor& self, const ViewActor& view,
                              const ReaderActor& scan, const std::vector<BuildEvent>& events,
                              size_t n, QueryComparer& compare) {
  const std::vector<BuildEvent> prefix(events.begin(), events.begin() + static_cast<long>(n));
  ReferenceFold oracle(prefix);
  const auto queries = partition_queries_for(oracle, oracle.as_of_idx());
  expect_answers(self, view, query_atom::value, queries, oracle, "view", compare);
  expect_answers(self, scan, fallback_atom::value, queries, oracle, "scan", compare);
}

TEST_F(ProjectionActorTest, GapIsFilledFromLogWithoutSkippingOrDoubleApplying) {
  constexpr uint64_t kSeed = 71;
  const auto events = random_stream(kSeed, small_stream(300));
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  // The view subscribes to `quiet`, a real storage actor (over a log of its own: one writer per
  // file) that never publishes the events: they are appended through `writer`, the storage actor
  // over the file the view reads. The test plays the publisher, and leaves gaps.
  StorageActor quiet = storage_actor_of(open("memory://"));
  auto log = open(uri);
  ASSERT_TRUE(log);
  ReaderActor view_reader = reader_of(*log);
  ReaderActor scan = reader_of(*log);
  StorageActor writer = storage_actor_of(std::move(log));
  ViewActorConfig config = test_view_config();
  config.catch_up_page = 7;  // the gap takes many pages
  ViewActor view = keep(spawn_projection_actor<projections::PartitionStatusView>(
      *system_, ViewDeps{quiet, view_reader, caf::actor_cast<FallbackActor>(scan), {}}, config));
  wait_for(view, [](const ViewStatus& s) { return s.state() == v1::VIEW_HEALTHY; });
  QueryComparer compare("seed 71");

  append(writer, events, 0, 100);
  deliver(view, events, 0, 10);
  // Same sender, same receiver: the status request is handled after the delivery.
  auto s = status(view);
  EXPECT_EQ(s.applied_idx(), 10);
  EXPECT_EQ(s.applies(), 10);

  // idx 11..20 never arrive: the view reads them, and the rest of the log, from its reader. The
  // queries wait for it (min_idx 100).
  deliver(view, events, 20, 30);
  expect_partition_answers(self(), view, scan, events, 100, compare);
  s = status(view);
  EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s.applied_idx(), 100);
  EXPECT_EQ(s.applies(), 100);

  // Duplicates of applied events are dropped.
  deliver(view, events, 4, 50);
  deliver(view, events, 99, 100);
  s = status(view);
  EXPECT_EQ(s.applied_idx(), 100);
  EXPECT_EQ(s.applies(), 100);

  // Later events first: the gap before them is read from the log; the late ones are dropped.
  append(writer, events, 100, 250);
  deliver(view, events, 200, 250);
  deliver(view, events, 100, 200);
  expect_partition_answers(self(), view, scan, events, 250, compare);
  deliver(view, events, 0, 250);
  s = status(view);
  EXPECT_EQ(s.applied_idx(), 250);
  EXPECT_EQ(s.applies(), 250);

  // One event, far ahead.
  append(writer, events, 250, 300);
  deliver(view, events, 299, 300);
  expect_partition_answers(self(), view, scan, events, 300, compare);
  s = status(view);
  EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s.applied_idx(), 300);
  EXPECT_EQ(s.applies(), 300);  // every event exactly once
  EXPECT_EQ(s.lag(), 0);
  EXPECT_EQ(s.fallbacks(), 0);  // the view answered every query itself
  EXPECT_GT(s.answered(), 0);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

TEST_F(ProjectionActorTest, EventsCommittedWhileLoadingTheSnapshotAreNotLost) {
  constexpr uint64_t kSeed = 91;
  const auto events = random_stream(kSeed, small_stream(120));
  auto log = open("memory://");
  ASSERT_TRUE(log);
  ReaderActor real_reader = reader_of(*log);
  ReaderActor scan = reader_of(*log);
  StorageActor storage = storage_actor_of(std::move(log));
  auto gate = keep(system_->spawn(gated_reader, real_reader));
  ViewActor view = keep(spawn_projection_actor<projections::PartitionStatusView>(
      *system_,
      ViewDeps{
          storage, caf::actor_cast<ReaderActor>(gate), caf::actor_cast<FallbackActor>(scan), {}},
      test_view_config()));
  // The view has started (so its subscription is in the storage actor's mailbox) and is loading.
  EXPECT_EQ(status(view).state(), v1::VIEW_LOADING);

  append(storage, events, 0, 50);
  append(storage, events, 50, 120);
  // The view has heard of every event, and is still loading its snapshot.
  auto s = wait_for(view, [](const ViewStatus& v) { return v.applied_idx() + v.lag() == 120; });
  EXPECT_EQ(s.state(), v1::VIEW_LOADING);

  self()->send(gate, open_atom::value);
  s = wait_for(view, [](const ViewStatus& v) {
    return v.state() == v1::VIEW_HEALTHY && v.applied_idx() == 120;
  });
  EXPECT_EQ(s.applied_idx(), 120);
  EXPECT_EQ(s.applies(), 120);  // every event once, read from the log after the load
  QueryComparer compare("seed 91");
  expect_partition_answers(self(), view, scan, events, 120, compare);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

TEST_F(ProjectionActorTest, ThrowingViewFailsFallsBackAndRebuildHeals) {
  constexpr uint64_t kSeed = 81;
  constexpr int64_t kThrowAt = 40;
  const auto events = random_stream(kSeed, small_stream(200));
  auto log = open("memory://");
  ASSERT_TRUE(log);
  ReaderActor view_reader = reader_of(*log);
  std::vector<ReaderActor> scan_readers{reader_of(*log), reader_of(*log)};
  StorageActor storage = storage_actor_of(std::move(log));
  QueryActor query = keep(spawn_query_actor(*system_, scan_readers));
  flaky().throw_at = kThrowAt;
  flaky().armed = true;
  ViewActor view = keep(spawn_projection_actor<FlakyPartitionView>(
      *system_, ViewDeps{storage, view_reader, caf::actor_cast<FallbackActor>(query), {}},
      test_view_config()));
  self()->send(query, set_atom::value,
               static_cast<int32_t>(projections::ViewKind::partition_status), view);
  wait_for(view, [](const ViewStatus& s) { return s.state() == v1::VIEW_HEALTHY; });
  QueryComparer compare("seed 81");

  // The view applies 1..39 and fails on 40.
  append(storage, events, 0, 100);
  auto s = wait_for(view, [](const ViewStatus& v) { return v.state() == v1::VIEW_FAILED; });
  EXPECT_EQ(s.state(), v1::VIEW_FAILED);
  EXPECT_EQ(s.failed_idx(), kThrowAt);
  EXPECT_EQ(s.applied_idx(), kThrowAt - 1);
  EXPECT_EQ(s.applies(), kThrowAt - 1);
  EXPECT_NE(s.last_error().find("idx 40"), std::string::npos) << s.last_error();
  EXPECT_NE(s.last_error().find("injected failure"), std::string::npos) << s.last_error();

  // Queries through the query actor still get the right answers: from the fallback scan.
  auto ask_partitions = [&](size_t n) {
    const std::vector<BuildEvent> prefix(events.begin(), events.begin() + static_cast<long>(n));
    ReferenceFold oracle(prefix);
    const auto queries = partition_queries_for(oracle, oracle.as_of_idx());
    expect_answers(self(), query, query_atom::value, queries, oracle, "query actor", compare);
    return valid_count(queries);
  };
  int64_t asked = ask_partitions(100);
  s = status(view);
  EXPECT_EQ(s.state(), v1::VIEW_FAILED);
  EXPECT_EQ(s.fallbacks(), asked);
  EXPECT_EQ(s.answered(), 0);

  // A failed view stays put while the log grows; answers stay right.
  append(storage, events, 100, 150);
  asked += ask_partitions(150);
  s = status(view);
  EXPECT_EQ(s.state(), v1::VIEW_FAILED);
  EXPECT_EQ(s.applied_idx(), kThrowAt - 1);
  EXPECT_EQ(s.fallbacks(), asked);

  // A rebuild while the fault persists fails on the same event.
  auto rebuilt = request_value<ViewStatus>(self(), view, rebuild_atom::value);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
  EXPECT_EQ(rebuilt->state(), v1::VIEW_FAILED);
  EXPECT_EQ(rebuilt->failed_idx(), kThrowAt);

  // Fault cleared: the rebuild heals it, and the view answers again.
  flaky().armed = false;
  rebuilt = request_value<ViewStatus>(self(), view, rebuild_atom::value);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
  EXPECT_EQ(rebuilt->state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(rebuilt->applied_idx(), 150);
  EXPECT_EQ(rebuilt->failed_idx(), 0);
  EXPECT_EQ(rebuilt->last_error(), "");
  // 39 before the failure, 39 in the failed rebuild, 150 in the good one.
  EXPECT_EQ(rebuilt->applies(), 2 * (kThrowAt - 1) + 150);
  const int64_t answered = ask_partitions(150);
  append(storage, events, 150, 200);
  const int64_t answered_later = ask_partitions(200);
  s = status(view);
  EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s.applied_idx(), 200);
  EXPECT_EQ(s.fallbacks(), asked);  // no more since the rebuild
  EXPECT_EQ(s.answered(), answered + answered_later);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// ---- stored answers (restore_on_demand) ---------------------------------------------------------

// The questions of queries_for that view `kind` answers; only the stored ones when `stored`.
std::vector<Query> questions_of(projections::ViewKind kind, const ReferenceFold& oracle,
                                int64_t min_idx, bool stored) {
  std::vector<Query> out;
  for (auto& q : queries_for(oracle, min_idx)) {
    if (projections::view_for(q) != kind) continue;
    if (stored && !projections::is_stored_question(q)) continue;
    out.push_back(std::move(q));
  }
  return out;
}

// Per view: a view that restores on demand answers the stored questions from the answers saved
// beside its snapshot without restoring it (the snapshot is garbage here: restoring it would fold
// from idx 1), restores it when another question comes (then folds, the snapshot refused), and
// follows the log afterwards; every answer equals the oracle's.
TEST_F(ProjectionActorTest, StoredAnswersServeUntilTheViewIsNeeded) {
  constexpr uint64_t kSeed = 101;
  const auto events = random_stream(kSeed, small_stream(200));
  const std::vector<BuildEvent> first(events.begin(), events.begin() + 150);
  const ReferenceFold at_150(first), at_200(events);
  QueryComparer compare("seed 101");
  for (projections::ViewKind kind : projections::kAllViews) {
    SCOPED_TRACE(projections::view_name(kind));
    StorageActor storage;
    ViewActor view = view_over_snapshot(kind, first, /*garbage_snapshot=*/true, &storage);
    auto s = wait_for(view, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
    EXPECT_EQ(s.applied_idx(), 150);

    const auto stored = questions_of(kind, at_150, 150, true);
    ASSERT_FALSE(stored.empty());
    expect_answers(self(), view, query_atom::value, stored, at_150, "stored answers", compare);
    s = status(view);
    EXPECT_EQ(s.applies(), 0);  // not restored: the garbage snapshot was never read
    EXPECT_EQ(s.answered(), static_cast<int64_t>(stored.size()));

    const auto all = questions_of(kind, at_150, 150, false);
    expect_answers(self(), view, query_atom::value, all, at_150, "view", compare);
    if (all.size() > stored.size()) {
      s = status(view);
      EXPECT_EQ(s.applies(), 150);  // the snapshot refused: folded from idx 1
      // ... and `views status` says so, though the view is healthy.
      EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
      EXPECT_NE(s.last_error().find("snapshot at idx 150 not restored, folded from idx 1"),
                std::string::npos)
          << s.last_error();
    }

    append(storage, events, 150, 200);
    expect_answers(self(), view, query_atom::value, questions_of(kind, at_200, 200, false), at_200,
                   "view after the tail", compare);
    s = status(view);
    EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
    EXPECT_EQ(s.applied_idx(), 200);
    EXPECT_EQ(s.applies(), 200);
    EXPECT_EQ(s.fallbacks(), 0);
  }
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// A valid snapshot and an event past the stored answers: the view restores the snapshot and
// applies only what follows it.
TEST_F(ProjectionActorTest, AnEventPastTheStoredAnswersRestoresTheSnapshot) {
  constexpr uint64_t kSeed = 103;
  const auto events = random_stream(kSeed, small_stream(200));
  const std::vector<BuildEvent> first(events.begin(), events.begin() + 150);
  const ReferenceFold at_200(events);
  QueryComparer compare("seed 103");
  for (projections::ViewKind kind : projections::kAllViews) {
    SCOPED_TRACE(projections::view_name(kind));
    StorageActor storage;
    ViewActor view = view_over_snapshot(kind, first, /*garbage_snapshot=*/false, &storage);
    wait_for(view, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
    append(storage, events, 150, 200);
    expect_answers(self(), view, query_atom::value, questions_of(kind, at_200, 200, true), at_200,
                   "view after the tail", compare);
    auto s = status(view);
    EXPECT_EQ(s.applied_idx(), 200);
    EXPECT_EQ(s.applies(), 50);  // the snapshot restored, the tail applied
    EXPECT_EQ(s.fallbacks(), 0);
  }
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// A coordinator's view (restore_on_demand off) answers the questions its stored answers cover
// while its snapshot is still loading (held here), stays LOADING meanwhile, and answers the rest
// once the snapshot is restored.
TEST_F(ProjectionActorTest, ALoadingViewAnswersFromItsStoredAnswers) {
  constexpr uint64_t kSeed = 107;
  const auto events = random_stream(kSeed, small_stream(150));
  const ReferenceFold oracle(events);
  QueryComparer compare("seed 107");
  for (projections::ViewKind kind : projections::kAllViews) {
    SCOPED_TRACE(projections::view_name(kind));
    StorageActor storage;
    caf::actor gate;
    ViewActor view = view_over_snapshot(kind, events, /*garbage_snapshot=*/false, &storage,
                                        /*restore_on_demand=*/false, &gate);
    const auto stored = questions_of(kind, oracle, 150, true);
    expect_answers(self(), view, query_atom::value, stored, oracle, "stored answers", compare);
    auto s = status(view);
    EXPECT_EQ(s.state(), v1::VIEW_LOADING);  // the snapshot is held: nothing restored yet
    EXPECT_EQ(s.answered(), static_cast<int64_t>(stored.size()));

    self()->send(gate, open_atom::value);
    expect_answers(self(), view, query_atom::value, questions_of(kind, oracle, 150, false), oracle,
                   "view", compare);
    s = wait_for(view, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
    EXPECT_EQ(s.applied_idx(), 150);
    EXPECT_EQ(s.applies(), 0);  // restored from the snapshot
    EXPECT_EQ(s.fallbacks(), 0);
  }
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// Views sharing RestoreTurns restore one at a time. While another holds the turn, each stays
// LOADING and answers what its stored answers cover; once it is free, each restores its snapshot
// (nothing folded), whether it was queued as it started or asked when it was ready to load.
TEST_F(ProjectionActorTest, ViewsSharingRestoreTurnsRestoreOneAtATime) {
  constexpr uint64_t kSeed = 113;
  const auto events = random_stream(kSeed, small_stream(150));
  const ReferenceFold oracle(events);
  QueryComparer compare("seed 113");
  auto turns = std::make_shared<RestoreTurns>();
  RestoreTurn held = take_turn(*turns);
  std::vector<ViewActor> views;
  std::vector<StorageActor> storages(projections::kViewCount);
  for (projections::ViewKind kind : projections::kAllViews) {
    const auto k = static_cast<size_t>(kind);
    views.push_back(view_over_snapshot(kind, events, /*garbage_snapshot=*/false, &storages[k],
                                       /*restore_on_demand=*/false, nullptr, turns,
                                       /*turn_queued=*/k % 2 == 0));
  }
  // The views not queued at their start ask once their stored answers are loaded.
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (turns->waiting() < projections::kViewCount &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(turns->waiting(), projections::kViewCount);
  for (projections::ViewKind kind : projections::kAllViews) {
    SCOPED_TRACE(projections::view_name(kind));
    const ViewActor& view = views[static_cast<size_t>(kind)];
    expect_answers(self(), view, query_atom::value, questions_of(kind, oracle, 150, true), oracle,
                   "stored answers", compare);
    EXPECT_EQ(status(view).state(), v1::VIEW_LOADING);  // no turn yet: nothing restored
  }

  held = nullptr;
  for (projections::ViewKind kind : projections::kAllViews) {
    SCOPED_TRACE(projections::view_name(kind));
    const ViewActor& view = views[static_cast<size_t>(kind)];
    auto s = wait_for(view, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
    EXPECT_EQ(s.applied_idx(), 150);
    EXPECT_EQ(s.applies(), 0);  // restored from the snapshot
    expect_answers(self(), view, query_atom::value, questions_of(kind, oracle, 150, false), oracle,
                   "view", compare);
  }
  EXPECT_EQ(turns->given(), 1 + static_cast<int64_t>(projections::kViewCount));
  EXPECT_EQ(turns->waiting(), 0u);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// A view that restores on demand does not keep the turn queued for it at its start: the next
// view restores, and the first asks for a turn of its own once a question needs its snapshot.
TEST_F(ProjectionActorTest, ADeferredViewLeavesItsQueuedTurnToTheNext) {
  constexpr uint64_t kSeed = 127;
  const auto events = random_stream(kSeed, small_stream(150));
  const ReferenceFold oracle(events);
  QueryComparer compare("seed 127");
  auto turns = std::make_shared<RestoreTurns>();
  StorageActor first_storage, next_storage;
  const auto kind = projections::ViewKind::partition_status;
  ViewActor deferred = view_over_snapshot(kind, events, /*garbage_snapshot=*/false, &first_storage,
                                          /*restore_on_demand=*/true, nullptr, turns, true);
  ViewActor next = view_over_snapshot(projections::ViewKind::job_runs, events, false, &next_storage,
                                      /*restore_on_demand=*/false, nullptr, turns, true);
  auto s = wait_for(next, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
  EXPECT_EQ(s.applies(), 0);  // restored in its turn

  expect_answers(self(), deferred, query_atom::value, questions_of(kind, oracle, 150, false),
                 oracle, "view", compare);
  s = wait_for(deferred, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
  EXPECT_EQ(s.applies(), 0);     // restored in a turn of its own, not folded
  EXPECT_EQ(s.fallbacks(), 0);   // every question waited for the restore
  EXPECT_EQ(turns->given(), 3);  // queued for each, then the deferred view's own
  EXPECT_EQ(turns->waiting(), 0u);
  EXPECT_EQ(compare.failures(), 0) << "seed " << kSeed;
}

// A view keeps its turn until its snapshot has answered, even when a rebuild takes over while
// the load is in flight: the next view's restore starts only then.
TEST_F(ProjectionActorTest, AViewKeepsItsTurnUntilItsSnapshotHasAnswered) {
  constexpr uint64_t kSeed = 131;
  const auto events = random_stream(kSeed, small_stream(150));
  auto turns = std::make_shared<RestoreTurns>();
  StorageActor first_storage, next_storage;
  caf::actor gate;
  ViewActor first = view_over_snapshot(projections::ViewKind::partition_status, events,
                                       /*garbage_snapshot=*/false, &first_storage,
                                       /*restore_on_demand=*/false, &gate, turns, true);
  ViewActor next = view_over_snapshot(projections::ViewKind::job_runs, events, false, &next_storage,
                                      /*restore_on_demand=*/false, nullptr, turns, true);
  // The first view's snapshot load is held at its reader: it has its turn, and keeps it.
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  int32_t held = 0;
  while (held == 0 && std::chrono::steady_clock::now() < deadline) {
    auto n = request_value<int32_t>(self(), gate, held_atom::value);
    ASSERT_TRUE(n.ok()) << n.error().to_string();
    held = *n;
  }
  ASSERT_EQ(held, 1);
  EXPECT_EQ(turns->given(), 1);
  EXPECT_EQ(turns->waiting(), 1u);

  // A rebuild takes over; the load it abandoned is still in flight, so the turn stays.
  auto rebuilt = request_value<ViewStatus>(self(), first, rebuild_atom::value);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
  EXPECT_EQ(rebuilt->state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(turns->given(), 1);
  EXPECT_EQ(status(next).state(), v1::VIEW_LOADING);

  self()->send(gate, open_atom::value);  // the load answers: the turn passes on
  auto s = wait_for(next, [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY; });
  EXPECT_EQ(s.applies(), 0);
  EXPECT_EQ(turns->given(), 2);
  EXPECT_EQ(status(first).applied_idx(), 150);  // the rebuilt view, unchanged by the late load
}

// A rebuild answers once its snapshot is saved; a view stopped before then still answers the
// rebuild request (an error naming the stop) instead of leaving it to its timeout.
TEST_F(ProjectionActorTest, ARebuildWaitingForItsSavesIsAnsweredWhenTheViewStops) {
  ViewActor view = partition_view_saving_to(keep(system_->spawn(silent_store)),
                                            random_stream(109, small_stream(60)));
  auto rebuilt = self()->request(view, kTimeout, rebuild_atom::value);
  // The rebuild is done (healthy again at 60) but its saves are never answered.
  wait_for(view,
           [](const ViewStatus& v) { return v.state() == v1::VIEW_HEALTHY && v.applies() == 120; });
  caf::anon_send_exit(view, caf::exit_reason::user_shutdown);
  Result<ViewStatus> answer = make_error(ErrorCode::internal, "no answer");
  rebuilt.receive([&](const ViewStatus& s) { answer = s; },
                  [&](const caf::error& e) { answer = from_caf_error(e); });
  ASSERT_FALSE(answer.ok()) << "the rebuild answered although its snapshot was never saved";
  EXPECT_EQ(answer.error().code, ErrorCode::storage_unavailable) << answer.error().to_string();
  EXPECT_NE(answer.error().message.find("view stopped"), std::string::npos)
      << answer.error().to_string();
}

// A snapshot the store refuses leaves the view healthy, and `views status` says why in its last
// error until a snapshot is saved.
TEST_F(ProjectionActorTest, ASnapshotNotSavedIsTheLastErrorUntilOneIs) {
  auto refuse = std::make_shared<std::atomic<bool>>(true);
  ViewActor view = partition_view_saving_to(keep(system_->spawn(refusing_store, refuse)),
                                            random_stream(113, small_stream(60)));
  self()->send(view, snapshot_atom::value);
  auto s = wait_for(view, [](const ViewStatus& v) { return !v.last_error().empty(); });
  EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s.snapshots_written(), 0);
  EXPECT_EQ(s.snapshot_idx(), 0);
  EXPECT_NE(s.last_error().find("saving the snapshot: "), std::string::npos) << s.last_error();
  EXPECT_NE(s.last_error().find("disk full (injected)"), std::string::npos) << s.last_error();

  // The disk has room again: the next snapshot (asked until one is written; a request while the
  // refused one's replies are still on their way writes nothing) clears it.
  *refuse = false;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  do {
    self()->send(view, snapshot_atom::value);
    s = status(view);
  } while (s.snapshots_written() == 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(s.snapshots_written(), 1);
  EXPECT_EQ(s.snapshot_idx(), 60);
  EXPECT_EQ(s.state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s.last_error(), "");
}

}  // namespace
}  // namespace bel::actors
