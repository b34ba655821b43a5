// The storage conformance suite (SPEC 3): every backend must pass it unchanged. A backend joins
// by adding a Backend to kBackends below; a backend that needs a server (postgres://) returns no
// URI from fresh_uri when none is reachable, and its cases are skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "storage/checks.h"
#include "storage/event_page_arena.h"
#include "storage/snapshot_codec.h"
#include "storage/snapshot_stream.h"
#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "tests/storage/storage_test_events.h"
#include "tests/support/postgres.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers

std::vector<int64_t> idxs_of(const EventPage& page) {
  std::vector<int64_t> out;
  for (const auto& event : page.events()) out.push_back(event.idx());
  return out;
}

struct Backend {
  std::string name;
  // The URI of a fresh, empty log; `dir` is a new temporary directory for this test. Nothing
  // when the backend cannot run here (the test is then skipped).
  std::function<std::optional<std::string>(const std::string& dir)> fresh_uri;
};

// Test names and ctest listings show the backend's name, not its bytes.
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

const std::vector<Backend>& backends() {
  static const std::vector<Backend> all = {
      {"memory", [](const std::string&) { return std::optional<std::string>("memory://"); }},
      {"stdout", [](const std::string&) { return std::optional<std::string>("stdout"); }},
      {"sqlite",
       [](const std::string& dir) {
         return std::optional<std::string>("sqlite://" + dir + "/bel.db");  // dir is absolute
       }},
      {"postgres", [](const std::string&) { return bel::testing::fresh_postgres_uri(); }},
  };
  return all;
}

class StorageConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    sink_ = std::tmpfile();  // stdout prints here instead of polluting the test output
    ASSERT_NE(sink_, nullptr);
    auto uri = GetParam().fresh_uri(dir_.path());
    if (!uri) GTEST_SKIP() << GetParam().name << " is not available here";
    uri_ = *uri;
    StorageOptions options;
    options.stdout_sink = sink_;
    options.fault_hook = [this](FaultPoint point) -> Status {
      fault_points_.push_back(point);
      return fault_ ? fault_(point) : ok_status();
    };
    auto log = open_storage(uri_, options);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    log_ = std::move(*log);
  }

  void TearDown() override {
    log_.reset();
    if (sink_ != nullptr) std::fclose(sink_);
  }

  // Appends `events`, expecting success; the idx of each.
  std::vector<int64_t> append(const std::vector<BuildEvent>& events) {
    auto idxs = log_->append_batch(events);
    EXPECT_TRUE(idxs.ok()) << idxs.error().to_string();
    return idxs.ok() ? *idxs : std::vector<int64_t>{};
  }

  EventPage list(const EventFilter& filter = {}, int64_t since_idx = 0, int limit = kMaxListLimit) {
    auto page = log_->list_events(since_idx, filter, limit);
    EXPECT_TRUE(page.ok()) << page.error().to_string();
    return page.ok() ? *page : EventPage{};
  }

  // The idx of every event matching `filter`.
  std::vector<int64_t> matching(const EventFilter& filter) { return idxs_of(list(filter)); }

  // The error list_events gives, expecting one.
  Error list_error(int64_t since_idx, const EventFilter& filter, int limit) {
    auto page = log_->list_events(since_idx, filter, limit);
    EXPECT_FALSE(page.ok());
    return page.ok() ? Error{} : page.error();
  }

  // A fault_ that fails the `n`th consultation of `point` (1-based) in each batch.
  std::function<Status(FaultPoint)> fail_at(FaultPoint point, int n) {
    auto seen = std::make_shared<int>(0);
    return [point, n, seen](FaultPoint at) -> Status {
      if (at == FaultPoint::begin) *seen = 0;
      if (at == point && ++*seen == n) {
        return make_error(ErrorCode::storage_unavailable, "injected fault");
      }
      return ok_status();
    };
  }

  bel::testing::TempDir dir_;  // a new one per test, removed with the fixture
  std::FILE* sink_ = nullptr;
  std::string uri_;
  std::unique_ptr<Storage> log_;
  std::function<Status(FaultPoint)> fault_;  // tests set it to inject failures
  std::vector<FaultPoint> fault_points_;     // every point the hook was consulted at
};

std::vector<int64_t> range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// A JobEvent of run-1 (//jobs:a, building `targets`) with a config and a manifest for data/a.
BuildEvent job_event_with_details(const std::vector<std::string>& targets) {
  BuildEvent job = job_event("br-1", "run-1", "//jobs:a", targets);
  auto* config = job.mutable_job_event()->mutable_config();
  config->add_outputs()->set_str("data/a");
  config->add_args("--fast");
  (*config->mutable_env())["HOME"] = "/root";
  auto* manifest = job.mutable_job_event()->add_manifests();
  manifest->add_outputs()->set_str("data/a");
  manifest->set_start_time(5);
  (*manifest->mutable_metadata())["rows"] = "12";
  return job;
}

// ---- append and list ---------------------------------------------------------------------------

TEST_P(StorageConformanceTest, AppendThenListRoundTripsEveryEventTypeWithIdxSet) {
  const BuildEvent job = job_event_with_details({"data/a", "data/b"});
  std::vector<BuildEvent> events = {
      build_request_event("br-1", {"data/a", "data/b"}),
      partition_event("br-1", "data/a", v1::PARTITION_BUILDING, "run-1"),
      job,
      delegation_event("br-1", "data/b", "br-0"),
      job_graph_event("br-1", {"data/a"}),
      partition_invalidation_event("br-1", "data/a"),
      job_run_cancel_event("br-1", "run-1"),
      build_cancel_event("br-1"),
  };
  EXPECT_EQ(append(events), range(1, 8));

  EventPage page = list();
  ASSERT_EQ(page.events_size(), 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(page.events(i).idx(), i + 1);
    EXPECT_TRUE(same_apart_from_idx(page.events(i), events[i]))
        << page.events(i).DebugString() << "\nvs\n"
        << events[i].DebugString();
  }
}

TEST_P(StorageConformanceTest, IdxIsContiguousFromOneAcrossBatches) {
  EXPECT_EQ(append({partition_event("br", "a")}), range(1, 1));
  EXPECT_EQ(append({partition_event("br", "b"), partition_event("br", "c")}), range(2, 3));
  std::vector<BuildEvent> big;
  for (int i = 0; i < 300; ++i) big.push_back(partition_event("br", "p/" + std::to_string(i)));
  EXPECT_EQ(append(big), range(4, 303));
  EXPECT_EQ(idxs_of(list()), range(1, 303));
  auto last = log_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 303);
}

TEST_P(StorageConformanceTest, LastIdxIsZeroOnAnEmptyLog) {
  auto last = log_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 0);
  EventPage page = list();
  EXPECT_EQ(page.events_size(), 0);
  EXPECT_EQ(page.next_idx(), 0);
  EXPECT_FALSE(page.has_more());
}

TEST_P(StorageConformanceTest, EmptyBatchStoresNothingAndCountsNothing) {
  auto idxs = log_->append_batch({});
  ASSERT_TRUE(idxs.ok());
  EXPECT_TRUE(idxs->empty());
  EXPECT_EQ(*log_->last_idx(), 0);
  EXPECT_EQ(log_->counters().commits, 0);
  EXPECT_EQ(log_->counters().failed_commits, 0);
}

