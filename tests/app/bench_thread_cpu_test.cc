// The CPU `bel bench` reads for the threads of one name (bench/machine.h), which P1's detail
// reports for the storage actor's thread.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "bench/machine.h"
#include "storage/thread_name.h"

namespace bel::bench {
namespace {

TEST(NamedThreadsCpuTest, CountsTheCpuOfTheNamedThreadAndNoOther) {
  constexpr double kSpun = 0.05;  // seconds of the named thread's own CPU clock
  std::mutex mutex;
  std::condition_variable changed;
  bool spun = false, release = false;
  std::thread spinner([&] {
    name_this_thread("bel.test-spin");
    while (thread_cpu_seconds() < kSpun) {
    }
    std::unique_lock<std::mutex> lock(mutex);
    spun = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return spun; });
  }
  const double named = named_threads_times("bel.test-spin").on_cpu;
  const double process = process_cpu_seconds();
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
  }
  changed.notify_all();
  spinner.join();
  // What the thread's own clock counted (the scheduler's account of it, read through /proc), and
  // no more than the whole process used.
  EXPECT_GE(named, kSpun * 0.99);
  EXPECT_LE(named, process);
  EXPECT_EQ(named_threads_times("bel.no-such").on_cpu, -1);
}

TEST(NamedThreadsCpuTest, CountsTheWaitForACoreOfThreadsSharingOne) {
  // Two threads of one name on one CPU, each spinning for 50 ms of its own CPU clock once both
  // run: while one is on that CPU the other waits on its run queue.
  constexpr double kSpun = 0.05;
  cpu_set_t one;
  CPU_ZERO(&one);
  ASSERT_EQ(sched_getaffinity(0, sizeof(one), &one), 0);
  int first = 0;
  while (first < CPU_SETSIZE && !CPU_ISSET(first, &one)) ++first;
  ASSERT_LT(first, CPU_SETSIZE);
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0, done = 0, pinned = 0;
  bool release = false;
  auto spin = [&] {
    name_this_thread("bel.test-share");
    const bool on_one = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
    std::unique_lock<std::mutex> lock(mutex);
    ++started;
    changed.notify_all();
    changed.wait(lock, [&] { return started == 2; });
    lock.unlock();
    const double from = thread_cpu_seconds();
    while (on_one && thread_cpu_seconds() - from < kSpun) {
    }
    lock.lock();
    ++done;
    pinned += on_one ? 1 : 0;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  };
  std::thread a(spin), b(spin);
  double waited = -1;
  {
    // Read while both still exist: a thread's /proc entry goes when it ends.
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return done == 2; });
    waited = named_threads_times("bel.test-share").runqueue;
    release = true;
  }
  changed.notify_all();
  a.join();
  b.join();
  ASSERT_EQ(pinned, 2) << "could not pin both threads to one CPU";
  EXPECT_GT(waited, 0);
  EXPECT_EQ(named_threads_times("bel.no-such").runqueue, -1);
}

}  // namespace
}  // namespace bel::bench
