// What `bel bench` reports about the machine it measured on (SPEC section 8: "machine notes"),
// so that figures from two machines can be told apart: CPU, cores, memory, the filesystem the
// temporary files live on, and how this bel was built.
//
//   bel::bench::MachineNotes m = bel::bench::describe_machine("/tmp/bel-bench-1234");
//   std::printf("%s, %d cores, %s\n", m.cpu_model.c_str(), m.cores, m.filesystem.c_str());
//   for (const auto& w : m.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
//
// Reads /proc (Linux); a value it cannot find is "unknown" (or 0), never an error.
#ifndef BEL_BENCH_MACHINE_H_
#define BEL_BENCH_MACHINE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bel::bench {

struct MachineNotes {
  std::string cpu_model;       // /proc/cpuinfo "model name"
  int cores = 0;               // online CPUs
  int64_t memory_bytes = 0;    // /proc/meminfo MemTotal
  std::string dir;             // where the temporary files were written
  std::string filesystem;      // type of the mount holding `dir` ("ext4", "tmpfs", ...)
  std::string device;          // its device ("/dev/vda")
  std::string build_type;      // CMAKE_BUILD_TYPE of this bel
  bool optimized = false;      // compiled with optimization (__OPTIMIZE__)
  bool assertions = false;     // assert() enabled (NDEBUG not defined)
  std::string sqlite_version;  // of the SQLite library linked in
  // The malloc this process runs with: "jemalloc <version>" when jemalloc provides it (the `bel`
  // binary links it), else "glibc malloc". Appends and reads allocate per event, so it counts.
  std::string allocator;
  std::string kernel;          // uname -sr
  double load_average = 0;     // 1-minute load average when described (/proc/loadavg)
  // Reasons the figures may not mean what they say (a debug build, fsync on tmpfs, ...).
  std::vector<std::string> warnings;
};

// Describes this machine and the filesystem of `dir` (which should exist).
MachineNotes describe_machine(const std::string& dir);

// This machine's online CPUs (MachineNotes::cores); 0 when unknown.
int online_cores();

// CPU seconds this process has used, on all its threads (CLOCK_PROCESS_CPUTIME_ID): what a figure
// costs in CPU, which the neighbours' load changes less than the wall time.
double process_cpu_seconds();
// CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID): what one thread's part costs
// (the log maker's generation and writing), apart from the others'.
double thread_cpu_seconds();
// Seconds so far of this process's threads named `name` (/proc/self/task/*/comm, as
// name_this_thread set it), summed from each one's schedstat: on the CPU, and runnable but waiting
// for a core (on a loaded machine, what they lost to the other threads). Both -1 when no thread
// of that name has one to read.
struct ThreadTimes {
  double on_cpu = -1;
  double runqueue = -1;
};
ThreadTimes named_threads_times(const std::string& name);

// A memory field of /proc/<process>/status ("VmRSS", "VmHWM"; `process` "self" or a pid), in
// bytes; 0 when it cannot be read (an exited process has none).
int64_t proc_status_bytes(const std::string& process, const std::string& key);

}  // namespace bel::bench

#endif  // BEL_BENCH_MACHINE_H_
