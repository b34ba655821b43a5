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
  SnapshotInput in(bytes);
  snap::JobRunsSnapshot header;
  ASSERT_TRUE(in.read_header(JobRunsView::kName, JobRunsView::kVersion, &header).ok());
  EXPECT_EQ(header.as_of_idx(), 1000);
  EXPECT_EQ(header.runs_size(), 0);
  EXPECT_EQ(count_snapshot_entries(bytes, snap::JobRunsSnapshot::kRunsFieldNumber), 3u);
  EXPECT_EQ(in.entries_hint(0, snap::JobRunsSnapshot::kRunsFieldNumber), 3u);
  EXPECT_EQ(in.entries_hint(2, snap::JobRunsSnapshot::kRunsFieldNumber), 2u);  // the header's
  // A damaged count reserves no more than the bytes could hold.
  EXPECT_EQ(in.entries_hint(int64_t{1} << 40, snap::JobRunsSnapshot::kRunsFieldNumber),
            bytes.size() / 8);

  std::vector<std::string> seen;
  snap::JobRunState scratch;
  auto status = in.for_each(snap::JobRunsSnapshot::kRunsFieldNumber, &scratch,
                            [&](snap::JobRunState& r) -> Status {
                              seen.push_back(r.job_run_id() + ":" + r.target_partitions(0));
                              return ok_status();
                            });
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(seen, (std::vector<std::string>{"jr-1:data/1", "jr-2:data/2", "jr-3:data/3"}));
}

TEST(SnapshotReaderTest, AVisitorErrorStopsTheVisit) {
  const std::string bytes = runs_snapshot(5);
  SnapshotInput in(bytes);
  snap::JobRunsSnapshot header;
  ASSERT_TRUE(in.read_header(JobRunsView::kName, JobRunsView::kVersion, &header).ok());
  int visited = 0;
  snap::JobRunState scratch;
  auto status = in.for_each(snap::JobRunsSnapshot::kRunsFieldNumber, &scratch,
                            [&](snap::JobRunState&) -> Status {
                              if (++visited == 2) return snapshot_error("job_runs", "second");
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
  EXPECT_NE(restored.error().message.find("job run jr-2 appears twice"), std::string::npos)
      << restored.error().message;
  // An entry before the one it should follow, named by its kind and id.
  ASSERT_TRUE(s.ParseFromString(runs_snapshot(2)));
  s.mutable_runs(1)->set_first_idx(s.runs(0).first_idx());
  restored = JobRunsView::restore(s.SerializeAsString());
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find("job run jr-2 has first_idx " +
                                          std::to_string(s.runs(0).first_idx()) + " out of order"),
            std::string::npos)
      << restored.error().message;
}

// What a view writes entry by entry is its snapshot message with the header fields first (so a
// one-pass reader has them before any entry): the fields of the whole message, in that order.
template <class Snapshot>
void expect_header_first(const std::string& bytes) {
  Snapshot whole;
  ASSERT_TRUE(whole.ParseFromString(bytes));
  bool entries_begun = false;
  ASSERT_TRUE(walk_snapshot_fields(bytes, [&](const SnapshotField& f) {
    const auto* field = Snapshot::descriptor()->FindFieldByNumber(f.number);
    const bool entry = field != nullptr && field->is_repeated();
    EXPECT_FALSE(entries_begun && !entry)
        << Snapshot::descriptor()->name() << ": header field " << f.number << " after an entry";
    entries_begun = entries_begun || entry;
    return true;
  }));
}

TEST(SnapshotWriterTest, HeaderFieldsComeFirstAndCountTheEntries) {
  for (uint64_t seed : {3u, 11u}) {
    AllViews views;
    for (const auto& e : testing::random_stream(seed)) views.apply(e);
    expect_header_first<snap::PartitionStatusSnapshot>(views.partitions.serialize());
    expect_header_first<snap::BuildSummarySnapshot>(views.builds.serialize());
    expect_header_first<snap::JobRunsSnapshot>(views.jobs.serialize());
    expect_header_first<snap::ActivitySnapshot>(views.activity.serialize());
    snap::PartitionStatusSnapshot partitions;
    ASSERT_TRUE(partitions.ParseFromString(views.partitions.serialize()));
    EXPECT_GT(partitions.partitions_size(), 0);
    EXPECT_EQ(partitions.partition_count(), partitions.partitions_size());
    EXPECT_EQ(partitions.request_count(), partitions.requests_size());
    snap::BuildSummarySnapshot builds;
    ASSERT_TRUE(builds.ParseFromString(views.builds.serialize()));
    EXPECT_EQ(builds.entry_count(), builds.builds_size());
    snap::JobRunsSnapshot runs;
    ASSERT_TRUE(runs.ParseFromString(views.jobs.serialize()));
    EXPECT_EQ(runs.entry_count(), runs.runs_size());
    snap::ActivitySnapshot activity;
    ASSERT_TRUE(activity.ParseFromString(views.activity.serialize()));
    EXPECT_GT(activity.partitions_size(), 0);
    EXPECT_GT(activity.recent_builds_size(), 0);
    EXPECT_EQ(activity.partition_count(), activity.partitions_size());
    EXPECT_EQ(activity.build_count(), activity.build_requests_size());
  }
}

// Handed over in chunks (SnapshotTarget with a function), a view's snapshot is the same bytes in
// the same order, in chunks of about SnapshotWriter::kChunk (the last one shorter), and serialize()
// returns none of them.
template <class View>
size_t expect_same_bytes_in_chunks(const View& view) {
  const std::string whole = view.serialize();
  std::vector<std::string> chunks;
  EXPECT_EQ(view.serialize(SnapshotTarget([&](std::string_view c) { chunks.emplace_back(c); })), "")
      << View::kName;
  std::string joined;
  for (size_t i = 0; i < chunks.size(); ++i) {
    joined += chunks[i];
    EXPECT_FALSE(chunks[i].empty()) << View::kName << " chunk " << i;
    EXPECT_LT(chunks[i].size(), SnapshotWriter::kChunk + 64 * 1024) << View::kName;
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].size(), SnapshotWriter::kChunk) << View::kName;
    }
  }
  EXPECT_EQ(joined, whole) << View::kName << ": " << chunks.size() << " chunks";
  return chunks.size();
}

