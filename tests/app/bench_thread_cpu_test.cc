// The CPU `bel bench` reads for the threads of one name (bench/machine.h), which P1's detail
// reports for the storage actor's thread.
#include <gtest/gtest.h>

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
  const double named = named_threads_cpu_seconds("bel.test-spin");
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
  EXPECT_EQ(named_threads_cpu_seconds("bel.no-such"), -1);
}

}  // namespace
}  // namespace bel::bench
