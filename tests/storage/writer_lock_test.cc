// One writer per SQLite log file whatever path names it (SPEC section 9, R7), enforced by the
// storage's writable open; and the files a writer creates are private (R6). Other processes are
// this test binary run again in a helper mode (WriterLockChild below), so they start with a
// registry of their own and meet only the file lock.
#include "storage/writer_lock.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/storage_factory.h"
#include "tests/storage/storage_test_events.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers
using bel::testing::run_command;
using bel::testing::shell_quote;

constexpr const char* kChildUriVariable = "BEL_WRITER_LOCK_CHILD_URI";
constexpr const char* kChildModeVariable = "BEL_WRITER_LOCK_CHILD_MODE";

using bel::testing::contains;

std::string own_binary() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

// Runs this binary as another process that opens `uri` ("write": writable, prints "locked" on
// success or the error; "read": read-only, prints the last idx; "crash": writable, appends three
// events, prints "appended" and exits at once, as a killed writer would: no close, no checkpoint).
bel::testing::CommandResult run_child(const std::string& uri, const std::string& mode) {
  return run_command(std::string(kChildUriVariable) + "=" + shell_quote(uri) + " " +
                     kChildModeVariable + "=" + mode + " " + shell_quote(own_binary()) +
                     " --gtest_filter=WriterLockChild.OpensTheLogNamedByTheEnvironment");
}

// The helper mode: does nothing in a normal run.
TEST(WriterLockChild, OpensTheLogNamedByTheEnvironment) {
  const char* uri = std::getenv(kChildUriVariable);
  const char* mode = std::getenv(kChildModeVariable);
  if (uri == nullptr || mode == nullptr) GTEST_SKIP() << "helper for the cross-process tests";
  StorageOptions options;
  options.read_only = std::string(mode) == "read";
  auto log = open_storage(uri, options);
  if (!log.ok()) {
    std::printf("refused: %s\n", log.error().to_string().c_str());
    return;
  }
  if (options.read_only) {
    std::printf("last_idx %lld\n", static_cast<long long>(*(*log)->last_idx()));
  } else if (std::string(mode) == "crash") {
    std::vector<BuildEvent> events;
    for (const char* ref : {"k1", "k2", "k3"}) {
      events.push_back(partition_event("killed", ref));
      events.back().set_event_id(std::string("killed-") + ref);  // not this binary's counter's
    }
    auto idx = (*log)->append_batch(events);
    std::printf("%s\n", idx.ok() ? "appended" : idx.error().to_string().c_str());
    std::fflush(stdout);
    std::_Exit(0);
  } else {
    std::printf("locked\n");
  }
}

class WriterLockTest : public ::testing::Test {
 protected:
  WriterLockTest() : dir_(tmp_.path()), path_(dir_ + "/c.db"), uri_("sqlite://" + path_) {}

