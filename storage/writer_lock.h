// WriterLock: one writing process per SQLite log. The coordinator (`bel serve`, `bel run`) and a
// console that opens the log in-process each hold an exclusive lock on "<path>.lock" while they
// write, so two processes never keep diverging transition state over one file.
//
//   auto lock = WriterLock::acquire("sqlite://bel.db");
//   if (!lock.ok()) return lock.error();   // storage_unavailable: who holds it, what to do
//
// Nothing to lock for in-process logs (memory://, stdout). The lock is released when the object
// is destroyed or the process ends (even by kill -9: it is an flock on an open file).
#ifndef BEL_STORAGE_WRITER_LOCK_H_
#define BEL_STORAGE_WRITER_LOCK_H_

#include <memory>
#include <string>

#include "messages/error.h"

namespace bel::storage {

class WriterLock {
 public:
  // Takes the lock, recording who holds it ("pid 1234 (bel serve) since <UTC time>") in the lock
  // file; a process refused the lock gets storage_unavailable naming that holder.
  static Result<std::unique_ptr<WriterLock>> acquire(const std::string& log_uri);
  ~WriterLock();

  // Adds `note` to the holder record ("console endpoint 127.0.0.1:41234"). Best effort: the
  // record only improves another process's message.
  void add_note(const std::string& note);

  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  WriterLock(int fd, std::string record) : fd_(fd), record_(std::move(record)) {}
  void write_record() const;
  int fd_ = -1;
  std::string record_;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_WRITER_LOCK_H_
