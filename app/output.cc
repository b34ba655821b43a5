#include "app/output.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "app/text.h"
#include "messages/escape.h"
#include "messages/event_keys.h"
#include "messages/status_names.h"

namespace bel::app {

Result<Format> resolve_format(const std::string& text) {
  if (text.empty()) return isatty(STDOUT_FILENO) ? Format::table : Format::json;
  if (text == "table") return Format::table;
  if (text == "json") return Format::json;
  return make_error(ErrorCode::invalid_argument,
                    "--format: \"" + text + "\" is not a format (expected table or json)");
}

bool output_reader_gone(std::FILE* out) {
  const int fd = fileno(out);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    return false;  // a file or a terminal has no reader to lose
  }
  // The writing end of a pipe whose reader closed polls as POLLERR, a Unix socket's as POLLHUP
  // (a TCP peer that left shows only when written to).
  struct pollfd p {};
  p.fd = fd;
  p.events = 0;
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

std::string format_time(int64_t unix_ns) {
  if (unix_ns == 0) return "-";
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000);
  int64_t millis = (unix_ns % 1000000000) / 1000000;
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, millis);
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(header_.size());
  // Only the last column, the free text, is cut: an id, a ref, a label cut short would be pasted
  // into the next command and name something else, or nothing.
  for (size_t i = 0; i < cells.size(); ++i) {
    const bool cut_here = !whole_last_ && i + 1 == cells.size();
    cells[i] = cut_here ? fit(cells[i], kMaxCellWidth) : printable(cells[i]);
  }
  rows_.push_back(std::move(cells));
}

std::string Table::format_row(const std::vector<std::string>& cells,
                              const std::vector<size_t>& widths) {
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i + 1 == cells.size() || i >= widths.size()) {
      s += cells[i];
    } else {
      // A cell wider than its column (a key in events tail's fixed widths) keeps two spaces.
      s += pad(cells[i], std::max(widths[i], display_width(cells[i])) + 2);
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

namespace {

// `width` (each column's, the last one's included) with the last column narrowed so that a row
// takes at most `columns` (0: no limit), to no fewer than 10 columns nor its header's. The
// others are keys, times and counts that a cut would make useless. A row that would not fit
// even so keeps its last column (it wraps anyway, and a cut would only lose text).
std::vector<size_t> fit_widths(std::vector<size_t> width, const std::vector<std::string>& header,
                               size_t columns) {
  if (columns == 0 || width.empty()) return width;
  size_t row = 2 * (width.size() - 1);
  for (size_t w : width) row += w;
  if (row <= columns) return width;
  size_t& last = width.back();
  const size_t floor = std::min(last, std::max<size_t>(10, display_width(header.back())));
  const size_t over = row - columns;
  if (last < floor + over) return width;
  last -= over;
  return width;
}

}  // namespace

size_t table_columns(std::FILE* out) {
  const int fd = fileno(out);
  if (fd < 0 || isatty(fd) != 1) return 0;
  return static_cast<size_t>(terminal_columns(fd));
}

int terminal_columns(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  const char* columns = std::getenv("COLUMNS");
  const int given = columns != nullptr ? std::atoi(columns) : 0;
  return given > 0 ? given : 80;
}

void Table::print(std::FILE* out) const { print(out, table_columns(out)); }

void Table::print(std::FILE* out, size_t columns) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  const std::vector<size_t> fitted = whole_last_ ? width : fit_widths(width, header_, columns);
  auto print_row = [&](const std::vector<std::string>& row) {
    if (fitted == width) return std::fprintf(out, "%s\n", format_row(row, width).c_str());
    std::vector<std::string> cells = row;
    cells.back() = cut(cells.back(), fitted.back());
    return std::fprintf(out, "%s\n", format_row(cells, fitted).c_str());
  };
  print_row(header_);
  for (const auto& r : rows_) print_row(r);
}

namespace {

// The table cells of `event` its type decides: SUBJECT, STATUS and DETAIL.
struct EventCells {
  std::string subject;
  std::string status;
  std::string detail;
};

template <class Status>
std::string short_code_status(Status status) {
  return short_status_name(status_name(status));
}

// A build request's requested partitions: the first, and how many more.
template <class Refs>
std::string requested_text(const Refs& parts) {
  if (parts.empty()) return "";
  return parts.size() == 1 ? parts[0].str()
                           : fmt::format("{} (+{})", parts[0].str(), parts.size() - 1);
}

EventCells event_cells(const BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      const auto& e = event.build_request_event();
      return {requested_text(e.requested_partitions()), short_code_status(e.status_code()),
              e.message()};
    }
    case BuildEvent::kPartitionEvent: {
      const auto& e = event.partition_event();
      return {e.partition_ref().str(), short_code_status(e.status_code()), e.message()};
    }
    case BuildEvent::kJobEvent: {
      const auto& e = event.job_event();
      return {e.job_run_id() + " " + e.job_label().label(), short_code_status(e.status_code()),
              e.message()};
    }
    case BuildEvent::kDelegationEvent: {
      const auto& e = event.delegation_event();
      return {e.partition_ref().str(), "delegated",
              "to " + e.delegated_to_build_request_id() +
                  (e.message().empty() ? "" : ": " + e.message())};
    }
    case BuildEvent::kJobGraphEvent:
      return {event.job_graph_event().job_graph().label(), "", event.job_graph_event().message()};
    case BuildEvent::kPartitionInvalidationEvent: {
      const auto& e = event.partition_invalidation_event();
      return {e.partition_ref().str(), "invalidated", e.reason()};
    }
    case BuildEvent::kJobRunCancelEvent:
      return {event.job_run_cancel_event().job_run_id(), "cancelled",
              event.job_run_cancel_event().reason()};
    case BuildEvent::kBuildCancelEvent:
      return {"", "cancelled", event.build_cancel_event().reason()};
    default:
      return {};
  }
}

}  // namespace

