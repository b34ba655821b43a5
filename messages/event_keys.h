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
// are left out. Copies each key: for_each_key below visits the same keys without copying.
EventKeys keys_of(const BuildEvent& event);

// Calls f(KeyKind, std::string_view) for every key keys_of(event) lists, kind by kind
// (partitions, then job labels, then job run ids) and in its order. The views point into
// `event`; nothing is allocated (`bel check`'s scans and the storages' filtered reads, through
// event_matches, call this once per event).
template <class F>
void for_each_key(const BuildEvent& event, F&& f) {
  // A repeated field's refs, each where it first appears.
  const auto refs = [&](const auto& list) {
    for (int i = 0; i < list.size(); ++i) {
      const std::string& ref = list.Get(i).str();
      if (ref.empty()) continue;
      bool seen = false;
      for (int j = 0; j < i && !seen; ++j) seen = list.Get(j).str() == ref;
      if (!seen) f(KeyKind::partition, std::string_view(ref));
    }
  };
  const auto one = [&](KeyKind kind, const std::string& key) {
    if (!key.empty()) f(kind, std::string_view(key));
  };
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent:
      refs(event.build_request_event().requested_partitions());
      break;
    case BuildEvent::kPartitionEvent:
      one(KeyKind::partition, event.partition_event().partition_ref().str());
      one(KeyKind::job_run_id, event.partition_event().job_run_id());
      break;
    case BuildEvent::kJobEvent:
      refs(event.job_event().target_partitions());
      one(KeyKind::job_label, event.job_event().job_label().label());
      one(KeyKind::job_run_id, event.job_event().job_run_id());
      break;
    case BuildEvent::kDelegationEvent:
      one(KeyKind::partition, event.delegation_event().partition_ref().str());
      break;
    case BuildEvent::kJobGraphEvent:
      refs(event.job_graph_event().job_graph().outputs());
      break;
    case BuildEvent::kPartitionInvalidationEvent:
      one(KeyKind::partition, event.partition_invalidation_event().partition_ref().str());
      break;
    case BuildEvent::kJobRunCancelEvent:
      one(KeyKind::job_run_id, event.job_run_cancel_event().job_run_id());
      break;
    case BuildEvent::kBuildCancelEvent:
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
}

// The oneof field name of the event's type ("partition_event"), or "" when none is set.
std::string_view event_type_name(const BuildEvent& event);

// The oneof field number of the event's type (10..17), or 0 when none is set.
int event_type_number(const BuildEvent& event);

// The field number of the event type called `name`, or nothing when no type has that name.
std::optional<int> event_type_number(std::string_view name);

// The event type `given` names as a person writes it: the oneof field name in any case, with or
// without its "_event" ("Partition" and "PARTITION_EVENT" are "partition_event"); nothing when
// it names none. The console's --type and the web API's event_types read names so.
std::optional<std::string> event_type_named(std::string_view given);

// Every event type name, in field-number order.
const std::vector<std::string>& event_type_names();

}  // namespace bel

#endif  // BEL_MESSAGES_EVENT_KEYS_H_
