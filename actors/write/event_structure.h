// The structure rules of an appended event (SPEC section 2, "structure"): everything about one
// event that needs no other event. The transition rules, which need the log's state, are in
// transition_rules.h.
//
//   if (auto checked = bel::write::check_structure(event); !checked.ok()) {
//     return checked.error();  // invalid_event, "partition_event.partition_ref is empty"
//   }
//
// Pure code: no I/O, no clock, no CAF.
#ifndef BEL_ACTORS_WRITE_EVENT_STRUCTURE_H_
#define BEL_ACTORS_WRITE_EVENT_STRUCTURE_H_

#include <cstddef>
#include <optional>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::write {

inline constexpr size_t kMaxStringBytes = 64 * 1024;   // any string field
inline constexpr size_t kMaxEventBytes = 1024 * 1024;  // serialized event
inline constexpr size_t kMaxEventIdBytes = 256;

// Checks everything about `event` that needs no other event (SPEC section 2, "structure"):
// build_request_id set, one event type set, idx 0, non-empty partition refs / job run ids / job
// labels where the type needs them, enum values in range and not *_UNKNOWN, status_name equal to
// the code's name when non-empty, strings <= 64 KiB and well-formed UTF-8, the event <= 1 MiB, no
// control characters in partition refs or the event_id. Returns invalid_event with the field path
// in the message
// ("partition_event.partition_ref is empty"); the caller adds the batch position.
// `encoded_bytes`, when given, is event.ByteSizeLong() of the event as it is, which a caller that
// measured the event already passes so that it is not computed twice.
Status check_structure(const BuildEvent& event, std::optional<size_t> encoded_bytes = std::nullopt);

namespace detail {
// The two halves of check_structure's walk over every field, for tests that compare them: the
// fast check (generated accessors, no reflection) and the reflective walk it stands in for.
bool fields_pass_fast(const BuildEvent& event);
Status walk_fields(const BuildEvent& event, bool with_paths);
}  // namespace detail

}  // namespace bel::write

#endif  // BEL_ACTORS_WRITE_EVENT_STRUCTURE_H_
