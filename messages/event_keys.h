// What an event is about: its type name and the partitions, job labels and job run ids it names.
// These define the filter semantics of SPEC 3.2 and the index rows every backend keeps.
//
//   bel::EventKeys keys = bel::keys_of(event);
//   for (const auto& ref : keys.partitions) index(ref, event.idx());
#ifndef BEL_MESSAGES_EVENT_KEYS_H_
#define BEL_MESSAGES_EVENT_KEYS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.h"

namespace bel {

// Index kinds, stored as integers by backends: never renumber. build_request keys an event by
// its build_request_id (exactly one per event, so keys_of leaves it out).
enum class KeyKind : int { partition = 1, job_label = 2, job_run_id = 3, build_request = 4 };

struct EventKeys {
  std::vector<std::string> partitions;   // distinct, in order of first appearance
  std::vector<std::string> job_labels;   // distinct
  std::vector<std::string> job_run_ids;  // distinct, non-empty
};

// The partitions, job labels and job run ids of `event` as SPEC 3.2 defines them. Empty strings
// are left out.
EventKeys keys_of(const BuildEvent& event);

// The oneof field name of the event's type ("partition_event"), or "" when none is set.
std::string_view event_type_name(const BuildEvent& event);

// The oneof field number of the event's type (10..17), or 0 when none is set.
int event_type_number(const BuildEvent& event);

// The field number of the event type called `name`, or nothing when no type has that name.
std::optional<int> event_type_number(std::string_view name);

// Every event type name, in field-number order.
const std::vector<std::string>& event_type_names();

}  // namespace bel

#endif  // BEL_MESSAGES_EVENT_KEYS_H_
