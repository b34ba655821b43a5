// WriterLock: one writing process per SQLite log file, whatever path names it (SPEC section 9, R7).
// SqliteStorage takes it on every writable open, so every writer passes through it: the
// coordinator (`bel serve`, `bel run`), a console that writes in-process, start_coordinator and
// open_storage called by a program of its own.
//
//   auto lock = WriterLock::acquire_file("sqlite://bel.db", "bel.db", std::chrono::seconds(0));
//   if (!lock.ok()) return lock.error();   // storage_unavailable: who holds it, what to do
//
// Identity: the lock is an flock(2) on the database file itself, so it is keyed by the file
// (device and inode): a symlink, a hard link or another relative path to the same file meets the
// same lock. flock locks are independent of the fcntl byte-range locks SQLite takes (Linux, local
// file systems; on NFS the kernel emulates flock with fcntl locks, which would conflict with
// SQLite's: keep logs on local disks). Within one process a registry keyed by the same identity
// refuses a second writer too (flock alone would not: it conflicts between open files, and a
// process may hold the file open more than once).
//
// Closing any descriptor of a file drops every fcntl lock the process holds on it, SQLite's
// included: so the descriptor is never closed while the process runs. Releasing the lock unlocks
// it and keeps the descriptor for the next writer of that file (one descriptor per distinct log
// the process has written).
//
// The holder is described in "<resolved path>.lock" ("pid 1234 (bel serve) since <UTC time>,
// console endpoint 127.0.0.1:4390"), which a refused process reads for its message; through a
// hard link (another resolved path) the message names the holder's pid from /proc/locks.
//
// Creating: when the database file does not exist it is created here, mode 0600 whatever the
// umask, before SQLite opens it (SQLite gives the WAL and shared-memory files the database file's
// mode). The record file is 0600 too.
//
// Thread-safety: acquire, add_note, remove_note and the destructor may be called from any
// thread.
#ifndef BEL_STORAGE_WRITER_LOCK_H_
#define BEL_STORAGE_WRITER_LOCK_H_

#include <chrono>
#include <memory>
#include <string>

#include "messages/error.h"

namespace bel::storage {

class WriterLock {
 public:
  // Takes the lock on the database file `path` (created 0600 when missing) for `uri`, which
  // messages name. While another process or another writer of this process holds it, retries
  // until `wait` has passed, then fails with storage_unavailable naming the holder.
  static Result<std::unique_ptr<WriterLock>> acquire_file(const std::string& uri,
                                                          const std::string& path,
                                                          std::chrono::milliseconds wait);
  // The same for a log URI, one attempt; nothing to lock (a lock that holds nothing) for
  // memory:// and stdout. When it fails, `*busy` (if given) says whether because another
  // process or writer holds the lock.
  static Result<std::unique_ptr<WriterLock>> acquire(const std::string& log_uri,
                                                     bool* busy = nullptr);

  // OK unless the database file `path` is being written (by this process or another) under a
  // name that resolves elsewhere, a hard link: SQLite names the write-ahead file after the path
  // it opens, so a reader through this name would read the log without the writer's latest
  // commits. storage_unavailable naming the writer (and its name, when it can be told) then.
  // Called by every read-only open of an SQLite log before SQLite opens the file.
  static Status check_reader_path(const std::string& uri, const std::string& path);

  // Adds `note` to the holder record of the lock this process holds on the log at `log_uri`
  // ("console endpoint 127.0.0.1:41234"). Best effort: the record only improves another
  // process's message; nothing happens when this process holds no lock on that log.
  static void add_note(const std::string& log_uri, const std::string& note);
  // Takes a note add_note added back out of the record (a console endpoint that stopped while
  // its coordinator runs on); nothing happens when the record does not hold it.
  static void remove_note(const std::string& log_uri, const std::string& note);

  // The file behind the lock is a log this process opened: its record stays beside it after the
  // lock is released. Until this is called, a record file the lock created is removed with the
  // lock, so a failed open (a file that is not a bel log) leaves nothing beside that file.
  void keep_record();

  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  struct Identity {
    unsigned long long device = 0;
    unsigned long long inode = 0;
    bool operator<(const Identity& o) const {
      return device != o.device ? device < o.device : inode < o.inode;
    }
  };
  explicit WriterLock(bool holds, Identity id) : holds_(holds), id_(id) {}
  // One attempt; *busy is set when the lock is held (by another process or writer).
  static Result<std::unique_ptr<WriterLock>> try_acquire(const std::string& uri,
                                                         const std::string& path, bool* busy);
  bool holds_ = false;
  Identity id_;
  std::string created_record_;  // the record file this lock created, until keep_record()
};

// The file `path` resolves to (symlinks followed, as SQLite and the lock name it), or `path`
// itself when it cannot be resolved (it does not exist yet).
std::string resolved_path(const std::string& path);

}  // namespace bel::storage

#endif  // BEL_STORAGE_WRITER_LOCK_H_
