#include "messages/event_keys.h"

#include <algorithm>

namespace bel {
namespace {

void add_distinct(std::vector<std::string>& out, const std::string& value) {
  if (value.empty()) return;
  if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
}

}  // namespace

EventKeys keys_of(const BuildEvent& event) {
  EventKeys keys;
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent:
      for (const auto& ref : event.build_request_event().requested_partitions()) {
        add_distinct(keys.partitions, ref.str());
      }
      break;
    case BuildEvent::kPartitionEvent:
      add_distinct(keys.partitions, event.partition_event().partition_ref().str());
      add_distinct(keys.job_run_ids, event.partition_event().job_run_id());
      break;
    case BuildEvent::kJobEvent:
      for (const auto& ref : event.job_event().target_partitions()) {
        add_distinct(keys.partitions, ref.str());
      }
      add_distinct(keys.job_labels, event.job_event().job_label().label());
      add_distinct(keys.job_run_ids, event.job_event().job_run_id());
      break;
    case BuildEvent::kDelegationEvent:
      add_distinct(keys.partitions, event.delegation_event().partition_ref().str());
      break;
    case BuildEvent::kJobGraphEvent:
      for (const auto& ref : event.job_graph_event().job_graph().outputs()) {
        add_distinct(keys.partitions, ref.str());
      }
      break;
    case BuildEvent::kPartitionInvalidationEvent:
      add_distinct(keys.partitions, event.partition_invalidation_event().partition_ref().str());
      break;
    case BuildEvent::kJobRunCancelEvent:
      add_distinct(keys.job_run_ids, event.job_run_cancel_event().job_run_id());
      break;
    case BuildEvent::kBuildCancelEvent:
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
  return keys;
}

const std::vector<std::string>& event_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    const auto* oneof = BuildEvent::descriptor()->FindOneofByName("event_type");
    for (int i = 0; i < oneof->field_count(); ++i) out.push_back(oneof->field(i)->name());
    return out;
  }();
  return names;
}

std::string_view event_type_name(const BuildEvent& event) {
  if (event.event_type_case() == BuildEvent::EVENT_TYPE_NOT_SET) return {};
  const auto* field = BuildEvent::descriptor()->FindFieldByNumber(event.event_type_case());
  return field->name();
}

int event_type_number(const BuildEvent& event) {
  return static_cast<int>(event.event_type_case());
}

std::optional<int> event_type_number(std::string_view name) {
  const auto* oneof = BuildEvent::descriptor()->FindOneofByName("event_type");
  for (int i = 0; i < oneof->field_count(); ++i) {
    if (oneof->field(i)->name() == name) return oneof->field(i)->number();
  }
  return std::nullopt;
}

}  // namespace bel
