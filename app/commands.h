// The `bel` command line (SPEC section 6): each command registers itself on the CLI11 app and
// records its exit code in the shared Context. The interactive console builds the same app for
// every line it reads, with a Context that keeps one session open across lines.
//
//   CLI::App app{"bel"};
//   bel::app::Context ctx;
//   bel::app::add_all_commands(app, ctx);
//   ... app.parse(argc, argv); return ctx.exit_code;
#ifndef BEL_APP_COMMANDS_H_
#define BEL_APP_COMMANDS_H_

#include <google/protobuf/generated_enum_reflection.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/client/session.h"
#include "app/output.h"
#include "messages/error.h"
#include "messages/status_names.h"

namespace bel::app {

using actors::Session;

// Exit codes: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

inline constexpr const char* kDefaultLogUri = "sqlite://bel.db";

struct Context {
  std::string log_uri = kDefaultLogUri;  // --log, or BEL_LOG
  std::string format;                    // --format; empty = by terminal
  std::string durability = "full";       // --durability
  std::string connect;                   // --connect, or BEL_CONNECT
  bool connect_named = false;            // --connect given on the command line (not $BEL_CONNECT)
  bool log_named = false;                // --log given on the command line (not $BEL_LOG)
  std::string token_file;                // --token-file, or BEL_TOKEN_FILE
  bool coordinator_only = false;         // SessionOptions::coordinator_only (bel sign-in)
  bool compare_postgres_log = false;     // SessionOptions::compare_postgres_log (bel check)
  // The views the command asks (SessionOptions::views); unset: all.
  std::optional<std::vector<std::string>> views;
  int exit_code = kExitOk;
  bool durability_warned = false;
  // The interactive console opens one session and keeps it for every line.
  std::shared_ptr<Session> shared_session;
  bool in_console = false;

  // Resolves --format; on a bad value prints the error, sets exit code 2 and returns nothing.
  std::optional<Format> output_format();
  // --durability as a bool (true = full). Sets exit code 2 on a bad value.
  std::optional<bool> durability_full();
  // Once per command, for --durability normal: what it risks when `applies` (this process
  // writes the log), else that it does not apply (a coordinator writes with its own setting).
  void warn_durability(bool applies);
  // The session for this command: the console's, or a new one on --log / --connect. On error
  // prints it, sets exit code 1 and returns null. `write`: the command appends (an in-process
  // session then takes the writer lock); `create_log`: a missing log may be created;
  // `one_key`: the command asks only about one key (a partition, a build request, a job run) or
  // lists events, so an in-process session starts no views (SessionOptions::start_views).
  std::shared_ptr<Session> session(bool write = false, bool create_log = false,
                                   bool one_key = false);
  // A new session as session() opens it (not the console's), for a command that follows the log
  // and finds its coordinator gone or restarted: the error is returned, not printed.
  Result<std::shared_ptr<Session>> session_again(bool write = false, bool create_log = false,
                                                 bool one_key = false);
  // The idx a read must reflect: the log's last committed idx when the command starts, so a
  // command sees every write acknowledged before it, its own and other processes'. Prints the
  // error, sets exit code 1 and returns nothing on failure.
  std::optional<int64_t> read_point(Session& session);
  // Prints `error` and sets exit code 1 (2 for invalid_argument raised by argument checks is the
  // caller's choice: see usage_error).
  void fail(const Error& error);
  void usage_error(const std::string& message);