  std::unique_ptr<Storage> open_writer(const std::string& uri) {
    auto log = open_storage(uri, {});
    EXPECT_TRUE(log.ok()) << log.error().to_string();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // The error of opening `uri` for writing beside the writer this test holds.
  Error refused(const std::string& uri) {
    auto log = open_storage(uri, {});
    EXPECT_FALSE(log.ok()) << uri << " was opened for writing beside another writer";
    return log.ok() ? Error{} : log.error();
  }

  bel::testing::TempDir tmp_;
  std::string dir_;
  std::string path_;
  std::string uri_;
};

TEST_F(WriterLockTest, SecondWriterThroughASymlinkIsRefusedNamingTheHolder) {
  auto first = open_writer(uri_);
  ASSERT_TRUE(first);
  std::filesystem::create_symlink(path_, dir_ + "/link.db");
  Error e = refused("sqlite://" + dir_ + "/link.db");
  EXPECT_EQ(e.code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(contains(e.message, "already writes this log file")) << e.message;
  EXPECT_TRUE(contains(e.message, "opened as " + uri_)) << e.message;
  EXPECT_TRUE(contains(e.message, "pid " + std::to_string(::getpid()))) << e.message;
}

TEST_F(WriterLockTest, SecondWriterThroughAHardLinkOrRelativePathIsRefused) {
  auto first = open_writer(uri_);
  ASSERT_TRUE(first);
  std::filesystem::create_directory(dir_ + "/other");
  std::filesystem::create_hard_link(path_, dir_ + "/other/hard.db");
  EXPECT_EQ(refused("sqlite://" + dir_ + "/other/hard.db").code,
            ErrorCode::storage_unavailable);

  const auto before = std::filesystem::current_path();
  std::filesystem::current_path(dir_ + "/other");
  Error relative = refused("sqlite://../c.db");
  std::filesystem::current_path(before);
  EXPECT_TRUE(contains(relative.message, "already writes this log file")) << relative.message;

  // Released with its storage, the lock can be taken through any of the names.
  first.reset();
  EXPECT_TRUE(open_writer("sqlite://" + dir_ + "/other/hard.db"));
}

// A console endpoint that stops while its coordinator runs on takes its note back: a refused
// writer's message then names no port that is closed.
TEST_F(WriterLockTest, ANoteTakenBackLeavesTheRecordAsItWas) {
  auto first = open_writer(uri_);
  ASSERT_TRUE(first);
  auto record = [&] {
    std::string text;
    std::getline(std::ifstream(path_ + ".lock"), text);
    return text;
  };
  const std::string before = record();
  ASSERT_TRUE(contains(before, "pid " + std::to_string(::getpid()))) << before;
  WriterLock::add_note(uri_, "console endpoint 127.0.0.1:1");
  EXPECT_EQ(record(), before + ", console endpoint 127.0.0.1:1");
  WriterLock::remove_note(uri_, "console endpoint 127.0.0.1:2");  // not there: unchanged
  EXPECT_EQ(record(), before + ", console endpoint 127.0.0.1:1");
  WriterLock::remove_note(uri_, "console endpoint 127.0.0.1:1");
  EXPECT_EQ(record(), before);
}

TEST_F(WriterLockTest, AnotherProcessIsRefusedThroughEveryNameAndReadsBeside) {
  auto first = open_writer(uri_);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->append_batch({partition_event("br", "a"), partition_event("br", "b")}).ok());
  WriterLock::add_note(uri_, "console endpoint 127.0.0.1:1");
  std::filesystem::create_symlink(path_, dir_ + "/link.db");
  std::filesystem::create_directory(dir_ + "/other");
  std::filesystem::create_hard_link(path_, dir_ + "/other/hard.db");
  const std::string pid = "pid " + std::to_string(::getpid());

  auto through_link = run_child("sqlite://" + dir_ + "/link.db", "write");
  EXPECT_TRUE(contains(through_link.out, "refused: storage_unavailable")) << through_link.out
                                                                          << through_link.err;
  EXPECT_TRUE(contains(through_link.out, "another process is writing this log: " + pid))
      << through_link.out;
  EXPECT_TRUE(contains(through_link.out, "console endpoint 127.0.0.1:1")) << through_link.out;

  // A record another holder left (a killed writer's, or one of another user's that this holder
  // could not rewrite) is passed over for the holder /proc/locks names.
  const std::string record = path_ + ".lock";
  std::string kept;
  std::getline(std::ifstream(record), kept);
  std::ofstream(record) << "pid 1 (an old writer) since 2020-01-01T00:00:00Z\n";
  auto old_record = run_child(uri_, "write");
  EXPECT_TRUE(contains(old_record.out, "another process is writing this log: " + pid + " ("))
      << old_record.out << old_record.err;
  EXPECT_FALSE(contains(old_record.out, "an old writer")) << old_record.out;
  std::ofstream(record) << kept << "\n";

  // Through a hard link the record beside the other name is not there: /proc/locks names the pid.
  auto through_hard_link = run_child("sqlite://" + dir_ + "/other/hard.db", "write");
  EXPECT_TRUE(contains(through_hard_link.out, "another process is writing this log: " + pid))
      << through_hard_link.out << through_hard_link.err;

  // The file lock leaves SQLite's own locking alone: a reader in another process reads beside
  // the writer, and the writer still commits afterwards.
  auto reader = run_child(uri_, "read");
  EXPECT_TRUE(contains(reader.out, "last_idx 2")) << reader.out << reader.err;
  auto reader_through_link = run_child("sqlite://" + dir_ + "/link.db", "read");
  EXPECT_TRUE(contains(reader_through_link.out, "last_idx 2"))
      << reader_through_link.out << reader_through_link.err;
  // Through a hard link a reader would look for the write-ahead file beside the other name and
  // read the log without the writer's latest commits: refused, naming the writer and its name.
  auto reader_through_hard_link = run_child("sqlite://" + dir_ + "/other/hard.db", "read");
  EXPECT_TRUE(contains(reader_through_hard_link.out, "refused: storage_unavailable"))
      << reader_through_hard_link.out << reader_through_hard_link.err;
  EXPECT_TRUE(contains(reader_through_hard_link.out, "being written by " + pid))
      << reader_through_hard_link.out;
  EXPECT_TRUE(contains(reader_through_hard_link.out, "under another name (" + path_ + ")"))
      << reader_through_hard_link.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other/hard.db-wal"));
  ASSERT_TRUE(first->append_batch({partition_event("br", "c")}).ok());

  first.reset();
  // With no writer, the file holds every commit (the last one folds the write-ahead file back).
  auto reader_after = run_child("sqlite://" + dir_ + "/other/hard.db", "read");
  EXPECT_TRUE(contains(reader_after.out, "last_idx 3")) << reader_after.out << reader_after.err;
  auto after = run_child("sqlite://" + dir_ + "/other/hard.db", "write");
  EXPECT_TRUE(contains(after.out, "locked")) << after.out << after.err;
}

// A writer killed while it wrote the file by another name (a hard link) left its last commits in
// the WAL beside that name. The next open by this name, a writer's or a reader's, folds them into
// the file before it reads: else a writer would hand their idx out again (and that WAL, replayed
// later by the other name, would damage the file), and a reader would not see them.
class KilledWriterTest : public WriterLockTest {
 protected:
  // Appends one event by this test's name, then three by `hard_` in a process killed after them.
  void SetUp() override {
    {
      auto first = open_writer(uri_);
      ASSERT_TRUE(first);
      ASSERT_TRUE(first->append_batch({partition_event("br", "a")}).ok());
    }
    std::filesystem::create_hard_link(path_, hard_);
    auto killed = run_child("sqlite://" + hard_, "crash");
    ASSERT_TRUE(contains(killed.out, "appended")) << killed.out << killed.err;
    ASSERT_TRUE(std::filesystem::exists(hard_ + "-wal"));
    ASSERT_GT(std::filesystem::file_size(hard_ + "-wal"), 0u);
  }

