// bel console (SPEC section 6): an interactive shell with the same commands, history and help.
//
// The console opens one session when it starts and hands it to every line (Context's
// shared_session), so a line sees what the lines before it wrote. Each line is split like a
// shell's (app/console_lines.h) and run with run_command_line, exactly as `bel` runs its argv.
// On a terminal it reads with libedit (history in ~/.bel_history, Tab completes commands, flags and
// their values); otherwise it reads plain lines, so scripts can pipe commands into it.
#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/console_lines.h"
#include "app/text.h"

namespace bel::app {
namespace {

constexpr const char* kPrompt = "bel> ";
constexpr const char* kHistoryFileName = ".bel_history";
constexpr int kHistoryEntries = 1000;

// bel commands that make no sense inside a console; add_all_commands leaves them out when
// interactive, and the console names them instead of calling them unknown.
constexpr const char* kShellOnlyCommands[] = {"serve", "run", "console", "bench", "completion"};

// The console's own words, offered by completion next to the commands.
const std::vector<std::string> kBuiltins = {"exit", "help", "quit"};

constexpr const char* kConsoleNotes =
    "Words are split like a shell's: quotes group, a backslash escapes; no expansions.\n"
    "Lines starting with # are ignored. A failed command prints its error and the console goes\n"
    "on. When standard input is not a terminal (a script), the console's exit code is that of\n"
    "the last command that failed (1 failed, 2 bad usage), or 0; on a terminal it is 0.\n"
    "On a terminal, Ctrl-C clears the line being typed; while a command runs (events tail),\n"
    "Ctrl-C ends the console with it. History is kept in ~/.bel_history.\n";

bool is_shell_only(const std::string& name) {
  return std::any_of(std::begin(kShellOnlyCommands), std::end(kShellOnlyCommands),
                     [&name](const char* c) { return name == c; });
}

// The first sentence (or line) of a command's description, for the one-line listing.
std::string summary_of(const std::string& description) {
  std::string s = description.substr(0, description.find('\n'));
  if (auto dot = s.find(". "); dot != std::string::npos) s.resize(dot);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// One row per runnable command ("activity", "builds list", ...), in the order they were added.
void collect_commands(const CLI::App& node, const std::string& path,
                      std::vector<std::pair<std::string, std::string>>& rows) {
  for (const auto* sub : node.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string name = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    if (sub->get_subcommands([](const CLI::App*) { return true; }).empty()) {
      rows.emplace_back(name, summary_of(sub->get_description()));
    } else {
      collect_commands(*sub, name, rows);
    }
  }
}

void print_console_help(const CLI::App& commands) {
  std::vector<std::pair<std::string, std::string>> rows;
  collect_commands(commands, "", rows);
  rows.emplace_back("help [COMMAND [SUB]]", "This list, or a command's options and arguments");
  rows.emplace_back("quit, exit", "Leave the console (or Ctrl-D)");
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::printf("Commands, one per line (help COMMAND [SUB] or COMMAND --help for its options):\n");
  for (const auto& [name, summary] : rows) {
    std::printf("  %-*s  %s\n", static_cast<int>(width), name.c_str(), summary.c_str());
  }
  std::printf("\n%s", kConsoleNotes);
  std::fflush(stdout);
}

// Reads the console's lines. Two kinds: plain lines from a pipe or file, or libedit on a terminal.
class LineReader {
 public:
  virtual ~LineReader() = default;
  // The next line, without its newline; nothing at the end of input.
  virtual std::optional<std::string> read() = 0;
  // Remembers `line` (a non-blank line the user entered) for recall.
  virtual void remember(const std::string& line) = 0;
};

class PlainLineReader : public LineReader {
 public:
  std::optional<std::string> read() override {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    // A byte order mark some editors put first in a script file is not part of its first word.
    constexpr std::string_view kByteOrderMark = "\xef\xbb\xbf";
    if (first_ && line.compare(0, kByteOrderMark.size(), kByteOrderMark) == 0) {
      line.erase(0, kByteOrderMark.size());
    }
    first_ = false;
    return line;
  }
  void remember(const std::string&) override {}

 private:
  bool first_ = true;
};

// libedit's callbacks take no user data: the command tree completion walks.
const CLI::App* g_completion_commands = nullptr;
std::vector<std::string> g_completion_matches;

char* next_completion(const char* /*text*/, int state) {
  static size_t next = 0;
  if (state == 0) next = 0;
  if (next >= g_completion_matches.size()) return nullptr;
  // libedit frees the match with free().
  return strdup(g_completion_matches[next++].c_str());
}

char** attempt_completion(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // never fall back to completing file names
  g_completion_matches.clear();
  auto before = split_console_line(std::string(rl_line_buffer, static_cast<size_t>(start)));
  if (!before.ok() || g_completion_commands == nullptr) return nullptr;
  g_completion_matches = complete_console_word(*g_completion_commands, kBuiltins, *before, text);
  if (g_completion_matches.empty()) return nullptr;
  return rl_completion_matches(text, next_completion);
}

// Ctrl-C at the prompt clears the line. libedit alone does not do that: on SIGINT it restores
// the terminal and re-raises the signal to the handler it found (by default: the console ends),
// and readline() only returns when that happened to interrupt its read(); a SIGINT that lands
// while libedit is busy with the previous key is lost. So while the prompt is up, a handler
// writes to a pipe (from whichever thread the signal lands on) and libedit reads its keys
// through read_key, which waits on the terminal and the pipe together and turns an interrupt
// into the key kInterruptKey, bound to interrupt_line. While a command runs, SIGINT keeps its
// default and ends the console.
constexpr int kInterruptKey = 3;  // ^C: with ISIG on, the terminal never sends it as a key
int g_interrupt_pipe[2] = {-1, -1};
bool g_interrupted = false;  // set by interrupt_line, inside readline()

void on_sigint(int) {
  const int saved_errno = errno;
  const char byte = 1;
  // A full pipe already holds an interrupt.
  [[maybe_unused]] ssize_t written = ::write(g_interrupt_pipe[1], &byte, 1);
  errno = saved_errno;
}

void drain_interrupts() {
  char bytes[64];
  while (read(g_interrupt_pipe[0], bytes, sizeof bytes) > 0) {
  }
}

// The next byte of the terminal `fd`, kInterruptKey after SIGINT, or -1 at end of input.
int next_byte(int fd) {
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {g_interrupt_pipe[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;  // a signal; SIGINT also wrote to the pipe
      return -1;
    }
    if (fds[1].revents & POLLIN) {
      drain_interrupts();
      return kInterruptKey;
    }
    unsigned char byte;
    const ssize_t n = read(fd, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return -1;
  }
}

// libedit's rl_getc_function: the next key as a Unicode code point (UTF-8 decoded, as libedit's
// own reader would), kInterruptKey, or -1 at end of input.
int read_key(std::FILE* in) {
  const int fd = fileno(in);
  const int first = next_byte(fd);
  if (first < 0xC0) return first;  // ASCII, -1, or a stray continuation byte
  const int extra = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : 1;
  int code = first & (0x3F >> extra);
  for (int i = 0; i < extra; ++i) {
    const int next = next_byte(fd);
    if ((next & 0xC0) != 0x80) return next;  // -1, an interrupt, or a broken sequence
    code = (code << 6) | (next & 0x3F);
  }
  return code;
}

int interrupt_line(int /*count*/, int /*key*/) {
  g_interrupted = true;
  rl_done = 1;  // readline() returns null, as at end of input
  return 0;
}

class EditLineReader : public LineReader {
 public:
  EditLineReader(const CLI::App& commands, std::FILE* out) : out_(out) {
    // libedit edits multibyte text (UTF-8) in the user's locale; LC_CTYPE changes nothing else
    // bel prints.
    std::setlocale(LC_CTYPE, "");
    if (g_interrupt_pipe[0] < 0 && pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      g_interrupt_pipe[0] = g_interrupt_pipe[1] = -1;
    }
    rl_readline_name = "bel";  // for "bel:" lines in ~/.editrc
    rl_instream = stdin;
    rl_outstream = out;
    // Before libedit initialises (using_history), which is when it picks up rl_getc_function.
    if (g_interrupt_pipe[0] >= 0) rl_getc_function = read_key;
    g_completion_commands = &commands;
    rl_attempted_completion_function = attempt_completion;
    using_history();
    rl_add_defun("bel-interrupt-line", interrupt_line, kInterruptKey);
    stifle_history(kHistoryEntries);
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
      history_path_ = std::string(home) + "/" + kHistoryFileName;
      read_history(history_path_.c_str());  // a missing or unreadable file: an empty history
    }
  }
  ~EditLineReader() override {
    g_completion_commands = nullptr;
    rl_attempted_completion_function = nullptr;
  }

  std::optional<std::string> read() override {
    for (;;) {
      struct sigaction on_interrupt = {};
      struct sigaction previous = {};
      on_interrupt.sa_handler = on_sigint;
      sigemptyset(&on_interrupt.sa_mask);
      on_interrupt.sa_flags = 0;
      drain_interrupts();  // a Ctrl-C typed after the last line ended
      g_interrupted = false;
      if (g_interrupt_pipe[0] >= 0) sigaction(SIGINT, &on_interrupt, &previous);
      char* text = readline(kPrompt);
      if (g_interrupt_pipe[0] >= 0) sigaction(SIGINT, &previous, nullptr);
      if (text == nullptr && g_interrupted) {
        std::fputs("\n", out_);
        std::fflush(out_);
        continue;
      }
      if (text == nullptr) {  // Ctrl-D or end of input
        std::fputs("\n", out_);
        std::fflush(out_);
        return std::nullopt;
      }
      std::string line(text);
      std::free(text);
      return line;
    }
  }

  void remember(const std::string& line) override {
    // The file read again first: another console open at once (with the same home) may have
    // added lines since, which writing this one's history alone would drop (a file that cannot
    // be read leaves this console's own history as it is). Then this line, and the whole written
    // back (the last kHistoryEntries) after every line, so that a console ended by a signal keeps
    // its history: to a file of its own, renamed over the history, so that a console reading
    // meanwhile never reads half a file. A file that cannot be written only costs the history.
    if (!history_path_.empty() && access(history_path_.c_str(), R_OK) == 0) {
      clear_history();
      read_history(history_path_.c_str());
    }
    add_history(line.c_str());
    if (history_path_.empty()) return;
    const std::string written = history_path_ + "." + std::to_string(getpid()) + ".tmp";
    if (write_history(written.c_str()) != 0 ||
        std::rename(written.c_str(), history_path_.c_str())) {
      std::remove(written.c_str());
    }
  }

 private:
  std::FILE* out_;
  std::string history_path_;
};

// Runs one console line; returns its exit code. Sets `quit` for quit/exit.
int run_console_line(const std::vector<std::string>& words, Context& ctx, const CLI::App& commands,
                     bool& quit) {
  const std::string& first = words.front();
  if (first == "quit" || first == "exit") {
    if (words.size() > 1) {
      print_usage_error(first + " takes no arguments", "");
      return kExitUsage;
    }
    quit = true;
    return kExitOk;
  }
  const bool help = first == "help";
  if (help && (words.size() == 1 ||
               std::find(kBuiltins.begin(), kBuiltins.end(), words[1]) != kBuiltins.end())) {
    print_console_help(commands);
    return kExitOk;
  }
  const std::string& command = help ? words[1] : first;
  if (is_shell_only(command)) {
    print_usage_error(
        command + " is not available inside the console; run \"bel " + command + "\" from a shell",
        "");
    return kExitUsage;
  }
  std::vector<std::string> argv = {"bel"};
  argv.insert(argv.end(), words.begin() + (help ? 1 : 0), words.end());
  if (help) argv.push_back("--help");
  return run_command_line(argv, ctx, /*interactive=*/true);
}

// After a failed line on a coordinator's session: when that coordinator no longer answers (it
// was stopped, or restarted: a new token), the session is opened again as at start, so the next
// line goes to the coordinator the log now advertises, or in-process. The failed line is not run
// again: it may have been a write that took effect. False when the log cannot be opened again (said
// why): the console ends.
bool reopen_if_gone(Context& ctx, std::shared_ptr<Session>& session) {
  auto alive = session->client().stats();
  // unauthorized: a coordinator restarted on the same endpoint, with a token of its own.
  if (alive.ok() || (alive.error().code != ErrorCode::storage_unavailable &&
                     alive.error().code != ErrorCode::unauthorized)) {
    return true;
  }
  const std::string gone = session->description();
  ctx.shared_session.reset();
  session.reset();
  auto again = ctx.session(/*write=*/true, /*create_log=*/true);
  if (!again) {
    std::fprintf(stderr,
                 "bel: the %s does not answer, and the log could not be opened again; "
                 "the console ends\n",
                 printable(gone).c_str());
    return false;
  }
  session = again;
  ctx.shared_session = session;
  // "the coordinator at HOST:PORT", or "the log sqlite://bel.db (in-process)".
  const std::string next = (session->remote() ? "the " : "the log ") + session->description();
  std::fprintf(stderr, "bel: the %s %s; the next lines go to %s\n", printable(gone).c_str(),
               alive.error().code == ErrorCode::unauthorized
                   ? "now takes another token (it was restarted)"
                   : "does not answer",
               printable(next).c_str());
  return true;
}

int run_console(Context& ctx) {
  const bool terminal = isatty(STDIN_FILENO) == 1;
  if (!ctx.output_format()) return ctx.exit_code;  // a bad --format: once, not on every line
  // The console may write (cancel, invalidate, append), so it opens for writing and may create
  // the log: with no coordinator running it holds the log's writer lock until it ends.
  auto session = ctx.session(/*write=*/true, /*create_log=*/true);
  if (!session) return ctx.exit_code;
  ctx.shared_session = session;

  // Options a line sets (--format, --durability) last for that line only.
  const std::string format = ctx.format;
  const std::string durability = ctx.durability;

  // The command tree for help and completion; its callbacks never run.
  Context scratch;
  scratch.in_console = true;
  CLI::App commands;
  add_all_commands(commands, scratch, /*interactive=*/true);

  std::unique_ptr<LineReader> reader;
  if (terminal) {
    // The prompt goes where a person is looking: stdout, unless that is redirected.
    std::FILE* out = isatty(STDOUT_FILENO) == 1 ? stdout : stderr;
    std::fprintf(out, "bel console on %s. Type help for the commands, quit or Ctrl-D to leave.\n",
                 session->description().c_str());
    std::fflush(out);
    reader = std::make_unique<EditLineReader>(commands, out);
  } else {
    reader = std::make_unique<PlainLineReader>();
  }

  int last_failure = kExitOk;
  bool quit = false;
  while (!quit) {
    auto line = reader->read();
    if (!line) break;
    auto words = split_console_line(*line);
    if (words.ok() && words->empty()) continue;  // blank or a comment
    reader->remember(*line);
    int code;
    if (!words.ok()) {
      print_error(words.error());
      code = kExitUsage;
    } else {
      ctx.format = format;
      ctx.durability = durability;
      code = run_console_line(*words, ctx, commands, quit);
    }
    std::fflush(stdout);
    if (code != kExitOk) last_failure = code;
    if (code != kExitOk && session->remote() && !reopen_if_gone(ctx, session)) break;
  }

  // Stops an in-process coordinator (committing what is pending) before the process exits.
  ctx.shared_session.reset();
  const bool ended = session == nullptr;
  session.reset();
  if (ended) return ctx.exit_code == kExitOk ? kExitFailed : ctx.exit_code;
  return terminal ? kExitOk : last_failure;
}

}  // namespace

void add_console_command(CLI::App& app, Context& ctx) {
  auto* cmd = add_log_command(
      app, ctx, "console",
      "Interactive shell with the same commands, history and help, on one session opened at "
      "start (so a line sees what earlier lines wrote).\n"
      "Reads commands from standard input: with line editing, history (~/.bel_history) and Tab "
      "completion on a terminal, plain lines otherwise (no prompt), e.g.\n"
      "  printf 'activity\\nbuilds list\\n' | bel console --log sqlite://bel.db",
      LogUse::write);
  cmd->footer(kConsoleNotes);
  cmd->callback([&ctx] { ctx.exit_code = run_console(ctx); });
}

}  // namespace bel::app
