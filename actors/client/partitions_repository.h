// bel::actors::PartitionsRepository: the questions and the one command about partitions that
// the console (`bel partitions ...`), the coordinator and build workers use — list, status,
// active builds, events, the `partitions show` detail, and invalidation — over an ApiClient.
//
//   bel::actors::ApiClient client(system, api);
//   bel::actors::PartitionsRepository partitions(client);
//   auto ack = partitions.invalidate("data/a", "bad upstream file", "br-7");
//   if (!ack.ok()) return ack.error();
//   auto status = partitions.status("data/a", ack->idx());   // reflects the invalidation
//   // status->status_code() == PARTITION_INVALIDATED, status->message() == "bad upstream file"
//
// list and events are ListingRepository's (repository.h: min_idx, argument checks,
// errors), keyed by partition_ref; list pages are newest first by last_idx.
#ifndef BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/client/api_client.h"
#include "actors/client/command_events.h"
#include "actors/client/repository.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// "operator:<user>": the build_request_id of an operator's invalidation (SPEC sections 2 and 6).
std::string operator_id(const std::string& user);
// Whether `id` has operator_id()'s form: "operator:" and a name.
bool is_operator_id(std::string_view id);

// What `bel partitions show REF` prints (SPEC section 6).
struct PartitionDetail {
  PartitionStatusResponse status;
  std::vector<std::string> active_builds;  // build request ids, ascending
  std::vector<BuildEvent> recent_events;   // the partition's last events, ascending idx
};

// The questions of PartitionsRepository's list and events.
struct PartitionsQuestions {
  static constexpr auto kList = &Query::mutable_partitions_list;
  static constexpr auto kListAnswer = &QueryResult::mutable_partitions_list;
  static constexpr std::string* (EventFilter::*kEventsKey)() = &EventFilter::add_partition_refs;
};

class PartitionsRepository : public ListingRepository<PartitionsQuestions> {
 public:
  // The most recent events show() reads (one newest-first page at most).
  static constexpr int kMaxRecentEvents = 10000;

  using ListingRepository::ListingRepository;

  // The partition's status. A ref never seen is not an error: status PARTITION_UNKNOWN.
  Result<PartitionStatusResponse> status(const std::string& partition_ref,
                                         int64_t min_idx = 0) const;

  // The build requests currently building the partition, ascending; none is not an error.
  Result<ActiveBuildsResponse> active_builds(const std::string& partition_ref,
                                             int64_t min_idx = 0) const;

  // Status, active builds and the last `recent` events (0..kMaxRecentEvents) of the partition.
  // The status reflects at least `min_idx`, the active builds at least the status's as_of_idx,
  // and the events everything committed when they were read; under concurrent appends the parts
  // may reflect different idx. The events are read newest-first (one page), not through the
  // partition's whole history. A ref never seen is not an error: status UNKNOWN, no builds, no
  // events.
  Result<PartitionDetail> show(const std::string& partition_ref, int recent = 20,
                               int64_t min_idx = 0) const;

  // Appends a PartitionInvalidationEvent for the partition on behalf of build request
  // `build_request_id` (the schema requires one). The partition's status becomes
  // PARTITION_INVALIDATED with `reason` as its message, as seen by reads with min_idx = the ack's
  // idx. The log rejects it with invalid_transition when that build request is terminal. An id
  // never received as a build request makes it an operator's action (SPEC section 2; use
  // operator_id()): valid in strict mode, part of no build summary. Pass a fixed `event_id` to
  // retry safely: a retry of the same call (same arguments) is acked with the first append's idx
  // and duplicate = true.
  Result<AppendAck> invalidate(const std::string& partition_ref, const std::string& reason,
                               const std::string& build_request_id,
                               const std::string& event_id = "") const;

  // For the surfaces where people type the id of an invalidation's build request (the console's
  // --build, the web API's build_request_id): ok when `build_request_id` has operator_id()'s form
  // or the log has received it as a build request (a BuildRequestEvent or BuildCancelEvent of it,
  // read from the log itself, so never behind an acknowledged append); else not_found. The log
  // takes any id it never received for an operator's, so without this a typo would be logged as an
  // operator named after it.
  Status check_invalidation_build(const std::string& build_request_id) const;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_
