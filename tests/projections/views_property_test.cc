// Property tests: every view, folded from seeded random streams, answers every query exactly as
// the brute-force ReferenceFold over the same events does: at many prefixes, after snapshot
// round trips, on partial (filtered) sequences and on lenient logs with invalid transitions.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "messages/event_keys.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "projections/queries.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::projections {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;
using testing::ReferenceFold;
using testing::random_stream;
using testing::RandomStreamOptions;

// A view's bytes do not depend on the room reserved for them: none, too little, twice enough.
template <class View>
std::string serialized(const View& view) {
  std::string bytes = view.serialize();
  EXPECT_EQ(view.serialize(1), bytes) << View::kName;
  EXPECT_EQ(view.serialize(2 * bytes.size()), bytes) << View::kName;
  return bytes;
}

// restore(serialize()) of every view.
AllViews restore_all(const AllViews& views) {
  auto p = PartitionStatusView::restore(serialized(views.partitions));
  auto b = BuildSummaryView::restore(serialized(views.builds));
  auto j = JobRunsView::restore(serialized(views.jobs));
  auto a = ActivityView::restore(serialized(views.activity));
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  EXPECT_TRUE(j.ok()) << (j.ok() ? "" : j.error().to_string());
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().to_string());
  AllViews out;
  if (p.ok() && b.ok() && j.ok() && a.ok()) {
    out.partitions = std::move(*p);
    out.builds = std::move(*b);
    out.jobs = std::move(*j);
    out.activity = std::move(*a);
  }
  return out;
}

// Records the first few differences (the rest would only repeat the story).
class FirstDifferences {
 public:
  void same(const Message& want, const Message& got, const std::string& what) {
    ++compared_;
    if (MessageDifferencer::Equals(want, got)) return;
    if (++failures_ > kMaxReported) return;
    MessageDifferencer d;
    std::string diff;
    d.ReportDifferencesToString(&diff);
    d.Compare(want, got);
    ADD_FAILURE() << what << " differs from the reference fold:\n" << diff;
  }

  template <class T>
  void same(const Result<T>& want, const Result<T>& got, const std::string& what) {
    if (want.ok() != got.ok()) {
      ++failures_;
      ADD_FAILURE() << what << ": reference " << (want.ok() ? "ok" : want.error().to_string())
                    << ", view " << (got.ok() ? "ok" : got.error().to_string());
      return;
    }
    if (want.ok()) {
      same(*want, *got, what);
    } else {
      ++compared_;
      if (want.error().code != got.error().code) {
        ++failures_;
        ADD_FAILURE() << what << ": reference " << want.error().to_string() << ", view "
                      << got.error().to_string();
      }
    }
  }

  int failures() const { return failures_; }
  int64_t compared() const { return compared_; }

 private:
  static constexpr int kMaxReported = 5;
  int failures_ = 0;
  int64_t compared_ = 0;
};

std::vector<PartitionsListRequest> partition_list_requests(const std::vector<std::string>& refs) {
  std::vector<PartitionsListRequest> out;
  auto add = [&](int limit, int offset, std::vector<PartitionStatus> filter, std::string pattern) {
    PartitionsListRequest r;
    r.set_limit(limit);
    r.set_offset(offset);
    for (auto s : filter) r.add_status_filter(s);
    r.set_pattern(std::move(pattern));
    out.push_back(std::move(r));
  };
  add(0, 0, {}, "");
  add(5, 0, {}, "");
  add(5, 5, {}, "");
  add(3, 1000, {}, "");  // beyond the end
  add(1000, 0, {}, "");
  add(7, 2, {v1::PARTITION_AVAILABLE}, "");
  add(4, 0, {v1::PARTITION_FAILED, v1::PARTITION_INVALIDATED, v1::PARTITION_FAILED}, "");
  add(10, 1, {v1::PARTITION_BUILDING, v1::PARTITION_SCHEDULED, v1::PARTITION_REQUESTED}, "");
  add(0, 0, {v1::PARTITION_UNKNOWN}, "");
  add(0, 0, {v1::PARTITION_DELEGATED}, "");
  add(3, 0, {}, "data/sales/*");
  add(50, 2, {v1::PARTITION_AVAILABLE}, "data/*/2024-0[5-6]-0?");
  add(0, 0, {}, "*-01");
  add(2, 0, {}, "nothing/*");
  if (!refs.empty()) add(0, 0, {}, refs.front());
  add(-1, 0, {}, "");    // invalid_argument
  add(1001, 0, {}, "");  // invalid_argument
  add(5, -3, {}, "");    // invalid_argument
  add(5, 0, {}, "data/[sales");  // invalid pattern
  return out;
}