TEST_P(StorageConformanceTest, InitializeIsIdempotent) {
  append({partition_event("br", "a")});
  ASSERT_TRUE(log_->initialize().ok());
  ASSERT_TRUE(log_->initialize().ok());
  EXPECT_EQ(idxs_of(list()), range(1, 1));
  EXPECT_EQ(append({partition_event("br", "b")}), range(2, 2));
}

TEST_P(StorageConformanceTest, UriIsTheOneOpened) { EXPECT_EQ(log_->uri(), uri_); }

TEST_P(StorageConformanceTest, DuplicateEventIdFailsAndStoresNothing) {
  BuildEvent first = partition_event("br", "a");
  append({first});
  BuildEvent again = partition_event("br", "b");
  again.set_event_id(first.event_id());
  auto result = log_->append_batch({partition_event("br", "c"), again});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::duplicate_event_id);
  EXPECT_NE(result.error().message.find("append #2"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find(first.event_id()), std::string::npos);

  BuildEvent twin = partition_event("br", "d");
  result = log_->append_batch({twin, twin});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::duplicate_event_id);

  EXPECT_EQ(idxs_of(list()), range(1, 1));
  EXPECT_EQ(log_->counters().failed_commits, 2);
  EXPECT_EQ(append({partition_event("br", "e")}), range(2, 2));
}

// ---- filters: each field alone -----------------------------------------------------------------

class FilterTest : public StorageConformanceTest {
 protected:
  // idx 1..8, one event of each type, with distinct partitions, labels, run ids and builds.
  void append_one_of_each() {
    append({
        build_request_event("br-1", {"data/requested"}),                     // 1
        partition_event("br-1", "data/p", v1::PARTITION_BUILDING, "run-p"),  // 2
        job_event("br-2", "run-j", "//jobs:j", {"data/t1", "data/t2"}),      // 3
        delegation_event("br-2", "data/delegated", "br-1"),                  // 4
        job_graph_event("br-3", {"data/graph-out"}),                         // 5
        partition_invalidation_event("br-3", "data/invalid"),                // 6
        job_run_cancel_event("br-3", "run-c"),                               // 7
        build_cancel_event("br-4"),                                          // 8
    });
  }
};

TEST_P(StorageConformanceTest, EmptyFilterMatchesEverything) {
  append({partition_event("br-1", "a"), build_cancel_event("br-2")});
  EXPECT_EQ(matching(EventFilter{}), range(1, 2));
}

TEST_P(StorageConformanceTest, FilterByPartitionRefsMatchesAnyListedRef) {
  append({partition_event("br", "data/a"), partition_event("br", "data/b"),
          partition_event("br", "data/c"), partition_event("br", "data/a")});
  EventFilter f;
  f.add_partition_refs("data/a");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 4}));
  f.add_partition_refs("data/c");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 3, 4}));
  EventFilter none;
  none.add_partition_refs("data/zzz");
  EXPECT_TRUE(matching(none).empty());
}

TEST_P(StorageConformanceTest, FilterByPartitionPatternsMatchesAnyPattern) {
  append({partition_event("br", "sales/eu"), partition_event("br", "sales/us"),
          partition_event("br", "costs/eu")});
  EventFilter f;
  f.add_partition_patterns("sales/*");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 2}));
  f.add_partition_patterns("*/eu");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 2, 3}));
}

TEST_P(StorageConformanceTest, FilterByJobLabelsMatchesJobEventLabels) {
  append({job_event("br", "run-1", "//jobs:a"), job_event("br", "run-2", "//jobs:b"),
          job_event("br", "run-3", "//jobs:c")});
  EventFilter f;
  f.add_job_labels("//jobs:a");
  f.add_job_labels("//jobs:c");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 3}));
}

TEST_P(StorageConformanceTest, FilterByJobRunIdsMatchesAnyListedRun) {
  append({job_event("br", "run-1", "//jobs:a"), job_event("br", "run-2", "//jobs:a"),
          partition_event("br", "data/a", v1::PARTITION_BUILDING, "run-2")});
  EventFilter f;
  f.add_job_run_ids("run-2");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{2, 3}));
}

TEST_P(StorageConformanceTest, FilterByBuildRequestIdsMatchesAnyListedBuild) {
  append({partition_event("br-1", "a"), partition_event("br-2", "a"), partition_event("br-3", "a"),
          build_cancel_event("br-1")});
  EventFilter f;
  f.add_build_request_ids("br-1");
  f.add_build_request_ids("br-3");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 3, 4}));
}

TEST_P(FilterTest, FilterByEventTypesMatchesTheOneofFieldName) {
  append_one_of_each();
  const std::vector<std::string>& names = event_type_names();
  ASSERT_EQ(names.size(), 8u);
  for (size_t i = 0; i < names.size(); ++i) {
    EventFilter f;
    f.add_event_types(names[i]);
    EXPECT_EQ(matching(f), (std::vector<int64_t>{static_cast<int64_t>(i) + 1})) << names[i];
  }
  EventFilter two;
  two.add_event_types("job_event");
  two.add_event_types("build_cancel_event");
  EXPECT_EQ(matching(two), (std::vector<int64_t>{3, 8}));
}

// ---- filters: which fields count (SPEC 3.2) ----------------------------------------------------

TEST_P(FilterTest, AnEventsPartitionsAreTheSpecFieldsOfEachType) {
  append_one_of_each();
  auto by_ref = [&](const std::string& ref) {
    EventFilter f;
    f.add_partition_refs(ref);
    return matching(f);
  };
  EXPECT_EQ(by_ref("data/requested"), (std::vector<int64_t>{1}));  // requested_partitions
  EXPECT_EQ(by_ref("data/p"), (std::vector<int64_t>{2}));          // PartitionEvent
  EXPECT_EQ(by_ref("data/t1"), (std::vector<int64_t>{3}));         // JobEvent targets
  EXPECT_EQ(by_ref("data/t2"), (std::vector<int64_t>{3}));
  EXPECT_EQ(by_ref("data/delegated"), (std::vector<int64_t>{4}));  // DelegationEvent
  EXPECT_EQ(by_ref("data/graph-out"), (std::vector<int64_t>{5}));  // JobGraph outputs
  EXPECT_EQ(by_ref("data/invalid"), (std::vector<int64_t>{6}));    // PartitionInvalidation
  EventFilter any;
  any.add_partition_patterns("*");
  // JobRunCancelEvent and BuildCancelEvent have no partitions.
  EXPECT_EQ(matching(any), range(1, 6));
}

TEST_P(StorageConformanceTest, PartitionRefsOutsideTheSpecFieldsDoNotCount) {
  BuildEvent job = job_event("br", "run-1", "//jobs:a", {"data/target"});
  job.mutable_job_event()->mutable_config()->add_outputs()->set_str("decoy/config-output");
  job.mutable_job_event()->mutable_config()->add_inputs()->mutable_partition_ref()->set_str(
      "decoy/input");
  job.mutable_job_event()->add_manifests()->add_outputs()->set_str("decoy/manifest");
  BuildEvent graph = job_graph_event("br", {"data/graph-out"});
  auto* task = graph.mutable_job_graph_event()->mutable_job_graph()->add_nodes();
  task->mutable_job()->set_label("//jobs:a");
  task->mutable_config()->add_outputs()->set_str("decoy/node-output");
  BuildEvent delegation = delegation_event("br", "data/delegated", "decoy/br");
  append({job, graph, delegation});

  EventFilter decoys;
  decoys.add_partition_patterns("decoy/*");
  EXPECT_TRUE(matching(decoys).empty());
  EventFilter data;
  data.add_partition_patterns("data/*");
  EXPECT_EQ(matching(data), range(1, 3));
}

