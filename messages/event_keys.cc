#include "messages/event_keys.h"

#include <cctype>

namespace bel {

EventKeys keys_of(const BuildEvent& event) {
  EventKeys keys;
  for_each_key(event, [&](KeyKind kind, std::string_view key) {
    switch (kind) {
      case KeyKind::partition:
        keys.partitions.emplace_back(key);
        break;
      case KeyKind::job_label:
        keys.job_labels.emplace_back(key);
        break;
      case KeyKind::job_run_id:
        keys.job_run_ids.emplace_back(key);
        break;
      case KeyKind::build_request:
        break;
    }
  });
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

std::optional<std::string> event_type_named(std::string_view given) {
  std::string name(given);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (event_type_number(name)) return name;
  if (event_type_number(name + "_event")) return name + "_event";
  return std::nullopt;
}

}  // namespace bel
