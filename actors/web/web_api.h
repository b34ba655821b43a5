// The web API (issue 12): the log's questions and three operator commands as JSON over HTTP, on
// the coordinator's HttpServer, answered through the client tier's repositories. docs/web.md is
// the reference (endpoints, parameters, statuses).
//
//   GET  /api/v1/activity                      ActivityResponse
//   GET  /api/v1/builds?limit=&offset=&status=  BuildsListResponse
//   GET  /api/v1/builds/{id}                    BuildRequestSummary
//   GET  /api/v1/builds/{id}/events?since=&limit=        EventPage
//   GET  /api/v1/partitions?limit=&offset=&status=&pattern=   PartitionsListResponse
//   GET  /api/v1/partitions/{ref}               PartitionStatusResponse
//   GET  /api/v1/partitions/{ref}/active-builds ActiveBuildsResponse
//   GET  /api/v1/partitions/{ref}/events?since=&limit=    EventPage
//   GET  /api/v1/jobs                           JobMetricsList
//   GET  /api/v1/jobs/{label}                   JobMetrics
//   GET  /api/v1/job-runs?limit=&offset=&job_label=&status=&build_request_id=   JobRunsListResponse
//   GET  /api/v1/job-runs/{id}                  JobRunSummary
//   GET  /api/v1/events?since=&limit=&<SPEC 3.2 filter>   EventPage
//   POST /api/v1/builds/{id}/cancel             AppendAck   (?reason=)
//   POST /api/v1/job-runs/{id}/cancel           AppendAck   (?reason=)
//   POST /api/v1/partitions/{ref}/invalidate    AppendAck   (?reason=&build_request_id=)
// {id}, {ref} and {label} are base64url without padding. Every read takes ?min_idx=. Every answer
// carries the header Bel-As-Of-Idx (and the message's own as_of_idx field where it has one);
// errors are JSON {code, message} with the status of http_status(). The token is checked by the
// server before any of these runs.
//
// Thread-safety: the handlers run on the server's threads, several at once; `client` is
// thread-safe and must outlive the server.
#ifndef BEL_ACTORS_WEB_WEB_API_H_
#define BEL_ACTORS_WEB_WEB_API_H_

#include "actors/client/api_client.h"
#include "actors/net/http_server.h"

namespace bel::actors::web {

inline constexpr const char* kApiPath = "/api/v1/";
// The build_request_id of an invalidation made through the web API without one (SPEC section 2:
// an operator's action).
inline constexpr const char* kWebOperator = "web";

// Registers the routes above on `server`.
void add_api_routes(HttpServer& server, ApiClient& client);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_API_H_
