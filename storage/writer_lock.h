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
  static Result<std::unique_ptr<WriterLock>> acquire(const std::string& log_uri);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_WRITER_LOCK_H_