TEST(SnapshotWriterTest, ChunksCarryTheSameBytesInOrder) {
  for (int events : {0, 300, 40000}) {
    AllViews views;
    for (const auto& e : testing::random_stream(5, testing::stream_options(events, 40, 20000))) {
      views.apply(e);
    }
    const size_t runs = expect_same_bytes_in_chunks(views.jobs);
    expect_same_bytes_in_chunks(views.partitions);
    expect_same_bytes_in_chunks(views.builds);
    expect_same_bytes_in_chunks(views.activity);
    if (events == 40000) {
      EXPECT_GT(runs, 2u);  // a snapshot of several chunks was seen
    }
  }
}

// `bytes` as a bel that wrote snapshots before the counts did: the whole message, in field
// order, without them.
template <class Snapshot>
std::string without_counts(const std::string& bytes) {
  Snapshot s;
  EXPECT_TRUE(s.ParseFromString(bytes));
  const auto* d = Snapshot::descriptor();
  for (const char* name : {"entry_count", "partition_count", "request_count", "build_count"}) {
    if (const auto* field = d->FindFieldByName(name)) s.GetReflection()->ClearField(&s, field);
  }
  return s.SerializeAsString();
}

template <class Snapshot, class View>
void expect_restores_the_same(const View& view) {
  const std::string bytes = view.serialize();
  auto older = View::restore(without_counts<Snapshot>(bytes));
  ASSERT_TRUE(older.ok()) << older.error().to_string();
  EXPECT_EQ(older->serialize(), bytes) << View::kName;
}

TEST(SnapshotReaderTest, SnapshotsWrittenBeforeTheCountsRestoreTheSame) {
  for (uint64_t seed : {5u, 17u}) {
    AllViews views;
    for (const auto& e : testing::random_stream(seed)) views.apply(e);
    expect_restores_the_same<snap::PartitionStatusSnapshot>(views.partitions);
    expect_restores_the_same<snap::BuildSummarySnapshot>(views.builds);
    expect_restores_the_same<snap::JobRunsSnapshot>(views.jobs);
    expect_restores_the_same<snap::ActivitySnapshot>(views.activity);
  }
}

// A snapshot whose entries come in another order than serialize() writes them is refused, not
// restored in part: partition_status's requests name partitions, which must come first.
TEST(SnapshotReaderTest, PartitionStatusRequestsBeforeItsPartitionsAreRefused) {
  AllViews views;
  for (const auto& e : testing::random_stream(7)) views.apply(e);
  snap::PartitionStatusSnapshot s;
  ASSERT_TRUE(s.ParseFromString(views.partitions.serialize()));
  ASSERT_GT(s.requests_size(), 0);
  ASSERT_GT(s.partitions_size(), 0);
  snap::PartitionStatusSnapshot header = s;
  header.clear_partitions();
  header.clear_requests();
  SnapshotWriter out(header);
  for (const auto& q : s.requests())
    out.add(snap::PartitionStatusSnapshot::kRequestsFieldNumber, q);
  for (const auto& p : s.partitions()) {
    out.add(snap::PartitionStatusSnapshot::kPartitionsFieldNumber, p);
  }
  auto restored = PartitionStatusView::restore(out.take());
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.error().code, ErrorCode::storage_corrupt);
  EXPECT_NE(restored.error().message.find("after the build requests"), std::string::npos)
      << restored.error().message;
}

}  // namespace
}  // namespace bel::projections
