// bel validation [strict|lenient] (SPEC section 2: the transition rules' mode, set per log).
#include <cstdio>
#include <memory>
#include <string>

#include "actors/write/log_writer.h"
#include "app/commands.h"

namespace bel::app {
namespace {

void print_mode(Format format, const std::string& mode, const std::string& before) {
  if (format == Format::json) {
    std::printf("{\"validation_mode\":%s}\n", json_string(mode).c_str());
    return;
  }
  std::printf("validation mode: %s%s\n", mode.c_str(),
              before.empty() || before == mode ? "" : (" (was " + before + ")").c_str());
  std::printf("%s\n", mode == "lenient"
                          ? "  transitions out of order are appended, each with a warning in the "
                            "coordinator's log"
                          : "  appends whose transitions break the rules are refused "
                            "(invalid_transition), storing nothing");
}

// Without `mode`: prints the log's mode. With it: sets it, through the coordinator's writer when
// one runs (it judges every later append by it), else this process's.
void run_validation(Context& ctx, const std::string& mode) {
  auto format = ctx.output_format();
  if (!format) return;
  auto session = ctx.session(/*write=*/!mode.empty(), /*create_log=*/false, /*one_key=*/true);
  if (!session) return;
  auto stats = session->client().stats();
  if (!stats.ok()) return ctx.fail(stats.error());
  const std::string before = stats->validation_mode();
  if (mode.empty()) return print_mode(*format, before, before);
  if (auto set = session->client().set_meta(actors::kValidationModeKey, mode); !set.ok()) {
    return ctx.fail(set.error());
  }
  print_mode(*format, mode, before);
}

}  // namespace

void add_validation_command(CLI::App& app, Context& ctx) {
  auto mode = std::make_shared<std::string>();
  auto* cmd = add_log_command(
      app, ctx, "validation",
      "The log's validation mode: strict (the default: appends that break the transition rules "
      "are refused) or lenient (they are appended with a warning); prints it, or sets it",
      LogUse::write);
  cmd->add_option("MODE", *mode, "strict or lenient: the mode to set (kept in the log)")
      ->check(CLI::IsMember({"strict", "lenient"}));
  cmd->callback([&ctx, mode] { run_validation(ctx, *mode); });
}

}  // namespace bel::app
