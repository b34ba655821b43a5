// bel: the admin console and coordinator of the build event log (SPEC section 6).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.h"

// The `bel` binary links jemalloc (app/CMakeLists.txt), which reads its settings from this symbol
// before the first allocation (MALLOC_CONF in the environment still overrides them). One arena
// for the process's few busy threads, and buffers of 256 KiB or more (inflated snapshots, pages
// of events) in jemalloc's arena for large requests, which returns them to the system as soon as
// they are freed. Together they keep a coordinator over a 10M-event log within P12's 1 GB (1 014
// MB), which jemalloc's defaults passed (1 030 MB) (docs/performance.md, "The allocator"). Unused
// when the binary is built without jemalloc.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's
const char* malloc_conf = "narenas:1,oversize_threshold:262144";
}

int main(int argc, char** argv) {
  using namespace bel::app;
  // Logs go to stderr, command output to stdout. Quiet unless BEL_LOG_LEVEL says otherwise.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bel"));
  spdlog::set_level(spdlog::level::warn);
  if (const char* level = std::getenv("BEL_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
  Context ctx;
  return run_command_line(std::vector<std::string>(argv, argv + argc), ctx, false);
}
