// WalCheckpointer: copies a writer's WAL back into the database file on a thread of its own, so
// the thread that commits appends does not run the checkpoint (SQLite's default runs it inside
// the COMMIT that crosses wal_autocheckpoint pages, with its page writes and the database
// file's fsync; docs/performance.md measures what that cost P1).
//
//   auto checkpointer = WalCheckpointer::attach(db, path, options.sqlite_vfs);
//   // ... commits on `db`; a null checkpointer leaves SQLite's own autocheckpoint on.
//   checkpointer.reset();  // before closing `db`
//
// How: attach() turns off the writer's autocheckpoint and installs a WAL hook that SQLite calls
// after every commit with the WAL's size. From kWalPages on, the hook wakes the thread, which
// runs a PASSIVE checkpoint on its own connection: it copies what no reader still needs and
// never blocks the writer or the readers. The commits made while it ran are left: the next
// commit's hook copies them itself when they are few (kFinishPages) and the run copied all it
// saw (no reader held it back), once per run, so that the WAL is fully copied when the writer
// begins its next transaction, which is when SQLite starts the WAL over.
// (Asking the thread again instead never ends under a writer that commits continuously: each run
// finishes a commit or two behind, the WAL never starts over, and every commit costs a
// checkpoint's two fsyncs beside it.) When the writer stays quiet after a run, or its own copy
// fails (another connection was checkpointing), the thread copies those last frames itself
// after kQuietDelay. From kInlinePages on (the thread fell behind), the
// hook checkpoints on the writer's own connection, as SQLite would have, so the WAL is bounded
// whatever happens on the thread (as with SQLite's own checkpoints, a reader holding an old
// snapshot keeps the WAL from starting over). A failed background checkpoint loses nothing (the
// WAL keeps the pages until they are copied): it is counted in failures() and the next commit
// past kWalPages asks again.
//
// Thread-safety: attach, the destructor and the hook run on the writer's thread; checkpoints()
// and failures() may be read from any thread.
#ifndef BEL_STORAGE_SQLITE_CHECKPOINTER_H_
#define BEL_STORAGE_SQLITE_CHECKPOINTER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace bel::storage {

class WalCheckpointer {
 public:
  // WAL pages after which a commit asks the thread for a checkpoint (SQLite's default for
  // wal_autocheckpoint), and after which the writer checkpoints itself.
  static constexpr int kWalPages = 1000;
  static constexpr int kInlinePages = 16 * kWalPages;
  // At most this many frames past what the thread's last run copied, the commit's hook copies
  // them on the writer's connection (a few page writes and the database file's fsync, once per
  // kWalPages), so the WAL can start over.
  static constexpr int kFinishPages = kWalPages / 2;
  // How long the thread leaves the frames committed during its run to the writer's next commit.
  static constexpr std::chrono::milliseconds kQuietDelay{50};

  // Takes over checkpointing for the writer connection `db` (WAL mode) of the file at `path`,
  // opened through the SQLite VFS `vfs` ("" for the default). Returns null, leaving `db` as it
  // was, when the second connection cannot be opened. REQUIRES: `db` outlives the result.
  static std::unique_ptr<WalCheckpointer> attach(sqlite3* db, const std::string& path,
                                                 const std::string& vfs);
  // Removes the hook, gives `db` back SQLite's own autocheckpoint, stops and joins the thread
  // and closes its connection.
  ~WalCheckpointer();

  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run: on the thread; on the writer's connection to finish the thread's run; and
  // on the writer's connection past kInlinePages.
  uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  uint64_t finishing_checkpoints() const { return finishes_.load(std::memory_order_relaxed); }
  uint64_t inline_checkpoints() const { return inline_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

  // Blocks until no checkpoint is running or asked for, or `limit` passed; whether it was so
  // (tests). A commit's request starts a run after the commit (or, for a commit made during a
  // run, after kQuietDelay), so once idle, every frame of the commits before the call that no
  // reader holds has been copied.
  bool wait_until_idle(std::chrono::milliseconds limit);

 private:
  WalCheckpointer(sqlite3* writer, sqlite3* own);
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  void run();

  sqlite3* writer_;
  sqlite3* own_;  // used on thread_ only
  std::mutex mutex_;
  std::condition_variable wake_;  // the thread waits for a request or stop
  std::condition_variable done_;  // wait_until_idle waits for a finished run
  bool requested_ = false;        // a commit asked for a run that has not begun
  bool follow_up_ = false;        // a commit was made during a run (copied by the writer's next)
  bool running_ = false;          // a run is under way
  int copied_ = 0;  // frames of the current WAL the last run copied (0: none since it started)
  int seen_ = 0;    // frames the WAL had when that run ended
  bool stop_ = false;
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> finishes_{0};
  std::atomic<uint64_t> inline_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_CHECKPOINTER_H_
