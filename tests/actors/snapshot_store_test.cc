// The snapshot store's save (actors/read/snapshot_store.h): a view's snapshot saved at its version
// drops what an older bel's view saved, and leaves a newer one's and every other view's.
#include "actors/read/snapshot_store.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/memory_log.h"

namespace bel::actors {
namespace {

TEST(SnapshotStoreTest, SavingAViewsSnapshotDropsItsOlderVersions) {
  auto log = testing::memory_log();
  ASSERT_NE(log, nullptr);
  for (int version : {1, 2, 4}) {
    ASSERT_TRUE(log->save_snapshot({"partition_status", version, 5, "old"}).ok());
  }
  ASSERT_TRUE(log->save_snapshot({"job_runs", 1, 5, "other view"}).ok());
  ViewSnapshot snapshot;
  snapshot.set_view("partition_status");
  snapshot.set_version(3);
  snapshot.set_applied_idx(9);
  snapshot.set_data("state");
  auto saved = save_view_snapshot(*log, snapshot);
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  EXPECT_EQ(*saved, 9);
  EXPECT_FALSE(log->load_snapshot("partition_status", 1)->has_value());
  EXPECT_FALSE(log->load_snapshot("partition_status", 2)->has_value());
  ASSERT_TRUE(log->load_snapshot("partition_status", 3)->has_value());
  EXPECT_EQ((*log->load_snapshot("partition_status", 3))->data, "state");
  EXPECT_TRUE(log->load_snapshot("partition_status", 4)->has_value());
  EXPECT_TRUE(log->load_snapshot("job_runs", 1)->has_value());
}

}  // namespace
}  // namespace bel::actors