 private:
  // What session() and session_again() open; prints a usage error and returns nothing when a
  // flag is bad.
  std::optional<actors::SessionOptions> session_options(bool write, bool create_log, bool one_key);
};

// Who a command is to its log, for the options it takes.
enum class LogRole {
  client,       // reads or writes through a running coordinator, or in process without one
  coordinator,  // serves the log (serve): no --connect; --token-file is what consoles present
  in_process,   // runs a coordinator no one else reaches (run): no --connect, no --token-file
};

// Adds --log and, by `role`, --format (not for a coordinator, which answers nothing), --connect
// and --token-file to a leaf command (so its --help lists them).
void add_log_options(CLI::App* cmd, Context& ctx, LogRole role = LogRole::client);

// Adds --durability (full or normal) to a command that may open the log for writing.
void add_durability_option(CLI::App* cmd, Context& ctx);

// Caps glibc's malloc arenas at two in a process that hosts a coordinator (`bel serve`, `bel run`,
// and the process that measures P7 and P8); MALLOC_ARENA_MAX still overrides. cmd_serve.cc says
// why. The `bel` binary allocates with jemalloc, one arena (app/main.cc), which makes this a no-op
// there; it matters where bel runs on glibc's malloc (the sanitizer build).
void cap_malloc_arenas();

// How a leaf command uses the log: it reads it, or it may open it for writing (--durability).
enum class LogUse { read, write };

// Adds leaf command `name` with `help` to `parent`, its first options --durability (for
// LogUse::write) and the log options (add_log_options); the command's own follow them.
//
//   auto* cmd = add_log_command(app, ctx, "activity", "Overview: ...");
//   cmd->callback([&ctx] { run_activity(ctx); });
CLI::App* add_log_command(CLI::App& parent, Context& ctx, const std::string& name,
                          const std::string& help, LogUse use = LogUse::read);

// Every command of SPEC section 6. `interactive` leaves out those that make no sense inside the
// console (serve, run, console).
void add_all_commands(CLI::App& app, Context& ctx, bool interactive = false);

// Every command group, in `bel --help` order: X(adder, in_console). Each cmd_*.cc defines its
// adder; those with in_console false make no sense inside the console (serve, run, console, ...).
// clang-format off
#define BEL_COMMAND_GROUPS(X)                                                   \
  X(add_append_command, true) X(add_events_commands, true)                     \
  X(add_partitions_commands, true) X(add_builds_commands, true)                \
  X(add_jobs_commands, true) X(add_activity_command, true)                     \
  X(add_views_commands, true) X(add_validation_command, true)                  \
  X(add_check_command, true) X(add_sign_in_command, true)                      \
  X(add_serve_command, false)                                                  \
  X(add_run_command, false) X(add_console_command, false)                      \
  X(add_bench_command, false) X(add_completion_command, false)
// clang-format on

#define BEL_DECLARE_COMMAND_GROUP(adder, in_console) void adder(CLI::App& app, Context& ctx);
BEL_COMMAND_GROUPS(BEL_DECLARE_COMMAND_GROUP)
#undef BEL_DECLARE_COMMAND_GROUP

// Adds `show ID` and `cancel ID --reason WHY` to `group` (builds, job runs): `noun` names the
// ID ("The build request id"), the descriptions are the subcommands' help lines.
struct ShowAndCancel {
  std::string noun;
  std::string show_help;
  std::string cancel_help;
  std::string reason_help;
  std::function<void(const std::string& id)> show;
  std::function<void(const std::string& id, const std::string& reason)> cancel;
};
void add_show_and_cancel(CLI::App* group, Context& ctx, ShowAndCancel spec);

// After an in-process session appended to an sqlite:// log (it holds the writer lock): brings
// the view snapshots that are due under the snapshot policy up to date (actors/check/
// view_rebuild.h), so console commands never fold a long tail. A failure is a warning only.
void refresh_snapshots_after_write(Context& ctx, Session& session);

// Runs one command line (argv[0] is the program name) the way `bel` does: builds the app,
// parses, runs, and returns the exit code. The console calls it for every line with its Context.
int run_command_line(const std::vector<std::string>& argv, Context& ctx, bool interactive);

// The name of the validator that carries an option's accepted values, for --help and for the
// shell completion (bel completion): the values, space-separated, in its description.
inline constexpr const char* kChoicesValidator = "choices";

// Marks `option` as taking one of `choices` (short names): listed in --help and offered by the
// shell completion. It checks nothing: the command checks the values with a message naming them.
void set_choices(CLI::Option* option, const std::vector<std::string>& choices);

// The values set_choices gave `option`, in its order; none when it has none.
std::vector<std::string> choices_of(const CLI::Option& option);

// Marks `option` (an id, a ref, a reason) as one that must not be empty: an empty value is a
// usage error (exit 2) naming the option, found before anything runs.
CLI::Option* not_empty(CLI::Option* option);
// Marks an option read into an unsigned number (a seed) as one that refuses a negative value,
// which the parse would otherwise wrap round to a huge one.
CLI::Option* not_negative(CLI::Option* option);
// Makes every whole-number option of `app` and its subcommands decimal: CLI11 would read "010"
// as octal 8 and "0x10" as 16, and take a value past int64 as its largest. Leading zeros are
// dropped ("010" is 10); anything else that is not digits, or out of range, is a usage error.
void decimal_numbers(CLI::App* app);
// not_empty for the key a question is about (the REF, ID or LABEL of a show command, a list's
// --job or --build), which must also be well-formed UTF-8: no event holds another string, and the
// answer echoes the key in a message that must serialize. (A filter given empty, as a script's
// unset variable gives it, is refused too rather than read as no filter.) The text of a write
// command (a reason, the ref of an invalidation) is left to the append rules, which name the
// event's field instead.
CLI::Option* key_argument(CLI::Option* option);

// The short names of `Enum`'s statuses, in enum order, without *_UNKNOWN nor those in `never`:
// "requested", ...
template <class Enum>
std::vector<std::string> status_choices(const std::vector<std::string>& never = {}) {
  std::vector<std::string> out;
  const auto* descriptor = google::protobuf::GetEnumDescriptor<Enum>();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() == 0) continue;
    std::string name = short_status_name(descriptor->value(i)->name());
    if (std::find(never.begin(), never.end(), name) == never.end()) out.push_back(name);
  }
  return out;
}

