#include "storage/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <utility>

#include "storage/thread_name.h"

namespace bel::storage {

std::unique_ptr<WalCheckpointer> WalCheckpointer::attach(sqlite3* db, const std::string& path,
                                                         const std::string& vfs) {
  sqlite3* own = nullptr;
  // No SQLite mutex: the connection is used on the checkpointer's thread only.
  const int rc = sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 vfs.empty() ? nullptr : vfs.c_str());
  // A connection checkpoints only once its pager has opened the WAL, which reading does; until
  // then sqlite3_wal_checkpoint_v2 does nothing and reports no WAL.
  if (rc != SQLITE_OK || sqlite3_exec(own, "SELECT count(*) FROM sqlite_master", nullptr, nullptr,
                                      nullptr) != SQLITE_OK) {
    sqlite3_close(own);
    return nullptr;
  }
  // A checkpoint waits for no one: a busy lock means someone else is checkpointing.
  sqlite3_busy_timeout(own, 0);
  std::unique_ptr<WalCheckpointer> out(new WalCheckpointer(db, own));
  sqlite3_wal_autocheckpoint(db, 0);
  sqlite3_wal_hook(db, &WalCheckpointer::on_commit, out.get());
  out->thread_ = std::thread([p = out.get()] { p->run(); });
  name_thread(out->thread_, "bel.checkpoint");
  return out;
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own) : writer_(writer), own_(own) {}

WalCheckpointer::~WalCheckpointer() {
  // Also replaces the hook: SQLite's autocheckpoint is a WAL hook of its own.
  sqlite3_wal_autocheckpoint(writer_, kWalPages);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close(own_);
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto* me = static_cast<WalCheckpointer*>(self);
  if (pages >= kInlinePages) {
    // The thread fell behind (or readers kept the WAL from restarting): what SQLite would have
    // done, so the WAL is bounded. BUSY only means the thread is checkpointing right now.
    const int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_OK) me->inline_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  bool finish = false;
  {
    std::lock_guard<std::mutex> lock(me->mutex_);
    if (pages < me->seen_) me->copied_ = me->seen_ = 0;  // the WAL started over since that run
    if (pages < kWalPages) {
      if (me->follow_up_) {  // nothing left worth a checkpoint
        me->follow_up_ = false;
        me->wake_.notify_one();
      }
      return SQLITE_OK;
    }
    if (me->running_) {
      me->follow_up_ = true;
      return SQLITE_OK;
    }
    if (me->copied_ > 0 && me->copied_ == me->seen_ && pages - me->copied_ <= kFinishPages) {
      // The thread copied the whole WAL it saw (no reader held it back); the frames since are
      // few. Once per run: if a reader still kept the WAL from starting over, the next commit
      // asks the thread again, so the writer takes a checkpoint on at most every other commit
      // (SQLite's own autocheckpoint takes one on every commit then).
      finish = true;
      me->requested_ = me->follow_up_ = false;
      me->copied_ = me->seen_ = 0;
      me->wake_.notify_one();
    } else if (!me->requested_) {
      me->requested_ = true;
      me->wake_.notify_one();
    }
  }
  if (finish) {
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      me->finishes_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // BUSY (another connection is checkpointing) or an error: leave the frames to the thread,
      // which copies them once the writer has been quiet for kQuietDelay.
      std::lock_guard<std::mutex> lock(me->mutex_);
      me->follow_up_ = true;
      me->wake_.notify_one();
    }
    me->done_.notify_all();
  }
  return SQLITE_OK;  // the commit succeeded whatever the checkpoint does
}

void WalCheckpointer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || follow_up_ || stop_; });
    if (stop_) return;
    if (!requested_) {
      // Only commits made during the last run are left: the writer's next commit copies them
      // (and clears follow_up_); a writer quiet for kQuietDelay leaves them to this thread.
      wake_.wait_for(lock, kQuietDelay, [this] { return requested_ || !follow_up_ || stop_; });
      if (stop_) return;
      if (!requested_ && !follow_up_) {
        done_.notify_all();
        continue;
      }
    }
    requested_ = follow_up_ = false;
    running_ = true;
    lock.unlock();
    int frames = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    lock.lock();
    running_ = false;
    if (rc == SQLITE_OK && frames >= 0) {
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      copied_ = copied;
      seen_ = frames;
    } else if (rc != SQLITE_BUSY) {  // also a connection that sees no WAL (frames -1)
      failures_.fetch_add(1, std::memory_order_relaxed);
    }
    done_.notify_all();
  }
}

bool WalCheckpointer::wait_until_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_for(lock, limit, [this] { return !requested_ && !follow_up_ && !running_; });
}

}  // namespace bel::storage
