// Tests of projections/queries: check_query and min_idx_of, answer() on each view, and
// FallbackFold, which must answer every query exactly as the view folded from the same log prefix
// does and as the brute-force ReferenceFold does, when driven like the query actor's reader loop
// (scan each phase's filter up to one fixed last idx, then finish(last_idx)).
#include "projections/queries.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "messages/event_keys.h"
#include "messages/filter_match.h"
#include "tests/support/queries.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::active_builds_query;
using testing::build_summary_query;
using testing::builds_list_query;
using ::testing::HasSubstr;
using testing::job_metrics_query;
using testing::job_run_query;
using testing::job_runs_list_query;
using testing::partition_status_query;
using testing::partitions_list_query;
using testing::random_stream;
using testing::RandomStreamOptions;
using testing::ReferenceFold;
using testing::StreamBuilder;

// ---- helpers -------------------------------------------------------------------------------

// A log of events with idx 1..N (events[i].idx() == i + 1) that scans like a storage backend:
// every event with idx <= last_idx for which bel::event_matches(filter, event), ascending. The
// per-key indexes only narrow the candidates (a superset of the matches, built from the same
// keys_of that defines the filter semantics); event_matches decides, so the semantics are exactly
// the backend's while a filtered scan costs what it matches instead of the whole log.
class ScannableLog {
 public:
  explicit ScannableLog(const std::vector<BuildEvent>& events) : events_(events) {
    for (size_t i = 0; i < events_.size(); ++i) {
      const BuildEvent& e = events_[i];
      EXPECT_EQ(e.idx(), static_cast<int64_t>(i + 1));
      by_build_[e.build_request_id()].push_back(i);
      EventKeys keys = keys_of(e);
      for (const auto& k : keys.partitions) by_ref_[k].push_back(i);
      for (const auto& k : keys.job_labels) by_label_[k].push_back(i);
      for (const auto& k : keys.job_run_ids) by_run_[k].push_back(i);
    }
  }

  // Calls fn(event) for each match, ascending idx. With `verify`, also scans every event and
  // checks the two scans agree (the index is a test helper; this keeps it honest).
  template <class Fn>
  int64_t scan(const EventFilter& filter, int64_t last_idx, bool verify, Fn fn) const {
    std::vector<size_t> candidates = candidates_of(filter);
    std::vector<int64_t> seen;
    for (size_t i : candidates) {
      const BuildEvent& e = events_[i];
      if (e.idx() > last_idx) break;
      if (!event_matches(filter, e)) continue;
      seen.push_back(e.idx());
      fn(e);
    }
    if (verify) {
      std::vector<int64_t> all;
      for (const BuildEvent& e : events_) {
        if (e.idx() <= last_idx && event_matches(filter, e)) all.push_back(e.idx());
      }
      EXPECT_EQ(all, seen) << "indexed scan differs from a full scan for filter "
                           << describe_filter(filter);
    }
    return static_cast<int64_t>(seen.size());
  }

 private:
  using Index = std::map<std::string, std::vector<size_t>>;

  static void add_from(const Index& index,
                       const google::protobuf::RepeatedPtrField<std::string>& keys,
                       std::vector<size_t>* out) {
    for (const auto& k : keys) {
      auto it = index.find(k);
      if (it != index.end()) out->insert(out->end(), it->second.begin(), it->second.end());
    }
  }

