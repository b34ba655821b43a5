#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "app/commands.h"
#include "app/suggest.h"
#include "app/text.h"
#include "storage/uri.h"

namespace bel::app {
namespace {

std::vector<std::string> subcommand_names(CLI::App* app) {
  std::vector<std::string> names;
  for (const auto* sub : app->get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

// The first "--flag" among `args` that `command` does not know, with a suggestion; empty when
// every flag is known. CLI11 would only say "The following arguments were not expected".
std::string unknown_flag(CLI::App* command, const std::string& command_words,
                         const std::vector<std::string>& args) {
  std::vector<std::string> known;
  bool positional = false;  // a key that begins with "-" may be one (the parse's error says how)
  for (const auto* opt : command->get_options()) {
    for (const auto& name : opt->get_lnames()) known.push_back("--" + name);
    positional = positional || opt->get_positional();
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;  // the rest are positional
    // A short flag ("-l"; not "-" for standard input, nor a negative number): bel has only -h.
    if (!positional && arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' &&
        !std::isdigit(static_cast<unsigned char>(arg[1]))) {
      if (command->get_option_no_throw(arg.substr(0, 2)) != nullptr) continue;
      return "unknown flag \"" + arg + "\" for " + command_words +
             " (bel's flags are long ones, such as --help)";
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    const CLI::Option* opt = command->get_option_no_throw(name);
    if (opt == nullptr) {
      return with_suggestion("unknown flag \"" + name + "\" for " + command_words, name, known);
    }
    // The value of "--flag VALUE" may itself start with "--": it is not a flag.
    if (name.size() == arg.size() && opt->get_type_size() != 0) ++i;
  }
  return "";
}

// CLI11's "Could not convert: --offset = 2147483648" as "--offset: cannot read ...", and its
// "--log: 1 required TEXT missing" as "--log: needs a value after it", and a flag of one value
// given twice as "--pattern: given more than once", the form of bel's other usage errors; other
// errors as CLI11 words them.
std::string conversion_text(const CLI::Error& e) {
  const std::string what = e.what();
  // "--limit: 1 required INT missing": a flag given last, with no value after it.
  const size_t colon = what.find(": 1 required ");
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && what.rfind("--", 0) == 0 &&
      colon != std::string::npos && what.size() > 8 &&
      what.compare(what.size() - 8, 8, " missing") == 0) {
    return what.substr(0, colon) + ": needs a value after it";
  }
  // "--pattern: At Most 1 required but received 2": a flag of one value given twice.
  const size_t at_most = what.find(": At Most 1 required but received ");
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && what.rfind("--", 0) == 0 &&
      at_most != std::string::npos) {
    return what.substr(0, at_most) + ": given more than once; it takes one value";
  }
  const std::string prefix = "Could not convert: ";
  const size_t equals = what.find(" = ");
  if (dynamic_cast<const CLI::ConversionError*>(&e) == nullptr ||
      what.compare(0, prefix.size(), prefix) != 0 || equals == std::string::npos) {
    return what;
  }
  const std::string flag = what.substr(prefix.size(), equals - prefix.size());
  const std::string value = what.substr(equals + 3);
  // A whole number decimal_numbers let through (it fits 64 bits) that the flag's variable does
  // not hold: bel's narrower flags are 32-bit ints. The message names that bound as the
  // number's, not the flag's (whose own range, if narrower, its command checks and names).
  long long n = 0;
  const auto parsed = std::from_chars(value.data(), value.data() + value.size(), n);
  if (parsed.ec == std::errc() && parsed.ptr == value.data() + value.size()) {
    if (n > std::numeric_limits<int32_t>::max()) {
      return flag + ": " + value + " does not fit a 32-bit number (at most " +
             std::to_string(std::numeric_limits<int32_t>::max()) + ")";
    }
    if (n < std::numeric_limits<int32_t>::min()) {
      return flag + ": " + value + " does not fit a 32-bit number (at least " +
             std::to_string(std::numeric_limits<int32_t>::min()) + ")";
    }
  }
  return flag + ": cannot read \"" + value + "\" as a number in its range";
}

}  // namespace

void add_all_commands(CLI::App& app, Context& ctx, bool interactive) {
#define BEL_ADD_COMMAND_GROUP(adder, in_console) \
  if (!interactive || (in_console)) adder(app, ctx);
  BEL_COMMAND_GROUPS(BEL_ADD_COMMAND_GROUP)
#undef BEL_ADD_COMMAND_GROUP
}

void add_show_and_cancel(CLI::App* group, Context& ctx, ShowAndCancel spec) {
  auto shared = std::make_shared<ShowAndCancel>(std::move(spec));
  auto id = std::make_shared<std::string>();
  auto* show = add_log_command(*group, ctx, "show", shared->show_help);
  key_argument(show->add_option("ID", *id, shared->noun)->required());
  show->callback([shared, id] { shared->show(*id); });

  auto cid = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto* cancel = group->add_subcommand("cancel", shared->cancel_help);
  not_empty(cancel->add_option("ID", *cid, shared->noun)->required());
  not_empty(cancel->add_option("--reason", *reason, shared->reason_help)->required());
  add_log_options(cancel, ctx);
  cancel->callback([shared, cid, reason] { shared->cancel(*cid, *reason); });
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
  decimal_numbers(&app);

  if (argv.size() == 1 && !interactive) {
    print_usage_error("bel needs a command", "Run bel --help for the commands.\n");
    return kExitUsage;
  }
  if (argv.size() > 1 && argv[1].size() > 1 && argv[1][0] == '-' && argv[1] != "-h" &&
      argv[1] != "--help" && argv[1] != "--version") {
    // "bel --log X activity": the flags belong to the command, which comes first.
    const auto names = subcommand_names(&app);
    for (size_t i = 2; i < argv.size(); ++i) {
      if (std::find(names.begin(), names.end(), argv[i]) == names.end()) continue;
      // A line to paste: each word quoted for the shell, a log's password never echoed.
      auto word = [&argv](size_t j) {
        const std::string& arg = argv[j];
        if (arg.rfind("--log=", 0) == 0)
          return shell_word("--log=" + storage::shown_uri(arg.substr(6)));
        return shell_word(argv[j - 1] == "--log" ? storage::shown_uri(arg) : arg);
      };
      std::string fixed = interactive ? "" : "bel";
      for (size_t j = i; j < argv.size(); ++j) fixed += (fixed.empty() ? "" : " ") + word(j);
      for (size_t j = 1; j < i; ++j) fixed += " " + word(j);
      print_usage_error("flags go after the command: " + fixed, "");
      return kExitUsage;
    }
    print_usage_error("unknown flag \"" + argv[1] + "\" before a command",
                      interactive ? "Type help for the commands.\n"
                                  : "Run bel --help for the commands and their flags.\n");
    return kExitUsage;
  }
  if (argv.size() > 1 && (argv[1].empty() || argv[1][0] != '-')) {  // "" is no command either
    const char* hint =
        interactive ? "Type help for the commands.\n" : "Run bel --help for the commands.\n";
    CLI::App* command = nullptr;
    for (auto* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[1]) command = sub;
    }
    if (command == nullptr) {
      print_usage_error(
          with_suggestion("unknown command \"" + argv[1] + "\"", argv[1], subcommand_names(&app)),
          hint);
      return kExitUsage;
    }
    // A command group (partitions, builds, ...) needs one of its subcommands. CLI11 would only
    // say "A subcommand is required", naming neither the word it did not know nor the choices.
    auto subs = subcommand_names(command);
    const std::string next = argv.size() > 2 ? argv[2] : "";
    std::string words = argv[1];
    size_t first_arg = 2;
    if (!subs.empty() && next != "-h" && next != "--help") {
      std::string names;
      for (const auto& sub : subs) names += (names.empty() ? "" : ", ") + sub;
      if (std::find(subs.begin(), subs.end(), next) == subs.end()) {
        if (next.empty() || next[0] == '-') {
          // "bel builds --limit 1 list": the subcommand is there, after the flags.
          for (size_t i = 3; i < argv.size(); ++i) {
            if (std::find(subs.begin(), subs.end(), argv[i]) == subs.end()) continue;
            std::string fixed =
                (interactive ? "" : "bel ") + shell_word(argv[1]) + " " + shell_word(argv[i]);
            for (size_t j = 2; j < argv.size(); ++j) {
              if (j != i)
                fixed += " " +
                         shell_word(argv[j - 1] == "--log" ? storage::shown_uri(argv[j]) : argv[j]);
            }
            print_usage_error("flags go after the subcommand: " + fixed, "");
            return kExitUsage;
          }
          print_usage_error(argv[1] + " needs a subcommand: " + names,
                            interactive ? "Type help " + argv[1] + " for its subcommands.\n"
                                        : "Run bel " + argv[1] + " --help for its subcommands.\n");
        } else {
          print_usage_error(
              with_suggestion("unknown command \"" + argv[1] + " " + next + "\"", next, subs) +
                  " (" + argv[1] + " has: " + names + ")",
              interactive ? "Type help " + argv[1] + " for its subcommands.\n"
                          : "Run bel " + argv[1] + " --help for its subcommands.\n");
        }
        return kExitUsage;
      }
      command = command->get_subcommand(next);
      words += " " + next;
      first_arg = 3;
    }
    if (subs.empty() || first_arg == 3) {
      const std::vector<std::string> rest(argv.begin() + std::min(first_arg, argv.size()),
                                          argv.end());
      const std::string problem = unknown_flag(command, words, rest);
      if (!problem.empty()) {
        print_usage_error(problem, std::string(interactive ? "Type " : "Run bel ") + words +
                                       " --help for its flags.\n");
        return kExitUsage;
      }
    }
  }
  // A word that begins with one "-" (not a flag bel has: they are all "--name") is taken for a
  // short flag, so a key such as "-x" leaves its argument missing: the error says how to give it.
  std::string dashed;
  for (size_t i = 1; i < argv.size() && argv[i] != "--"; ++i) {
    if (argv[i].size() > 1 && argv[i][0] == '-' && argv[i][1] != '-' && argv[i] != "-h") {
      dashed = argv[i];
      break;
    }
  }
  // CLI11's own parse errors (a value that does not convert, a required argument missing) as
  // bel's other usage errors.
  app.failure_message([interactive, dashed](const CLI::App*, const CLI::Error& e) {
    std::string text = conversion_text(e);
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      // CLI11: "The following argument(s) was/were not expected: a b".
      const auto colon = text.find(": ");
      const std::string extra = colon == std::string::npos ? text : text.substr(colon + 2);
      text = (extra.find(' ') == std::string::npos ? "unexpected argument: "
                                                   : "unexpected arguments: ") +
             extra + " (this command takes no more)";
    }
    if (!dashed.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      text +=
          " (an argument that begins with \"-\" goes last, after the flags and \"--\": ... -- " +
          dashed + ")";
    }
    return usage_error_text(text, interactive ? "" : "Run with --help for more information.\n");
  });
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
