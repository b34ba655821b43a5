// The `bel` command line (SPEC section 6): each command registers itself on the CLI11 app and
// records its exit code in the shared Context.
//
//   CLI::App app{"bel"};
//   bel::app::Context ctx;
//   bel::app::add_append_command(app, ctx);
//   ... app.parse(argc, argv); return ctx.exit_code;
#ifndef BEL_APP_COMMANDS_H_
#define BEL_APP_COMMANDS_H_

#include <string>

#include <CLI/CLI.hpp>

#include "app/output.h"
#include "messages/error.h"

namespace bel::app {

// Exit codes: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

inline constexpr const char* kDefaultLogUri = "sqlite://bel.db";

struct Context {
  std::string log_uri = kDefaultLogUri;  // --log, or BEL_LOG
  std::string format;                    // --format; empty = by terminal
  std::string durability = "full";       // --durability
  int exit_code = kExitOk;

  // Resolves --format; on a bad value prints the error, sets exit code 2 and returns nothing.
  std::optional<Format> output_format();
  // --durability as a bool (true = full); prints a warning for normal. Sets exit code 2 on a
  // bad value.
  std::optional<bool> durability_full();
  // Prints `error` and sets the exit code: 2 for invalid_argument raised by our own argument
  // checks is left to callers; this always sets 1.
  void fail(const Error& error);
  void usage_error(const std::string& message);
};

// Adds --log and --format to a leaf command (so its --help lists them).
void add_log_options(CLI::App* cmd, Context& ctx);
void add_append_command(CLI::App& app, Context& ctx);
void add_events_commands(CLI::App& app, Context& ctx);
void add_run_command(CLI::App& app, Context& ctx);

}  // namespace bel::app

#endif  // BEL_APP_COMMANDS_H_