TEST_P(StorageConformanceTest, JobLabelsAreOnlyJobEventLabels) {
  BuildEvent graph = job_graph_event("br", {"data/out"});
  graph.mutable_job_graph_event()->mutable_job_graph()->set_label("//jobs:a");
  graph.mutable_job_graph_event()->mutable_job_graph()->add_nodes()->mutable_job()->set_label(
      "//jobs:a");
  append({graph, job_event("br", "run-1", "//jobs:a"), partition_event("br", "//jobs:a")});
  EventFilter f;
  f.add_job_labels("//jobs:a");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{2}));
}

TEST_P(FilterTest, JobRunIdsComeFromJobPartitionAndJobRunCancelEvents) {
  append_one_of_each();
  auto by_run = [&](const std::string& run) {
    EventFilter f;
    f.add_job_run_ids(run);
    return matching(f);
  };
  EXPECT_EQ(by_run("run-p"), (std::vector<int64_t>{2}));  // PartitionEvent.job_run_id
  EXPECT_EQ(by_run("run-j"), (std::vector<int64_t>{3}));  // JobEvent.job_run_id
  EXPECT_EQ(by_run("run-c"), (std::vector<int64_t>{7}));  // JobRunCancelEvent.job_run_id
  // A job run id is not a partition, a label or a build.
  EventFilter as_ref;
  as_ref.add_partition_refs("run-j");
  EXPECT_TRUE(matching(as_ref).empty());
}

TEST_P(FilterTest, JobLabelFilterMatchesOnlyJobEvents) {
  append_one_of_each();
  EventFilter f;
  f.add_job_labels("//jobs:j");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{3}));
}

// ---- filters: combinations ---------------------------------------------------------------------

TEST_P(StorageConformanceTest, FilterFieldsAreAndedAndValuesWithinAFieldOred) {
  append({
      partition_event("br-1", "data/a"),                                   // 1
      partition_event("br-2", "data/a"),                                   // 2
      job_event("br-1", "run-1", "//jobs:x", {"data/a"}),                  // 3
      job_event("br-1", "run-2", "//jobs:y", {"data/b"}),                  // 4
      partition_event("br-1", "data/b", v1::PARTITION_BUILDING, "run-2"),  // 5
      build_cancel_event("br-1"),                                          // 6
  });
  EventFilter ref_and_build;
  ref_and_build.add_partition_refs("data/a");
  ref_and_build.add_build_request_ids("br-1");
  EXPECT_EQ(matching(ref_and_build), (std::vector<int64_t>{1, 3}));

  EventFilter ref_and_type;
  ref_and_type.add_partition_refs("data/a");
  ref_and_type.add_event_types("job_event");
  EXPECT_EQ(matching(ref_and_type), (std::vector<int64_t>{3}));

  EventFilter two_refs_one_type;
  two_refs_one_type.add_partition_refs("data/a");
  two_refs_one_type.add_partition_refs("data/b");
  two_refs_one_type.add_event_types("partition_event");
  EXPECT_EQ(matching(two_refs_one_type), (std::vector<int64_t>{1, 2, 5}));

  EventFilter run_and_label;
  run_and_label.add_job_run_ids("run-2");
  run_and_label.add_job_labels("//jobs:y");
  EXPECT_EQ(matching(run_and_label), (std::vector<int64_t>{4}));

  EventFilter all_fields;
  all_fields.add_partition_patterns("data/?");
  all_fields.add_job_labels("//jobs:x");
  all_fields.add_job_labels("//jobs:y");
  all_fields.add_job_run_ids("run-1");
  all_fields.add_build_request_ids("br-1");
  all_fields.add_event_types("job_event");
  all_fields.add_event_types("partition_event");
  EXPECT_EQ(matching(all_fields), (std::vector<int64_t>{3}));

  EventFilter contradiction;
  contradiction.add_partition_refs("data/a");
  contradiction.add_event_types("build_cancel_event");
  EXPECT_TRUE(matching(contradiction).empty());
}

TEST_P(StorageConformanceTest, RefsAndPatternsTogetherAreOneCriterion) {
  append({partition_event("br", "exact/one"), partition_event("br", "glob/two"),
          partition_event("br", "other/three")});
  EventFilter f;
  f.add_partition_refs("exact/one");
  f.add_partition_patterns("glob/*");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 2}));
}

TEST_P(StorageConformanceTest, AnEventMatchesWhenAnyOfItsPartitionsMatches) {
  append({job_event("br", "run-1", "//jobs:a", {"x/1", "y/2"}),
          build_request_event("br", {"x/9", "z/3"})});
  EventFilter f;
  f.add_partition_refs("y/2");
  f.add_partition_patterns("z/*");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{1, 2}));
}

// ---- globs -------------------------------------------------------------------------------------

class GlobTest : public StorageConformanceTest {
 protected:
  void SetUp() override {
    StorageConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::vector<BuildEvent> events;
    for (const char* ref : kRefs) events.push_back(partition_event("br", ref));
    append(events);
  }

  // The refs matched by `pattern`, in log order.
  std::vector<std::string> refs_matching(const std::string& pattern) {
    EventFilter f;
    f.add_partition_patterns(pattern);
    std::vector<std::string> refs;
    const EventPage page = list(f);
    for (const auto& event : page.events()) {
      refs.push_back(event.partition_event().partition_ref().str());
    }
    return refs;
  }

  static constexpr const char* kRefs[] = {
      "data/a",
      "data/b",
      "data/c",
      "data/d",
      "data/x",
      "data/a/b",
      "x/data/a",
      "datax",
      "data/sales/2024-05-01",
      "data/Sales/2024-05-01",
      "data/sales/2024-06-01",
      "data/[a]",
  };
};

using Refs = std::vector<std::string>;

TEST_P(GlobTest, StarMatchesAnyRunIncludingSlashes) {
  EXPECT_EQ(
      refs_matching("data/*"),
      (Refs{"data/a", "data/b", "data/c", "data/d", "data/x", "data/a/b", "data/sales/2024-05-01",
            "data/Sales/2024-05-01", "data/sales/2024-06-01", "data/[a]"}));
  EXPECT_EQ(refs_matching("*/a"), (Refs{"data/a", "x/data/a"}));
  EXPECT_EQ(refs_matching("data*a"), (Refs{"data/a"}));
  EXPECT_EQ(refs_matching("data*b"), (Refs{"data/b", "data/a/b"}));
}

TEST_P(GlobTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_EQ(refs_matching("data/?"), (Refs{"data/a", "data/b", "data/c", "data/d", "data/x"}));
  EXPECT_EQ(refs_matching("?ata/a"), (Refs{"data/a"}));
  EXPECT_EQ(refs_matching("data/sales/2024-?"
                          "?-01"),
            (Refs{"data/sales/2024-05-01", "data/sales/2024-06-01"}));
  EXPECT_EQ(refs_matching("data?"), (Refs{"datax"}));
}

TEST_P(GlobTest, ClassesMatchListsRangesAndComplements) {
  EXPECT_EQ(refs_matching("data/[abc]"), (Refs{"data/a", "data/b", "data/c"}));
  EXPECT_EQ(refs_matching("data/[a-c]"), (Refs{"data/a", "data/b", "data/c"}));
  EXPECT_EQ(refs_matching("data/[^x]"), (Refs{"data/a", "data/b", "data/c", "data/d"}));
  EXPECT_EQ(refs_matching("data/[^a-c]"), (Refs{"data/d", "data/x"}));
  EXPECT_EQ(refs_matching("data/[sS]ales/*"),
            (Refs{"data/sales/2024-05-01", "data/Sales/2024-05-01", "data/sales/2024-06-01"}));
  EXPECT_EQ(refs_matching("data/[[]a]"), (Refs{"data/[a]"}));
}

