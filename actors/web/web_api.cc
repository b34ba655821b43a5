#include "actors/web/web_api.h"

#include <functional>

#include "actors/client/activity_repository.h"
#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/jobs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/web/web_request.h"
#include "messages/status_names.h"

namespace bel::actors::web {
namespace {

// A path part: anything but '/', decoded (and so checked) by the handler.
constexpr const char* kPart = "([^/]+)";

std::string api(const std::string& tail) { return std::string(kApiPath) + tail; }

// The repositories over one client.
struct Repos {
  explicit Repos(ApiClient& c)
      : client(c), activity(c), builds(c), partitions(c), jobs(c), runs(c) {}
  ApiClient& client;
  ActivityRepository activity;
  BuildsRepository builds;
  PartitionsRepository partitions;
  JobsRepository jobs;
  JobRunsRepository runs;
};

// A handler given the decoded path part (if its pattern has one) that answers or fails.
using Answer = std::function<Status(const httplib::Request&, const std::string& part,
                                    httplib::Response&)>;

// How an error about a query parameter begins: a not_found about one is not about the path.
constexpr const char* kParamPrefix = "query parameter '";

void route(HttpServer& server, bool write, const std::string& pattern, const std::string& what,
           std::vector<const char*> known, Answer answer) {
  auto handler = [what, known, answer](const httplib::Request& req, const std::string& body,
                                       httplib::Response& res) {
    Status checked = check_params(req, known);
    if (checked.ok() && !body.empty()) {
      checked = make_error(
          ErrorCode::invalid_argument,
          "POST " + req.path + ": a body is not accepted; the arguments are query parameters");
    }
    std::string part;
    if (checked.ok() && req.matches.size() > 1) {
      auto decoded = decode_path_part(req.matches[1].str(), what);
      if (decoded.ok())
        part = *decoded;
      else
        checked = decoded.error();
    }
    if (checked.ok()) checked = answer(req, part, res);
    if (!checked.ok() && checked.error().code == ErrorCode::not_found && !part.empty() &&
        checked.error().message.rfind(kParamPrefix, 0) != 0) {
      // Name the part as it came too: a plain id that happens to be base64url decodes to some
      // other text, which the message alone would show.
      checked = checked.error().with_context(what + " '" + part + "' (the path's '" +
                                             req.matches[1].str() + "', base64url)");
    }
    if (!checked.ok()) reply_error(res, checked.error());
  };
  if (write) server.post(pattern, handler);
  else server.get(pattern, handler);
}

template <class Message>
Status answer(httplib::Response& res, const Result<Message>& result) {
  if (!result.ok()) return result.error();
  reply_json(res, *result, result->as_of_idx());
  return ok_status();
}

// An EventPage has no as_of_idx: the header carries the log's last idx read before the page.
Status answer_page(httplib::Response& res, const ApiClient& client,
                   const std::function<Result<EventPage>()>& read) {
  auto stats = client.stats();
  if (!stats.ok()) return stats.error();
  auto page = read();
  if (!page.ok()) return page.error();
  reply_json(res, *page, stats->last_idx());
  return ok_status();
}

// Every field, `duplicate` too: a script tells a retried write from a new one without knowing
// that proto3 JSON leaves false out.
Status answer_ack(httplib::Response& res, const Result<AppendAck>& ack) {
  if (!ack.ok()) return ack.error();
  reply_json(res, *ack, ack->idx(), JsonFields::all);
  return ok_status();
}

// Declares `var` as the value of `expr` (a Result), or returns its error.
#define BEL_ASSIGN_PARAM(var, expr)            \
  auto var##_r = (expr);                       \
  if (!var##_r.ok()) return var##_r.error(); \
  const auto var = *var##_r

// ?limit= (0..1000) and ?offset= into a list request.
template <class ListRequest>
Status page_params(const httplib::Request& req, ListRequest* q) {
  BEL_ASSIGN_PARAM(limit, int_param(req, "limit", 0, 0, 1000));
  BEL_ASSIGN_PARAM(offset, int_param(req, "offset", 0, 0, INT32_MAX));
  q->set_limit(static_cast<int32_t>(limit));
  q->set_offset(static_cast<int32_t>(offset));
  return ok_status();
}

// GET `pattern`, whose path part is the key (`what`) of a question to one repository:
// (r->*repo.*ask)(key, ?min_idx=), `ask` being Repo's own or its base's (KeyedRepository::show).
template <class Repo, class Asked, class Message>
void key_route(HttpServer& server, const std::shared_ptr<Repos>& r, const std::string& pattern,
               const std::string& what, Repo Repos::*repo,
               Result<Message> (Asked::*ask)(const std::string&, int64_t) const) {
  route(server, false, pattern, what, {"min_idx"},
        [r, repo, ask](const httplib::Request& req, const std::string& key,
                       httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          return answer(res, ((*r).*repo.*ask)(key, min_idx));
        });
}

void add_read_routes(HttpServer& server, std::shared_ptr<Repos> r) {
  const std::vector<const char*> page = {"limit", "offset", "status", "min_idx"};
  route(server, false, api("activity"), "", {"min_idx"},
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          return answer(res, r->activity.activity(min_idx));
        });
  route(server, false, api("builds"), "", page,
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          BuildsListRequest q;
          BEL_RETURN_IF_ERROR(page_params(req, &q));
          BEL_RETURN_IF_ERROR(status_params(req, parse_build_request_status, q.mutable_status_filter()));
          return answer(res, r->builds.list(q, min_idx));
        });
  key_route(server, r, api("builds/") + kPart, "build request id", &Repos::builds,
            &BuildsRepository::show);
  auto events_route = [&server, r](const std::string& pattern, const std::string& what,
                                   auto read) {
    route(server, false, pattern, what, {"since", "limit", "min_idx"},
          [r, read](const httplib::Request& req, const std::string& part, httplib::Response& res) -> Status {
            BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
            BEL_ASSIGN_PARAM(since, int_param(req, "since", 0, 0, INT64_MAX));
            BEL_ASSIGN_PARAM(limit, int_param(req, "limit", 0, 0, 10000));
            return answer_page(res, r->client, [&] {
              return read(*r, part, since, static_cast<int>(limit), min_idx);
            });
          });
  };
  events_route(api("builds/") + kPart + "/events", "build request id",
               [](Repos& r, const std::string& id, int64_t since, int limit, int64_t min_idx) {
                 return r.builds.events(id, since, limit, min_idx);
               });
  events_route(api("partitions/") + kPart + "/events", "partition ref",
               [](Repos& r, const std::string& ref, int64_t since, int limit, int64_t min_idx) {
                 return r.partitions.events(ref, since, limit, min_idx);
               });
  route(server, false, api("partitions"), "", {"limit", "offset", "status", "pattern", "min_idx"},
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          PartitionsListRequest q;
          BEL_RETURN_IF_ERROR(page_params(req, &q));
          BEL_ASSIGN_PARAM(pattern, filter_param(req, "pattern"));
          q.set_pattern(pattern);
          BEL_RETURN_IF_ERROR(status_params(req, parse_partition_status, q.mutable_status_filter()));
          return answer(res, r->partitions.list(q, min_idx));
        });
  key_route(server, r, api("partitions/") + kPart, "partition ref", &Repos::partitions,
            &PartitionsRepository::status);
  key_route(server, r, api("partitions/") + kPart + "/active-builds", "partition ref",
            &Repos::partitions, &PartitionsRepository::active_builds);
  route(server, false, api("jobs"), "", {"min_idx"},
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          return answer(res, r->jobs.list(min_idx));
        });
  key_route(server, r, api("jobs/") + kPart, "job label", &Repos::jobs, &JobsRepository::metrics);
  route(server, false, api("job-runs"), "",
        {"limit", "offset", "status", "job_label", "build_request_id", "min_idx"},
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          JobRunsListRequest q;
          BEL_RETURN_IF_ERROR(page_params(req, &q));
          BEL_ASSIGN_PARAM(label, filter_param(req, "job_label"));
          BEL_ASSIGN_PARAM(build, filter_param(req, "build_request_id"));
          q.set_job_label(label);
          q.set_build_request_id(build);
          BEL_RETURN_IF_ERROR(status_params(req, parse_job_status, q.mutable_status_filter()));
          return answer(res, r->runs.list(q, min_idx));
        });
  key_route(server, r, api("job-runs/") + kPart, "job run id", &Repos::runs,
            &JobRunsRepository::show);
  std::vector<const char*> events_params = {"since", "limit", "min_idx"};
  events_params.insert(events_params.end(), kFilterParams.begin(), kFilterParams.end());
  route(server, false, api("events"), "", events_params,
        [r](const httplib::Request& req, const std::string&, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          BEL_ASSIGN_PARAM(since, int_param(req, "since", 0, 0, INT64_MAX));
          BEL_ASSIGN_PARAM(limit, int_param(req, "limit", 0, 0, 10000));
          BEL_ASSIGN_PARAM(filter, filter_params(req));
          return answer_page(res, r->client, [&] {
            return r->client.events_page(filter, since, static_cast<int>(limit), min_idx);
          });
        });
}

