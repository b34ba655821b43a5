#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

#include "actors/net/endpoint.h"
#include "actors/write/event_structure.h"
#include "app/commands.h"
#include "app/text.h"
#include "messages/escape.h"
#include "messages/glob.h"
#include "storage/uri.h"

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
  if (durability == "normal") return false;
  usage_error("--durability: \"" + durability + "\" is not a durability (expected full or normal)");
  return std::nullopt;
}

void Context::warn_durability(bool applies) {
  if (durability != "normal" || durability_warned) return;
  durability_warned = true;
  auto where = storage::parse_storage_uri(log_uri);
  if (applies && where.ok() && where->scheme != storage::UriScheme::sqlite) {
    // Only an SQLite file's commits are tuned by it (its synchronous setting).
    std::fprintf(stderr, "bel: warning: --durability normal does not apply to %s: %s\n",
                 storage::shown_uri(log_uri).c_str(),
                 where->scheme == storage::UriScheme::postgres
                     ? "a PostgreSQL log commits as its server's synchronous_commit says"
                     : "only an SQLite log's commits are tuned by it");
    return;
  }
  std::fprintf(stderr, "%s",
               applies ? "bel: warning: --durability normal: an operating-system crash or power "
                         "loss may lose the most recently acknowledged events\n"
                       : "bel: warning: --durability normal does not apply: the coordinator this "
                         "command goes through commits with its own --durability\n");
}

std::optional<actors::SessionOptions> Context::session_options(bool write, bool create_log,
                                                               bool one_key) {
  actors::SessionOptions options;
  options.log_uri = log_uri;
  options.connect = connect;
  options.connect_source = connect_named ? "--connect" : "$BEL_CONNECT";
  options.log_named = log_named;
  options.token_file = token_file;
  options.write = write;
  options.create_log = create_log;
  options.start_views = !one_key;
  options.coordinator_only = coordinator_only;
  options.compare_postgres_log = compare_postgres_log;
  options.views = views;
  auto durable = durability_full();
  if (!durable) return std::nullopt;
  options.durability_full = *durable;
  if (!connect.empty()) {
    // A malformed endpoint is bad usage (exit 2), as a bad --listen is, not a failed command.
    if (auto endpoint = actors::parse_endpoint(connect); !endpoint.ok()) {
      usage_error(options.connect_source + ": " + endpoint.error().message);
      return std::nullopt;
    }
  }
  return options;
}

std::shared_ptr<Session> Context::session(bool write, bool create_log, bool one_key) {
  if (shared_session) return shared_session;
  auto options = session_options(write, create_log, one_key);
  if (!options) return nullptr;
  auto opened = Session::open(*options);
  if (!opened.ok()) {
    fail(opened.error());
    return nullptr;
  }
  if (write) warn_durability(!(*opened)->remote());
  if (const std::string& notice = (*opened)->notice(); !notice.empty()) {
    std::fprintf(stderr, "bel: warning: %s\n", printable(notice).c_str());
  }
  return std::shared_ptr<Session>(std::move(*opened));
}

Result<std::shared_ptr<Session>> Context::session_again(bool write, bool create_log, bool one_key) {
  auto options = session_options(write, create_log, one_key);
  if (!options) return make_error(ErrorCode::invalid_argument, "the command's options");
  auto opened = Session::open(*options);
  if (!opened.ok()) return opened.error();
  return std::shared_ptr<Session>(std::move(*opened));
}

std::optional<int64_t> Context::read_point(Session& session) {
  auto stats = session.client().stats();
  if (!stats.ok()) {
    fail(stats.error());
    return std::nullopt;
  }
  return stats->last_idx();
}

bool check_window(Context& ctx, int limit, int offset) {
  if (limit < 1 || limit > 1000) {
    ctx.usage_error("--limit: must be between 1 and 1000, got " + std::to_string(limit));
    return false;
  }
  if (offset < 0) {
    ctx.usage_error("--offset: must be >= 0, got " + std::to_string(offset));
    return false;
  }
  return true;
}