TEST_P(GlobTest, PatternsMatchTheWholeRef) {
  EXPECT_EQ(refs_matching("data/a"), (Refs{"data/a"}));
  EXPECT_EQ(refs_matching("data"), Refs{});
  EXPECT_EQ(refs_matching("a"), Refs{});
  EXPECT_EQ(refs_matching("data/a*"), (Refs{"data/a", "data/a/b"}));
}

TEST_P(GlobTest, PatternsAreCaseSensitive) {
  EXPECT_EQ(refs_matching("data/s*"), (Refs{"data/sales/2024-05-01", "data/sales/2024-06-01"}));
  EXPECT_EQ(refs_matching("data/S*"), (Refs{"data/Sales/2024-05-01"}));
  EXPECT_EQ(refs_matching("DATA/*"), Refs{});
  EXPECT_EQ(refs_matching("data/[A-C]"), Refs{});
}

TEST_P(GlobTest, ExactRefsContainingSlashesMatchOnlyThemselves) {
  EventFilter f;
  f.add_partition_refs("data/a/b");
  EXPECT_EQ(matching(f), (std::vector<int64_t>{6}));
  EventFilter brackets;
  brackets.add_partition_refs("data/[a]");  // an exact ref is never a pattern
  EXPECT_EQ(matching(brackets), (std::vector<int64_t>{12}));
}

// ---- pagination --------------------------------------------------------------------------------

TEST_P(StorageConformanceTest, WalkingWithSmallLimitsConcatenatesToTheFullList) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 23; ++i) {
    events.push_back(i % 3 == 0 ? partition_event("br", "data/hit/" + std::to_string(i))
                                : partition_event("br", "data/miss/" + std::to_string(i)));
  }
  append(events);
  for (const EventFilter& filter : [] {
         EventFilter hits;
         hits.add_partition_patterns("data/hit/*");
         return std::vector<EventFilter>{EventFilter{}, hits};
       }()) {
    const std::vector<int64_t> full = idxs_of(list(filter));
    for (int limit : {1, 2, 7}) {
      SCOPED_TRACE("limit " + std::to_string(limit) + " filter " + filter.ShortDebugString());
      std::vector<int64_t> walked;
      int64_t since = 0;
      for (int pages = 0; pages < 100; ++pages) {
        EventPage page = list(filter, since, limit);
        ASSERT_LE(page.events_size(), limit);
        for (const auto& event : page.events()) walked.push_back(event.idx());
        if (!page.has_more()) {
          // has_more is exact: nothing follows.
          EXPECT_EQ(list(filter, page.next_idx(), limit).events_size(), 0);
          break;
        }
        ASSERT_EQ(page.events_size(), limit) << "a page with more to come is full";
        since = page.next_idx();
      }
      EXPECT_EQ(walked, full);
    }
  }
}

TEST_P(StorageConformanceTest, ListingIntoAnArenaPageGivesTheSamePages) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 17; ++i) {
    events.push_back(
        partition_event("br-" + std::to_string(i % 4),
                        (i % 2 == 0 ? "data/hit/" : "data/miss/") + std::to_string(i)));
  }
  append(events);
  EventFilter hits;
  hits.add_partition_patterns("data/hit/*");
  storage::PageArena arena;
  for (const EventFilter& filter : {EventFilter{}, hits}) {
    for (int limit : {1, 5, kMaxListLimit}) {
      for (int64_t since : {0, 3, 16, 17}) {
        SCOPED_TRACE(filter.ShortDebugString() + " limit " + std::to_string(limit) + " since " +
                     std::to_string(since));
        // Each page on the arena replaces the one before; a shared page has an arena of its own.
        EventPage* page = arena.fresh();
        ASSERT_TRUE(log_->list_events_into(since, filter, limit, page).ok());
        const EventPage expected = list(filter, since, limit);
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*page, expected));
        auto shared = storage::new_shared_page();
        ASSERT_TRUE(log_->list_events_into(since, filter, limit, shared.get()).ok());
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*shared, expected));
      }
    }
  }
  // The arguments are checked as list_events checks them.
  EventPage* page = arena.fresh();
  auto bad = log_->list_events_into(0, EventFilter{}, 0, page);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

// EventDetail::views: every event as list_events gives it, without what no view reads; a filter
// still matches the full event (a job graph's outputs name partitions).
TEST_P(StorageConformanceTest, ViewsDetailIsTheFullEventWithoutWhatNoViewReads) {
  BuildEvent job = job_event_with_details({"data/a"});
  job.mutable_job_event()->set_message("wrote 12 rows");
  BuildEvent graph = job_graph_event("br-1", {"data/only-in-the-graph"});
  graph.mutable_job_graph_event()->set_message("planned");
  append({build_request_event("br-1", {"data/a"}), job, graph,
          partition_event("br-1", "data/a", v1::PARTITION_BUILDING, "run-1"),
          job_run_cancel_event("br-1", "run-1"), build_cancel_event("br-1")});

  EventFilter in_graph;
  in_graph.add_partition_refs("data/only-in-the-graph");
  EventFilter jobs;
  jobs.add_job_labels("//jobs:a");
  storage::PageArena arena;
  for (const EventFilter& filter : {EventFilter{}, in_graph, jobs}) {
    for (int limit : {1, 4, kMaxListLimit}) {
      for (int64_t since : {0, 2, 6}) {
        SCOPED_TRACE(filter.ShortDebugString() + " limit " + std::to_string(limit) + " since " +
                     std::to_string(since));
        EventPage expected = list(filter, since, limit);
        for (auto& event : *expected.mutable_events()) {
          drop_detail(storage::EventDetail::views, &event);
          EXPECT_TRUE(event.event_id().empty());
          EXPECT_FALSE(event.job_event().has_config());
          EXPECT_EQ(event.job_event().manifests_size(), 0);
          EXPECT_FALSE(event.job_graph_event().has_job_graph());
        }
        EventPage* page = arena.fresh();
        ASSERT_TRUE(
            log_->list_events_into(since, filter, limit, page, storage::EventDetail::views).ok());
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*page, expected))
            << page->DebugString() << "\nvs\n"
            << expected.DebugString();
      }
    }
  }
  // What the views read is still there: the job run, its label, targets and message, the graph
  // event's message.
  EventPage* page = arena.fresh();
  ASSERT_TRUE(log_->list_events_into(0, EventFilter{}, 10, page, storage::EventDetail::views).ok());
  ASSERT_EQ(page->events_size(), 6);
  EXPECT_EQ(page->events(1).job_event().job_run_id(), "run-1");
  EXPECT_EQ(page->events(1).job_event().job_label().label(), "//jobs:a");
  EXPECT_EQ(page->events(1).job_event().target_partitions(0).str(), "data/a");
  EXPECT_EQ(page->events(1).job_event().message(), "wrote 12 rows");
  EXPECT_EQ(page->events(1).build_request_id(), "br-1");
  EXPECT_TRUE(page->events(2).has_job_graph_event());
  EXPECT_EQ(page->events(2).job_graph_event().message(), "planned");
}

