#include "actors/net/sigpipe.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace bel::actors {
namespace {

sigset_t only_sigpipe() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  return pipe;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  return ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

}  // namespace

SigpipeBlocked::SigpipeBlocked() {
  const sigset_t pipe = only_sigpipe();
  ::pthread_sigmask(SIG_BLOCK, &pipe, &before_);
  was_pending_ = sigpipe_pending();
}

SigpipeBlocked::~SigpipeBlocked() {
  if (!was_pending_ && sigpipe_pending()) {
    const sigset_t pipe = only_sigpipe();
    const timespec now{0, 0};
    while (::sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &before_, nullptr);
}

}  // namespace bel::actors
