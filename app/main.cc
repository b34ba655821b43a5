// bel: the admin console and coordinator of the build event log (SPEC section 6).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.h"

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