TEST_P(StorageConformanceTest, NextIdxIsTheLastReturnedIdxOrSinceIdxWhenNone) {
  append({partition_event("br", "a"), partition_event("br", "b"), partition_event("br", "a"),
          partition_event("br", "b")});
  EventFilter only_a;
  only_a.add_partition_refs("a");
  EventPage page = list(only_a, 0, 1);
  EXPECT_EQ(idxs_of(page), (std::vector<int64_t>{1}));
  EXPECT_EQ(page.next_idx(), 1);
  page = list(only_a, 1, 10);
  EXPECT_EQ(idxs_of(page), (std::vector<int64_t>{3}));
  EXPECT_EQ(page.next_idx(), 3);
  page = list(only_a, 3, 10);
  EXPECT_TRUE(page.events().empty());
  EXPECT_EQ(page.next_idx(), 3);  // since_idx, not the last idx of the log
  EXPECT_FALSE(page.has_more());
}

TEST_P(StorageConformanceTest, HasMoreIsFalseWhenExactlyLimitEventsRemain) {
  append({partition_event("br", "a"), partition_event("br", "a"), partition_event("br", "a"),
          partition_event("br", "a"), partition_event("br", "a")});
  EXPECT_FALSE(list({}, 0, 5).has_more());
  EXPECT_TRUE(list({}, 0, 4).has_more());
  EXPECT_FALSE(list({}, 1, 4).has_more());
  EXPECT_TRUE(list({}, 1, 3).has_more());
  EXPECT_FALSE(list({}, 4, 1).has_more());
  EXPECT_EQ(idxs_of(list({}, 4, 1)), (std::vector<int64_t>{5}));
}

TEST_P(StorageConformanceTest, HasMoreCountsOnlyMatchingEvents) {
  append({partition_event("br", "a"), partition_event("br", "a"), partition_event("br", "b"),
          partition_event("br", "b"), partition_event("br", "b")});
  EventFilter only_a;
  only_a.add_partition_refs("a");
  EventPage page = list(only_a, 0, 2);
  EXPECT_EQ(idxs_of(page), (std::vector<int64_t>{1, 2}));
  EXPECT_FALSE(page.has_more()) << "events 3..5 exist but do not match";
  EXPECT_TRUE(list(only_a, 0, 1).has_more());
}

TEST_P(StorageConformanceTest, SinceIdxAtOrBeyondTheEndGivesAnEmptyPage) {
  append({partition_event("br", "a"), partition_event("br", "b")});
  for (int64_t since : {int64_t{2}, int64_t{3}, int64_t{1000000}}) {
    EventPage page = list({}, since, 10);
    EXPECT_TRUE(page.events().empty()) << since;
    EXPECT_EQ(page.next_idx(), since);
    EXPECT_FALSE(page.has_more());
  }
}

TEST_P(StorageConformanceTest, LimitOfTenThousandIsAccepted) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 10001; ++i) events.push_back(partition_event("br", "p"));
  append(events);
  EventPage page = list({}, 0, kMaxListLimit);
  EXPECT_EQ(page.events_size(), kMaxListLimit);
  EXPECT_TRUE(page.has_more());
  EXPECT_EQ(page.next_idx(), kMaxListLimit);
}

// ---- newest first (list_events_backward) -------------------------------------------------------

TEST_P(StorageConformanceTest, BackwardWalkIsTheForwardListReversed) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 23; ++i) {
    events.push_back(i % 3 == 0 ? partition_event("br", "data/hit/" + std::to_string(i))
                                : partition_event("br-" + std::to_string(i % 2),
                                                  "data/miss/" + std::to_string(i)));
  }
  append(events);
  EventFilter hits;
  hits.add_partition_patterns("data/hit/*");
  EventFilter exact;
  exact.add_partition_refs("data/hit/3");
  exact.add_partition_refs("data/miss/4");
  EventFilter by_build;
  by_build.add_build_request_ids("br-1");
  for (const EventFilter& filter : {EventFilter{}, hits, exact, by_build}) {
    std::vector<int64_t> full = idxs_of(list(filter));
    std::reverse(full.begin(), full.end());
    for (int limit : {1, 2, 7, kMaxListLimit}) {
      SCOPED_TRACE("limit " + std::to_string(limit) + " filter " + filter.ShortDebugString());
      std::vector<int64_t> walked;
      int64_t before = 0;
      for (int pages = 0; pages < 100; ++pages) {
        auto page = log_->list_events_backward(before, filter, limit);
        ASSERT_TRUE(page.ok()) << page.error().to_string();
        ASSERT_LE(page->events_size(), limit);
        for (const auto& event : page->events()) walked.push_back(event.idx());
        EXPECT_EQ(page->next_idx(), page->events().empty() ? before : walked.back());
        if (!page->has_more()) {
          // has_more is exact: nothing older matches.
          auto rest = log_->list_events_backward(page->next_idx(), filter, limit);
          ASSERT_TRUE(rest.ok());
          EXPECT_EQ(rest->events_size(), 0);
          break;
        }
        ASSERT_EQ(page->events_size(), limit) << "a page with more to come is full";
        before = page->next_idx();
      }
      EXPECT_EQ(walked, full);
    }
  }
}

