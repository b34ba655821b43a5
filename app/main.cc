// bel: the admin console and coordinator of the build event log (SPEC section 6).
#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

#include "app/commands.h"

// The `bel` binary links jemalloc (app/CMakeLists.txt), which reads its settings from this symbol
// before the first allocation (MALLOC_CONF in the environment still overrides them). One arena
// for the process's few busy threads, and buffers of 4 MiB or more (inflated snapshots, the
// views' large tables) returned to the system as soon as they are freed. Together they keep a
// coordinator over a 10M-event log within P12's 1 GB, which jemalloc's defaults passed (1 030
// MB). Smaller buffers are kept for reuse (for 10 s): returning those too (from 256 KiB, as
// before) made a rebuild of every view fault their pages in again (56 600 page faults on a
// 1M-event log against 32 600, 10-20% of its time) to hold 2 MB less at 10M events
// (docs/performance.md, "The allocator" and "Buffers of 256 KiB to 4 MiB kept for reuse").
// Unused when the binary is built without jemalloc.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's
const char* malloc_conf = "narenas:1,oversize_threshold:4194304";
}

namespace {

// protobuf's own messages, in bel's log (component "protobuf"). Its complaint that a string field
// is not UTF-8 comes with every read of a payload stored before appends refused such text, which
// the read then gives with U+FFFD (storage/payload_text.h): at debug. The rest at warn.
void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  static const auto logger = spdlog::default_logger()->clone("protobuf");
  const bool text = message.find("invalid UTF-8") != std::string::npos;
  const auto as = level == google::protobuf::LOGLEVEL_FATAL          ? spdlog::level::critical
                  : text || level == google::protobuf::LOGLEVEL_INFO ? spdlog::level::debug
                                                                     : spdlog::level::warn;
  logger->log(as, "{} ({}:{})", message, file, line);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bel::app;
  // Logs go to stderr, command output to stdout. Quiet unless BEL_LOG_LEVEL says otherwise.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bel"));
  spdlog::set_level(spdlog::level::warn);
  if (const char* level = std::getenv("BEL_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
  google::protobuf::SetLogHandler(protobuf_log);
  Context ctx;
  return run_command_line(std::vector<std::string>(argv, argv + argc), ctx, false);
}