void print_ack(Format format, const AppendAck& ack, const std::string& what) {
  if (format == Format::json) {
    std::printf("%s\n", to_json_with_defaults(ack).c_str());
  } else {
    std::printf("%s at idx %lld%s (event %s)\n", what.c_str(), static_cast<long long>(ack.idx()),
                ack.duplicate() ? ", already logged" : "", ack.event_id().c_str());
  }
  std::fflush(stdout);
}

bool arguments_fit(Context& ctx, const Result<BuildEvent>& event,
                   std::initializer_list<ArgumentField> fields) {
  if (!event.ok()) return true;
  auto checked = write::check_structure(*event);
  if (checked.ok()) return true;
  const std::string& message = checked.error().message;
  for (const ArgumentField& f : fields) {
    const std::string field = f.field;
    if (message.compare(0, field.size() + 1, field + " ") == 0) {
      ctx.usage_error(f.argument + message.substr(field.size()));
      return false;
    }
  }
  ctx.usage_error(message);
  return false;
}

void Context::fail(const Error& error) {
  // A log URI no one typed in this command came from the environment: say so.
  const char* env_log = std::getenv("BEL_LOG");
  if (error.code == ErrorCode::unsupported_uri && !log_named && !in_console && env_log != nullptr &&
      log_uri == env_log) {
    print_error(error.with_context("$BEL_LOG"));
  } else {
    print_error(error);
  }
  // A log URI of no form bel knows (a typo: "sqlite:/x.db") is bad usage, as a malformed
  // --connect is; its message keeps SPEC's code for it.
  exit_code = error.code == ErrorCode::unsupported_uri ? kExitUsage : kExitFailed;
}

void Context::usage_error(const std::string& message) {
  print_usage_error(message, in_console ? "" : "Run with --help for more information.\n");
  exit_code = kExitUsage;
}

void add_durability_option(CLI::App* cmd, Context& ctx) {
  cmd->add_option("--durability", ctx.durability,
                  "full (fsync every commit, the default) or normal (faster; an OS crash may "
                  "lose acknowledged events)")
      ->capture_default_str();
}

void set_choices(CLI::Option* option, const std::vector<std::string>& choices) {
  std::string listed;
  for (const auto& c : choices) listed += (listed.empty() ? "" : " ") + c;
  // Which names are known is the command's to judge (short forms, any case); an empty value is
  // none of them, never the default.
  option->check(CLI::Validator(
      [listed](std::string& value) {
        return value.empty() ? "is empty; expected one of: " + listed : std::string();
      },
      "{" + listed + "}", kChoicesValidator));
}

std::vector<std::string> choices_of(const CLI::Option& option) {
  // CLI11 offers no const lookup of a validator, and throws for a name the option lacks.
  auto& opt = const_cast<CLI::Option&>(option);  // NOLINT: read only
  std::string listed;
  try {
    listed = opt.get_validator(kChoicesValidator)->get_description();  // "{a b}"
  } catch (const CLI::OptionNotFound&) {
    return {};
  }
  std::vector<std::string> out;
  std::istringstream words(listed.size() >= 2 ? listed.substr(1, listed.size() - 2) : "");
  for (std::string w; words >> w;) out.push_back(w);
  return out;
}

CLI::Option* not_empty(CLI::Option* option) {
  return option->check(CLI::Validator(
      [](std::string& value) { return value.empty() ? std::string("must not be empty") : ""; }, "",
      "not empty"));
}

CLI::Option* not_negative(CLI::Option* option) {
  return option->check(CLI::Validator(
      [](std::string& value) {
        auto first = value.find_first_not_of(" \t");
        return first != std::string::npos && value[first] == '-'
                   ? "must not be negative, got " + value
                   : std::string();
      },
      "", "not negative"));
}

