// bel: the admin console and coordinator of the build event log (SPEC section 6).
#include <fcntl.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <system_error>

#include "actors/component_log.h"
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
  static const bel::actors::ComponentLog component("protobuf");
  const auto logger = component.get();
  const bool text = message.find("invalid UTF-8") != std::string::npos;
  const auto as = level == google::protobuf::LOGLEVEL_FATAL          ? spdlog::level::critical
                  : text || level == google::protobuf::LOGLEVEL_INFO ? spdlog::level::debug
                                                                     : spdlog::level::warn;
  logger->log(as, "{} ({}:{})", message, file, line);
}

// A standard stream the caller closed (`bel ... >&-`) would otherwise be the number the next
// open file or socket takes, and bel's output would go into it: the log, a lock file, the
// coordinator's own pipes. Each closed one is opened on a device first: standard input on
// /dev/null (nothing to read), the outputs on /dev/full, so that what bel writes to them fails
// and is reported, not lost without a word. Whether standard output was closed.
bool open_closed_std_streams() {
  bool stdout_closed = false;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free number is `fd`, since the ones below it are open by now.
    int opened = fd == 0 ? open("/dev/null", O_RDONLY) : open("/dev/full", O_WRONLY);
    if (opened < 0 && fd != 0) opened = open("/dev/null", O_WRONLY);  // no /dev/full here
    if (opened != fd && opened >= 0) close(opened);
    if (fd == 1) stdout_closed = true;
  }
  return stdout_closed;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bel::app;
  const bool stdout_closed = open_closed_std_streams();
  // A file-size limit (`ulimit -f`) would kill bel with SIGXFSZ in the middle of a write, with no
  // word of why. Ignored, the write fails with EFBIG instead, which the storage reports like any
  // failed write (storage_unavailable, "File too large"): nothing acknowledged is lost.
  std::signal(SIGXFSZ, SIG_IGN);
  // Logs go to stderr, command output to stdout. Quiet unless BEL_LOG_LEVEL says otherwise.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bel"));
  spdlog::set_level(spdlog::level::warn);
  if (const char* level = std::getenv("BEL_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
  google::protobuf::SetLogHandler(protobuf_log);
  const char* const kClosed = "cannot write the output: standard output is closed";
  Context ctx;
  int code = kExitFailed;
  try {
    code = run_command_line(std::vector<std::string>(argv, argv + argc), ctx, false);
  } catch (const std::bad_alloc&) {
    std::fputs("bel: out of memory\n", stderr);
    return kExitFailed;
  } catch (const std::exception& e) {
    // What escapes a command: fmt's failed write to a full or closed stdout, for one. The
    // command's own objects (a coordinator, the log's lock) were closed on the way here.
    const bool write_failed = dynamic_cast<const std::system_error*>(&e) != nullptr;
    std::fprintf(stderr, "bel: %s\n", stdout_closed && write_failed ? kClosed : e.what());
    return kExitFailed;
  }
  // Output that did not reach its file is a failure: a script must not take a truncated answer
  // (a full disk, a closed stdout) for a whole one.
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    const int error = errno;
    if (stdout_closed) {
      std::fprintf(stderr, "bel: %s\n", kClosed);
    } else {
      std::fprintf(stderr, "bel: cannot write the output: %s\n",
                   error != 0 ? std::strerror(error) : "a write to standard output failed");
    }
    return kExitFailed;
  }
  return code;
}