  // The log by the other name, after every handle closed: one log, its file intact.
  void expect_one_intact_log(int64_t last_idx) {
    StorageOptions read_only;
    read_only.read_only = true;
    auto again = open_storage("sqlite://" + hard_, read_only);
    ASSERT_TRUE(again.ok()) << again.error().to_string();
    EXPECT_EQ(*(*again)->last_idx(), last_idx);
    auto page = (*again)->list_events(0, {}, 10);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    ASSERT_EQ(page->events_size(), last_idx);
    EXPECT_EQ(page->events(1).partition_event().partition_ref().str(), "k1");
    again->reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(hard_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::string integrity;
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) += values[0] != nullptr ? values[0] : "";
          return 0;
        },
        &integrity, nullptr);
    sqlite3_close(db);
    EXPECT_EQ(integrity, "ok");
  }

  std::string hard_ = dir_ + "/hard.db";
};

TEST_F(KilledWriterTest, TheNextWriterByAnotherNameFoldsItsCommitsIn) {
  {
    auto writer = open_writer(uri_);
    ASSERT_TRUE(writer);
    EXPECT_EQ(*writer->last_idx(), 4);
    EXPECT_FALSE(std::filesystem::exists(hard_ + "-wal"));
    auto next = writer->append_batch({partition_event("br", "after")});
    ASSERT_TRUE(next.ok()) << next.error().to_string();
    EXPECT_EQ(next->front(), 5);
  }
  expect_one_intact_log(5);
}

