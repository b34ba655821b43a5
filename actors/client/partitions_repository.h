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
// Every read takes an optional `min_idx` (read-your-writes, SPEC section 4): the answer reflects
// at least that idx; pass the idx of an ack to see your own write. 0 asks for no particular idx.
// Every method checks its arguments first and fails with invalid_argument naming the field
// ("partition_ref is empty", "min_idx -1 is negative"); other errors are the ApiClient's.
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// "operator:<user>": the build_request_id of an operator's invalidation (SPEC sections 2 and 6).
std::string operator_id(const std::string& user);

// What `bel partitions show REF` prints (SPEC section 6).
struct PartitionDetail {
  PartitionStatusResponse status;
  std::vector<std::string> active_builds;  // build request ids, ascending
  std::vector<BuildEvent> recent_events;   // the partition's last events, ascending idx
};

// The event that invalidates partition `partition_ref` on behalf of build request
// `build_request_id`, with `reason` (the status message it leaves). event_id empty lets the log
// assign one; timestamp 0 lets the log assign "now". invalid_argument, naming the field, for an
// empty partition_ref, reason or build_request_id.
Result<BuildEvent> make_partition_invalidation_event(const std::string& partition_ref,
                                                     const std::string& reason,
                                                     const std::string& build_request_id,
                                                     const std::string& event_id = "");

class PartitionsRepository {
 public:
  // The most recent events show() reads (one newest-first page at most).
  static constexpr int kMaxRecentEvents = 10000;

  explicit PartitionsRepository(ApiClient& api) : api_(api) {}

  // One page of partitions, newest first by last_idx (SPEC section 4). request.limit 0 means 50;
  // a bad limit, offset, pattern or status is invalid_argument. The answer reflects at least the
  // larger of `min_idx` and request.min_idx.
  Result<PartitionsListResponse> list(const PartitionsListRequest& request,
                                      int64_t min_idx = 0) const;

  // The partition's status. A ref never seen is not an error: status PARTITION_UNKNOWN.
  Result<PartitionStatusResponse> status(const std::string& partition_ref,
                                         int64_t min_idx = 0) const;

  // The build requests currently building the partition, ascending; none is not an error.
  Result<ActiveBuildsResponse> active_builds(const std::string& partition_ref,
                                             int64_t min_idx = 0) const;

  // Up to `limit` events of the partition with idx > `since_idx`, ascending; continue from
  // next_idx while has_more. limit 0 means 1000; the maximum is 10000. The page reads the log
  // itself, which holds every acknowledged event, so it always reflects `min_idx` (checked
  // only: a negative value is invalid_argument).
  Result<EventPage> events(const std::string& partition_ref, int64_t since_idx = 0, int limit = 0,
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

 private:
  ApiClient& api_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_PARTITIONS_REPOSITORY_H_