  std::vector<size_t> candidates_of(const EventFilter& f) const {
    std::vector<size_t> out;
    if (!f.build_request_ids().empty()) {
      add_from(by_build_, f.build_request_ids(), &out);
    } else if (!f.partition_refs().empty() && f.partition_patterns().empty()) {
      add_from(by_ref_, f.partition_refs(), &out);
    } else if (!f.job_labels().empty()) {
      add_from(by_label_, f.job_labels(), &out);
    } else if (!f.job_run_ids().empty()) {
      add_from(by_run_, f.job_run_ids(), &out);
    } else {
      out.resize(events_.size());
      for (size_t i = 0; i < out.size(); ++i) out[i] = i;
      return out;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  const std::vector<BuildEvent>& events_;
  Index by_build_, by_ref_, by_label_, by_run_;
};

// What one run of the reader loop saw.
struct FallbackRun {
  std::vector<EventFilter> filters;  // one per phase
  std::vector<int64_t> added;        // events handed to add() per phase
};

// Drives `query` through FallbackFold as the query actor does: each phase scans the log up to
// `last_idx` with the phase's filter; finish(last_idx) answers.
Result<QueryResult> run_fallback(const ScannableLog& log, const Query& query, int64_t last_idx,
                                 bool verify_scan, FallbackRun* run = nullptr) {
  FallbackRun local;
  if (run == nullptr) run = &local;
  FallbackFold fold(query);
  do {
    const EventFilter& filter = fold.filter();
    EXPECT_TRUE(check_filter(filter).ok()) << describe_filter(filter);
    run->filters.push_back(filter);
    run->added.push_back(
        log.scan(filter, last_idx, verify_scan, [&](const BuildEvent& e) { fold.add(e); }));
    // Three phases at most, a later one in filters of at most kMaxExpandedIds ids each.
    EXPECT_LE(run->filters.size(), 64u) << "runaway phases for " << describe_query(query);
    if (run->filters.size() > 64) break;
  } while (fold.next_phase());
  return fold.finish(last_idx);
}

std::string result_text(const Result<QueryResult>& r) {
  return r.ok() ? r->ShortDebugString() : r.error().to_string();
}

// Compares two answers and reports the first few differences with `context`.
class Checker {
 public:
  explicit Checker(std::string context) : context_(std::move(context)) {}

  void same(const Result<QueryResult>& want, const Result<QueryResult>& got, const Query& query,
            const char* want_name) {
    ++compared_;
    std::string problem;
    if (want.ok() != got.ok()) {
      problem =
          std::string(want_name) + ": " + result_text(want) + "\nfallback: " + result_text(got);
    } else if (!want.ok()) {
      if (want.error().code != got.error().code) {
        problem = std::string(want_name) + ": " + want.error().to_string() +
                  "\nfallback: " + got.error().to_string();
      }
    } else if (!MessageDifferencer::Equals(*want, *got)) {
      MessageDifferencer d;
      std::string diff;
      d.ReportDifferencesToString(&diff);
      d.Compare(*want, *got);
      problem = std::string("fallback differs from ") + want_name + ":\n" + diff;
    }
    if (problem.empty()) return;
    if (++failures_ > kMaxReported) return;
    ADD_FAILURE() << context_ << " query " << describe_query(query) << " {"
                  << query.ShortDebugString() << "}: " << problem;
  }

  int failures() const { return failures_; }
  int64_t compared() const { return compared_; }

 private:
  static constexpr int kMaxReported = 5;
  std::string context_;
  int failures_ = 0;
  int64_t compared_ = 0;
};

const char kUnseenRef[] = "data/never/seen";
const char kUnseenBuild[] = "br-never-seen";
const char kUnseenRun[] = "jr-never-seen";
const char kUnseenLabel[] = "//jobs:never_seen";

// Every query of the property test over a log whose names `ref` enumerates.
std::vector<Query> queries_for(const ReferenceFold& ref) {
  std::vector<Query> out;
  std::vector<std::string> refs = ref.partition_refs();
  refs.push_back(kUnseenRef);
  for (const auto& r : refs) {
    out.push_back(partition_status_query(r));
    out.push_back(active_builds_query(r));
  }
  std::vector<std::string> builds = ref.build_request_ids();
  builds.push_back(kUnseenBuild);
  for (const auto& id : builds) out.push_back(build_summary_query(id));
  std::vector<std::string> runs = ref.job_run_ids();
  runs.push_back(kUnseenRun);
  for (const auto& id : runs) out.push_back(job_run_query(id));
  std::vector<std::string> labels = ref.job_labels();
  labels.push_back(kUnseenLabel);
  for (const auto& label : labels) out.push_back(job_metrics_query(label));
  out.emplace_back().mutable_job_metrics_list();

  out.push_back(partitions_list_query(0, 0, {}));
  out.push_back(partitions_list_query(5, 3, {}));
  out.push_back(partitions_list_query(1000, 0, {}));
  out.push_back(partitions_list_query(3, 100000, {}));
  out.push_back(partitions_list_query(7, 1, {v1::PARTITION_AVAILABLE}));
  out.push_back(partitions_list_query(0, 0, {v1::PARTITION_FAILED, v1::PARTITION_INVALIDATED}));
  out.push_back(partitions_list_query(
      4, 0, {v1::PARTITION_REQUESTED, v1::PARTITION_SCHEDULED, v1::PARTITION_BUILDING}));
  out.push_back(partitions_list_query(0, 0, {}, "data/sales/*"));
  out.push_back(partitions_list_query(4, 1, {v1::PARTITION_AVAILABLE}, "data/*/2024-0[5-6]-0?"));

  out.push_back(builds_list_query(0, 0, {}));
  out.push_back(builds_list_query(5, 2, {}));
  out.push_back(builds_list_query(1000, 0, {}));
  out.push_back(builds_list_query(10, 100000, {}));
  out.push_back(builds_list_query(0, 0, {v1::BUILD_REQUEST_COMPLETED}));
  out.push_back(
      builds_list_query(3, 1,
                        {v1::BUILD_REQUEST_RECEIVED, v1::BUILD_REQUEST_PLANNING,
                         v1::BUILD_REQUEST_ANALYSIS_COMPLETED, v1::BUILD_REQUEST_EXECUTING}));
  out.push_back(builds_list_query(0, 0, {v1::BUILD_REQUEST_FAILED, v1::BUILD_REQUEST_CANCELLED}));

  out.push_back(job_runs_list_query(0, 0, {}));
  out.push_back(job_runs_list_query(4, 4, {}));
  out.push_back(job_runs_list_query(1000, 0, {}));
  out.push_back(job_runs_list_query(0, 0, {v1::JOB_COMPLETED}));
  out.push_back(job_runs_list_query(5, 0, {v1::JOB_SCHEDULED, v1::JOB_RUNNING}));
  out.push_back(job_runs_list_query(0, 2, {v1::JOB_FAILED, v1::JOB_CANCELLED, v1::JOB_SKIPPED}));
  for (const auto& label : labels) out.push_back(job_runs_list_query(3, 1, {}, label));

  out.emplace_back().mutable_activity();
  return out;
}

bool is_unseen(const Query& q) {
  switch (q.query_case()) {
    case Query::kBuildSummary:
      return q.build_summary().build_request_id() == kUnseenBuild;
    case Query::kJobRun:
      return q.job_run().job_run_id() == kUnseenRun;
    case Query::kJobMetrics:
      return q.job_metrics().job_label() == kUnseenLabel;
    default:
      return false;
  }
}

// ---- 1. property test -----------------------------------------------------------------------

struct StreamCase {
  uint64_t seed;
  RandomStreamOptions options;
};

// Checks every query at each cut of `events` (cut = the last idx of the prefix).
void check_fallback_at_cuts(const StreamCase& sc, const std::vector<BuildEvent>& events,
                            const std::vector<size_t>& cuts, int64_t* compared) {
  const ScannableLog log(events);
  AllViews views;
  std::vector<BuildEvent> prefix;
  prefix.reserve(events.size());
  size_t next = 0;
  for (size_t cut : cuts) {
    for (; next < cut; ++next) {
      views.apply(events[next]);
      prefix.push_back(events[next]);
    }
    const int64_t last_idx = static_cast<int64_t>(cut);
    const ReferenceFold ref(prefix);
    ASSERT_EQ(ref.as_of_idx(), last_idx);
    Checker c("seed " + std::to_string(sc.seed) + " (num_events " +
              std::to_string(sc.options.num_events) + ", concurrent_builds " +
              std::to_string(sc.options.concurrent_builds) + ", partition_space " +
              std::to_string(sc.options.partition_space) + ") cut at idx " +
              std::to_string(last_idx) + ":");
    // The index of the scan helper is checked against full scans at one cut per stream.
    const bool verify_scan = cut == cuts[cuts.size() / 2];
    for (Query query : queries_for(ref)) {
      query.set_min_idx(last_idx);  // read-your-writes: the fold reflects exactly last_idx
      ASSERT_TRUE(check_query(query).ok()) << describe_query(query);
      const Result<QueryResult> got = run_fallback(log, query, last_idx, verify_scan);
      const Result<QueryResult> from_view = views.answer(query);
      const Result<QueryResult> from_ref = ref.answer(query);
      c.same(from_view, got, query, "view");
      c.same(from_ref, got, query, "reference fold");
      if (is_unseen(query)) {
        for (const auto* r : {&got, &from_view, &from_ref}) {
          ASSERT_FALSE(r->ok()) << describe_query(query) << " answered " << result_text(*r);
          EXPECT_EQ(r->error().code, ErrorCode::not_found) << r->error().to_string();
        }
      } else if (got.ok()) {
        // Every answer that carries as_of_idx reflects exactly the scanned prefix.
        const auto* field = QueryResult::descriptor()->FindFieldByNumber(got->result_case());
        const auto& msg = got->GetReflection()->GetMessage(*got, field);
        const auto* as_of = msg.GetDescriptor()->FindFieldByName("as_of_idx");
        if (as_of != nullptr) {
          EXPECT_EQ(msg.GetReflection()->GetInt64(msg, as_of), last_idx) << describe_query(query);
        }
      } else {
        ADD_FAILURE() << "seed " << sc.seed << " cut " << last_idx << ": " << describe_query(query)
                      << " failed: " << got.error().to_string();
      }
      if (c.failures() > 0) break;
    }
    *compared += c.compared();
    if (c.failures() > 0 || ::testing::Test::HasFailure()) return;
  }
}

TEST(FallbackFoldTest, EveryQueryEqualsTheViewAndTheReferenceFoldAtEveryCut) {
  std::vector<StreamCase> cases;
  for (uint64_t seed : {1, 2, 3}) {
    RandomStreamOptions o;  // the defaults
    o.num_events = 2000 + static_cast<int>(seed) * 500;
    cases.push_back({seed, o});
  }
  for (uint64_t seed : {41, 42}) {
    RandomStreamOptions o;  // few partitions, many builds colliding on them
    o.num_events = 3000;
    o.partition_space = 3;
    o.concurrent_builds = 24;
    cases.push_back({seed, o});
  }
  int64_t compared = 0;
  for (const auto& sc : cases) {
    SCOPED_TRACE("seed " + std::to_string(sc.seed));
    const auto events = random_stream(sc.seed, sc.options);
    const size_t n = events.size();
    check_fallback_at_cuts(sc, events, {1, 17, n / 3, (2 * n) / 3, n}, &compared);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(compared, 10000);
}

// Only the queries that need every event scan every event; the others read one or two filtered
// phases, the second naming the ids the first found.
TEST(FallbackFoldTest, PhasesNameOnlyTheEventsTheQueryNeeds) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .build("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .delegate("br-2", "data/a", "br-1")
      .cancel_job("br-1", "jr-1", "stop");
  const ScannableLog log(s.events());
  const int64_t last = static_cast<int64_t>(s.events().size());

  FallbackRun run;
  ASSERT_TRUE(run_fallback(log, active_builds_query("data/a"), last, true, &run).ok());
  ASSERT_EQ(run.filters.size(), 2u);
  EXPECT_THAT(run.filters[0].partition_refs(), ::testing::ElementsAre("data/a"));
  // br-2 delegated the partition: whether it ended cannot make it active.
  EXPECT_THAT(run.filters[1].build_request_ids(), ::testing::ElementsAre("br-1"));
  EXPECT_THAT(run.filters[1].event_types(),
              ::testing::UnorderedElementsAre("build_request_event", "build_cancel_event"));

  run = {};
  ASSERT_TRUE(run_fallback(log, job_metrics_query("//jobs:a"), last, true, &run).ok());
  ASSERT_EQ(run.filters.size(), 3u);
  EXPECT_THAT(run.filters[0].job_labels(), ::testing::ElementsAre("//jobs:a"));
  EXPECT_THAT(run.filters[1].job_run_ids(), ::testing::ElementsAre("jr-1"));
  EXPECT_EQ(run.added[1], 2);  // the JobEvent again and the cancel, which carries no label
  // The runs' build requests ending while a run is open cancel it.
  EXPECT_THAT(run.filters[2].build_request_ids(), ::testing::ElementsAre("br-1"));

  // The claim br-1 holds on data/a ends with br-1 or with jr-1 (SPEC section 4, "In-flight
  // claims end with their owner"): their ends name no partition.
  run = {};
  ASSERT_TRUE(run_fallback(log, partition_status_query("data/a"), last, true, &run).ok());
  ASSERT_EQ(run.filters.size(), 2u);  // br-1's claim names no job run: no third phase
  EXPECT_THAT(run.filters[1].build_request_ids(), ::testing::ElementsAre("br-1"));
  EXPECT_THAT(run.filters[1].event_types(),
              ::testing::UnorderedElementsAre("build_request_event", "build_cancel_event"));

  run = {};
  ASSERT_TRUE(run_fallback(log, job_run_query("jr-1"), last, true, &run).ok());
  ASSERT_EQ(run.filters.size(), 2u);
  EXPECT_THAT(run.filters[1].build_request_ids(), ::testing::ElementsAre("br-1"));

  for (const Query& q : {build_summary_query("br-2"), active_builds_query("data/none"),
                         job_metrics_query("//jobs:none"), job_run_query("jr-none")}) {
    run = {};
    (void)run_fallback(log, q, last, true, &run);
    EXPECT_EQ(run.filters.size(), 1u) << describe_query(q);
    EXPECT_GT(run.filters[0].ByteSizeLong(), 0u) << describe_query(q);
  }
  Query activity;
  activity.mutable_activity();
  run = {};
  ASSERT_TRUE(run_fallback(log, activity, last, true, &run).ok());
  ASSERT_EQ(run.filters.size(), 1u);
  EXPECT_EQ(run.filters[0].ByteSizeLong(), 0u);
  EXPECT_EQ(run.added[0], last);
}

// ---- 2. a second phase too large for one filter: several filters -------------------------------------------------

// `n` build requests all touching "data/hot" (some active, some done), with unrelated events in
// between so that a full scan sees more than the partition's events.
std::vector<BuildEvent> many_builds_on_one_partition(int n) {
  StreamBuilder s;
  for (int i = 0; i < n; ++i) {
    const std::string id = "br-" + std::to_string(1000 + i);
    s.build(id, v1::BUILD_REQUEST_RECEIVED, {"data/hot", "data/cold/" + std::to_string(i % 7)});
    switch (i % 5) {
      case 0:
        s.partition(id, "data/hot", v1::PARTITION_REQUESTED);
        break;
      case 1:
        s.partition(id, "data/hot", v1::PARTITION_REQUESTED)
            .partition(id, "data/hot", v1::PARTITION_SCHEDULED, "jr-" + id);
        break;
      case 2:
        s.partition(id, "data/hot", v1::PARTITION_REQUESTED).cancel_build(id, "no longer needed");
        break;
      case 3:
        s.delegate(id, "data/hot", "br-1000");
        break;
      case 4:
        s.partition(id, "data/hot", v1::PARTITION_BUILDING)
            .partition(id, "data/cold/x", v1::PARTITION_REQUESTED)
            .build(id, v1::BUILD_REQUEST_PLANNING);
        if (i % 10 == 9) s.build(id, v1::BUILD_REQUEST_FAILED);
        break;
    }
  }
  // A request that only lists the partition: not active, and no id for the second phase.
  s.build("br-lister", v1::BUILD_REQUEST_RECEIVED, {"data/hot"});
  return s.events();
}

// `n` runs of "//jobs:hot" across a few build requests, with cancels (which carry no label) and
// runs of another label in between.
std::vector<BuildEvent> many_runs_of_one_label(int n) {
  StreamBuilder s;
  for (int b = 0; b < 4; ++b) s.build("br-" + std::to_string(b), v1::BUILD_REQUEST_EXECUTING);
  int64_t t = 1000;
  for (int i = 0; i < n; ++i) {
    const std::string br = "br-" + std::to_string(i % 4);
    const std::string jr = "jr-hot-" + std::to_string(i);
    const std::string ref = "data/hot/" + std::to_string(i);
    s.at(t += 10).job(br, jr, "//jobs:hot", v1::JOB_SCHEDULED, {ref});
    if (i % 6 == 5) {
      s.at(t += 10).cancel_job(br, jr, "cancelled before it ran");
      continue;
    }
    s.at(t += 10).job(br, jr, "//jobs:hot", v1::JOB_RUNNING);
    s.at(t += 10).partition(br, ref, v1::PARTITION_BUILDING, jr);
    if (i % 3 == 0)
      s.at(t += 10).job(br, "jr-cold-" + std::to_string(i), "//jobs:cold", v1::JOB_SCHEDULED);
    switch (i % 4) {
      case 0:
      case 1:
        s.at(t += 7 + i % 13).job(br, jr, "//jobs:hot", v1::JOB_COMPLETED);
        break;
      case 2:
        s.at(t += 5).job(br, jr, "//jobs:hot", v1::JOB_FAILED, {}, "boom");
        break;
      case 3:
        if (i % 8 == 3) s.at(t += 3).cancel_job(br, jr, "cancelled while running");
        break;
    }
  }
  return s.events();
}

// Runs `query` over `events` and checks that phase 2 names exactly `ids` ids, in filters of at
// most kMaxExpandedIds ids each (never a scan of every event), and that the answer equals the
// view's and the reference's.
void check_expansion(const std::vector<BuildEvent>& events, const Query& query, size_t ids) {
  SCOPED_TRACE(describe_query(query) + " with " + std::to_string(ids) + " ids in phase 2");
  const ScannableLog log(events);
  AllViews views;
  for (const auto& e : events) views.apply(e);
  const ReferenceFold ref(events);
  const int64_t last = static_cast<int64_t>(events.size());

  FallbackRun run;
  const Result<QueryResult> got = run_fallback(log, query, last, true, &run);
  const size_t kMax = FallbackFold::kMaxExpandedIds;
  const size_t chunks = (ids + kMax - 1) / kMax;
  // Job metrics read their runs' build requests' ends in a third phase (four requests here).
  const size_t third = query.has_job_metrics() ? 1 : 0;
  ASSERT_EQ(run.filters.size(), 1 + chunks + third);
  EXPECT_GT(run.filters[0].ByteSizeLong(), 0u);
  size_t named = 0;
  for (size_t i = 1; i <= chunks; ++i) {
    const EventFilter& f = run.filters[i];
    const size_t n = static_cast<size_t>(f.build_request_ids_size() + f.job_run_ids_size());
    EXPECT_GT(n, 0u) << "filter " << i << " scans every event: " << describe_filter(f);
    EXPECT_LE(n, kMax);
    EXPECT_LT(run.added[i], last) << "filter " << i << " read the whole log";
    named += n;
  }
  EXPECT_EQ(named, ids);
  Checker c("");
  c.same(views.answer(query), got, query, "view");
  c.same(ref.answer(query), got, query, "reference fold");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(c.failures(), 0);
}

TEST(FallbackFoldTest, ActiveBuildsWithManyRequestsReadsTheirEndsInChunks) {
  constexpr int kMax = static_cast<int>(FallbackFold::kMaxExpandedIds);
  for (int n : {kMax, 2 * kMax, 3 * kMax + 7}) {
    const auto events = many_builds_on_one_partition(n);
    // Every request but the delegating ones (i % 5 == 3) has an in-flight latest status.
    size_t in_flight = 0;
    for (int i = 0; i < n; ++i) in_flight += i % 5 != 3;
    check_expansion(events, active_builds_query("data/hot"), in_flight);
    if (::testing::Test::HasFailure()) return;
  }
  // The answer is not trivially empty or full.
  const auto events = many_builds_on_one_partition(2 * kMax);
  AllViews views;
  for (const auto& e : events) views.apply(e);
  const int active = views.partitions.active_builds("data/hot").build_request_ids_size();
  EXPECT_GT(active, 100);
  EXPECT_LT(active, 2 * kMax);
}

TEST(FallbackFoldTest, JobMetricsWithManyRunsReadsThemInChunks) {
  constexpr int kMax = static_cast<int>(FallbackFold::kMaxExpandedIds);
  for (int n : {kMax, kMax + 1, 2 * kMax + 100}) {
    const auto events = many_runs_of_one_label(n);
    check_expansion(events, job_metrics_query("//jobs:hot"), static_cast<size_t>(n));
    if (::testing::Test::HasFailure()) return;
  }
  // The answer exercises every field: cancels without a label, durations, failures.
  const auto events = many_runs_of_one_label(kMax + 1);
  JobRunsView view;
  for (const auto& e : events) view.apply(e);
  auto m = view.metrics("//jobs:hot");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->total_runs(), kMax + 1);
  EXPECT_GT(m->runs_by_status().at("JOB_CANCELLED"), 0);
  EXPECT_GT(m->avg_duration_ns(), 0);
}

// ---- 3. check_query and min_idx_of ----------------------------------------------------------

void expect_invalid(const Query& q, const std::string& field) {
  Status s = check_query(q);
  ASSERT_FALSE(s.ok()) << "accepted {" << q.ShortDebugString() << "}";
  EXPECT_EQ(s.error().code, ErrorCode::invalid_argument) << s.error().to_string();
  EXPECT_THAT(s.error().message, HasSubstr(field)) << "{" << q.ShortDebugString() << "}";
}

TEST(CheckQueryTest, NoQuerySetIsInvalid) {
  expect_invalid(Query{}, "query");
  Query q;
  q.set_min_idx(3);
  expect_invalid(q, "query");
}

TEST(CheckQueryTest, EmptyRequiredFieldsAreInvalidAndNamed) {
  expect_invalid(partition_status_query(""), "partition_ref");
  expect_invalid(active_builds_query(""), "partition_ref");
  expect_invalid(build_summary_query(""), "build_request_id");
  expect_invalid(job_run_query(""), "job_run_id");
  expect_invalid(job_metrics_query(""), "job_label");
}

// A key no stored event can hold: refused with the byte and its offset, not answered as unknown
// (a partition's answer would carry the key back in a message that could not be serialized).
TEST(CheckQueryTest, RequiredFieldsThatAreNotUtf8AreInvalidAndNamed) {
  const auto refused = [](const Query& q, const std::string& message) {
    Status s = check_query(q);
    ASSERT_FALSE(s.ok()) << q.ShortDebugString();
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(s.error().message, message);
  };
  refused(partition_status_query("ab\xff"
                                 "c"),
          "partition_ref is not valid UTF-8: byte 0xff at offset 2");
  refused(active_builds_query("data/\xc3"),
          "partition_ref is not valid UTF-8: byte 0xc3 at offset 5");
  refused(build_summary_query("\x80"
                              "br"),
          "build_request_id is not valid UTF-8: byte 0x80 at offset 0");
  refused(job_run_query("run-\xf5\x80\x80\x80"),
          "job_run_id is not valid UTF-8: byte 0xf5 at offset 4");
  refused(job_metrics_query("daily\xc0\x80"),
          "job_label is not valid UTF-8: byte 0xc0 at offset 5");
  EXPECT_TRUE(check_query(partition_status_query("data/\xc3\xa9t\xc3\xa9")).ok());
  EXPECT_TRUE(check_query(job_metrics_query("\xf0\x9f\x98\x80")).ok());
}

TEST(CheckQueryTest, JobRunsListFiltersThatAreNotUtf8AreInvalidAndNamed) {
  Query by_job;
  by_job.mutable_job_runs_list()->set_job_label("//sales:\xff");
  Status job = check_query(by_job);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(job.error().message, "job_label is not valid UTF-8: byte 0xff at offset 8");
  Query by_build;
  by_build.mutable_job_runs_list()->set_build_request_id("br-\xe2\x82");
  Status build = check_query(by_build);
  ASSERT_FALSE(build.ok());
  EXPECT_EQ(build.error().message, "build_request_id is not valid UTF-8: byte 0xe2 at offset 3");
  // Empty is "any", and UTF-8 beyond ASCII is a key like another.
  Query any;
  any.mutable_job_runs_list();
  EXPECT_TRUE(check_query(any).ok());
  any.mutable_job_runs_list()->set_job_label("//caf\xc3\xa9:daily");
  EXPECT_TRUE(check_query(any).ok());
}

TEST(CheckQueryTest, NegativeMinIdxIsInvalid) {
  Query q = partition_status_query("data/a");
  q.set_min_idx(-1);
  expect_invalid(q, "min_idx");
  Query a;
  a.mutable_activity();
  a.set_min_idx(-5);
  expect_invalid(a, "min_idx");

  Query p = partitions_list_query(0, 0, {});
  p.mutable_partitions_list()->set_min_idx(-1);
  expect_invalid(p, "min_idx");
  Query b = builds_list_query(0, 0, {});
  b.mutable_builds_list()->set_min_idx(-2);
  expect_invalid(b, "min_idx");
  Query j = job_runs_list_query(0, 0, {});
  j.mutable_job_runs_list()->set_min_idx(-3);
  expect_invalid(j, "min_idx");
}

TEST(CheckQueryTest, ListLimitOutOfRangeOrNegativeOffsetIsInvalid) {
  for (int limit : {-1, kMaxLimit + 1, -1000000}) {
    expect_invalid(partitions_list_query(limit, 0, {}), "limit");
    expect_invalid(builds_list_query(limit, 0, {}), "limit");
    expect_invalid(job_runs_list_query(limit, 0, {}), "limit");
  }
  expect_invalid(partitions_list_query(5, -1, {}), "offset");
  expect_invalid(builds_list_query(5, -1, {}), "offset");
  expect_invalid(job_runs_list_query(5, -7, {}), "offset");
}

TEST(CheckQueryTest, MalformedPatternIsInvalid) {
  expect_invalid(partitions_list_query(0, 0, {}, "data/[a"), "pattern");
  expect_invalid(partitions_list_query(0, 0, {}, "[^"), "pattern");
}

TEST(CheckQueryTest, UnknownOrOutOfRangeStatusFilterIsInvalid) {
  expect_invalid(partitions_list_query(0, 0, {v1::PARTITION_UNKNOWN}), "status_filter");
  expect_invalid(partitions_list_query(0, 0, {v1::PARTITION_AVAILABLE, PartitionStatus(99)}),
                 "status_filter");
  expect_invalid(builds_list_query(0, 0, {v1::BUILD_REQUEST_UNKNOWN}), "status_filter");
  expect_invalid(builds_list_query(0, 0, {BuildRequestStatus(8)}), "status_filter");
  expect_invalid(job_runs_list_query(0, 0, {v1::JOB_UNKNOWN}), "status_filter");
  expect_invalid(job_runs_list_query(0, 0, {JobStatus(-1)}), "status_filter");
  // The message names the bad value too.
  Status s = check_query(job_runs_list_query(0, 0, {JobStatus(42)}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("42"));
}

TEST(CheckQueryTest, ValidQueriesPass) {
  std::vector<Query> valid = {
      partition_status_query("data/a"),
      active_builds_query("data/a"),
      build_summary_query("br-1"),
      job_run_query("jr-1"),
      job_metrics_query("//jobs:a"),
      partitions_list_query(0, 0, {}),
      partitions_list_query(1, 0, {}),
      partitions_list_query(
          kMaxLimit, 1000000,
          {v1::PARTITION_AVAILABLE, v1::PARTITION_DELEGATED, v1::PARTITION_INVALIDATED}),
      partitions_list_query(10, 0, {}, "data/*/2024-0[5-6]-0?"),
      partitions_list_query(10, 0, {}, "data/[]a]"),  // ']' first in a class is a literal
      builds_list_query(0, 0, {}),
      builds_list_query(kMaxLimit, 3,
                        {v1::BUILD_REQUEST_RECEIVED, v1::BUILD_REQUEST_ANALYSIS_COMPLETED}),
      job_runs_list_query(0, 0, {}),
      job_runs_list_query(50, 0, {v1::JOB_SCHEDULED, v1::JOB_SKIPPED}, "//jobs:a"),
  };
  valid.emplace_back().mutable_job_metrics_list();
  valid.emplace_back().mutable_activity();
  Query with_min = build_summary_query("br-1");
  with_min.set_min_idx(1234567890123);
  valid.push_back(with_min);
  Query list_min = partitions_list_query(0, 0, {});
  list_min.mutable_partitions_list()->set_min_idx(9);
  valid.push_back(list_min);
  for (const Query& q : valid) {
    Status s = check_query(q);
    EXPECT_TRUE(s.ok()) << "{" << q.ShortDebugString() << "}: " << s.error().to_string();
  }
}

TEST(MinIdxOfTest, TakesTheLargerOfTheQueryAndTheListRequest) {
  Query p = partitions_list_query(0, 0, {});
  p.set_min_idx(5);
  p.mutable_partitions_list()->set_min_idx(9);
  EXPECT_EQ(min_idx_of(p), 9);
  p.set_min_idx(12);
  EXPECT_EQ(min_idx_of(p), 12);

  Query b = builds_list_query(0, 0, {});
  b.mutable_builds_list()->set_min_idx(40);
  EXPECT_EQ(min_idx_of(b), 40);
  b.set_min_idx(41);
  EXPECT_EQ(min_idx_of(b), 41);

  Query j = job_runs_list_query(0, 0, {});
  j.set_min_idx(7);
  j.mutable_job_runs_list()->set_min_idx(3);
  EXPECT_EQ(min_idx_of(j), 7);
  j.mutable_job_runs_list()->set_min_idx(70);
  EXPECT_EQ(min_idx_of(j), 70);

  Query s = partition_status_query("data/a");
  EXPECT_EQ(min_idx_of(s), 0);
  s.set_min_idx(8);
  EXPECT_EQ(min_idx_of(s), 8);
  EXPECT_EQ(min_idx_of(Query{}), 0);
}

// ---- 4. answer() on a view that does not answer the query -----------------------------------

std::vector<Query> one_query_of_each_kind() {
  std::vector<Query> out = {
      partition_status_query("data/a"), active_builds_query("data/a"),
      partitions_list_query(0, 0, {}),  build_summary_query("br-1"),
      builds_list_query(0, 0, {}),      job_run_query("jr-1"),
      job_runs_list_query(0, 0, {}),    job_metrics_query("//jobs:a"),
  };
  out.emplace_back().mutable_job_metrics_list();
  out.emplace_back().mutable_activity();
  return out;
}

TEST(AnswerTest, QueryOfAnotherViewIsInternal) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"});
  AllViews views;
  for (const auto& e : s.events()) views.apply(e);

  const auto queries = one_query_of_each_kind();
  ASSERT_EQ(queries.size(), 10u);  // one per Query oneof case
  int internal = 0;
  for (const Query& q : queries) {
    ASSERT_TRUE(check_query(q).ok()) << describe_query(q);
    const Result<QueryResult> results[] = {answer(views.partitions, q), answer(views.builds, q),
                                           answer(views.jobs, q), answer(views.activity, q)};
    for (size_t v = 0; v < kViewCount; ++v) {
      const ViewKind kind = kAllViews[v];
      SCOPED_TRACE(describe_query(q) + " asked of " + view_name(kind));
      const Result<QueryResult>& r = results[v];
      if (kind == view_for(q)) {
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        EXPECT_EQ(static_cast<int>(r->result_case()), static_cast<int>(q.query_case()));
      } else {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::internal) << r.error().to_string();
        EXPECT_THAT(r.error().message, HasSubstr(view_name(kind)));
        EXPECT_THAT(r.error().message, HasSubstr(describe_query(q)));
        ++internal;
      }
    }
  }
  EXPECT_EQ(internal, 30);
}

TEST(AnswerTest, EachQueryKindHasItsView) {
  const auto queries = one_query_of_each_kind();
  const ViewKind want[] = {ViewKind::partition_status, ViewKind::partition_status,
                           ViewKind::partition_status, ViewKind::build_summary,
                           ViewKind::build_summary,    ViewKind::job_runs,
                           ViewKind::job_runs,         ViewKind::job_runs,
                           ViewKind::job_runs,         ViewKind::activity};
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(view_for(queries[i]), want[i]) << describe_query(queries[i]);
  }
  EXPECT_EQ(describe_query(partition_status_query("data/a")), "partition_status(data/a)");
  EXPECT_EQ(describe_query(Query{}), "empty query");
}

}  // namespace
}  // namespace bel::projections
