#include "app/output.h"

#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

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
  rows_.push_back(std::move(cells));
}

void Table::print(std::FILE* out) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        s += row[i];
      } else {
        s += row[i];
        s.append(width[i] - row[i].size() + 2, ' ');
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

std::string event_subject(const BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      const auto& parts = event.build_request_event().requested_partitions();
      if (parts.empty()) return "";
      return parts.size() == 1 ? parts[0].str()
                               : fmt::format("{} (+{})", parts[0].str(), parts.size() - 1);
    }
    case BuildEvent::kPartitionEvent:
      return event.partition_event().partition_ref().str();
    case BuildEvent::kJobEvent:
      return event.job_event().job_run_id() + " " + event.job_event().job_label().label();
    case BuildEvent::kDelegationEvent:
      return event.delegation_event().partition_ref().str();
    case BuildEvent::kJobGraphEvent:
      return event.job_graph_event().job_graph().label();
    case BuildEvent::kPartitionInvalidationEvent:
      return event.partition_invalidation_event().partition_ref().str();
    case BuildEvent::kJobRunCancelEvent:
      return event.job_run_cancel_event().job_run_id();
    default:
      return "";
  }
}

std::string event_status(const BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent:
      return short_status_name(status_name(event.build_request_event().status_code()));
    case BuildEvent::kPartitionEvent:
      return short_status_name(status_name(event.partition_event().status_code()));
    case BuildEvent::kJobEvent:
      return short_status_name(status_name(event.job_event().status_code()));
    case BuildEvent::kDelegationEvent:
      return "delegated";
    case BuildEvent::kPartitionInvalidationEvent:
      return "invalidated";
    case BuildEvent::kJobRunCancelEvent:
    case BuildEvent::kBuildCancelEvent:
      return "cancelled";
    default:
      return "";
  }
}

std::string event_detail(const BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent:
      return event.build_request_event().message();
    case BuildEvent::kPartitionEvent:
      return event.partition_event().message();
    case BuildEvent::kJobEvent:
      return event.job_event().message();
    case BuildEvent::kDelegationEvent:
      return "to " + event.delegation_event().delegated_to_build_request_id() +
             (event.delegation_event().message().empty()
                  ? ""
                  : ": " + event.delegation_event().message());
    case BuildEvent::kJobGraphEvent:
      return event.job_graph_event().message();
    case BuildEvent::kPartitionInvalidationEvent:
      return event.partition_invalidation_event().reason();
    case BuildEvent::kJobRunCancelEvent:
      return event.job_run_cancel_event().reason();
    case BuildEvent::kBuildCancelEvent:
      return event.build_cancel_event().reason();
    default:
      return "";
  }
}

namespace {

// Keeps table cells on one line and of bounded width.
std::string cell(std::string text, size_t max = 60) {
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

}  // namespace

std::vector<std::string> event_row(const BuildEvent& event) {
  std::string type(event_type_name(event));
  if (type.size() > 6 && type.compare(type.size() - 6, 6, "_event") == 0) type.resize(type.size() - 6);
  return {std::to_string(event.idx()), format_time(event.timestamp()),
          cell(event.build_request_id(), 40), type,
          cell(event_subject(event)), event_status(event), cell(event_detail(event))};
}

void print_events_table(const EventPage& page, std::FILE* out) {
  Table table({"IDX", "TIME (UTC)", "BUILD", "TYPE", "SUBJECT", "STATUS", "DETAIL"});
  for (const auto& e : page.events()) table.add_row(event_row(e));
  table.print(out);
  if (page.has_more()) {
    std::fprintf(out, "... more events: add --since %lld\n",
                 static_cast<long long>(page.next_idx()));
  }
}

void print_error(const Error& error) {
  std::fprintf(stderr, "bel: %s\n", error.to_string().c_str());
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace bel::app