std::vector<BuildsListRequest> build_list_requests() {
  std::vector<BuildsListRequest> out;
  auto add = [&](int limit, int offset, std::vector<BuildRequestStatus> filter) {
    BuildsListRequest r;
    r.set_limit(limit);
    r.set_offset(offset);
    for (auto s : filter) r.add_status_filter(s);
    out.push_back(std::move(r));
  };
  add(0, 0, {});
  add(3, 0, {});
  add(3, 3, {});
  add(10, 100000, {});
  add(1000, 0, {});
  add(5, 1, {v1::BUILD_REQUEST_COMPLETED});
  add(0, 0, {v1::BUILD_REQUEST_EXECUTING, v1::BUILD_REQUEST_PLANNING, v1::BUILD_REQUEST_RECEIVED,
             v1::BUILD_REQUEST_ANALYSIS_COMPLETED});
  add(4, 2, {v1::BUILD_REQUEST_FAILED, v1::BUILD_REQUEST_CANCELLED, v1::BUILD_REQUEST_FAILED});
  add(0, 0, {v1::BUILD_REQUEST_UNKNOWN});
  add(-5, 0, {});
  add(2000, 0, {});
  add(1, -1, {});
  return out;
}

std::vector<JobRunsListRequest> job_list_requests(const std::vector<std::string>& labels) {
  std::vector<JobRunsListRequest> out;
  auto add = [&](int limit, int offset, std::string label, std::vector<JobStatus> filter) {
    JobRunsListRequest r;
    r.set_limit(limit);
    r.set_offset(offset);
    r.set_job_label(std::move(label));
    for (auto s : filter) r.add_status_filter(s);
    out.push_back(std::move(r));
  };
  add(0, 0, "", {});
  add(4, 0, "", {});
  add(4, 4, "", {});
  add(10, 100000, "", {});
  add(1000, 0, "", {});
  add(6, 1, "", {v1::JOB_COMPLETED});
  add(0, 0, "", {v1::JOB_SCHEDULED, v1::JOB_RUNNING, v1::JOB_SCHEDULED});
  add(0, 0, "", {v1::JOB_FAILED, v1::JOB_CANCELLED, v1::JOB_SKIPPED});
  for (const auto& label : labels) {
    add(0, 0, label, {});
    add(2, 3, label, {});
    add(3, 2, label, {v1::JOB_COMPLETED, v1::JOB_FAILED});
  }
  add(0, 0, "//jobs:never_seen", {});
  add(-1, 0, "", {});
  add(1001, 0, "", {});
  add(5, -2, "", {});
  return out;
}

// Compares every query of `v` with the reference fold over `events`.
void compare_all(const std::vector<BuildEvent>& events, const AllViews& v, FirstDifferences& c) {
  ReferenceFold ref(events);
  const int64_t as_of = ref.as_of_idx();
  EXPECT_EQ(v.partitions.as_of_idx(), as_of);
  EXPECT_EQ(v.builds.as_of_idx(), as_of);
  EXPECT_EQ(v.jobs.as_of_idx(), as_of);
  EXPECT_EQ(v.activity.as_of_idx(), as_of);

  std::vector<std::string> refs = ref.partition_refs();
  for (std::string r : refs) {
    c.same(ref.partition_status(r), v.partitions.status(r), "status(" + r + ")");
    c.same(ref.active_builds(r), v.partitions.active_builds(r), "active_builds(" + r + ")");
  }
  c.same(ref.partition_status("data/none/unknown"), v.partitions.status("data/none/unknown"),
         "status(unknown ref)");
  c.same(ref.active_builds("data/none/unknown"), v.partitions.active_builds("data/none/unknown"),
         "active_builds(unknown ref)");
  for (const auto& req : partition_list_requests(refs)) {
    c.same(ref.list_partitions(req), v.partitions.list(req),
           "partitions list {" + req.ShortDebugString() + "}");
  }

  for (const auto& id : ref.build_request_ids()) {
    c.same(ref.build_summary(id), v.builds.summary(id), "summary(" + id + ")");
  }
  c.same(ref.build_summary("br-never"), v.builds.summary("br-never"), "summary(unknown)");
  for (const auto& req : build_list_requests()) {
    c.same(ref.list_builds(req), v.builds.list(req),
           "builds list {" + req.ShortDebugString() + "}");
  }

  for (const auto& id : ref.job_run_ids()) {
    c.same(ref.job_run(id), v.jobs.job_run(id), "job_run(" + id + ")");
  }
  c.same(ref.job_run("jr-never"), v.jobs.job_run("jr-never"), "job_run(unknown)");
  const auto labels = ref.job_labels();
  for (const auto& req : job_list_requests(labels)) {
    c.same(ref.list_job_runs(req), v.jobs.list(req),
           "job runs list {" + req.ShortDebugString() + "}");
  }
  for (const auto& label : labels) {
    c.same(ref.job_metrics(label), v.jobs.metrics(label), "metrics(" + label + ")");
  }
  c.same(ref.job_metrics("//jobs:never_seen"), v.jobs.metrics("//jobs:never_seen"),
         "metrics(unknown)");
  c.same(ref.all_job_metrics(), v.jobs.all_metrics(), "all_metrics");

  c.same(ref.activity(), v.activity.activity(), "activity");
}

