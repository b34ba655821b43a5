// What the web API (actors/web/web_api.h) reads from a request and how it answers: base64url
// path parts, query parameters, the proto3 JSON body of an answer and its as_of_idx header.
//
//   auto ref = decode_path_part(match[1], "partition ref");   // invalid_argument when not base64url
//   auto limit = int_param(request, "limit", 0, 0, 1000);      // invalid_argument naming the param
//   reply_json(response, summary, summary.as_of_idx());
//
// Every error is invalid_argument naming the parameter and what was wrong with it.
// Thread-safe: every function is.
#ifndef BEL_ACTORS_WEB_WEB_REQUEST_H_
#define BEL_ACTORS_WEB_WEB_REQUEST_H_

#include <httplib.h>

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors::web {

inline constexpr const char* kAsOfHeader = "Bel-As-Of-Idx";
inline constexpr const char* kJsonType = "application/json";

// base64url (RFC 4648 section 5) without padding, as every id, ref and label in a path is.
std::string encode_path_part(const std::string& raw);
// The text `encoded` stands for; invalid_argument naming `what` for a character outside the
// base64url alphabet, padding, a length no encoding has, or an empty result.
Result<std::string> decode_path_part(const std::string& encoded, const std::string& what);

// invalid_argument naming the first query parameter of `request` not in `known`.
Status check_params(const httplib::Request& request, const std::vector<const char*>& known);

// The integer parameter `name` (default `fallback` when absent); invalid_argument when it is not
// a decimal integer in [min, max] or is given twice.
Result<int64_t> int_param(const httplib::Request& request, const char* name, int64_t fallback,
                          int64_t min, int64_t max);
// The parameter `name` ("" when absent); invalid_argument when given twice.
Result<std::string> string_param(const httplib::Request& request, const char* name);
// Every value of parameter `name`, each also split at its commas: for names from a fixed set
// (statuses, event types), which hold no comma.
std::vector<std::string> list_param(const httplib::Request& request, const char* name);
// Every value of parameter `name`, each whole: for refs, ids and labels, which may hold commas.
// An empty value filters by nothing, which a script with an unset variable would take for the
// whole log: invalid_argument naming the parameter.
Result<std::vector<std::string>> every_param(const httplib::Request& request, const char* name);

// A list's filter parameter taken whole (pattern, job_label, build_request_id): "" when absent;
// invalid_argument when given twice or empty (an unset variable in a script must not read as
// "no filter", as every_param says).
Result<std::string> filter_param(const httplib::Request& request, const char* name);
// Every ?status= value (list_param); invalid_argument when the parameter is given but names no
// status ("status=", "status=,").
Result<std::vector<std::string>> status_values(const httplib::Request& request);

// Parses every ?status= value (status_values) with `parse` (e.g. parse_job_status) into `out`, a
// list request's status_filter; the error of the first that does not parse, prefixed
// "query parameter status=<value>".
template <class Parse, class Field>
Status status_params(const httplib::Request& request, Parse parse, Field* out) {
  auto values = status_values(request);
  if (!values.ok()) return values.error();
  for (const auto& text : *values) {
    auto status = parse(text);
    if (!status.ok()) return status.error().with_context("query parameter status=" + text);
    out->Add(*status);
  }
  return ok_status();
}

// ?min_idx= (0 when absent).
Result<int64_t> min_idx_param(const httplib::Request& request);
// The SPEC 3.2 filter from the parameters partition_refs, partition_patterns, job_labels,
// job_run_ids, build_request_ids (each repeatable, every value whole) and event_types
// (repeatable or comma-separated).
// invalid_argument for an unknown event type.
Result<EventFilter> filter_params(const httplib::Request& request);
// The names filter_params() reads.
// The event stream's parameters that widen its filter: the events of these builds or job runs
// also match, whatever the filter says (docs/web.md).
inline constexpr const char* kAlsoBuilds = "also_build_request_ids";
inline constexpr const char* kAlsoRuns = "also_job_run_ids";

// The most bytes of also_ parameters a page's event stream carries besides its own filter, so
// that its request line stays within the server's 8 192 bytes.
inline constexpr size_t kMaxFollowedBytes = 6000;

// "&NAME=ID" for each of `ids` (encoded), for a page's stream; "" when that would take more
// than kMaxFollowedBytes: the page then follows its own filter only.
std::string followed_ids(const char* name, const std::vector<std::string>& ids);

inline const std::vector<const char*> kFilterParams = {
    "partition_refs", "partition_patterns", "job_labels", "job_run_ids", "build_request_ids",
    "event_types"};

// Which fields a JSON answer carries: those set (the proto3 JSON mapping), or all of them with
// their defaults (false, 0, "") as `bel append --format json` prints acks.
enum class JsonFields { set, all };

// Answers 200 with `message` in the proto3 JSON mapping (as `--format json` prints it) and the
// header Bel-As-Of-Idx: `as_of_idx`.
void reply_json(httplib::Response& response, const google::protobuf::Message& message,
                int64_t as_of_idx, JsonFields fields = JsonFields::set);
// Answers `error` as HttpServer does.
void reply_error(httplib::Response& response, const Error& error);

// The log's last committed idx as a page starts: the page then reflects every event acknowledged
// before the request, as a console command's read point does; 0 when the coordinator cannot say.
int64_t page_read_point(const ApiClient& client);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_REQUEST_H_
