#include "bench/machine.h"

#include <dlfcn.h>
#include <sqlite3.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef BEL_BUILD_TYPE
#define BEL_BUILD_TYPE "unknown"
#endif

namespace bel::bench {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The value after "key:" on the first line of `file` that starts with `key`.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    return trim(line.substr(colon + 1));
  }
  return "";
}

// The mount with the longest mount point that contains `dir`.
void find_mount(const std::string& dir, std::string* fs_type, std::string* device) {
  std::error_code ec;
  std::string path = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec || path.empty()) path = dir;
  std::ifstream in("/proc/self/mounts");
  std::string line;
  size_t best = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dev, mount_point, type;
    if (!(fields >> dev >> mount_point >> type)) continue;
    const bool contains = path == mount_point ||
                          (path.compare(0, mount_point.size(), mount_point) == 0 &&
                           (mount_point == "/" ||
                            (path.size() > mount_point.size() && path[mount_point.size()] == '/')));
    if (contains && mount_point.size() >= best) {
      best = mount_point.size();
      *fs_type = type;
      *device = dev;
    }
  }
}

// jemalloc answers mallctl("version"); the process has it only when jemalloc is its malloc.
std::string allocator_name() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto* mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  const char* version = nullptr;
  size_t size = sizeof version;
  if (mallctl != nullptr && mallctl("version", &version, &size, nullptr, 0) == 0 &&
      version != nullptr) {
    unsigned arenas = 0;
    size_t arenas_size = sizeof arenas;
    size_t oversize = 0;
    size_t oversize_size = sizeof oversize;
    std::string out = std::string("jemalloc ") + version;
    if (mallctl("opt.narenas", &arenas, &arenas_size, nullptr, 0) == 0 &&
        mallctl("opt.oversize_threshold", &oversize, &oversize_size, nullptr, 0) == 0) {
      out += " (narenas " + std::to_string(arenas) + ", oversize_threshold " +
             std::to_string(oversize) + ")";
    }
    return out;
  }
  return "glibc malloc";
}

}  // namespace

int online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 0;
}

MachineNotes describe_machine(const std::string& dir) {
  MachineNotes m;
  m.cpu_model = proc_field("/proc/cpuinfo", "model name");
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  m.cores = online_cores();
  const std::string mem = proc_field("/proc/meminfo", "MemTotal");  // "24614060 kB"
  if (!mem.empty()) m.memory_bytes = std::strtoll(mem.c_str(), nullptr, 10) * 1024;
  m.dir = dir;
  m.filesystem = "unknown";
  m.device = "unknown";
  find_mount(dir, &m.filesystem, &m.device);
  m.build_type = BEL_BUILD_TYPE;
#ifdef __OPTIMIZE__
  m.optimized = true;
#endif
#ifndef NDEBUG
  m.assertions = true;
#endif
  m.sqlite_version = sqlite3_libversion();
  m.allocator = allocator_name();
  struct utsname u;
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;

  {
    std::ifstream loadavg("/proc/loadavg");
    loadavg >> m.load_average;
  }

  if (!m.optimized) {
    m.warnings.push_back("this bel was built without optimization (build type " + m.build_type +
                         "): figures are not representative; build with "
                         "-DCMAKE_BUILD_TYPE=Release");
  } else if (m.build_type != "Release") {
    m.warnings.push_back("build type " + m.build_type +
                         " (optimized, but not Release): the targets are for Release builds");
  }
  if (m.filesystem == "tmpfs" || m.filesystem == "ramfs") {
    m.warnings.push_back(dir + " is on " + m.filesystem +
                         ": fsync costs nothing there, so durability is not measured; use --dir "
                         "on a disk");
  }
  if (m.cores > 0 && m.load_average > m.cores) {
    char load[32];
    std::snprintf(load, sizeof load, "%.1f", m.load_average);
    m.warnings.push_back(std::string("the machine is busy (load average ") + load + " on " +
                         std::to_string(m.cores) +
                         " cores): values are lower than on an idle machine; the baselines ran "
                         "under the same load, so ratios are less affected");
  }
  return m;
}

namespace {

double cpu_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

double process_cpu_seconds() { return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID); }
double thread_cpu_seconds() { return cpu_seconds(CLOCK_THREAD_CPUTIME_ID); }

ThreadTimes named_threads_times(const std::string& name) {
  ThreadTimes out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm_file(task.path() / "comm");
    std::string comm;
    if (!std::getline(comm_file, comm) || comm != name) continue;
    // Nanoseconds on the CPU, then runnable and waiting on a run queue; none when the thread
    // ended meanwhile.
    std::ifstream schedstat(task.path() / "schedstat");
    unsigned long long on_cpu_ns = 0, runqueue_ns = 0;
    if (!(schedstat >> on_cpu_ns >> runqueue_ns)) continue;
    out.on_cpu = std::max(out.on_cpu, 0.0) + static_cast<double>(on_cpu_ns) * 1e-9;
    out.runqueue = std::max(out.runqueue, 0.0) + static_cast<double>(runqueue_ns) * 1e-9;
  }
  return out;
}

int64_t proc_status_bytes(const std::string& process, const std::string& key) {
  std::ifstream in("/proc/" + process + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    return std::atoll(line.c_str() + key.size() + 1) * 1024;
  }
  return 0;
}

}  // namespace bel::bench
