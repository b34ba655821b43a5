// bel::actors::BuildsRepository: the questions and the one command about build requests that
// the console (`bel builds ...`), the coordinator and build workers use — list, show, events and
// cancel — over an ApiClient.
//
//   bel::actors::ApiClient client(system, api);
//   bel::actors::BuildsRepository builds(client);
//   auto ack = builds.cancel("br-7", "superseded by br-9");
//   if (!ack.ok()) return ack.error();          // invalid_transition when br-7 already ended
//   auto summary = builds.show("br-7", ack->idx());
//   // summary->status_code() == BUILD_REQUEST_CANCELLED
//   // summary->cancel_reason() == "superseded by br-9"
//
// Every read takes an optional `min_idx` (read-your-writes, SPEC section 4): the answer reflects
// at least that idx; pass the idx of an ack to see your own write. 0 asks for no particular idx.
// Every method checks its arguments first and fails with invalid_argument naming the field
// ("build_request_id is empty", "min_idx -1 is negative"); other errors are the ApiClient's.
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The event that cancels build request `build_request_id` with `reason`. event_id empty lets the
// log assign one; timestamp 0 lets the log assign "now". invalid_argument, naming the field, for
// an empty build_request_id or reason.
Result<BuildEvent> make_build_cancel_event(const std::string& build_request_id,
                                           const std::string& reason,
                                           const std::string& event_id = "");

class BuildsRepository {
 public:
  explicit BuildsRepository(ApiClient& api) : api_(api) {}

  // One page of build requests, newest first by first_idx (SPEC section 4). request.limit 0
  // means 50; a bad limit, offset or status is invalid_argument. The answer reflects at least the
  // larger of `min_idx` and request.min_idx.
  Result<BuildsListResponse> list(const BuildsListRequest& request, int64_t min_idx = 0) const;

  // The build request's summary. not_found for an id the log (as of the answer) has never seen;
  // a caller that just wrote the request should pass its ack's idx as `min_idx`.
  Result<BuildRequestSummary> show(const std::string& build_request_id, int64_t min_idx = 0) const;

  // Up to `limit` events of the build request with idx > `since_idx`, ascending; continue from
  // next_idx while has_more. limit 0 means 1000; the maximum is 10000. An unknown id is not an
  // error: an empty page. The page reads the log itself, which holds every acknowledged event,
  // so it always reflects `min_idx` (checked only: a negative value is invalid_argument).
  Result<EventPage> events(const std::string& build_request_id, int64_t since_idx = 0,
                           int limit = 0, int64_t min_idx = 0) const;

  // Appends a BuildCancelEvent: the build request becomes BUILD_REQUEST_CANCELLED with `reason`
  // as its cancel_reason, as seen by reads with min_idx = the ack's idx. The log decides, so there
  // is no lookup first: cancelling a terminal build request (completed, failed or already
  // cancelled) fails with invalid_transition and stores nothing — its message says so plainly:
  // "br-7 already completed at idx 42; nothing was changed" — and so does an id the log has
  // never seen (in a log in lenient mode both are stored, with a warning). Pass a fixed
  // `event_id` to retry safely: a retry of the same call (same arguments) is acked with the first
  // append's idx and duplicate = true, even though the build request is cancelled by then.
  Result<AppendAck> cancel(const std::string& build_request_id, const std::string& reason,
                           const std::string& event_id = "") const;

 private:
  // invalid_transition "<id> already <status> at idx N; nothing was changed" when the build
  // request has ended; nothing otherwise (then the log's own message stands).
  std::optional<Error> ended_build_error(const std::string& build_request_id, ErrorCode code) const;

  ApiClient& api_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_
