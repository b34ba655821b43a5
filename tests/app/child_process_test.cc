// bench/child_process.h: a child's peak RSS is that of the program it runs, whatever the size of
// the process that started it, and its CPU is its own work (P11 reports both).
#include "bench/child_process.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace bel::bench {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

TEST(ChildProcessTest, PeakRssIsTheChildProgramsOwnNotItsParents) {
  // This process grows well past what the child will use: wait4's ru_maxrss would report the
  // child at least this large (the image it had before its exec is a copy of this one).
  std::vector<char> ballast(static_cast<size_t>(400 * kMiB));
  std::memset(ballast.data(), 1, ballast.size());

  // The child holds ~50 MB in a shell variable for a moment, then exits.
  auto run = run_child({"/bin/sh", "-c",
                        "x=$(head -c 50000000 /dev/zero | tr '\\0' a); sleep 0.3; "
                        "echo ${#x}"});
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(run->out, "50000000\n");
  EXPECT_GE(run->peak_rss_bytes, 45 * kMiB);
  EXPECT_LT(run->peak_rss_bytes, 300 * kMiB)
      << "the parent's " << ballast.size() / kMiB << " MiB were counted";
  EXPECT_EQ(ballast[ballast.size() / 2], 1);
}

TEST(ChildProcessTest, CpuIsWhatTheChildWorkedNotHowLongItTook) {
  // A child that sleeps takes wall time and next to no CPU; one that counts in the shell takes
  // CPU of its own.
  auto sleeping = run_child({"/bin/sh", "-c", "sleep 0.3"});
  ASSERT_TRUE(sleeping.ok()) << sleeping.error().to_string();
  EXPECT_EQ(sleeping->exit_code, 0) << sleeping->err;
  EXPECT_GE(sleeping->seconds, 0.3);
  EXPECT_LT(sleeping->cpu_seconds, sleeping->seconds / 2);

  auto counting =
      run_child({"/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done; echo $i"});
  ASSERT_TRUE(counting.ok()) << counting.error().to_string();
  EXPECT_EQ(counting->out, "300000\n") << counting->err;
  EXPECT_GT(counting->cpu_seconds, 0);
  EXPECT_GT(counting->cpu_seconds, 5 * sleeping->cpu_seconds);
}

TEST(ChildProcessTest, AProgramThatCannotRunIsAnError) {
  auto run = run_child({"/nonexistent/bel-child"});
  EXPECT_FALSE(run.ok());
}

}  // namespace
}  // namespace bel::bench
