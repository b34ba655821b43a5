// The snapshot reader: header fields parsed apart from the entries, entries visited one at a time
// in order, and every malformed snapshot refused as storage_corrupt before or while restoring.
#include "projections/snapshot_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "projections/queries.h"
#include "projections/view_snapshots.pb.h"
#include "tests/support/random_stream.h"

namespace bel::projections {
namespace {

namespace snap = bel::snapshots::v1;

std::string runs_snapshot(int runs) {
  snap::JobRunsSnapshot s;
  s.set_view(JobRunsView::kName);
  s.set_version(JobRunsView::kVersion);
  s.set_as_of_idx(1000);
  for (int i = 1; i <= runs; ++i) {
    auto* r = s.add_runs();
    r->set_job_run_id("jr-" + std::to_string(i));
    r->set_job_label("//jobs:a");
    r->set_build_request_id("br-1");
    r->add_target_partitions("data/" + std::to_string(i));
    r->set_status_code(v1::JOB_COMPLETED);
    r->set_first_idx(i);
  }
  return s.SerializeAsString();
}

TEST(SnapshotReaderTest, HeaderLeavesTheEntriesAndEntriesComeInOrder) {
  const std::string bytes = runs_snapshot(3);
  snap::JobRunsSnapshot header;
  ASSERT_TRUE(parse_snapshot_header(JobRunsView::kName, JobRunsView::kVersion, bytes, &header).ok());
  EXPECT_EQ(header.as_of_idx(), 1000);
  EXPECT_EQ(header.runs_size(), 0);
  EXPECT_EQ(count_snapshot_entries(bytes, snap::JobRunsSnapshot::kRunsFieldNumber), 3u);

  std::vector<std::string> seen;
  snap::JobRunState scratch;
  auto status = for_each_snapshot_entry(
      "job_runs", bytes, snap::JobRunsSnapshot::kRunsFieldNumber, &scratch,
      [&](snap::JobRunState& r) -> Status {
        seen.push_back(r.job_run_id() + ":" + r.target_partitions(0));
        return ok_status();
      });
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"jr-1:data/1", "jr-2:data/2", "jr-3:data/3"}));
}

TEST(SnapshotReaderTest, AVisitorErrorStopsTheVisit) {
  const std::string bytes = runs_snapshot(5);
  int visited = 0;
  snap::JobRunState scratch;
  auto status = for_each_snapshot_entry("job_runs", bytes, snap::JobRunsSnapshot::kRunsFieldNumber,
                                        &scratch, [&](snap::JobRunState&) -> Status {
                                          if (++visited == 2) {
                                            return snapshot_error("job_runs", "second");
                                          }
                                          return ok_status();
                                        });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "job_runs snapshot: second");
  EXPECT_EQ(visited, 2);
}

TEST(SnapshotReaderTest, WrongViewOrVersionIsRefused) {
  snap::JobRunsSnapshot s;
  s.set_view("build_summary");
  s.set_version(JobRunsView::kVersion);
  auto restored = JobRunsView::restore(s.SerializeAsString());
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.error().code, ErrorCode::storage_corrupt);
  EXPECT_NE(restored.error().message.find("build_summary"), std::string::npos);
}

// Every cut of a valid snapshot, and bytes that are no message at all, fail to restore with
// storage_corrupt (or restore a prefix that is itself a valid snapshot): never a crash.
TEST(SnapshotReaderTest, TruncatedOrGarbledSnapshotsAreStorageCorrupt) {
  const std::string bytes = runs_snapshot(4);
  int refused = 0;
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    auto restored = JobRunsView::restore(bytes.substr(0, cut));
    if (!restored.ok()) {
      EXPECT_EQ(restored.error().code, ErrorCode::storage_corrupt) << cut;
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
  EXPECT_FALSE(JobRunsView::restore(garbage).ok());
  EXPECT_FALSE(BuildSummaryView::restore(garbage).ok());
  EXPECT_FALSE(PartitionStatusView::restore(garbage).ok());
  EXPECT_FALSE(ActivityView::restore(garbage).ok());
  // An entry whose bytes do not parse as its message.
  std::string bad_entry = bytes;
  bad_entry += std::string("\x22\x02\xff\xff", 4);  // field 4 (runs), 2 bytes of garbage
  auto restored = JobRunsView::restore(bad_entry);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.error().message, "job_runs snapshot: bytes do not parse");
}

TEST(SnapshotReaderTest, DuplicateEntriesAreStillRefused) {
  snap::JobRunsSnapshot s;
  ASSERT_TRUE(s.ParseFromString(runs_snapshot(2)));
  *s.add_runs() = s.runs(1);
  s.mutable_runs(2)->set_first_idx(3);
  auto restored = JobRunsView::restore(s.SerializeAsString());
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find("jr-2 appears twice"), std::string::npos);
}

// The bytes a view writes entry by entry are those of serializing the whole snapshot message.
template <class Snapshot>
void expect_whole_message_bytes(const std::string& bytes) {
  Snapshot whole;
  ASSERT_TRUE(whole.ParseFromString(bytes));
  EXPECT_EQ(whole.SerializeAsString(), bytes) << Snapshot::descriptor()->name();
}

TEST(SnapshotWriterTest, EntryByEntryEqualsTheWholeMessage) {
  for (uint64_t seed : {3u, 11u}) {
    AllViews views;
    for (const auto& e : testing::random_stream(seed)) views.apply(e);
    expect_whole_message_bytes<snap::PartitionStatusSnapshot>(views.partitions.serialize());
    expect_whole_message_bytes<snap::BuildSummarySnapshot>(views.builds.serialize());
    expect_whole_message_bytes<snap::JobRunsSnapshot>(views.jobs.serialize());
    expect_whole_message_bytes<snap::ActivitySnapshot>(views.activity.serialize());
    snap::ActivitySnapshot activity;
    ASSERT_TRUE(activity.ParseFromString(views.activity.serialize()));
    EXPECT_GT(activity.partitions_size(), 0);
    EXPECT_GT(activity.recent_builds_size(), 0);
  }
}

}  // namespace
}  // namespace bel::projections
