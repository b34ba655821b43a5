// Output for people and scripts (SPEC section 6): a table on a terminal, JSON otherwise or with
// --format json; times in UTC ISO 8601; statuses in their short form in tables.
//
//   bel::app::Table t({"IDX", "TIME", "TYPE"});
//   t.add_row({"1", bel::app::format_time(ev.timestamp()), "partition_event"});
//   t.print(stdout);
#ifndef BEL_APP_OUTPUT_H_
#define BEL_APP_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::app {

enum class Format { table, json };

// "table" / "json"; empty means table when standard output is a terminal, json otherwise.
// invalid_argument for anything else.
Result<Format> resolve_format(const std::string& text);

// Unix nanoseconds as "2026-11-25T18:25:42.123Z"; "-" for 0.
std::string format_time(int64_t unix_ns);

// Columns padded to their widest cell by display width; the last column is not padded. Every
// cell is made printable (control characters escaped); the last column's, the free text (a
// message, a detail), is cut to kMaxCellWidth columns with "…" (JSON output keeps whole values).
// The others (ids, refs, labels, times, counts) are never cut: a cut id pasted into the next
// command would name something else.
// On a terminal a table's last column (the free text: a message, a detail) is also cut to the
// room the others leave, when that leaves it 10 columns or more; the others (keys, times,
// counts) are never cut, so a row wider still wraps. Piped or redirected, rows keep their cells'
// widths.
class Table {
 public:
  static constexpr size_t kMaxCellWidth = 60;

  explicit Table(std::vector<std::string> header);
  // Leaves the last column's cells whole (still printable) in the rows added after this call: for
  // a show command's table whose last column is why (a failed run's message), which operators
  // read in full. The last column is never padded, so the others stay aligned.
  void keep_last_column_whole() { whole_last_ = true; }
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  void print(std::FILE* out) const;
  // Fitted to `columns` columns (0: no limit).
  void print(std::FILE* out, size_t columns) const;
  // One line: each cell but the last padded to its width + 2 columns. REQUIRES: the cells are
  // printable (see app/text.h).
  static std::string format_row(const std::vector<std::string>& cells,
                                const std::vector<size_t>& widths);

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  bool whole_last_ = false;
};

// The columns tables fit on `out`: its terminal's width ($COLUMNS, else 80, when the terminal
// does not say); 0 (no limit) when `out` is not a terminal.
size_t table_columns(std::FILE* out);

// The columns of the terminal on `fd`: its size, else $COLUMNS, else 80.
int terminal_columns(int fd);

// Short one-line descriptions of an event for tables.
std::string event_subject(const BuildEvent& event);  // partition ref, job run id, ...
std::string event_status(const BuildEvent& event);   // short status: "building", "cancelled"
std::string event_detail(const BuildEvent& event);   // message / reason / delegation target

// Prints `page` as a table (with a hint to continue when has_more).
void print_events_table(const EventPage& page, std::FILE* out);
// The same for a show command: each event's DETAIL (message, reason) whole.
void print_events_table_whole(const EventPage& page, std::FILE* out);
// The same for a newest-first page (events list --newest-first): the hint to continue names
// --before.
void print_newest_first_events_table(const EventPage& page, std::FILE* out);
// The cells of one event's table row (raw text; Table and EventStream make them printable).
std::vector<std::string> event_row(const BuildEvent& event);

// Events printed one at a time as they arrive (`events tail`): a header before the first, then
// one aligned line per event, with fixed column widths.
class EventStream {
 public:
  explicit EventStream(std::FILE* out);
  void print(const BuildEvent& event);

 private:
  std::FILE* out_;
  bool header_printed_ = false;
  std::vector<size_t> widths_;
};

// True when `out` is a pipe or a Unix socket whose reader has gone: a write would raise SIGPIPE. A
// command that waits for something to print (`events tail`) asks while idle, as `tail -f` does,
// so that `bel events tail | head -1` ends once head has, not at the next event.
bool output_reader_gone(std::FILE* out);

// Prints "bel: <message>" to stderr.
void print_error(const Error& error);

// Bad usage (exit code 2): "bel: invalid_argument: <message>\n<hint>", the text made printable,
// the code SPEC section 7 gives a bad argument, as print_error names every other error's.
std::string usage_error_text(const std::string& message, const std::string& hint);
void print_usage_error(const std::string& message, const std::string& hint);

}  // namespace bel::app

#endif  // BEL_APP_OUTPUT_H_
