// Running the real `bel` binary as a child of `bel bench` (SPEC section 8: P7, P8, P10, P11 are
// figures of separate processes): its wall-clock time, exit code, output, peak resident memory
// and CPU.
//
//   auto run = bel::bench::run_child({bel::bench::self_binary(), "activity", "--log", uri});
//   if (!run.ok()) return run.error();            // the process could not be started
//   if (run->exit_code != 0) fail(run->err);      // it ran and failed
//   double s = run->seconds; int64_t rss = run->peak_rss_bytes; double cpu = run->cpu_seconds;
//
// Linux only (fork, execv, /proc). Thread-safe in the sense of fork(): between fork and exec the
// child only calls async-signal-safe functions, so a parent with actor threads may call it.
#ifndef BEL_BENCH_CHILD_PROCESS_H_
#define BEL_BENCH_CHILD_PROCESS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/error.h"

namespace bel::bench {

struct ChildRun {
  int exit_code = -1;          // the child's exit status; 128 + signal when killed by one
  double seconds = 0;          // from fork to its exit
  // The peak resident set size of the program the child runs: VmHWM of /proc/<pid>/status,
  // read every few milliseconds from its exec until it exits. Not wait4's ru_maxrss: Linux
  // counts in it the image the child had before exec, a copy of this process, so a bench that
  // had grown to 480 MB reported every child at 480 MB at least.
  int64_t peak_rss_bytes = 0;
  // Its user and system CPU, all of its threads (wait4's rusage).
  double cpu_seconds = 0;
  std::string out;             // its standard output
  std::string err;             // its standard error
};

// Runs argv[0] (a path) with `argv`, standard input from /dev/null, and waits for it.
// storage_unavailable when it cannot be started. REQUIRES: !argv.empty()
Result<ChildRun> run_child(const std::vector<std::string>& argv);

// A child left running while others are measured: `bel serve`, for the figures measured through
// a running coordinator.
//
//   auto serve = BackgroundChild::start({bel, "serve", "--log", uri}, "running", out_path, 60s);
//   if (!serve.ok()) return serve.error();         // it exited, or never said "running"
//   ... run_child(...) ...
//   int code = (*serve)->stop();                    // SIGTERM, then its exit code
class BackgroundChild {
 public:
  // Starts argv[0] with `argv`, standard input from /dev/null, its standard output and error
  // appended to the file `output` (created 0600), and waits until `ready` appears in that file.
  // storage_unavailable naming the command and what it wrote when it cannot start, exits first,
  // or has not written `ready` within `wait` (it is then stopped). REQUIRES: !argv.empty()
  static Result<std::unique_ptr<BackgroundChild>> start(const std::vector<std::string>& argv,
                                                        const std::string& ready,
                                                        const std::string& output,
                                                        std::chrono::milliseconds wait);
  // Sends SIGTERM and waits for the child's exit, at most two minutes (then SIGKILL): its exit
  // code (128 + signal when killed by one; 255 when it was no longer this process's child).
  int stop();
  // stop(), when not stopped yet.
  ~BackgroundChild();
  BackgroundChild(const BackgroundChild&) = delete;
  BackgroundChild& operator=(const BackgroundChild&) = delete;

 private:
  explicit BackgroundChild(int pid) : pid_(pid) {}
  int pid_;
  int exit_code_ = -1;
};

// The path of the running executable (/proc/self/exe), so `bel bench` runs the same `bel`.
std::string self_binary();

}  // namespace bel::bench

#endif  // BEL_BENCH_CHILD_PROCESS_H_