// Adds --status to a list command: repeatable or comma-separated (--status completed,failed),
// short or enum names of `Enum`, but for `never` (statuses a listed item never has, which help
// and completion do not offer); parse the values with parse_statuses.
template <class Enum>
CLI::Option* add_status_option(CLI::App* cmd, std::vector<std::string>& target,
                               const std::vector<std::string>& never = {}) {
  auto* option = cmd->add_option("--status", target,
                                 "Only these statuses: repeat the flag or separate them with "
                                 "commas; short names or enum names")
                     ->delimiter(',');
  set_choices(option, status_choices<Enum>(never));
  return option;
}

// Parses repeated --status values (enum names or short forms) with `parse`; a usage error naming
// the flag and the bad value otherwise, whose list of accepted names leaves out `never` (as
// add_status_option's help does).
template <class Enum, class Parse>
std::optional<std::vector<Enum>> parse_statuses(Context& ctx, const std::vector<std::string>& texts,
                                                Parse parse,
                                                const std::vector<std::string>& never = {}) {
  std::vector<Enum> out;
  for (const auto& t : texts) {
    // "--status --log x.db": given no status, the flag takes the next word as one.
    if (t.size() > 1 && t[0] == '-') {
      ctx.usage_error("--status: \"" + t + "\" is a flag, not a status (--status was given no " +
                      "status before it)");
      return std::nullopt;
    }
    auto s = parse(t);
    if (!s.ok()) {
      std::string message = s.error().message;
      const auto accepted = message.find(" (accepted: ");
      if (!never.empty() && accepted != std::string::npos) {
        std::string names;
        for (const auto& name : status_choices<Enum>(never)) {
          names += (names.empty() ? "" : ", ") + name;
        }
        message = message.substr(0, accepted) + " (accepted: " + names + ")";
      }
      ctx.usage_error("--status: " + message);
      return std::nullopt;
    }
    out.push_back(*s);
  }
  return out;
}

// --limit in 1..1000 and --offset >= 0 for the lists of SPEC section 4; a usage error naming the
// flag otherwise (never clamped).
bool check_window(Context& ctx, int limit, int offset);

// The flags every list command has: --status (repeatable), --limit and --offset; a command
// with more derives its flags from it.
struct ListFlags {
  std::vector<std::string> statuses;
  int limit = 50;
  int offset = 0;
};

// Adds --limit and --offset (checked by check_window) to a list command, into `flags.limit` and
// `flags.offset`.
inline void add_window_options(CLI::App* cmd, ListFlags& flags) {
  cmd->add_option("--limit", flags.limit, "At most this many (1..1000)")->capture_default_str();
  cmd->add_option("--offset", flags.offset, "Skip this many first")->capture_default_str();
}

// Checks a list command's --status values (`flags.statuses`, parsed as `Enum` with `parse`),
// --limit and --offset, and copies them into `request`. False after a usage error.
template <class Enum, class Parse, class Request>
bool fill_list_request(Context& ctx, const ListFlags& flags, Parse parse, Request* request) {
  auto statuses = parse_statuses<Enum>(ctx, flags.statuses, parse);
  if (!statuses || !check_window(ctx, flags.limit, flags.offset)) return false;
  request->set_limit(flags.limit);
  request->set_offset(flags.offset);
  for (auto s : *statuses) request->add_status_filter(s);
  return true;
}

// Prints an append's ack: JSON {"idx", "event_id", "duplicate"} or a line for people.
void print_ack(Format format, const AppendAck& ack, const std::string& what);

// The event field a command's argument fills, and how the command line names that argument.
struct ArgumentField {
  const char* field;     // as the structure rules name it, e.g. "build_cancel_event.reason"
  const char* argument;  // e.g. "--reason"
};

// Whether `event`, which a command made from its arguments, passes the structure rules (SPEC
// section 2: a string over 64 KiB, a control character in a ref or id); bad usage naming the
// argument otherwise, as the log would refuse it. An event that could not be made (`event` an
// error) is left to the command.
bool arguments_fit(Context& ctx, const Result<BuildEvent>& event,
                   std::initializer_list<ArgumentField> fields);

