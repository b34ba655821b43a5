// WalCheckpointer: the WAL is copied back into the database file on the checkpointer's thread,
// the WAL restarts afterwards, and nothing the writer committed is lost.
#include "storage/sqlite_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace bel::storage {
namespace {

constexpr std::chrono::seconds kPatience{60};  // only ends a hang; a checkpoint takes ms

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("bel-checkpointer-" + std::to_string(::getpid()) + ".db"))
                .string();
    std::filesystem::remove(path_);
    ASSERT_EQ(sqlite3_open(path_.c_str(), &writer_), SQLITE_OK);
    exec(writer_, "PRAGMA journal_mode = WAL");
    exec(writer_, "CREATE TABLE t(n INTEGER PRIMARY KEY, b BLOB NOT NULL)");
  }
  void TearDown() override {
    sqlite3_close(writer_);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  static void exec(sqlite3* db, const std::string& sql) {
    char* message = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << sql << ": " << (message != nullptr ? message : "");
  }
  // One transaction of `rows` rows of about a page each.
  void commit_rows(int rows) {
    exec(writer_,
         "BEGIN; WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < " +
             std::to_string(rows) + ") INSERT INTO t(b) SELECT randomblob(4000) FROM r; COMMIT");
    committed_ += rows;
  }
  // Frames in the WAL: mxFrame of the wal-index header, a native-endian u32 at byte 16 of the
  // -shm file (SQLite's file format documentation, "WAL-index Format"). Read from the file, so
  // that looking does not checkpoint.
  uint32_t wal_frames() {
    std::ifstream shm(path_ + "-shm", std::ios::binary);
    char header[20] = {};
    shm.read(header, sizeof header);
    EXPECT_TRUE(shm.good());
    uint32_t frames = 0;
    std::memcpy(&frames, header + 16, sizeof frames);
    return frames;
  }
  // A commit past kWalPages either asks the thread for a run or, after one, copies the few
  // frames left itself; once everything no reader holds was copied, the next commit writes the
  // WAL from its start.
  void restart_wal(WalCheckpointer& checkpointer) {
    for (int i = 0; i < 3; ++i) {
      commit_rows(10);
      ASSERT_TRUE(checkpointer.wait_until_idle(kPatience));
    }
  }
  int64_t rows_in_file() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  }

  std::string path_;
  sqlite3* writer_ = nullptr;
  int64_t committed_ = 0;
};

TEST_F(WalCheckpointerTest, CopiesTheWalOnItsOwnThreadAndTheWalStartsOver) {
  auto checkpointer = WalCheckpointer::attach(writer_, path_, "");
  ASSERT_NE(checkpointer, nullptr);
  // Below kWalPages nothing is asked for.
  commit_rows(WalCheckpointer::kWalPages / 4);
  EXPECT_EQ(checkpointer->checkpoints(), 0u);
  // Past it, the commit wakes the thread; the writer goes on at once.
  while (committed_ < WalCheckpointer::kWalPages + 50) commit_rows(50);
  ASSERT_TRUE(checkpointer->wait_until_idle(kPatience));
  EXPECT_GE(checkpointer->checkpoints(), 1u);
  restart_wal(*checkpointer);
  EXPECT_LT(wal_frames(), 100u);
  EXPECT_EQ(checkpointer->inline_checkpoints(), 0u);
  EXPECT_EQ(checkpointer->failures(), 0u);
  EXPECT_EQ(rows_in_file(), committed_);
}

TEST_F(WalCheckpointerTest, ThePagesAReaderStillNeedsWaitAndNothingIsLost) {
  auto checkpointer = WalCheckpointer::attach(writer_, path_, "");
  ASSERT_NE(checkpointer, nullptr);
  commit_rows(10);
  // A reader in a transaction keeps the WAL from being copied past its snapshot.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &reader), SQLITE_OK);
  exec(reader, "BEGIN; SELECT count(*) FROM t");
  while (committed_ < 2 * WalCheckpointer::kWalPages) commit_rows(100);
  ASSERT_TRUE(checkpointer->wait_until_idle(kPatience));
  EXPECT_GE(checkpointer->checkpoints(), 1u);
  // Still there: the reader's snapshot needs them.
  EXPECT_GT(wal_frames(), static_cast<uint32_t>(WalCheckpointer::kWalPages));
  exec(reader, "COMMIT");
  sqlite3_close(reader);
  // Once the reader is gone, a request copies the rest and the WAL starts over.
  restart_wal(*checkpointer);
  EXPECT_LT(wal_frames(), 100u);
  EXPECT_EQ(checkpointer->inline_checkpoints(), 0u);
  EXPECT_EQ(rows_in_file(), committed_);
}

// A writer that never pauses: each run of the thread ends a few commits behind the WAL, so the
// WAL would never be fully copied when the writer begins its next transaction (and never start
// over) if the thread were only asked again. The commit after a run copies the rest.
TEST_F(WalCheckpointerTest, TheWalStartsOverUnderAWriterThatNeverPauses) {
  auto checkpointer = WalCheckpointer::attach(writer_, path_, "");
  ASSERT_NE(checkpointer, nullptr);
  // Stops well before kInlinePages, where the writer would checkpoint itself anyway.
  constexpr auto kGiveUp = static_cast<uint32_t>(WalCheckpointer::kInlinePages / 2);
  uint32_t highest = 0;
  bool started_over = false;
  while (!started_over && highest < kGiveUp) {
    commit_rows(1);
    const uint32_t frames = wal_frames();
    started_over = highest >= static_cast<uint32_t>(WalCheckpointer::kWalPages) && frames < highest;
    highest = std::max(highest, frames);
  }
  // Whether the writer's commit or (had the writer been descheduled for kQuietDelay) the thread
  // copied the last frames depends on timing; that the WAL started over does not.
  EXPECT_TRUE(started_over) << "WAL at " << highest << " frames after " << committed_
                            << " commits; runs " << checkpointer->checkpoints() << ", finishes "
                            << checkpointer->finishing_checkpoints();
  EXPECT_GE(checkpointer->checkpoints(), 1u);
  EXPECT_EQ(checkpointer->inline_checkpoints(), 0u);
  ASSERT_TRUE(checkpointer->wait_until_idle(kPatience));
  EXPECT_EQ(rows_in_file(), committed_);
}

TEST_F(WalCheckpointerTest, DetachingGivesTheWriterSqlitesOwnCheckpointsBack) {
  WalCheckpointer::attach(writer_, path_, "").reset();
  while (committed_ < 2 * WalCheckpointer::kWalPages) commit_rows(100);
  // SQLite checkpointed inside a commit past its 1000 pages and the WAL started over.
  EXPECT_LT(wal_frames(), static_cast<uint32_t>(WalCheckpointer::kWalPages + 200));
  EXPECT_EQ(rows_in_file(), committed_);
}

}  // namespace
}  // namespace bel::storage
