// bel: the admin console and coordinator of the build event log (SPEC section 6).
#include <CLI/CLI.hpp>
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

  CLI::App app{"bel: the build event log of a partition-oriented data build coordinator.\n"
               "Records build requests, partitions and job runs; answers questions about them."};
  app.set_version_flag("--version", std::string("bel ") + BEL_VERSION);
  app.require_subcommand(1);
  Context ctx;
  add_append_command(app, ctx);
  add_events_commands(app, ctx);
  add_run_command(app, ctx);
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known |= sub->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "bel: unknown command \"%s\"\nRun bel --help for the commands.\n",
                   argv[1]);
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return ctx.exit_code;
}