void decimal_numbers(CLI::App* app) {
  for (CLI::Option* option : app->get_options()) {
    const std::string type = option->get_type_name();
    if (type != "INT" && type != "UINT") continue;
    const bool is_signed = type == "INT";
    option->transform(CLI::Validator(
        [is_signed](std::string& value) -> std::string {
          std::string_view text = trim_blanks(value);
          const bool negative = !text.empty() && text.front() == '-';
          if (!text.empty() && (negative || text.front() == '+')) text.remove_prefix(1);
          if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
            return "is not a whole number in decimal: \"" + value + "\"";
          }
          text.remove_prefix(std::min(text.find_first_not_of('0'), text.size() - 1));
          const std::string normal = (negative ? "-" : "") + std::string(text);
          const char* const first = normal.data();
          const char* const last = first + normal.size();
          bool fits;
          if (is_signed) {
            int64_t n;
            fits = std::from_chars(first, last, n).ec == std::errc();
          } else {
            uint64_t n;
            fits = negative || std::from_chars(first, last, n).ec == std::errc();
          }
          if (!fits) {
            return value + " does not fit a 64-bit number (" +
                   (negative ? "at least " + std::to_string(std::numeric_limits<int64_t>::min())
                    : is_signed
                        ? "at most " + std::to_string(std::numeric_limits<int64_t>::max())
                        : "at most " + std::to_string(std::numeric_limits<uint64_t>::max())) +
                   ")";
          }
          value = normal;
          return std::string();
        },
        "", "decimal"));
  }
  for (CLI::App* sub : app->get_subcommands({})) decimal_numbers(sub);
}

CLI::Option* key_argument(CLI::Option* option) {
  return not_empty(option)->check(
      CLI::Validator([](std::string& value) { return utf8_problem(value); }, "", "UTF-8"));
}

namespace {

// BEL_LOG, BEL_CONNECT and BEL_TOKEN_FILE are defaults: read into the Context before the command
// line is parsed, so that a flag given always wins. (CLI11's envname would tie the variable to
// each leaf command's option, and the leaves share one Context field: a variable that was set
// then overwrote the flag given to the command that ran.)
void default_from_env(std::string* field, const char* variable) {
  const char* value = std::getenv(variable);
  if (value != nullptr && *value != '\0') *field = value;
}

}  // namespace

void add_log_options(CLI::App* cmd, Context& ctx, LogRole role) {
  if (role != LogRole::coordinator) {  // a coordinator prints lines of its own, no answer
    set_choices(cmd->add_option("--format", ctx.format,
                                "Output format: table or json (default: table on a terminal, "
                                "json otherwise)"),
                {"table", "json"});
  }
  if (ctx.in_console) return;  // the console's session is fixed when it starts
  default_from_env(&ctx.log_uri, "BEL_LOG");
  cmd->add_option("--log", ctx.log_uri,
                  "The log: sqlite:///abs/path.db, sqlite://rel/path.db or a bare path (an SQLite "
                  "file), postgresql://..., memory://, stdout (default: $BEL_LOG when set)")
      ->capture_default_str()
      ->each([&ctx](const std::string&) { ctx.log_named = true; });
  if (role == LogRole::in_process) return;
  default_from_env(&ctx.token_file, "BEL_TOKEN_FILE");
  if (role == LogRole::coordinator) {
    // A coordinator owns its log: there is no other coordinator to connect to.
    cmd->add_option("--token-file", ctx.token_file,
                    "The token consoles must present, in a file you own of mode 0600 holding "
                    "at least 32 hex digits (default: $BEL_TOKEN_FILE, else for an SQLite log "
                    "a fresh token written to the log's path + .token; a postgresql:// log "
                    "has no path: without it, the coordinator serves no console endpoint)");
    return;
  }
  default_from_env(&ctx.connect, "BEL_CONNECT");
  cmd->add_option("--connect", ctx.connect,
                  "HOST:PORT of a running coordinator (default: $BEL_CONNECT, else the one an "
                  "SQLite log advertises; a postgresql:// log's coordinators are reached only "
                  "through this)")
      ->each([&ctx](const std::string&) { ctx.connect_named = true; });
  cmd->add_option("--token-file", ctx.token_file,
                  "The coordinator's token file (default: $BEL_TOKEN_FILE, else an SQLite log's "
                  "path + .token)");
}

CLI::App* add_log_command(CLI::App& parent, Context& ctx, const std::string& name,
                          const std::string& help, LogUse use) {
  auto* cmd = parent.add_subcommand(name, help);
  if (use == LogUse::write) add_durability_option(cmd, ctx);
  add_log_options(cmd, ctx);
  return cmd;
}

}  // namespace bel::app