TEST_P(StorageConformanceTest, BackwardReadsEventsBelowBeforeIdxWithTheirPayloads) {
  const std::vector<BuildEvent> events = {partition_event("br", "a"), partition_event("br", "b"),
                                          partition_event("br", "a"), partition_event("br", "b")};
  append(events);
  EventFilter only_a;
  only_a.add_partition_refs("a");
  auto page = log_->list_events_backward(3, only_a, 10);  // idx < 3: only idx 1
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(idxs_of(*page), (std::vector<int64_t>{1}));
  EXPECT_EQ(page->next_idx(), 1);
  EXPECT_FALSE(page->has_more());
  EXPECT_EQ(page->events(0).partition_event().partition_ref().str(), "a");
  EXPECT_EQ(page->events(0).event_id(), events[0].event_id());

  page = log_->list_events_backward(0, only_a, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(idxs_of(*page), (std::vector<int64_t>{3}));
  EXPECT_TRUE(page->has_more());

  for (int64_t before : {int64_t{1}, int64_t{0}}) {
    EventFilter none;
    none.add_partition_refs(before == 0 ? "never" : "a");
    page = log_->list_events_backward(before, none, 10);
    ASSERT_TRUE(page.ok());
    EXPECT_TRUE(page->events().empty()) << before;
    EXPECT_EQ(page->next_idx(), before) << "before_idx when nothing is returned";
    EXPECT_FALSE(page->has_more());
  }
  // Beyond the end: from the newest event.
  page = log_->list_events_backward(1000, {}, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(idxs_of(*page), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(page->has_more());
}

TEST_P(StorageConformanceTest, BackwardHasMoreCountsOnlyMatchingEvents) {
  append({partition_event("br", "b"), partition_event("br", "b"), partition_event("br", "b"),
          partition_event("br", "a"), partition_event("br", "a")});
  EventFilter only_a;
  only_a.add_partition_refs("a");
  auto page = log_->list_events_backward(0, only_a, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(idxs_of(*page), (std::vector<int64_t>{5, 4}));
  EXPECT_FALSE(page->has_more()) << "events 1..3 exist but do not match";
}

TEST_P(StorageConformanceTest, BackwardReadsAgreeWhateverPartOfTheLogIsIndexed) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 40; ++i) {
    events.push_back(partition_event("br", i % 4 == 0 ? "hot" : "cold/" + std::to_string(i)));
  }
  append(events);
  EventFilter hot;
  hot.add_partition_refs("hot");
  std::vector<int64_t> want = idxs_of(list(hot));
  std::reverse(want.begin(), want.end());
  for (int64_t more : {int64_t{0}, int64_t{13}, int64_t{40}}) {
    auto indexed = log_->catch_up_indexes(more);  // 0 for backends without derived indexes
    ASSERT_TRUE(indexed.ok()) << indexed.error().to_string();
    for (int limit : {1, 3, 100}) {
      std::vector<int64_t> got;
      int64_t before = 0;
      for (bool more_pages = true; more_pages;) {
        auto page = log_->list_events_backward(before, hot, limit);
        ASSERT_TRUE(page.ok()) << page.error().to_string();
        for (const auto& e : page->events()) got.push_back(e.idx());
        more_pages = page->has_more();
        before = page->next_idx();
      }
      EXPECT_EQ(got, want) << "limit " << limit << " after indexing " << more << " more";
    }
  }
}

// ---- invalid arguments -------------------------------------------------------------------------

TEST_P(StorageConformanceTest, LimitOutsideOneToTenThousandIsInvalidArgument) {
  for (int limit : {0, -1, kMaxListLimit + 1}) {
    Error e = list_error(0, {}, limit);
    EXPECT_EQ(e.code, ErrorCode::invalid_argument) << limit;
    EXPECT_EQ(e.message.rfind(uri_ + ": ", 0), 0u) << e.message;
    EXPECT_NE(e.message.find(std::to_string(limit)), std::string::npos) << e.message;
  }
}

TEST_P(StorageConformanceTest, NegativeSinceIdxIsInvalidArgument) {
  Error e = list_error(-1, {}, 10);
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  EXPECT_NE(e.message.find("since_idx"), std::string::npos) << e.message;
}

TEST_P(StorageConformanceTest, BackwardArgumentsAreCheckedLikeListEvents) {
  for (int limit : {0, kMaxListLimit + 1}) {
    auto page = log_->list_events_backward(0, {}, limit);
    ASSERT_FALSE(page.ok()) << limit;
    EXPECT_EQ(page.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(page.error().message.rfind(uri_ + ": list_events_backward: ", 0), 0u)
        << page.error().message;
  }
  auto negative = log_->list_events_backward(-1, {}, 10);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(negative.error().message.find("before_idx -1"), std::string::npos)
      << negative.error().message;
  EventFilter bad;
  bad.add_partition_patterns("data/[a");
  auto malformed = log_->list_events_backward(0, bad, 10);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::invalid_argument);
}

TEST_P(StorageConformanceTest, MalformedPatternIsInvalidArgument) {
  EventFilter f;
  f.add_partition_patterns("data/[abc");
  Error e = list_error(0, f, 10);
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  EXPECT_EQ(e.message.rfind(uri_ + ": ", 0), 0u) << e.message;
  EXPECT_NE(e.message.find("data/[abc"), std::string::npos) << e.message;
}

TEST_P(StorageConformanceTest, UnknownEventTypeIsInvalidArgument) {
  EventFilter f;
  f.add_event_types("partition_evnt");
  Error e = list_error(0, f, 10);
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  EXPECT_NE(e.message.find("partition_evnt"), std::string::npos) << e.message;
}

TEST_P(StorageConformanceTest, EmptyFilterValueIsInvalidArgument) {
  EventFilter f;
  f.add_partition_refs("");
  EXPECT_EQ(list_error(0, f, 10).code, ErrorCode::invalid_argument);
}

// ---- atomicity and faults ----------------------------------------------------------------------

TEST_P(StorageConformanceTest, FaultHookIsConsultedAtBeginEachInsertAndCommit) {
  append({partition_event("br", "a"), partition_event("br", "b"), partition_event("br", "c")});
  EXPECT_EQ(fault_points_,
            (std::vector<FaultPoint>{FaultPoint::begin, FaultPoint::insert, FaultPoint::insert,
                                     FaultPoint::insert, FaultPoint::commit}));
}

TEST_P(StorageConformanceTest, FaultAtTheThirdInsertStoresNothingOfTheBatch) {
  append({partition_event("br", "before-1"), partition_event("br", "before-2")});
  fault_ = fail_at(FaultPoint::insert, 3);
  std::vector<BuildEvent> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(partition_event("br", "lost"));
  auto result = log_->append_batch(batch);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::storage_unavailable);
  // The fault's own words first; a backend may add what became of the batch (PostgreSQL: nothing
  // was written, no commit having been sent).
  EXPECT_EQ(result.error().message.rfind("injected fault", 0), 0u) << result.error().message;

  EXPECT_EQ(*log_->last_idx(), 2);
  EventFilter lost;
  lost.add_partition_refs("lost");
  EXPECT_TRUE(matching(lost).empty());
  auto found = log_->find_by_event_ids({batch[0].event_id(), batch[1].event_id()});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());

  fault_ = nullptr;
  EXPECT_EQ(append({partition_event("br", "after")}), range(3, 3));
  // The failed batch's events may be appended again: nothing of them was kept.
  EXPECT_EQ(append(batch), range(4, 8));
  EXPECT_EQ(idxs_of(list()), range(1, 8));
}

