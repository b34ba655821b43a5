// The dashboard (issue 12): server-rendered HTML pages answered through the client tier's
// repositories, usable without JavaScript and live with it (actors/web/web_html.h).
//
//   GET /                    activity: counts, recent builds, recent partitions
//   GET /builds              build requests (?status=, ?offset=)
//   GET /builds/{id}         a build: status, why it failed, partitions (delegation shown), job
//                            runs with their durations on a timeline
//   GET /partitions          partitions (?pattern= glob, ?status=, ?offset=)
//   GET /partitions/{ref}    a partition: status, active builds, history
//   GET /jobs                every job label: runs, success rate, mean duration
//   GET /jobs/{label}        a job label's metrics and recent runs
//   GET /search?q=           a build id, partition ref or glob, job label or job run id
// {id}, {ref} and {label} are base64url without padding, as in the API. Every string from the
// log is HTML-escaped. An error is an HTML page with the status of http_status() and the code.
//
// Thread-safety: the handlers run on the server's threads; `client` must outlive the server.
#ifndef BEL_ACTORS_WEB_WEB_PAGES_H_
#define BEL_ACTORS_WEB_WEB_PAGES_H_

#include <string>

#include "actors/client/api_client.h"
#include "actors/net/http_server.h"
#include "messages/error.h"

namespace bel::actors::web {

void add_page_routes(HttpServer& server, ApiClient& client);

// The pages of a build and of a partition (actors/web/web_detail_pages.cc): the HTML document,
// or the error that prevented it.
Result<std::string> build_page(ApiClient& client, const std::string& build_request_id);
Result<std::string> partition_page(ApiClient& client, const std::string& partition_ref);

// The HTML page that shows `error` (for unauthorized: how to sign in again).
std::string error_page(const Error& error);
// Answers `page` as HTML, or its error as an HTML page with the error's HTTP status.
void reply_page(httplib::Response& response, const Result<std::string>& page);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_PAGES_H_
