// Property: the scans that feed the views read events with storage::EventDetail::views (without
// the fields no view reads, which are skipped in the parse). Every view folded from such a scan
// holds exactly the state (its snapshot bytes) of the same view folded from the full events, on
// generated logs with job configs, manifests and job graphs, in the memory and SQLite backends.
// Failures print the seed and the backend.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "projections/queries.h"
#include "storage/event_detail.h"
#include "storage/event_page_arena.h"
#include "storage/storage_factory.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

// Every view folded over every event of `log`, read `detail` pages of `limit` events.
projections::AllViews fold(Storage& log, EventDetail detail, int limit) {
  projections::AllViews views;
  PageArena arena;
  for (int64_t since = 0;;) {
    EventPage* page = arena.fresh();
    auto read = log.list_events_into(since, EventFilter(), limit, page, detail);
    EXPECT_TRUE(read.ok()) << read.error().to_string();
    if (!read.ok()) break;
    for (const auto& event : page->events()) views.apply(event);
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  return views;
}

void expect_same_state(const projections::AllViews& want, const projections::AllViews& got,
                       const std::string& context) {
  EXPECT_EQ(want.partitions.serialize(), got.partitions.serialize()) << context;
  EXPECT_EQ(want.builds.serialize(), got.builds.serialize()) << context;
  EXPECT_EQ(want.jobs.serialize(), got.jobs.serialize()) << context;
  EXPECT_EQ(want.activity.serialize(), got.activity.serialize()) << context;
}

TEST(ViewsDetailPropertyTest, ViewsFoldTheSameFromViewsDetailAsFromFullEvents) {
  int64_t left_out = 0;  // events that had something to leave out
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const std::vector<BuildEvent> all = sim::generate_events(
        bel::testing::mixed_workload_options(seed, /*partitions=*/300, /*ids_period=*/3), 2500);
    for (const auto& e : all) {
      left_out += e.job_event().has_config() || e.job_event().manifests_size() > 0 ||
                  e.job_graph_event().has_job_graph();
    }
    bel::testing::TempDir tmp;
    for (const std::string& uri :
         {std::string("memory://"), "sqlite://" + tmp.path() + "/bel.db"}) {
      const std::string context = "seed " + std::to_string(seed) + ", " + uri;
      auto opened = open_storage(uri, {});
      ASSERT_TRUE(opened.ok()) << opened.error().to_string();
      Storage& log = **opened;
      ASSERT_TRUE(log.append_batch(all).ok()) << context;
      // The writer's handle (part of the log indexed or not) and a reader's.
      ASSERT_TRUE(log.catch_up_indexes(1000).ok()) << context;
      const projections::AllViews full = fold(log, EventDetail::full, kMaxListLimit);
      expect_same_state(full, fold(log, EventDetail::views, 777), context + ", writer");
      auto reader = log.open_reader();
      ASSERT_TRUE(reader.ok()) << reader.error().to_string();
      expect_same_state(full, fold(**reader, EventDetail::views, kMaxListLimit),
                        context + ", reader");
    }
  }
  EXPECT_GT(left_out, 100);  // the logs had configs, manifests and job graphs to leave out
}

// serialize_event_body, which writes each SQLite row's payload, gives exactly what the whole walk
// would cut from the event's bytes: for generated events with every column field set or not, and
// for events with unknown fields, some numbered like a column field but of another wire type
// (field 4 length-delimited, field 2 a fixed64).
TEST(ViewsDetailPropertyTest, EventBodiesAreTheEventsWithoutTheirColumnFields) {
  std::mt19937_64 rng(11);
  int with_unknown = 0;
  for (auto event : sim::generate_events(bel::testing::mixed_workload_options(11, 200, 4), 1500)) {
    if (rng() % 2 == 0) event.set_idx(static_cast<int64_t>(rng() % 100000) + 1);
    if (rng() % 3 == 0) event.set_timestamp(0);
    if (rng() % 4 == 0) {
      // Unknown fields, appended after the known ones as a producer on a newer schema would.
      std::string bytes = event.SerializeAsString();
      bytes += std::string{'\x22', '\x03', 'a', 'b', 'c'};              // field 4, length-delimited
      bytes += std::string("\x11\x01\x02\x03\x04\x05\x06\x07\x08", 9);  // field 2, fixed64
      bytes += std::string("\x98\x06\x07", 3);                          // field 99, a varint
      ASSERT_TRUE(event.ParseFromString(bytes));
      ASSERT_FALSE(BuildEvent::GetReflection()->GetUnknownFields(event).empty());
      ++with_unknown;
    }
    std::string walked;
    ASSERT_TRUE(copy_fields_outside(event.SerializeAsString(), 1, 4, walked));
    std::string body = "left over";
    ASSERT_TRUE(serialize_event_body(event, body));
    ASSERT_EQ(body, walked) << event.DebugString();
    BuildEvent parsed;
    ASSERT_TRUE(parsed.ParseFromString(body));
    EXPECT_TRUE(parsed.event_id().empty() && parsed.timestamp() == 0 &&
                parsed.build_request_id().empty() && parsed.idx() == 0);
  }
  EXPECT_GT(with_unknown, 300);
}

// parse_event_payload with EventDetail::views on damaged payloads (cut short, bytes changed):
// whatever bel's full read reads (text that is not UTF-8 as U+FFFD) it reads too, giving the full
// event without what the views leave out; it refuses what the full read refuses unless the damage
// lies in a field it skips.
TEST(ViewsDetailPropertyTest, DamagedPayloadsParseAsTheFullParseDoesOutsideTheSkippedFields) {
  sim::WorkloadOptions options;
  options.seed = 7;
  options.partitions = 50;
  std::mt19937_64 rng(7);
  int parsed = 0, refused = 0, unseen = 0, repaired = 0;
  for (const auto& event : sim::generate_events(options, 400)) {
    const std::string bytes = event.SerializeAsString();
    std::vector<std::string> damaged = {bytes.substr(0, rng() % (bytes.size() + 1))};
    for (int i = 0; i < 4; ++i) {
      std::string changed = bytes;
      changed[rng() % changed.size()] = static_cast<char>(rng());
      damaged.push_back(changed);
    }
    for (const auto& d : damaged) {
      // bel's full read: text that is not UTF-8 reads as U+FFFD (storage/payload_text.h).
      BuildEvent full, views;
      std::string fields;
      const bool full_ok = parse_event_payload(d, EventDetail::full, &full, &fields);
      const bool views_ok = parse_event_payload(d, EventDetail::views, &views);
      if (!fields.empty()) ++repaired;
      if (!full_ok) {
        if (!views_ok) {
          ++refused;
          continue;
        }
        // Refused in full but read for the views: the damage is in a field they skip.
        ++unseen;
        EXPECT_TRUE(views.event_id().empty() && !views.job_event().has_config() &&
                    views.job_event().manifests_size() == 0 &&
                    !views.job_graph_event().has_job_graph());
        continue;
      }
      ASSERT_TRUE(views_ok) << event.DebugString();
      ++parsed;
      drop_detail(EventDetail::views, &full);
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(full, views))
          << full.DebugString() << "\nvs\n"
          << views.DebugString();
    }
  }
  EXPECT_GT(parsed, 100);
  EXPECT_GT(refused, 100);
  EXPECT_LT(unseen, refused);
  EXPECT_GT(repaired, 10);
}

}  // namespace
}  // namespace bel::storage