// Prints `message` (one document) as JSON or hands it to `table` to print for people.
template <class Message, class TablePrinter>
void print_answer(Format format, const Message& message, TablePrinter table);

// A printer for answer_question: the message as JSON, or `table` for people.
template <class TablePrinter>
auto json_or(TablePrinter table);

// The body of a command that asks one question: opens the session (read-only when in-process;
// without views for a question about `one_key`), fixes the read point (Context::read_point),
// calls `ask(client, min_idx)` -> Result<Message> and prints the answer with
// `print(format, message)`. Errors are printed and set the exit code.
template <class Ask, class Printer>
void answer_question(Context& ctx, Ask ask, Printer print, bool one_key = false);

// answer_question for the common case of one repository method taking one argument and the read
// point, e.g. ask_repository<actors::BuildsRepository>(ctx, &actors::BuildsRepository::show, id,
// json_or(print_build_summary)).
template <class Repository, class Method, class Argument, class Printer>
void ask_repository(Context& ctx, Method method, const Argument& argument, Printer print,
                    bool one_key = false);

// answer_question for a question that one view answers: the session starts only `view`.
template <class Ask, class Printer>
void ask_view(Context& ctx, const char* view, Ask ask, Printer print) {
  ctx.views = std::vector<std::string>{view};
  answer_question(ctx, ask, print);
}

// ask_view for a list command: Repository::list of `request`, e.g.
// ask_list<actors::BuildsRepository>(ctx, "build_summary", request, json_or(print_builds_table)).
template <class Repository, class Request, class Printer>
void ask_list(Context& ctx, const char* view, const Request& request, Printer print) {
  ask_view(
      ctx, view,
      [&](actors::ApiClient& client, int64_t at) { return Repository(client).list(request, at); },
      print);
}

// ask_repository about one key, as the `show` of ShowAndCancel, e.g.
// asking_about<actors::BuildsRepository>(ctx, &actors::BuildsRepository::show,
// json_or(print_build_summary)).
template <class Repository, class Method, class Printer>
std::function<void(const std::string& key)> asking_about(Context& ctx, Method method,
                                                         Printer print);

// The body of a command that appends one event: opens a writing session, calls
// `write(client)` -> Result<AppendAck> and prints the ack as "<what> at idx N".
template <class Write>
void append_one(Context& ctx, Write write, const std::string& what);

}  // namespace bel::app

#include "messages/json.h"

namespace bel::app {

template <class Message, class TablePrinter>
void print_answer(Format format, const Message& message, TablePrinter table) {
  if (format == Format::json) {
    std::printf("%s\n", to_json(message).c_str());
  } else {
    table(message, stdout);
  }
  std::fflush(stdout);
}

template <class TablePrinter>
auto json_or(TablePrinter table) {
  return [table](Format format, const auto& message) { print_answer(format, message, table); };
}

template <class Ask, class Printer>
void answer_question(Context& ctx, Ask ask, Printer print, bool one_key) {
  auto format = ctx.output_format();
  if (!format) return;
  auto session = ctx.session(/*write=*/false, /*create_log=*/false, one_key);
  if (!session) return;
  auto at = ctx.read_point(*session);
  if (!at) return;
  auto answer = ask(session->client(), *at);
  if (!answer.ok()) return ctx.fail(answer.error());
  print(*format, *answer);
  std::fflush(stdout);
}

template <class Repository, class Method, class Argument, class Printer>
void ask_repository(Context& ctx, Method method, const Argument& argument, Printer print,
                    bool one_key) {
  answer_question(
      ctx,
      [&](actors::ApiClient& client, int64_t at) {
        return (Repository(client).*method)(argument, at);
      },
      print, one_key);
}

template <class Repository, class Method, class Printer>
std::function<void(const std::string& key)> asking_about(Context& ctx, Method method,
                                                         Printer print) {
  return [&ctx, method, print](const std::string& key) {
    ask_repository<Repository>(ctx, method, key, print, /*one_key=*/true);
  };
}

template <class Write>
void append_one(Context& ctx, Write write, const std::string& what) {
  auto format = ctx.output_format();
  if (!format) return;
  auto session = ctx.session(/*write=*/true);
  if (!session) return;
  auto ack = write(session->client());
  if (!ack.ok()) return ctx.fail(ack.error());
  print_ack(*format, *ack, what);
}

}  // namespace bel::app

#endif  // BEL_APP_COMMANDS_H_