TEST_F(KilledWriterTest, AReaderByAnotherNameFoldsItsCommitsInAndSeesThem) {
  StorageOptions read_only;
  read_only.read_only = true;
  {
    auto reader = open_storage(uri_, read_only);
    ASSERT_TRUE(reader.ok()) << reader.error().to_string();
    EXPECT_EQ(*(*reader)->last_idx(), 4);
    EXPECT_FALSE(std::filesystem::exists(hard_ + "-wal"));
  }
  {
    auto writer = open_writer(uri_);
    ASSERT_TRUE(writer);
    auto next = writer->append_batch({partition_event("br", "after")});
    ASSERT_TRUE(next.ok()) << next.error().to_string();
    EXPECT_EQ(next->front(), 5);
  }
  expect_one_intact_log(5);
}

// SQLite shares a file's shared-memory index between a process's connections whatever name each
// opened: a process that has the log open already must not fold another name's WAL (it would read
// that WAL against its own index and could drop its commits). It is refused, naming the other
// name; a fresh process folds.
TEST_F(WriterLockTest, AProcessWithTheLogOpenLeavesAnotherNamesWalToAFreshProcess) {
  {
    auto first = open_writer(uri_);
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->append_batch({partition_event("br", "a")}).ok());
  }
  StorageOptions read_only;
  read_only.read_only = true;
  auto held = open_storage(uri_, read_only);
  ASSERT_TRUE(held.ok()) << held.error().to_string();
  const std::string hard = dir_ + "/hard.db";
  std::filesystem::create_hard_link(path_, hard);
  auto killed = run_child("sqlite://" + hard, "crash");
  ASSERT_TRUE(contains(killed.out, "appended")) << killed.out << killed.err;

  auto again = open_storage(uri_, read_only);
  ASSERT_FALSE(again.ok()) << "folded in a process that had the log open";
  EXPECT_EQ(again.error().code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(contains(again.error().message, "another name, " + hard)) << again.error().message;
  EXPECT_TRUE(contains(again.error().message, "this process has the log open already"))
      << again.error().message;
  ASSERT_GT(std::filesystem::file_size(hard + "-wal"), 0u);

  held->reset();
  auto fresh = run_child(uri_, "read");
  EXPECT_TRUE(contains(fresh.out, "last_idx 4")) << fresh.out << fresh.err;
}

// SQLite writes the log's pages into the WAL and shared-memory files beside it, and would open
// one another user planted there (a shared directory) and write every event into it: an open,
// a writer's or a reader's, refuses a side file that is a symlink or belongs to another user
// than the log, naming it; the log's own side files pass. The lock's record is not written into
// another user's file either.
TEST_F(WriterLockTest, ASideFileOfAnotherUserOrASymlinkIsRefusedNamingIt) {
  const std::string elsewhere = dir_ + "/elsewhere";
  std::ofstream(elsewhere).flush();
  std::filesystem::create_symlink(elsewhere, path_ + "-wal");
  auto refused = open_storage(uri_, {});
  ASSERT_FALSE(refused.ok()) << "opened a log whose WAL is a symlink";
  EXPECT_EQ(refused.error().code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(contains(refused.error().message, path_ + "-wal is a symlink"))
      << refused.error().message;
  EXPECT_EQ(std::filesystem::file_size(elsewhere), 0u);
  std::filesystem::remove(path_ + "-wal");

  if (::geteuid() == 0) {  // only root can make a file of another user
    const uid_t nobody = 65534;
    for (const char* suffix : {"-shm", ".lock"}) {
      std::ofstream(path_ + suffix).flush();
      ASSERT_EQ(::chown((path_ + suffix).c_str(), nobody, nobody), 0) << suffix;
    }
    refused = open_storage(uri_, {});
    ASSERT_FALSE(refused.ok()) << "opened a log whose shared-memory file is another user's";
    EXPECT_TRUE(contains(refused.error().message, path_ + "-shm belongs to uid 65534"))
        << refused.error().message;
    std::filesystem::remove(path_ + "-shm");
  }
  {
    auto writer = open_writer(uri_);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->append_batch({partition_event("br", "a")}).ok());
    StorageOptions read_only;
    read_only.read_only = true;
    auto reader = open_storage(uri_, read_only);  // beside the writer's own side files
    ASSERT_TRUE(reader.ok()) << reader.error().to_string();
    EXPECT_EQ(*(*reader)->last_idx(), 1);
  }
  if (::geteuid() == 0) {
    EXPECT_EQ(std::filesystem::file_size(path_ + ".lock"), 0u) << "wrote into another's file";
    // A group-shared log: a writer of the log's group leaves side files of its own, which pass
    // while the group may read the log, and are refused once it may not.
    struct stat log {};
    ASSERT_EQ(::stat(path_.c_str(), &log), 0);
    std::ofstream(path_ + "-wal").flush();
    ASSERT_EQ(::chown((path_ + "-wal").c_str(), 65534, log.st_gid), 0);
    ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
    StorageOptions read_only;
    read_only.read_only = true;
    {
      auto shared = open_storage(uri_, read_only);
      EXPECT_TRUE(shared.ok()) << shared.error().to_string();
    }
    ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
    std::ofstream(path_ + "-wal").flush();  // again: the last connection's close removes it
    ASSERT_EQ(::chown((path_ + "-wal").c_str(), 65534, log.st_gid), 0);
    auto private_log = open_storage(uri_, read_only);
    ASSERT_FALSE(private_log.ok());
    EXPECT_TRUE(contains(private_log.error().message, path_ + "-wal belongs to uid 65534"))
        << private_log.error().message;
    EXPECT_TRUE(contains(private_log.error().message, "Remove it if no process has the log open"))
        << private_log.error().message;
  }
}

