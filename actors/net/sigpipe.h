// SIGPIPE kept away from bel's sockets without touching the process's disposition of it
// (docs/embedding.md, "Signals are the embedder's too"). cpp-httplib's client writes to its socket
// without MSG_NOSIGNAL, so a write to a peer that has gone raises SIGPIPE in the writing thread,
// which by default ends the process. While a SigpipeBlocked lives, SIGPIPE is blocked in the
// calling thread (and in every thread started from it meanwhile, which inherit the mask): such a
// write fails with EPIPE instead. On destruction a SIGPIPE that became pending in the calling
// thread meanwhile is taken, unless one was pending before, then the thread's mask is restored
// (libpq does the same around its writes).
//
//   { SigpipeBlocked blocked; client.Post(...); }   // EPIPE, not the end of the process
#ifndef BEL_ACTORS_NET_SIGPIPE_H_
#define BEL_ACTORS_NET_SIGPIPE_H_

#include <signal.h>

namespace bel::actors {

class SigpipeBlocked {
 public:
  SigpipeBlocked();
  ~SigpipeBlocked();
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t before_;
  bool was_pending_ = false;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_SIGPIPE_H_