// Folds `events` into fresh views and compares them with the reference at `checkpoints`
// (numbers of events applied). A second set of views is restored from its own snapshot at each
// checkpoint and keeps folding from there; it is compared too.
void check_stream(const std::vector<BuildEvent>& events, std::vector<size_t> checkpoints,
                  FirstDifferences& c) {
  std::sort(checkpoints.begin(), checkpoints.end());
  AllViews live;
  AllViews chained;
  std::vector<BuildEvent> prefix;
  prefix.reserve(events.size());
  size_t next = 0;
  for (size_t cp : checkpoints) {
    cp = std::min(cp, events.size());
    for (; next < cp; ++next) {
      live.apply(events[next]);
      chained.apply(events[next]);
      prefix.push_back(events[next]);
    }
    SCOPED_TRACE("checkpoint after " + std::to_string(cp) + " events (idx " +
                 std::to_string(cp == 0 ? 0 : events[cp - 1].idx()) + ")");
    {
      SCOPED_TRACE("live views");
      compare_all(prefix, live, c);
    }
    chained = restore_all(chained);
    {
      SCOPED_TRACE("views restored from snapshots");
      compare_all(prefix, chained, c);
    }
    if (c.failures() > 0) return;
  }
}

std::vector<size_t> checkpoints_for(size_t n) {
  return {0, 1, 2, 5, 17, n / 5, n / 3, n / 2, (3 * n) / 4, n - 1, n};
}

RandomStreamOptions property_options(uint64_t seed) {
  RandomStreamOptions o;
  o.num_events = 1200 + static_cast<int>(seed % 5) * 300;
  o.concurrent_builds = 2 + static_cast<int>(seed % 9);
  o.partition_space = 6 + static_cast<int>((seed * 7) % 40);
  return o;
}

constexpr uint64_t kPropertySeeds = 16;

TEST(ViewsPropertyTest, EveryQueryEqualsTheReferenceFoldAtEveryCheckpoint) {
  int64_t compared = 0;
  for (uint64_t seed = 1; seed <= kPropertySeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = random_stream(seed, property_options(seed));
    FirstDifferences c;
    check_stream(events, checkpoints_for(events.size()), c);
    compared += c.compared();
    if (c.failures() > 0) break;
  }
  EXPECT_GT(compared, 10000);
}

// The fallback path folds filtered scans, and a view must be right for whatever ascending
// sequence it is given: drop events at random, or keep only those of one partition / build.
TEST(ViewsPropertyTest, PartialSequencesEqualTheReferenceFoldOverTheSameEvents) {
  for (uint64_t seed = 101; seed <= 106; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = random_stream(seed, property_options(seed));
    uint64_t state = seed;
    auto coin = [&](int percent) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<int>((state >> 33) % 100) < percent;
    };
    std::vector<std::vector<BuildEvent>> subsets(3);
    const std::string some_ref = testing::random_stream_partition(static_cast<int>(seed % 6));
    const std::string some_build = events[events.size() / 3].build_request_id();
    for (const auto& e : events) {
      if (coin(60)) subsets[0].push_back(e);
      auto keys = keys_of(e);
      if (std::find(keys.partitions.begin(), keys.partitions.end(), some_ref) !=
          keys.partitions.end()) {
        subsets[1].push_back(e);
      }
      if (e.build_request_id() == some_build || coin(5)) subsets[2].push_back(e);
    }
    for (size_t i = 0; i < subsets.size(); ++i) {
      SCOPED_TRACE("subset " + std::to_string(i));
      FirstDifferences c;
      const size_t n = subsets[i].size();
      check_stream(subsets[i], {n / 2, n}, c);
      if (c.failures() > 0) return;
    }
  }
}

// A lenient log may hold any transition: events after a terminal status, statuses going back,
// runs cancelled before they exist. Shuffling a valid stream locally makes such logs.
TEST(ViewsPropertyTest, LenientLogsEqualTheReferenceFold) {
  for (uint64_t seed = 201; seed <= 206; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStreamOptions o = property_options(seed);
    o.num_events = 1000;
    auto events = random_stream(seed, o);
    uint64_t state = seed;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      size_t j = i + static_cast<size_t>((state >> 33) % 12);
      if (j < events.size()) std::swap(events[i], events[j]);
    }
    testing::assign_idx(events);
    FirstDifferences c;
    check_stream(events, {events.size() / 3, events.size()}, c);
    if (c.failures() > 0) return;
  }
}

// The generator's own lenient oddities: events of build requests never received, job runs whose
// first status is RUNNING, REQUESTED after BUILDING, statuses after a terminal one.
TEST(ViewsPropertyTest, LogsWithOdditiesEqualTheReferenceFold) {
  for (uint64_t seed = 301; seed <= 306; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    sim::WorkloadOptions o = testing::random_stream_options(seed, property_options(seed));
    o.oddity_rate = 0.03;
    const auto events = sim::generate_events(o, 1200);
    FirstDifferences c;
    check_stream(events, checkpoints_for(events.size()), c);
    if (c.failures() > 0) return;
  }
}

}  // namespace
}  // namespace bel::projections
