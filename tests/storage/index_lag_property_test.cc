// Property: the SQLite key index trails the log (storage/sqlite_indexer.h), and list_events and
// list_events_backward merge the indexed part with a scan of the unindexed tail. At every lag
// (nothing indexed, part of the log, all of it) and through the writer and a reader handle, every
// page of every filtered read, oldest-first and newest-first, equals the same filter applied to a
// full scan in memory. Failures print the seed.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "messages/event_keys.h"
#include "messages/filter_match.h"
#include "storage/storage_factory.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

struct Keys {
  std::vector<std::string> refs, labels, runs, builds;
};

Keys keys_in(const std::vector<BuildEvent>& events) {
  std::set<std::string> refs, labels, runs, builds;
  for (const auto& e : events) {
    const EventKeys k = keys_of(e);
    refs.insert(k.partitions.begin(), k.partitions.end());
    labels.insert(k.job_labels.begin(), k.job_labels.end());
    runs.insert(k.job_run_ids.begin(), k.job_run_ids.end());
    builds.insert(e.build_request_id());
  }
  return {{refs.begin(), refs.end()},
          {labels.begin(), labels.end()},
          {runs.begin(), runs.end()},
          {builds.begin(), builds.end()}};
}

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

// A random filter with one to three criteria, values drawn from the log (and one that is not).
EventFilter random_filter(std::mt19937_64& rng, const Keys& keys) {
  EventFilter f;
  std::uniform_int_distribution<int> criterion(0, 6);
  const int n = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int c = 0; c < n; ++c) {
    switch (criterion(rng)) {
      case 0:
        for (int i = 0; i < 1 + static_cast<int>(rng() % 3); ++i) {
          f.add_partition_refs(pick(rng, keys.refs));
        }
        break;
      case 1: {
        const std::string& ref = pick(rng, keys.refs);
        const size_t cut = rng() % (ref.size() + 1);
        f.add_partition_patterns(ref.substr(0, cut) + (rng() % 2 ? "*" : "?*"));
        break;
      }
      case 2:
        f.add_partition_patterns(rng() % 2 ? "*" : "data/*/2*");  // broad: checked on events
        break;
      case 3:
        if (!keys.labels.empty()) f.add_job_labels(pick(rng, keys.labels));
        break;
      case 4:
        if (!keys.runs.empty()) f.add_job_run_ids(pick(rng, keys.runs));
        f.add_job_run_ids("no-such-run");
        break;
      case 5:
        f.add_build_request_ids(pick(rng, keys.builds));
        break;
      default:
        f.add_event_types(pick(rng, event_type_names()));
    }
  }
  return f;
}

// Every page of `filter` read from `log` with page size `limit` equals the in-memory answer:
// oldest-first with list_events from since_idx 0, or newest-first with list_events_backward from
// before_idx 0 (the newest event).
void expect_pages_match(Storage& log, const std::vector<BuildEvent>& all, const EventFilter& filter,
                        int limit, const std::string& context, bool newest_first = false) {
  std::vector<int64_t> expected;
  for (size_t i = 0; i < all.size(); ++i) {
    if (event_matches(filter, all[i])) expected.push_back(static_cast<int64_t>(i) + 1);
  }
  if (newest_first) std::reverse(expected.begin(), expected.end());
  int64_t cursor = 0;  // since_idx, or before_idx newest-first
  size_t at = 0;
  for (int pages = 0;; ++pages) {
    ASSERT_LE(pages, static_cast<int>(all.size()) + 1) << context;
    auto page = newest_first ? log.list_events_backward(cursor, filter, limit)
                             : log.list_events(cursor, filter, limit);
    ASSERT_TRUE(page.ok()) << context << ": " << page.error().to_string();
    const size_t want = std::min(expected.size() - at, static_cast<size_t>(limit));
    ASSERT_EQ(static_cast<size_t>(page->events_size()), want)
        << context << " from " << cursor << " filter=" << describe_filter(filter);
    for (size_t i = 0; i < want; ++i) {
      const BuildEvent& got = page->events(static_cast<int>(i));
      ASSERT_EQ(got.idx(), expected[at + i]) << context << " filter=" << describe_filter(filter);
      BuildEvent stored = all[static_cast<size_t>(got.idx() - 1)];
      stored.set_idx(got.idx());
      ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, stored))
          << context << " idx " << got.idx();
    }
    at += want;
    ASSERT_EQ(page->has_more(), at < expected.size())
        << context << " from " << cursor << " filter=" << describe_filter(filter);
    ASSERT_EQ(page->next_idx(), want > 0 ? expected[at - 1] : cursor) << context;
    if (!page->has_more()) break;
    cursor = page->next_idx();
  }
}

TEST(IndexLagPropertyTest, FilteredReadsEqualAFullScanAtEveryIndexLag) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    bel::testing::TempDir tmp;
    const std::string uri = "sqlite://" + tmp.path() + "/bel.db";
    auto opened = open_storage(uri, {});
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    auto& log = **opened;

    const std::vector<BuildEvent> all = sim::generate_events(
        bel::testing::mixed_workload_options(seed, /*partitions=*/400, /*ids_period=*/2), 3000);
    for (size_t start = 0; start < all.size(); start += 250) {
      std::vector<BuildEvent> batch(
          all.begin() + static_cast<std::ptrdiff_t>(start),
          all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), start + 250)));
      ASSERT_TRUE(log.append_batch(batch).ok()) << "seed " << seed;
    }
    const Keys keys = keys_in(all);
    auto reader = log.open_reader();
    ASSERT_TRUE(reader.ok()) << reader.error().to_string();

    std::mt19937_64 rng(seed);
    const int64_t partial = 1 + static_cast<int64_t>(rng() % (all.size() - 1));
    for (const char* lag : {"none indexed", "partly indexed", "all indexed"}) {
      if (std::string(lag) == "partly indexed") {
        ASSERT_EQ(*log.catch_up_indexes(partial), partial);
      } else if (std::string(lag) == "all indexed") {
        ASSERT_TRUE(log.catch_up_indexes(static_cast<int64_t>(all.size())).ok());
        ASSERT_EQ(log.unindexed_events(), 0);
      }
      for (int i = 0; i < 25; ++i) {
        const EventFilter filter = random_filter(rng, keys);
        const int limit = std::uniform_int_distribution<int>(1, 400)(rng);
        const std::string context = "seed " + std::to_string(seed) + ", " + lag;
        expect_pages_match(log, all, filter, limit, context + ", writer");
        expect_pages_match(**reader, all, filter, limit, context + ", reader");
        expect_pages_match(log, all, filter, limit, context + ", writer, newest first", true);
        expect_pages_match(**reader, all, filter, limit, context + ", reader, newest first",
                           true);
      }
    }
  }
}

}  // namespace
}  // namespace bel::storage
