// A view restored from its snapshot as the storage holds it (actors/read/view_restore.h): the
// compressed data inflated as the restore reads it gives the view the bytes would, and damaged
// data is refused whole, never restored in part.
#include "actors/read/view_restore.h"

#include <gtest/gtest.h>

#include <string>

#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "storage/snapshot_codec.h"
#include "tests/support/random_stream.h"

namespace bel::actors {
namespace {

template <class View>
View folded(uint64_t seed) {
  View view;
  for (const auto& e : testing::random_stream(seed)) view.apply(e);
  return view;
}

std::string encoded(const std::string& plain) {
  auto stored = storage::encode_snapshot_data(plain);
  EXPECT_TRUE(stored.ok());
  return stored.ok() ? *stored : std::string();
}

template <class View>
void expect_same_view_from_stored_data(uint64_t seed) {
  const std::string plain = folded<View>(seed).serialize();
  const std::string stored = encoded(plain);
  ASSERT_NE(stored, plain) << View::kName << " did not compress";
  int64_t plain_size = 0;
  auto from_stream = restore_view<View>(stored, /*encoded=*/true, &plain_size);
  ASSERT_TRUE(from_stream.ok()) << from_stream.error().to_string();
  EXPECT_EQ(from_stream->serialize(), plain) << View::kName;
  EXPECT_EQ(plain_size, static_cast<int64_t>(plain.size()));
  auto from_bytes = restore_view<View>(plain, /*encoded=*/false, &plain_size);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.error().to_string();
  EXPECT_EQ(from_bytes->serialize(), plain) << View::kName;
  EXPECT_EQ(plain_size, static_cast<int64_t>(plain.size()));

  // Damage anywhere in the compressed stream, or a stream cut short, is the view's error.
  for (const std::string& damaged :
       {stored.substr(0, stored.size() * 2 / 3), stored.substr(0, stored.size() - 3), [&] {
          std::string s = stored;
          s[s.size() / 2] = static_cast<char>(s[s.size() / 2] ^ 0x40);
          return s;
        }()}) {
    auto restored = restore_view<View>(damaged, /*encoded=*/true);
    ASSERT_FALSE(restored.ok()) << View::kName << ": restored from damaged data";
    EXPECT_EQ(restored.error().code, ErrorCode::storage_corrupt);
    EXPECT_EQ(restored.error().message.rfind(std::string(View::kName) + " snapshot: ", 0), 0u)
        << restored.error().message;
  }
}

TEST(ViewRestoreTest, StoredDataRestoresEveryViewAsItsBytesDo) {
  for (uint64_t seed : {2u, 23u}) {
    expect_same_view_from_stored_data<projections::PartitionStatusView>(seed);
    expect_same_view_from_stored_data<projections::BuildSummaryView>(seed);
    expect_same_view_from_stored_data<projections::JobRunsView>(seed);
    expect_same_view_from_stored_data<projections::ActivityView>(seed);
  }
}

// A view that restores from bytes only (an embedder's, or a test's) gets them inflated whole.
struct BytesOnlyView {
  static constexpr const char* kName = "bytes_only";
  std::string bytes;
  static Result<BytesOnlyView> restore(const std::string& bytes) { return BytesOnlyView{bytes}; }
};

TEST(ViewRestoreTest, AViewWithoutAStreamRestoreGetsTheBytesInflated) {
  std::string plain;
  for (int i = 0; i < 2000; ++i) plain += "partition/" + std::to_string(i % 50) + ";";
  int64_t plain_size = 0;
  auto restored = restore_view<BytesOnlyView>(encoded(plain), /*encoded=*/true, &plain_size);
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->bytes, plain);
  EXPECT_EQ(plain_size, static_cast<int64_t>(plain.size()));
  EXPECT_FALSE(restore_view<BytesOnlyView>(encoded(plain).substr(0, 30), true).ok());
}

}  // namespace
}  // namespace bel::actors
