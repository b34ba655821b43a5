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
// list, show and events are KeyedRepository's (repository.h: min_idx, argument checks,
// errors), keyed by build_request_id; list pages are newest first by first_idx.
#ifndef BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_

#include <cstdint>
#include <string>

#include "actors/client/api_client.h"
#include "actors/client/command_events.h"
#include "actors/client/repository.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The questions of BuildsRepository's list, show (a build request's summary) and events.
struct BuildsQuestions {
  static constexpr auto kList = &Query::mutable_builds_list;
  static constexpr auto kListAnswer = &QueryResult::mutable_builds_list;
  static constexpr std::string* (EventFilter::*kEventsKey)() = &EventFilter::add_build_request_ids;
  static constexpr auto kShow = &Query::mutable_build_summary;
  static constexpr auto kShowKey = &BuildSummaryRequest::mutable_build_request_id;
  static constexpr auto kShowAnswer = &QueryResult::mutable_build_summary;
};

class BuildsRepository : public KeyedRepository<BuildsQuestions> {
 public:
  using KeyedRepository::KeyedRepository;

  // Appends a BuildCancelEvent: the build request becomes BUILD_REQUEST_CANCELLED with `reason`
  // as its cancel_reason, as seen by reads with min_idx = the ack's idx. The log decides, so there
  // is no lookup first: cancelling a terminal build request (completed, failed or already
  // cancelled) fails with invalid_transition and stores nothing — its message says so plainly:
  // "br-7 already completed at idx 42; nothing was changed" — and an id the log has never seen
  // fails with not_found, stores nothing (in a log in lenient mode both are stored, with a
  // warning). Pass a fixed
  // `event_id` to retry safely: a retry of the same call (same arguments) is acked with the first
  // append's idx and duplicate = true, even though the build request is cancelled by then.
  Result<AppendAck> cancel(const std::string& build_request_id, const std::string& reason,
                           const std::string& event_id = "") const;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_BUILDS_REPOSITORY_H_