// The reason of a command: ?reason=, required.
Result<std::string> reason_param(const httplib::Request& req) {
  auto reason = string_param(req, "reason");
  if (!reason.ok()) return reason.error();
  if (reason->empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "query parameter 'reason': required (say why, it is kept in the log)");
  }
  return *reason;
}

void add_write_routes(HttpServer& server, std::shared_ptr<Repos> r) {
  route(server, true, api("builds/") + kPart + "/cancel", "build request id",
        {"reason", "event_id"},
        [r](const httplib::Request& req, const std::string& id, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(reason, reason_param(req));
          BEL_ASSIGN_PARAM(event_id, string_param(req, "event_id"));
          return answer_ack(res, r->builds.cancel(id, reason, event_id));
        });
  route(server, true, api("job-runs/") + kPart + "/cancel", "job run id",
        {"reason", "event_id", "min_idx"},
        [r](const httplib::Request& req, const std::string& id, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(reason, reason_param(req));
          BEL_ASSIGN_PARAM(event_id, string_param(req, "event_id"));
          BEL_ASSIGN_PARAM(min_idx, min_idx_param(req));
          return answer_ack(res, r->runs.cancel(id, reason, min_idx, event_id));
        });
  route(server, true, api("partitions/") + kPart + "/invalidate", "partition ref",
        {"reason", "event_id", "build_request_id"},
        [r](const httplib::Request& req, const std::string& ref, httplib::Response& res) -> Status {
          BEL_ASSIGN_PARAM(reason, reason_param(req));
          BEL_ASSIGN_PARAM(event_id, string_param(req, "event_id"));
          BEL_ASSIGN_PARAM(build, string_param(req, "build_request_id"));
          if (build.empty() && req.get_param_value_count("build_request_id") > 0) {
            // An unset variable must not make the invalidation the web operator's.
            return make_error(ErrorCode::invalid_argument,
                              "query parameter build_request_id=: is empty; leave the parameter "
                              "out for the operator's own invalidation");
          }
          const std::string by = build.empty() ? operator_id(kWebOperator) : build;
          if (!build.empty()) {
            // A mistyped id is refused rather than logged as an operator named after it.
            Status known = r->partitions.check_invalidation_build(build);
            if (!known.ok()) {
              return known.error().with_context(std::string(kParamPrefix) + "build_request_id'");
            }
          }
          return answer_ack(res, r->partitions.invalidate(ref, reason, by, event_id));
        });
}

#undef BEL_ASSIGN_PARAM

}  // namespace

void add_api_routes(HttpServer& server, ApiClient& client) {
  auto r = std::make_shared<Repos>(client);
  add_read_routes(server, r);
  add_write_routes(server, r);
}

}  // namespace bel::actors::web
