// EventFilter semantics (SPEC 3.2) evaluated in memory, for backends without a query engine and
// for following a live stream.
//
//   BEL_RETURN_IF_ERROR(bel::check_filter(filter));
//   if (bel::event_matches(filter, event)) out.push_back(event);
#ifndef BEL_MESSAGES_FILTER_MATCH_H_
#define BEL_MESSAGES_FILTER_MATCH_H_

#include "messages/error.h"
#include "messages/types.h"

namespace bel {

// invalid_argument, naming the field and value, for an unknown event type name, a malformed
// pattern or an empty value in any field.
Status check_filter(const EventFilter& filter);

// The most partition_patterns one filter may hold: each is a term of the query's expression, and
// SQLite refuses expressions past 1000 deep (~450 patterns), so a filter of hundreds would
// otherwise fail as the log being unavailable. A hundred globs cover any real selection.
inline constexpr int kMaxFilterPatterns = 100;

// True when `event` satisfies every non-empty field of `filter` (values within a field are
// ORed; partition_refs and partition_patterns together are one criterion).
// REQUIRES: check_filter(filter).ok()
bool event_matches(const EventFilter& filter, const BuildEvent& event);

// A human summary of the filter for messages and logs: "partition=a,b type=job_event".
std::string describe_filter(const EventFilter& filter);

}  // namespace bel

#endif  // BEL_MESSAGES_FILTER_MATCH_H_
