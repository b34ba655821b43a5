#include "messages/filter_match.h"

#include <algorithm>
#include <string_view>

#include "messages/event_keys.h"
#include "messages/glob.h"

namespace bel {
namespace {

// Each value non-empty and well-formed UTF-8 (no stored event holds another string).
template <class Repeated>
Status check_values(const Repeated& values, const char* field) {
  for (int i = 0; i < values.size(); ++i) {
    const std::string name = std::string("filter ") + field + "[" + std::to_string(i) + "]";
    if (values.Get(i).empty()) return make_error(ErrorCode::invalid_argument, name + " is empty");
    BEL_RETURN_IF_ERROR(check_utf8(name, values.Get(i)));
  }
  return ok_status();
}

template <class Repeated>
bool contains(const Repeated& wanted, std::string_view value) {
  return std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

template <class Repeated>
void describe(std::string& out, const char* name, const Repeated& values) {
  if (values.empty()) return;
  if (!out.empty()) out += ' ';
  out += name;
  out += '=';
  for (int i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values.Get(i);
  }
}

}  // namespace

Status check_filter(const EventFilter& filter) {
  BEL_RETURN_IF_ERROR(check_values(filter.partition_refs(), "partition_refs"));
  BEL_RETURN_IF_ERROR(check_values(filter.partition_patterns(), "partition_patterns"));
  BEL_RETURN_IF_ERROR(check_values(filter.job_labels(), "job_labels"));
  BEL_RETURN_IF_ERROR(check_values(filter.job_run_ids(), "job_run_ids"));
  BEL_RETURN_IF_ERROR(check_values(filter.build_request_ids(), "build_request_ids"));
  BEL_RETURN_IF_ERROR(check_values(filter.event_types(), "event_types"));
  if (filter.partition_patterns_size() > kMaxFilterPatterns) {
    return make_error(
        ErrorCode::invalid_argument,
        "filter partition_patterns: " + std::to_string(filter.partition_patterns_size()) +
            " patterns, more than " + std::to_string(kMaxFilterPatterns) +
            " (one glob can match many refs: [0-9], *)");
  }
  for (const auto& pattern : filter.partition_patterns()) {
    if (auto ok = check_glob(pattern); !ok.ok()) return ok.error().with_context("filter");
  }
  for (const auto& type : filter.event_types()) {
    if (!event_type_number(type)) {
      std::string known;
      for (const auto& name : event_type_names()) known += (known.empty() ? "" : ", ") + name;
      return make_error(ErrorCode::invalid_argument,
                        "filter event_types: unknown event type \"" + type + "\" (known: " +
                            known + ")");
    }
  }
  return ok_status();
}

bool event_matches(const EventFilter& filter, const BuildEvent& event) {
  if (!filter.build_request_ids().empty() &&
      std::find(filter.build_request_ids().begin(), filter.build_request_ids().end(),
                event.build_request_id()) == filter.build_request_ids().end()) {
    return false;
  }
  if (!filter.event_types().empty()) {
    std::string_view type = event_type_name(event);
    if (std::find(filter.event_types().begin(), filter.event_types().end(), type) ==
        filter.event_types().end()) {
      return false;
    }
  }
  const bool by_partition =
      !filter.partition_refs().empty() || !filter.partition_patterns().empty();
  if (!by_partition && filter.job_labels().empty() && filter.job_run_ids().empty()) return true;

  // Each wanted kind must name one of the wanted values (or, for partitions, match a pattern).
  bool partition_hit = !by_partition;
  bool label_hit = filter.job_labels().empty();
  bool run_hit = filter.job_run_ids().empty();
  for_each_key(event, [&](KeyKind kind, std::string_view key) {
    switch (kind) {
      case KeyKind::partition:
        if (!partition_hit) {
          partition_hit = contains(filter.partition_refs(), key);
          for (int i = 0; !partition_hit && i < filter.partition_patterns().size(); ++i) {
            partition_hit = glob_match(filter.partition_patterns(i), key);
          }
        }
        break;
      case KeyKind::job_label:
        if (!label_hit) label_hit = contains(filter.job_labels(), key);
        break;
      case KeyKind::job_run_id:
        if (!run_hit) run_hit = contains(filter.job_run_ids(), key);
        break;
      case KeyKind::build_request:
        break;
    }
  });
  return partition_hit && label_hit && run_hit;
}

std::string describe_filter(const EventFilter& filter) {
  std::string out;
  describe(out, "partition", filter.partition_refs());
  describe(out, "pattern", filter.partition_patterns());
  describe(out, "job", filter.job_labels());
  describe(out, "job_run", filter.job_run_ids());
  describe(out, "build", filter.build_request_ids());
  describe(out, "type", filter.event_types());
  return out.empty() ? "all" : out;
}

}  // namespace bel
