#include <cstring>

#include "app/commands.h"

namespace bel::app {

void add_all_commands(CLI::App& app, Context& ctx, bool interactive) {
  add_append_command(app, ctx);
  add_events_commands(app, ctx);
  add_partitions_commands(app, ctx);
  add_builds_commands(app, ctx);
  add_jobs_commands(app, ctx);
  add_activity_command(app, ctx);
  add_views_commands(app, ctx);
  add_check_command(app, ctx);
  if (!interactive) {
    add_serve_command(app, ctx);
    add_run_command(app, ctx);
    add_console_command(app, ctx);
    add_bench_command(app, ctx);
  }
}

int run_command_line(const std::vector<std::string>& argv, Context& ctx, bool interactive) {
  CLI::App app{interactive
                   ? "Commands (type one per line; help COMMAND or COMMAND --help for more):"
                   : "bel: the build event log of a partition-oriented data build coordinator.\n"
                     "Records build requests, partitions and job runs; answers questions about "
                     "them."};
  app.name(interactive ? "" : "bel");
  if (!interactive) app.set_version_flag("--version", std::string("bel ") + BEL_VERSION);
  app.require_subcommand(1);
  ctx.exit_code = kExitOk;
  ctx.in_console = interactive;
  add_all_commands(app, ctx, interactive);

  if (argv.size() > 1 && !argv[1].empty() && argv[1][0] != '-') {
    const char* hint =
        interactive ? "Type help for the commands.\n" : "Run bel --help for the commands.\n";
    CLI::App* command = nullptr;
    for (auto* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[1]) command = sub;
    }
    if (command == nullptr) {
      std::fprintf(stderr, "bel: unknown command \"%s\"\n%s", argv[1].c_str(), hint);
      return kExitUsage;
    }
    // A command group (partitions, builds, ...) needs one of its subcommands. CLI11 would only
    // say "A subcommand is required", naming neither the word it did not know nor the choices.
    auto subs = command->get_subcommands({});
    const std::string next = argv.size() > 2 ? argv[2] : "";
    if (!subs.empty() && next != "-h" && next != "--help") {
      std::string names;
      bool known = false;
      for (const auto* sub : subs) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known |= sub->get_name() == next;
      }
      if (!known) {
        if (next.empty() || next[0] == '-') {
          std::fprintf(stderr, "bel: %s needs a subcommand: %s\n%s", argv[1].c_str(), names.c_str(),
                       hint);
        } else {
          std::fprintf(stderr, "bel: unknown command \"%s %s\" (%s has: %s)\n%s", argv[1].c_str(),
                       next.c_str(), argv[1].c_str(), names.c_str(), hint);
        }
        return kExitUsage;
      }
    }
  }
  // CLI11 parses a reversed vector of arguments (without the program name).
  std::vector<std::string> args(argv.rbegin(), argv.rend() - 1);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return ctx.exit_code;
}

}  // namespace bel::app