TEST_P(StorageConformanceTest, FaultAtCommitStoresNothingOfTheBatch) {
  append({partition_event("br", "before")});
  fault_ = fail_at(FaultPoint::commit, 1);
  auto result = log_->append_batch({partition_event("br", "lost"), partition_event("br", "lost")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.rfind("injected fault", 0), 0u) << result.error().message;
  EXPECT_EQ(*log_->last_idx(), 1);
  EXPECT_EQ(idxs_of(list()), range(1, 1));
  fault_ = nullptr;
  EXPECT_EQ(append({partition_event("br", "after")}), range(2, 2));
}

TEST_P(StorageConformanceTest, FaultAtBeginStoresNothing) {
  fault_ = fail_at(FaultPoint::begin, 1);
  auto result = log_->append_batch({partition_event("br", "lost")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(*log_->last_idx(), 0);
  fault_ = nullptr;
  EXPECT_EQ(append({partition_event("br", "after")}), range(1, 1));
}

TEST_P(StorageConformanceTest, CountersCountCommitsEventsAndFailures) {
  EXPECT_EQ(log_->counters().commits, 0);
  append({partition_event("br", "a"), partition_event("br", "b"), partition_event("br", "c")});
  append({partition_event("br", "d"), partition_event("br", "e")});
  fault_ = fail_at(FaultPoint::insert, 2);
  EXPECT_FALSE(log_->append_batch({partition_event("br", "x"), partition_event("br", "y")}).ok());
  fault_ = fail_at(FaultPoint::commit, 1);
  EXPECT_FALSE(log_->append_batch({partition_event("br", "z")}).ok());
  StorageCounters c = log_->counters();
  EXPECT_EQ(c.commits, 2);
  EXPECT_EQ(c.events_appended, 5);
  EXPECT_EQ(c.failed_commits, 2);
}

// ---- lookups, meta, snapshots ------------------------------------------------------------------

TEST_P(StorageConformanceTest, FindByEventIdsReturnsStoredEventsAndSkipsUnknownIds) {
  std::vector<BuildEvent> events = {partition_event("br", "a"), job_event("br", "r", "//j"),
                                    build_cancel_event("br")};
  append(events);
  auto found = log_->find_by_event_ids({events[2].event_id(), "no-such-id", events[0].event_id()});
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_EQ(found->size(), 2u);
  std::sort(found->begin(), found->end(),
            [](const StoredEvent& a, const StoredEvent& b) { return a.idx < b.idx; });
  EXPECT_EQ((*found)[0].idx, 1);
  EXPECT_EQ((*found)[0].event.idx(), 1);
  EXPECT_TRUE(same_apart_from_idx((*found)[0].event, events[0]));
  EXPECT_EQ((*found)[1].idx, 3);
  EXPECT_EQ((*found)[1].event.idx(), 3);
  EXPECT_TRUE(same_apart_from_idx((*found)[1].event, events[2]));

  auto none = log_->find_by_event_ids({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StorageConformanceTest, FindByEventIdsHandlesManyIds) {
  std::vector<BuildEvent> events;
  std::vector<std::string> ids;
  for (int i = 0; i < 1200; ++i) {
    events.push_back(partition_event("br", "p"));
    ids.push_back(events.back().event_id());
  }
  append(events);
  auto found = log_->find_by_event_ids(ids);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1200u);
}

TEST_P(StorageConformanceTest, MetaIsSetReadAndOverwritten) {
  auto missing = log_->get_meta("validation_mode");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(log_->set_meta("validation_mode", "strict").ok());
  EXPECT_EQ(log_->get_meta("validation_mode")->value_or(""), "strict");
  ASSERT_TRUE(log_->set_meta("validation_mode", "lenient").ok());
  EXPECT_EQ(log_->get_meta("validation_mode")->value_or(""), "lenient");
  ASSERT_TRUE(log_->set_meta("endpoint", "").ok());
  EXPECT_EQ(log_->get_meta("endpoint")->value_or("unset"), "");
}

TEST_P(StorageConformanceTest, SchemaVersionIsInMetaAndNotSettable) {
  EXPECT_EQ(log_->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
  Status set = log_->set_meta("schema_version", "99");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(log_->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
}

// The log's identity: a canonical UUID stored by the first writable open, kept by every later one
// (a log that lives in its process has no later open), and not settable.
TEST_P(StorageConformanceTest, TheLogIdIsStoredOnceKeptByLaterOpensAndNotSettable) {
  auto id = log_->get_meta(kLogIdKey);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(id->has_value());
  EXPECT_TRUE(bel::uuid_to_bytes(**id).has_value()) << **id;
  Status set = log_->set_meta(kLogIdKey, "another");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(log_->get_meta(kLogIdKey)->value_or(""), **id);
  if (uri_ == "memory://" || uri_ == "stdout") return;
  log_.reset();
  auto again = open_storage(uri_, StorageOptions{});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ((*again)->get_meta(kLogIdKey)->value_or(""), **id);
}

TEST_P(StorageConformanceTest, SnapshotsAreSavedReplacedAndLoadedByVersion) {
  auto missing = log_->load_snapshot("partition_status", 1);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(log_->save_snapshot({"partition_status", 1, 10, binary}).ok());
  ASSERT_TRUE(log_->save_snapshot({"partition_status", 2, 20, "v2"}).ok());
  ASSERT_TRUE(log_->save_snapshot({"build_summary", 1, 30, ""}).ok());

  auto v1 = log_->load_snapshot("partition_status", 1);
  ASSERT_TRUE(v1.ok() && v1->has_value());
  EXPECT_EQ((*v1)->view, "partition_status");
  EXPECT_EQ((*v1)->version, 1);
  EXPECT_EQ((*v1)->applied_idx, 10);
  EXPECT_EQ((*v1)->data, binary);

  ASSERT_TRUE(log_->save_snapshot({"partition_status", 1, 15, "newer"}).ok());
  v1 = log_->load_snapshot("partition_status", 1);
  ASSERT_TRUE(v1.ok() && v1->has_value());
  EXPECT_EQ((*v1)->applied_idx, 15);
  EXPECT_EQ((*v1)->data, "newer");

  auto v2 = log_->load_snapshot("partition_status", 2);
  ASSERT_TRUE(v2.ok() && v2->has_value());
  EXPECT_EQ((*v2)->applied_idx, 20);
  EXPECT_EQ((*v2)->data, "v2");
  auto other = log_->load_snapshot("build_summary", 1);
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->applied_idx, 30);
  EXPECT_EQ((*other)->data, "");
  EXPECT_FALSE(log_->load_snapshot("build_summary", 2)->has_value());
}

TEST_P(StorageConformanceTest, OlderVersionsOfAViewsSnapshotsAreDroppedOnRequest) {
  for (int version : {1, 2, 3}) {
    ASSERT_TRUE(log_->save_snapshot({"partition_status", version, 10 * version, "v"}).ok());
    ASSERT_TRUE(log_->save_snapshot({"partition_status.answers", version, 10, "a"}).ok());
  }
  ASSERT_TRUE(log_->save_snapshot({"build_summary", 1, 30, "b"}).ok());
  ASSERT_TRUE(log_->drop_older_snapshots("partition_status", 3).ok());
  EXPECT_FALSE(log_->load_snapshot("partition_status", 1)->has_value());
  EXPECT_FALSE(log_->load_snapshot("partition_status", 2)->has_value());
  ASSERT_TRUE(log_->load_snapshot("partition_status", 3)->has_value());
  EXPECT_EQ((*log_->load_snapshot("partition_status", 3))->applied_idx, 30);
  // Only that view: its answers (another name) and other views keep every version.
  for (int version : {1, 2, 3}) {
    EXPECT_TRUE(log_->load_snapshot("partition_status.answers", version)->has_value()) << version;
  }
  EXPECT_TRUE(log_->load_snapshot("build_summary", 1)->has_value());
  // Nothing below: nothing dropped, no error.
  ASSERT_TRUE(log_->drop_older_snapshots("partition_status", 3).ok());
  ASSERT_TRUE(log_->drop_older_snapshots("job_runs", 2).ok());
  EXPECT_TRUE(log_->load_snapshot("partition_status", 3)->has_value());
}

// Backends may store snapshot data compressed (storage/snapshot_codec.h); callers never see it.
TEST_P(StorageConformanceTest, LargeSnapshotsComeBackByteForByte) {
  std::string repetitive;  // like a view state: the same refs and ids again and again
  for (int i = 0; repetitive.size() < (2u << 20); ++i) {
    repetitive += "\x0a\x1cpartition/data/2024-01-" + std::to_string(i % 31) + "\022\010br-" +
                  std::to_string(i % 97) + '\0';
  }
  std::string noise(300000, '\0');  // does not compress
  uint32_t x = 12345;
  for (char& c : noise) c = static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
  const std::string looks_encoded = std::string("\0belz", 5) + "not really";

  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 40, repetitive}).ok());
  ASSERT_TRUE(log_->save_snapshot({"activity", 2, 41, noise}).ok());
  ASSERT_TRUE(log_->save_snapshot({"activity.answers", 2, 42, looks_encoded}).ok());
  for (const auto& [view, idx, data] :
       {std::tuple<std::string, int64_t, const std::string&>{"job_runs", 40, repetitive},
        {"activity", 41, noise},
        {"activity.answers", 42, looks_encoded}}) {
    auto loaded = log_->load_snapshot(view, 2);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    ASSERT_TRUE(loaded->has_value()) << view;
    EXPECT_EQ((*loaded)->applied_idx, idx) << view;
    EXPECT_TRUE((*loaded)->data == data) << view << ": " << (*loaded)->data.size() << " bytes";
    // As stored: encoded or not, read as a stream it is the same data.
    auto stored = log_->load_stored_snapshot(view, 2);
    ASSERT_TRUE(stored.ok()) << stored.error().to_string();
    ASSERT_TRUE(stored->has_value()) << view;
    EXPECT_EQ((*stored)->applied_idx, idx) << view;
    SnapshotDataStream stream((*stored)->data, (*stored)->encoded);
    std::string streamed;
    const void* block = nullptr;
    int size = 0;
    while (stream.Next(&block, &size)) streamed.append(static_cast<const char*>(block), size);
    EXPECT_TRUE(stream.finish().ok()) << view << ": " << stream.finish().error().to_string();
    EXPECT_TRUE(streamed == data) << view << ": " << streamed.size() << " bytes";
    if (!(*stored)->encoded) {
      EXPECT_TRUE((*stored)->data == data) << view;
    }
    // Without its data: the idx and the plain size.
    auto info = log_->snapshot_info(view, 2);
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    ASSERT_TRUE(info->has_value()) << view;
    EXPECT_EQ((*info)->applied_idx, idx) << view;
    EXPECT_EQ((*info)->plain_size, static_cast<int64_t>(data.size())) << view;
  }
  auto none = log_->snapshot_info("partition_status", 2);
  ASSERT_TRUE(none.ok()) << none.error().to_string();
  EXPECT_FALSE(none->has_value());

  // Replacing a compressed snapshot with a tiny one (stored as it is) and back.
  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 43, "v"}).ok());
  EXPECT_EQ((*log_->load_snapshot("job_runs", 2))->data, "v");
  EXPECT_EQ((*log_->snapshot_info("job_runs", 2))->plain_size, 1);
  EXPECT_EQ((*log_->snapshot_info("job_runs", 2))->applied_idx, 43);
  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 44, repetitive}).ok());
  EXPECT_TRUE((*log_->load_snapshot("job_runs", 2))->data == repetitive);
  EXPECT_EQ((*log_->snapshot_info("job_runs", 2))->plain_size,
            static_cast<int64_t>(repetitive.size()));
}

