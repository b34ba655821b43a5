// bel append [FILE|-]: JSON lines of BuildEvent, one atomic batch; prints one ack per event.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <string_view>
#include <vector>

#include "actors/write/append_admission.h"
#include "actors/write/event_structure.h"
#include "actors/write/log_writer.h"
#include "app/commands.h"
#include "messages/json.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"

namespace bel::app {
namespace {

struct Line {
  size_t number;
};

// The events read, and the line each came from.
struct Batch {
  std::vector<BuildEvent> events;
  std::vector<Line> lines;
};

// A JSON line longer than this cannot hold an event: an event is at most 1 MiB (SPEC section 2)
// and JSON's escapes make one of its bytes at most six. A longer line is refused as soon as it
// is seen, so that no more of it is read into memory.
constexpr size_t kMaxLineBytes = size_t{16} << 20;

// The most bel append sends in one batch. An in-process log takes at most 100 000 events and 64
// MiB of encoded events pending at once, a coordinator at most 32 MiB in one request's body (and
// its --max-pending-events, 100 000 unless raised): reading stops at the first event past either
// bound, so that an endless input is refused, not read until memory runs out.
constexpr size_t kMaxBatchEvents = 1000000;
constexpr size_t kMaxBatchBytes = size_t{64} << 20;

// Reads and parses the non-blank lines of `path` ("-" = standard input; `source` names it in
// errors), one at a time: the first bad line ends the reading.
Result<Batch> read_batch(const std::string& path, const std::string& source) {
  int fd = STDIN_FILENO;
  if (path != "-") {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return make_error(ErrorCode::invalid_argument,
                        path + ": is a directory, not a file of JSON lines");
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return make_error(ErrorCode::invalid_argument, path + ": cannot open: " + std::strerror(errno));
    }
  }
  // Closes the file opened (never standard input) on every return.
  std::unique_ptr<int, void (*)(int*)> closer(path != "-" ? &fd : nullptr,
                                              [](int* f) { ::close(*f); });
  Batch batch;
  size_t bytes = 0;
  std::string text;
  size_t number = 1;
  auto end_line = [&]() -> Status {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    // A byte order mark some editors put first: JSON allows ignoring it (RFC 8259, 8.1).
    if (number == 1 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    const std::string where = source + " line " + std::to_string(number);
    ++number;
    if (text.find_first_not_of(" \t") == std::string::npos) {
      text.clear();
      return ok_status();
    }
    BuildEvent event;
    auto parsed = from_json(text, &event);
    text.clear();
    if (!parsed.ok()) {
      return Error{parsed.error().code,
                   where + ": " + parsed.error().message + "; nothing was appended"};
    }
    bytes += event.ByteSizeLong();
    if (batch.events.size() == kMaxBatchEvents || bytes > kMaxBatchBytes) {
      return make_error(ErrorCode::overloaded,
                        where + ": the batch goes past " + std::to_string(kMaxBatchEvents) +
                            " events or 64 MiB of encoded events, the most bel append sends in "
                            "one batch; split it (nothing was appended)");
    }
    batch.events.push_back(std::move(event));
    batch.lines.push_back({number - 1});
    return ok_status();
  };
  // What a read gives, not a whole block: a line is judged as soon as it has arrived, even while
  // the writer of a pipe is still to write more.
  std::vector<char> block(size_t{1} << 16);
  for (;;) {
    const ssize_t got = ::read(fd, block.data(), block.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return make_error(ErrorCode::internal, source + ": cannot read: " + std::strerror(errno) +
                                                 "; nothing was appended");
    }
    if (got == 0) break;
    std::string_view chunk(block.data(), static_cast<size_t>(got));
    while (!chunk.empty()) {
      const size_t newline = chunk.find('\n');
      const std::string_view part = chunk.substr(0, newline);
      if (text.size() + part.size() > kMaxLineBytes) {
        return make_error(ErrorCode::invalid_event,
                          source + " line " + std::to_string(number) +
                              ": longer than 16 MiB, which no event's JSON is (an event is at "
                              "most 1 MiB); nothing was appended");
      }
      text.append(part);
      if (newline == std::string_view::npos) break;
      if (auto ended = end_line(); !ended.ok()) return ended.error();
      chunk.remove_prefix(newline + 1);
    }
  }
  if (!text.empty()) {
    if (auto ended = end_line(); !ended.ok()) return ended.error();
  }
  return batch;
}

// The log names a bad event by batch position ("append #3: ...", and another event of the batch
// it refers to as "append #2 of this batch"); the user knows lines.
Error with_line_numbers(const Error& error, const std::string& source,
                        const std::vector<Line>& lines) {
  static const std::regex kPosition("^append #([0-9]+): ");
  static const std::regex kOther("append #([0-9]+) of this batch");
  auto line_of = [&lines](const std::string& number) -> std::optional<std::string> {
    const size_t pos = std::stoul(number);
    if (pos < 1 || pos > lines.size()) return std::nullopt;
    return "line " + std::to_string(lines[pos - 1].number) + " (event #" + number + ")";
  };
  std::smatch m;
  if (!std::regex_search(error.message, m, kPosition)) return error;
  const auto first = line_of(m[1].str());
  if (!first) return error;
  std::string message = source + " " + *first + ": ";
  const std::string rest = m.suffix().str();
  if (std::regex_search(rest, m, kOther)) {
    const auto other = line_of(m[1].str());
    message +=
        m.prefix().str() + (other ? *other + " of this batch" : m[0].str()) + m.suffix().str();
  } else {
    message += rest;
  }
  return Error{error.code, message};
}

// True when appending to `uri` creates the log: an SQLite file not there yet, or left empty by
// a kill while it was being created.
bool creates_log(const std::string& uri) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return false;
  std::error_code ec;
  if (!std::filesystem::exists(parsed->path, ec)) return !ec;
  return std::filesystem::file_size(parsed->path, ec) == 0 && !ec;
}

// The batch admitted against the pending limit of the log this command opens, then staged on an
// empty log in memory by the writer every log uses (the same normalization, structure and
// transition rules, in the strict mode a new log starts in): its refusal, if any, which the new
// log would give too.
Status refused_by_a_new_log(const std::string& uri, const std::vector<BuildEvent>& events) {
  std::vector<BuildEvent> measured = events;  // admit() fills in the status names
  if (auto admitted = actors::AppendAdmission(actors::StorageActorConfig{}, uri).admit(measured);
      !admitted.ok()) {
    return admitted.error();
  }
  auto memory = storage::open_storage("memory://", {});
  if (!memory.ok()) return memory.error();
  auto writer = actors::LogWriter::open(std::move(*memory), {});
  if (!writer.ok()) return writer.error();
  auto staged = (*writer)->stage(events);
  if (!staged.ok()) return staged.error();
  return ok_status();
}

void run_append(Context& ctx, const std::string& path) {
  auto format = ctx.output_format();
  if (!format || !ctx.durability_full()) return;
  const std::string source = path == "-" ? "stdin" : path;
  if (path == "-" && ctx.in_console && isatty(STDIN_FILENO) != 1) {
    // The console's own commands come from that pipe or file: reading it would swallow them.
    return ctx.usage_error(
        "FILE: the console reads its commands from standard input; append a "
        "file of JSON lines instead of -");
  }

  if (path == "-" && isatty(STDIN_FILENO) == 1) {
    std::fprintf(stderr,
                 "bel append: reading events from the terminal, one JSON line each; "
                 "Ctrl-D ends them\n");
  }
  auto batch = read_batch(path, source);
  if (path == "-") {  // at a console's terminal, Ctrl-D ended this input only
    std::cin.clear();
    std::clearerr(stdin);
  }
  if (!batch.ok()) {
    // A FILE that is missing, a directory or unreadable is bad usage, as a bad flag is.
    if (batch.error().code == ErrorCode::invalid_argument) {
      return ctx.usage_error(batch.error().message);
    }
    return ctx.fail(batch.error());
  }
  std::vector<BuildEvent>& events = batch->events;
  const std::vector<Line>& lines = batch->lines;
  if (events.empty()) {  // not an error: a script may pipe in nothing new
    std::fprintf(stderr, "bel append: %s holds no events; nothing was appended\n", source.c_str());
    return;
  }
  // The structure rules before the log is opened, so that a bad line never creates a log (the
  // log checks them again, with the transition rules, which need it).
  for (size_t i = 0; i < events.size(); ++i) {
    if (auto checked = write::check_structure(events[i]); !checked.ok()) {
      return ctx.fail(with_line_numbers(
          Error{checked.error().code, "append #" + std::to_string(i + 1) + ": " +
                                          checked.error().message + "; nothing was appended"},
          source, lines));
    }
  }

  // A batch a new log refuses creates no log: a typo in a first append leaves no empty log
  // behind for the next command to find.
  if (ctx.connect.empty() && creates_log(ctx.log_uri)) {
    if (auto refused = refused_by_a_new_log(ctx.log_uri, events); !refused.ok()) {
      Error e = with_line_numbers(refused.error(), source, lines);
      e.message += "; nothing was appended and no log was created";
      return ctx.fail(e);
    }
  }

  ctx.views = std::vector<std::string>{};  // appending needs no view
  auto session = ctx.session(/*write=*/true, /*create_log=*/true);
  if (!session) return;
  auto acks = session->client().append(std::move(events));
  if (!acks.ok()) {
    Error e = with_line_numbers(acks.error(), source, lines);
    switch (e.code) {
      case ErrorCode::timeout:
      case ErrorCode::storage_unavailable:
      case ErrorCode::internal:
        // The batch may still have been committed: say so rather than invite a blind retry,
        // unless the error says what became of it (the log's lock not taken: nothing written),
        // and once only (a coordinator lost mid-answer says so itself).
        if (e.message.find(kNothingWritten) != std::string::npos) break;
        if (e.message.find(kMayHaveBeenCommitted) == std::string::npos) {
          e.message += "; the batch may or may not have been appended";
        }
        e.message +=
            ": check with bel events list (a retry of events with their event_id set is "
            "safe)";
        break;
      default:
        e.message += "; nothing was appended";  // rejected before anything was stored
    }
    return ctx.fail(e);
  }
  if (*format == Format::json) {
    for (const auto& ack : *acks) std::printf("%s\n", to_json_with_defaults(ack).c_str());
  } else {
    Table table({"IDX", "EVENT_ID", "DUPLICATE"});
    for (const auto& ack : *acks) {
      table.add_row({std::to_string(ack.idx()), ack.event_id(), ack.duplicate() ? "yes" : "no"});
    }
    table.print(stdout);
  }
  std::fflush(stdout);
  refresh_snapshots_after_write(ctx, *session);
}

}  // namespace

void add_append_command(CLI::App& app, Context& ctx) {
  auto* cmd = add_log_command(
      app, ctx, "append",
      "Append JSON lines of BuildEvent (proto3 JSON) as one atomic batch; prints the idx of each\n"
      "(with --format json, JSON lines again: one ack per event, in the input's order).\n"
      "A bad line appends nothing and names the line, field and rule; reading stops there.\n"
      "A batch is at most 1000000 events and 64 MiB of encoded events, and at most the log's\n"
      "pending limit (100000 events on a log this command opens itself): split larger inputs.",
      LogUse::write);
  auto path = std::make_shared<std::string>("-");
  not_empty(cmd->add_option("FILE", *path, "File of JSON lines, or - for standard input"))
      ->capture_default_str();
  cmd->callback([&ctx, path] { run_append(ctx, *path); });
}

}  // namespace bel::app
