// SigpipeBlocked (actors/net/sigpipe.h): a SIGPIPE raised in the thread while it lives ends
// nothing, is taken before the thread's mask is restored, and the mask is restored.
#include "actors/net/sigpipe.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <memory>

namespace bel::actors {
namespace {

bool sigpipe_blocked_here() {
  sigset_t mask;
  sigemptyset(&mask);
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

TEST(SigpipeBlockedTest, ASigpipeRaisedMeanwhileEndsNothingAndIsTakenBeforeTheMaskComesBack) {
  // At its default for the test (a SIGPIPE delivered would end it), as it was after.
  struct sigaction at_default {};
  struct sigaction before {};
  at_default.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &at_default, &before), 0);
  const std::unique_ptr<struct sigaction, void (*)(struct sigaction*)> restore(
      &before, [](struct sigaction* was) { ::sigaction(SIGPIPE, was, nullptr); });
  ASSERT_FALSE(sigpipe_blocked_here());
  for (int i = 0; i < 2; ++i) {
    {
      SigpipeBlocked blocked;
      EXPECT_TRUE(sigpipe_blocked_here());
      ::pthread_kill(::pthread_self(), SIGPIPE);  // what a write to a closed socket does
      EXPECT_TRUE(sigpipe_pending());
    }
    EXPECT_FALSE(sigpipe_pending());
    EXPECT_FALSE(sigpipe_blocked_here());
  }
  struct sigaction now {};
  ::sigaction(SIGPIPE, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace bel::actors