// A caller may compress the data itself (a view, on its own thread), whole or as it is made:
// every backend loads the plain bytes back, whatever form encode_snapshot_data chose (compressed,
// kept as it is, or wrapped because the data looks encoded), or SnapshotEncoder's frame that does
// not say its size, and reports the plain size.
TEST_P(StorageConformanceTest, SnapshotsEncodedByTheCallerLoadPlain) {
  std::string repetitive;
  for (int i = 0; repetitive.size() < (1u << 20); ++i) {
    repetitive += "\x0a\x1cpartition/data/2024-02-" + std::to_string(i % 29) + '\0';
  }
  const std::string looks_encoded = std::string("\0belz", 5) + "not really";
  for (const std::string& data : {repetitive, std::string("v"), looks_encoded}) {
    for (bool streamed : {false, true}) {
      SCOPED_TRACE(::testing::Message() << data.size() << " bytes, streamed " << streamed);
      Result<std::string> encoded = storage::encode_snapshot_data(data);
      if (streamed) {
        storage::SnapshotEncoder encoder;
        for (size_t at = 0; at < data.size(); at += 65536) encoder.add(data.substr(at, 65536));
        encoded = encoder.finish();
      }
      ASSERT_TRUE(encoded.ok()) << encoded.error().to_string();
      storage::Snapshot snapshot{"build_summary", 2, 50, *encoded};
      snapshot.encoded = true;
      ASSERT_TRUE(log_->save_snapshot(snapshot).ok());
      auto loaded = log_->load_snapshot("build_summary", 2);
      ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
      ASSERT_TRUE(loaded->has_value());
      EXPECT_FALSE((*loaded)->encoded);
      EXPECT_TRUE((*loaded)->data == data) << (*loaded)->data.size() << " bytes";
      auto info = log_->snapshot_info("build_summary", 2);
      ASSERT_TRUE(info.ok()) << info.error().to_string();
      ASSERT_TRUE(info->has_value());
      EXPECT_EQ((*info)->plain_size, static_cast<int64_t>(data.size()));
    }
  }
}

// ---- readers -----------------------------------------------------------------------------------

TEST_P(StorageConformanceTest, ReaderSeesCommitsMadeAfterItOpened) {
  auto reader = log_->open_reader();
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  EXPECT_EQ(*(*reader)->last_idx(), 0);
  append({partition_event("br", "a"), partition_event("br", "b")});
  EXPECT_EQ(*(*reader)->last_idx(), 2);
  auto page = (*reader)->list_events(0, {}, 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(idxs_of(*page), range(1, 2));
  append({partition_event("br", "c")});
  page = (*reader)->list_events(2, {}, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(idxs_of(*page), range(3, 3));

  ASSERT_TRUE(log_->set_meta("endpoint", "127.0.0.1:7000").ok());
  EXPECT_EQ((*reader)->get_meta("endpoint")->value_or(""), "127.0.0.1:7000");
  ASSERT_TRUE(log_->save_snapshot({"v", 1, 3, "data"}).ok());
  auto snapshot = (*reader)->load_snapshot("v", 1);
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  EXPECT_EQ((*snapshot)->applied_idx, 3);
  EXPECT_EQ((*reader)->uri(), uri_);
}

TEST_P(StorageConformanceTest, ReaderRefusesWrites) {
  auto reader = log_->open_reader();
  ASSERT_TRUE(reader.ok());
  auto appended = (*reader)->append_batch({partition_event("br", "a")});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(appended.error().message, uri_ + ": append_batch: opened read-only");
  Status meta = (*reader)->set_meta("k", "v");
  ASSERT_FALSE(meta.ok());
  EXPECT_EQ(meta.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(meta.error().message.find("opened read-only"), std::string::npos);
  Status snapshot = (*reader)->save_snapshot({"v", 1, 0, ""});
  ASSERT_FALSE(snapshot.ok());
  EXPECT_NE(snapshot.error().message.find("opened read-only"), std::string::npos);
  EXPECT_EQ(*log_->last_idx(), 0);
  EXPECT_FALSE(log_->get_meta("k")->has_value());
}

TEST_P(StorageConformanceTest, ReaderOnAnotherThreadNeverSeesPartOfABatch) {
  constexpr int kBatches = 40;
  constexpr int kBatchSize = 10;
  auto reader = log_->open_reader();
  ASSERT_TRUE(reader.ok());
  std::atomic<bool> done{false};
  std::vector<std::string> problems;
  int64_t seen = 0;
  std::thread watcher([&] {
    Storage& r = **reader;
    for (bool last_round = false; !last_round;) {
      last_round = done.load();
      auto page = r.list_events(0, {}, kMaxListLimit);
      if (!page.ok()) {
        problems.push_back(page.error().to_string());
        return;
      }
      if (page->events_size() % kBatchSize != 0) {
        problems.push_back("saw " + std::to_string(page->events_size()) + " events");
      }
      for (int i = 0; i < page->events_size(); ++i) {
        if (page->events(i).idx() != i + 1) problems.push_back("gap at " + std::to_string(i));
      }
      seen = page->events_size();
    }
  });
  for (int b = 0; b < kBatches; ++b) {
    std::vector<BuildEvent> batch;
    for (int i = 0; i < kBatchSize; ++i) batch.push_back(partition_event("br", "p"));
    append(batch);
  }
  done = true;
  watcher.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(seen, kBatches * kBatchSize);
}

// ---- instantiation -----------------------------------------------------------------------------

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformanceTest, ::testing::ValuesIn(backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, FilterTest, ::testing::ValuesIn(backends()), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, GlobTest, ::testing::ValuesIn(backends()), backend_name);

}  // namespace
}  // namespace bel::storage