std::string event_subject(const BuildEvent& event) { return event_cells(event).subject; }
std::string event_status(const BuildEvent& event) { return event_cells(event).status; }
std::string event_detail(const BuildEvent& event) { return event_cells(event).detail; }

std::vector<std::string> event_row(const BuildEvent& event) {
  std::string type(event_type_name(event));
  if (type.size() > 6 && type.compare(type.size() - 6, 6, "_event") == 0)
    type.resize(type.size() - 6);
  EventCells cells = event_cells(event);
  return {
      std::to_string(event.idx()), format_time(event.timestamp()), event.build_request_id(), type,
      std::move(cells.subject),    std::move(cells.status),        std::move(cells.detail)};
}

const std::vector<std::string>& event_header() {
  static const std::vector<std::string> header = {"IDX",     "TIME (UTC)", "BUILD", "TYPE",
                                                  "SUBJECT", "STATUS",     "DETAIL"};
  return header;
}

EventStream::EventStream(std::FILE* out) : out_(out) {}

void EventStream::print(const BuildEvent& event) {
  // A stream cannot measure rows it has not seen: fixed widths, cells fitted to them.
  static const std::vector<size_t> widths = {8, 24, 24, 22, 40, 11, Table::kMaxCellWidth};
  if (!header_printed_) {
    // Fitted to the terminal once, at the header: later lines keep its columns.
    widths_ = fit_widths(widths, event_header(), table_columns(out_));
    std::fprintf(out_, "%s\n", Table::format_row(event_header(), widths_).c_str());
    header_printed_ = true;
  }
  // Keys whole (a wider one moves the rest of its row right); only DETAIL is cut.
  auto cells = event_row(event);
  for (size_t i = 0; i + 1 < cells.size(); ++i) cells[i] = printable(cells[i]);
  cells.back() = fit(cells.back(), widths_.back());
  std::fprintf(out_, "%s\n", Table::format_row(cells, widths_).c_str());
}

namespace {

void print_events_page(const EventPage& page, std::FILE* out, const char* continue_flag,
                       bool whole_details = false) {
  if (page.events_size() == 0) {
    std::fprintf(out, "no events match\n");
    return;
  }
  Table table(event_header());
  if (whole_details) table.keep_last_column_whole();
  for (const auto& e : page.events()) table.add_row(event_row(e));
  table.print(out);
  if (page.has_more()) {
    std::fprintf(out, "... more events: add %s %lld\n", continue_flag,
                 static_cast<long long>(page.next_idx()));
  }
}

}  // namespace

void print_events_table(const EventPage& page, std::FILE* out) {
  print_events_page(page, out, "--since");
}

void print_events_table_whole(const EventPage& page, std::FILE* out) {
  print_events_page(page, out, "--since", /*whole_details=*/true);
}

void print_newest_first_events_table(const EventPage& page, std::FILE* out) {
  print_events_page(page, out, "--before");
}

namespace {

// An error's text as a terminal shows it: messages quote what the user or the log gave (ids,
// refs), so never a raw control character, and a key of tens of kilobytes does not fill the
// screen: past 2000 columns the text is cut, saying how long it was.
std::string shown_error(const Error& error) {
  const std::string text = error.to_string();
  constexpr size_t kMaxColumns = 2000;
  std::string shown = printable(text);
  if (display_width(shown) <= kMaxColumns) return shown;
  return fit(text, kMaxColumns) + " (cut here: " + std::to_string(text.size()) + " bytes in all)";
}

}  // namespace

void print_error(const Error& error) {
  std::fprintf(stderr, "bel: %s\n", shown_error(error).c_str());
}

std::string usage_error_text(const std::string& message, const std::string& hint) {
  return "bel: " + shown_error(make_error(ErrorCode::invalid_argument, message)) + "\n" + hint;
}

void print_usage_error(const std::string& message, const std::string& hint) {
  std::fputs(usage_error_text(message, hint).c_str(), stderr);
}

}  // namespace bel::app