TEST_F(WriterLockTest, ReadOnlyHandlesTakeNoLock) {
  auto first = open_writer(uri_);
  ASSERT_TRUE(first);
  StorageOptions read_only;
  read_only.read_only = true;
  auto reader = open_storage(uri_, read_only);
  EXPECT_TRUE(reader.ok()) << reader.error().to_string();
  // In this process too: beside its writer a reader may name the log by a symlink, not by a
  // hard link.
  std::filesystem::create_symlink(path_, dir_ + "/link.db");
  std::filesystem::create_hard_link(path_, dir_ + "/hard.db");
  auto through_link = open_storage("sqlite://" + dir_ + "/link.db", read_only);
  EXPECT_TRUE(through_link.ok()) << through_link.error().to_string();
  auto through_hard_link = open_storage("sqlite://" + dir_ + "/hard.db", read_only);
  ASSERT_FALSE(through_hard_link.ok());
  EXPECT_EQ(through_hard_link.error().code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(contains(through_hard_link.error().message, "(" + uri_ + ")"))
      << through_hard_link.error().message;
}

TEST_F(WriterLockTest, FilesTheWriterCreatesArePrivateWhateverTheUmask) {
  const mode_t before = ::umask(0);
  {
    auto log = open_writer(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch({partition_event("br", "a")}).ok());
    for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm", path_ + ".lock"}) {
      struct stat st {};
      ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
    }
  }
  ::umask(before);
}

TEST_F(WriterLockTest, AnEmptyFileLeftByAnInterruptedCreationIsInitialised) {
  { std::ofstream touch(path_); }
  ASSERT_EQ(std::filesystem::file_size(path_), 0u);
  auto log = open_writer(uri_);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log->last_idx(), 0);
  EXPECT_TRUE(log->append_batch({partition_event("br", "a")}).ok());
}

TEST_F(WriterLockTest, AFileThatIsNotALogIsLeftAsItWasWithNoRecordBesideIt) {
  const std::string notes = dir_ + "/passwd";
  { std::ofstream(notes) << "root:x:0:0:root:/root:/bin/bash\n"; }
  auto log = open_storage("sqlite://" + notes, {});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::storage_corrupt) << log.error().to_string();
  // Another tool's lock may have that name ("passwd.lock"): a failed open makes none.
  EXPECT_FALSE(std::filesystem::exists(notes + ".lock"));
  // A record that was there before is another's and stays; a log's own stays after it closes.
  { std::ofstream(notes + ".lock") << "someone else's\n"; }
  ASSERT_FALSE(open_storage("sqlite://" + notes, {}).ok());
  EXPECT_TRUE(std::filesystem::exists(notes + ".lock"));
  { auto writer = open_writer(uri_); }
  EXPECT_TRUE(std::filesystem::exists(path_ + ".lock"));
}

}  // namespace
}  // namespace bel::storage
