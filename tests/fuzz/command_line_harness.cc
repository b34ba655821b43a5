// command_line (tests/fuzz/harnesses.h).
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.h"
#include "tests/fuzz/harnesses.h"

namespace bel::fuzz {
namespace {

// Commands that only read or repair the log they are given, and print. serve, run, console and
// bench start servers, simulations or write files; append reads any file (a FIFO would block).
bool safe_command(const std::string& word) {
  static const char* const kSafe[] = {"events", "partitions", "builds", "jobs", "activity",
                                      "views",  "check",      "completion", "--help", "-h",
                                      "--version"};
  for (const char* safe : kSafe) {
    if (word == safe) return true;
  }
  return false;
}

// Arguments that could leave the in-memory log: another log, a coordinator, a token file; `events
// tail` follows the log until interrupted.
bool safe_argument(const std::string& arg) {
  for (std::string_view risky : {"--log", "--connect", "--token-file"}) {
    if (arg.compare(0, risky.size(), risky) == 0) return false;
  }
  return arg != "tail";
}

}  // namespace

int command_line(const uint8_t* data, size_t size) {
  std::vector<std::string> argv{"bel"};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty() && argv.size() < 64) {
    const size_t end = input.find('\n');
    argv.emplace_back(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  }
  if (argv.size() < 2 || !safe_command(argv[1])) return 0;
  for (const auto& arg : argv) {
    if (!safe_argument(arg)) return 0;
  }
  ::unsetenv("BEL_LOG");
  ::unsetenv("BEL_CONNECT");
  ::unsetenv("BEL_TOKEN_FILE");
  app::Context ctx;
  ctx.log_uri = "memory://";
  ctx.format = "json";
  const int code = app::run_command_line(argv, ctx, /*interactive=*/false);
  require(code == app::kExitOk || code == app::kExitFailed || code == app::kExitUsage,
          "a command line exited with a code outside 0, 1, 2");
  return 0;
}

}  // namespace bel::fuzz
