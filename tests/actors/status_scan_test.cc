// A partition's status from a scan (actors/read/reader_actor.h, answer_from_scan) reads from the
// newest event that set the status, and the whole history only when the claims rule fired after
// it: both paths agree with the reference fold, on hand-made cases and at every prefix of random
// streams whose few partitions have long histories.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/read/reader_actor.h"
#include "projections/partition_status_fold.h"
#include "storage/storage_factory.h"
#include "tests/support/memory_log.h"
#include "tests/support/queries.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::actors {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::ReferenceFold;
using testing::StreamBuilder;

using testing::memory_log;

void append(storage::Storage& log, std::vector<BuildEvent> events) {
  testing::append_stream(log, std::move(events));
}

// answer_from_scan's status of every ref the events name equals the oracle's; small pages so that
// the newest-first search and the scans take several. Returns how many refs' status was last set
// by the claims rule (not by their newest setting event): the answers that needed the history.
int check_statuses(storage::Storage& log, const std::vector<BuildEvent>& events) {
  ReferenceFold oracle(events);
  ReaderOptions options;
  options.page_size = 3;
  int by_rule = 0;
  for (const auto& ref : oracle.partition_refs()) {
    Query q = testing::partition_status_query(ref);
    auto got = answer_from_scan(log, q, options);
    EXPECT_TRUE(got.ok()) << ref << ": " << got.error().to_string();
    if (!got.ok()) continue;
    const auto want = oracle.partition_status(ref);
    EXPECT_TRUE(MessageDifferencer::Equals(got->partition_status(), want))
        << ref << "\n scan: " << got->partition_status().ShortDebugString()
        << "\n oracle: " << want.ShortDebugString();
    int64_t setter = 0;
    for (const auto& e : events) {
      if (projections::sets_partition_status(e, ref)) setter = e.idx();
    }
    if (want.last_idx() != setter) ++by_rule;
  }
  return by_rule;
}

TEST(StatusScanTest, TheClaimsRuleFiringAfterTheSetterReadsTheWholeHistory) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .build("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-2", "data/a", v1::PARTITION_SCHEDULED, "", "queued by br-2")
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "", "br-1 builds")  // the setter
      .build("br-1", v1::BUILD_REQUEST_FAILED);  // ends its claim: br-2's claim is the status
  auto log = memory_log();
  append(*log, s.events());
  EXPECT_EQ(check_statuses(*log, s.events()), 1);
  auto got = answer_from_scan(*log, testing::partition_status_query("data/a"), {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->partition_status().status_code(), v1::PARTITION_SCHEDULED);
  EXPECT_EQ(got->partition_status().build_request_id(), "br-2");
  EXPECT_EQ(got->partition_status().last_idx(), 5);
}

TEST(StatusScanTest, EventsAfterTheSetterThatDoNotSetTheStatusKeepIt) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"})
      .partition("br-1", "data/a", v1::PARTITION_BUILDING)
      .partition("br-1", "data/a", v1::PARTITION_AVAILABLE)  // data/a's setter
      .build("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-2", "data/a", v1::PARTITION_SCHEDULED)  // data/a's setter, in flight
      .build("br-3", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-3", "data/a", v1::PARTITION_REQUESTED)   // sets it again
      .delegate("br-3", "data/a", "br-2")                     // sets nothing
      .partition("br-1", "data/b", v1::PARTITION_DELEGATED)   // data/b: no setter at all
      .invalidate("operator:ann", "data/c", "bad input")      // data/c: an invalidation
      .build("br-1", v1::BUILD_REQUEST_COMPLETED)             // ends no claim on data/a
      .partition("br-2", "data/a", v1::PARTITION_DELEGATED);  // nor does this
  auto log = memory_log();
  append(*log, s.events());
  EXPECT_EQ(check_statuses(*log, s.events()), 0);
}

// Claims naming job runs of other build requests, and runs that failed before the claim: whether
// a claim is live needs its run's events and its run's build request's end, which may come
// before the setter (both scans read them from the log's start). Checked at every prefix.
TEST(StatusScanTest, ClaimsOnRunsOfOtherRequestsOrOnFailedRunsAgreeAtEveryPrefix) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .build("br-3", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})  // br-1's open run
      .job("br-3", "jr-3", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-3", "jr-3", "//jobs:a", v1::JOB_FAILED)
      .partition("br-3", "data/a", v1::PARTITION_BUILDING, "jr-3", "late report")  // not live
      .partition("br-2", "data/a", v1::PARTITION_BUILDING, "jr-1", "on br-1's run")
      .partition("br-2", "data/b", v1::PARTITION_SCHEDULED, "jr-1")  // data/b's setter
      .build("br-1", v1::BUILD_REQUEST_CANCELLED)  // cancels jr-1: ends br-2's claims
      .build("br-4", v1::BUILD_REQUEST_RECEIVED)
      .job("br-4", "jr-4", "//jobs:b", v1::JOB_SCHEDULED, {"data/c"})
      .partition("br-2", "data/c", v1::PARTITION_REQUESTED, "", "br-2 wants it")
      .partition("br-3", "data/c", v1::PARTITION_BUILDING, "jr-4", "on br-4's run")
      .build("br-4", v1::BUILD_REQUEST_FAILED)   // data/c falls back to br-2's claim
      .build("br-3", v1::BUILD_REQUEST_FAILED);  // data/a: FAILED, br-3's claim was not live
  std::vector<BuildEvent> prefix;
  auto log = memory_log();
  int by_rule = 0;
  for (const auto& e : s.events()) {
    prefix.push_back(e);
    append(*log, {e});
    by_rule += check_statuses(*log, prefix);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(by_rule, 0);
  ReferenceFold oracle(s.events());
  EXPECT_EQ(oracle.partition_status("data/a").status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(oracle.partition_status("data/b").status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(oracle.partition_status("data/c").build_request_id(), "br-2");
}

TEST(StatusScanTest, EqualsTheReferenceFoldAtEveryPrefixOfRandomStreams) {
  int by_rule = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = testing::random_stream(seed, testing::few_busy_partitions(600));
    auto log = memory_log();
    for (size_t from = 0; from < events.size(); from += 50) {
      const size_t to = std::min(events.size(), from + 50);
      append(*log, std::vector<BuildEvent>(events.begin() + static_cast<long>(from),
                                           events.begin() + static_cast<long>(to)));
      by_rule += check_statuses(
          *log, std::vector<BuildEvent>(events.begin(), events.begin() + static_cast<long>(to)));
    }
  }
  EXPECT_GT(by_rule, 0) << "no status set by the claims rule: the whole-history path went untested";
}

}  // namespace
}  // namespace bel::actors
