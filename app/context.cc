#include "app/commands.h"

namespace bel::app {

std::optional<Format> Context::output_format() {
  auto f = resolve_format(format);
  if (!f.ok()) {
    usage_error(f.error().message);
    return std::nullopt;
  }
  return *f;
}

std::optional<bool> Context::durability_full() {
  if (durability == "full") return true;
  if (durability == "normal") {
    std::fprintf(stderr,
                 "bel: warning: --durability normal: an operating-system crash or power loss "
                 "may lose the most recently acknowledged events\n");
    return false;
  }
  usage_error("--durability: \"" + durability + "\" is not a durability (expected full or normal)");
  return std::nullopt;
}

void Context::fail(const Error& error) {
  print_error(error);
  exit_code = kExitFailed;
}

void Context::usage_error(const std::string& message) {
  std::fprintf(stderr, "bel: %s\nRun with --help for more information.\n", message.c_str());
  exit_code = kExitUsage;
}

void add_log_options(CLI::App* cmd, Context& ctx) {
  cmd->add_option("--log", ctx.log_uri,
                 "The log: sqlite:///abs/path.db, sqlite://rel/path.db, memory://, stdout")
      ->envname("BEL_LOG")
      ->capture_default_str();
  cmd->add_option("--format", ctx.format,
                 "Output format: table or json (default: table on a terminal, json otherwise)");
}

}  // namespace bel::app
