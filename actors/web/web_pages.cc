#include "actors/web/web_pages.h"

#include <cmath>
#include <map>
#include <string>

#include "actors/client/activity_repository.h"
#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/jobs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/web/web_html.h"
#include "actors/web/web_request.h"
#include "actors/web/web_session.h"
#include "messages/escape.h"
#include "messages/for_people.h"
#include "messages/status_names.h"
#include "projections/job_runs_view.h"

namespace bel::actors::web {
namespace {

constexpr const char* kHtmlType = "text/html; charset=utf-8";

// A count per status (a protobuf map, which has no order of its own) as badges in the order of
// the statuses' names, so a page reads the same on every load; `gap` after each.
template <class Counts>
std::string status_counts(const Counts& counts, const char* gap) {
  const std::map<std::string, int64_t> sorted(counts.begin(), counts.end());
  Html h;
  for (const auto& [status, n] : sorted) h.raw(badge(status)).raw(" ").number(n).raw(gap);
  return h.take();
}

template <class Builds>
std::string builds_table(const Builds& builds) {
  Html h;
  h.raw("<table><tr><th>Build</th><th>Status</th><th>Requested</th><th>Updated</th>"
        "<th>Message</th></tr>");
  for (const auto& b : builds) {
    h.raw("<tr><td class=\"mono\">")
        .raw(build_link(b.build_request_id()))
        .raw("</td><td>")
        .raw(badge(b.status_name()))
        .raw("</td><td>")
        .text(plural(b.requested_partitions_size(), "partition"))
        .raw("</td><td>")
        .text(format_time(b.updated_at()))
        .raw("</td><td>")
        .text(b.message())
        .raw("</td></tr>");
  }
  h.raw("</table>");
  return h.take();
}

template <class Partitions>
std::string partitions_table(const Partitions& partitions) {
  Html h;
  h.raw("<table><tr><th>Partition</th><th>Status</th><th>Build</th><th>Since</th></tr>");
  for (const auto& p : partitions) {
    h.raw("<tr><td class=\"mono\">").raw(link(partition_href(p.partition_ref()), p.partition_ref()))
        .raw("</td><td>").raw(badge(p.status_name())).raw("</td><td>");
    if (!p.build_request_id().empty()) {
      h.raw(build_link(p.build_request_id()));
    }
    h.raw("</td><td>").text(format_time(p.last_updated())).raw("</td></tr>");
  }
  h.raw("</table>");
  return h.take();
}

std::string runs_list(const JobRunsListResponse& runs) {
  Html h;
  h.raw("<table><tr><th>Job run</th><th>Build</th><th>Status</th><th class=\"num\">Duration"
        "</th><th>Ended</th><th>Message</th></tr>");
  for (const auto& r : runs.job_runs()) {
    h.raw("<tr><td class=\"mono\">")
        .text(r.job_run_id())
        .raw("</td><td>")
        .raw(build_link(r.build_request_id()))
        .raw("</td><td>")
        .raw(badge(r.status_name()))
        .raw("</td><td class=\"num\">")
        .text(format_span(r.started_at(), r.ended_at()))
        .raw("</td><td>")
        .text(format_time(r.ended_at()))
        .raw("</td><td>")
        .text(r.message())
        .raw("</td></tr>");
  }
  h.raw("</table>");
  return h.take();
}

// A job's success rate, "-" while none of its runs has completed or failed.
std::string success_percent(const JobMetrics& job) {
  if (!projections::has_success_rate(job)) return "-";
  return std::to_string(static_cast<int>(std::lround(job.success_rate() * 100))) + "%";
}

Result<std::string> home_page(ApiClient& client) {
  auto a = ActivityRepository(client).activity(page_read_point(client));
  if (!a.ok()) return a.error();
  Html h;
  h.raw("<h1>Activity</h1><section id=\"home-counts\" data-live><div class=\"cards\">")
      .raw("<div class=\"card\"><b>").number(a->active_builds_count()).raw("</b>active builds</div>")
      .raw("<div class=\"card\"><b>").number(a->total_build_requests()).raw("</b>build requests</div>")
      .raw("<div class=\"card\"><b>").number(a->total_partitions()).raw("</b>partitions</div>")
      .raw("<div class=\"card\"><b>").number(a->event_count()).raw("</b>events</div></div><p>");
  h.raw(status_counts(a->build_requests_by_status(), " &nbsp; "));
  h.raw("</p></section><h2>Recent builds</h2><section id=\"home-builds\" data-live>")
      .raw(builds_table(a->recent_builds()))
      .raw("</section><h2>Recent partitions</h2><section id=\"home-partitions\" data-live>")
      .raw(partitions_table(a->recent_partitions())).raw("</section>");
  return page("Activity", "since=" + std::to_string(a->as_of_idx()), h.take());
}

// The request's ?status= values again, "status=a&status=b&", so that a page's links keep them.
std::string status_query(const httplib::Request& req) {
  std::string out;
  for (const auto& status : list_param(req, "status")) {
    out += "status=" + httplib::detail::encode_query_param(status) + "&";
  }
  return out;
}

// "?offset=N" links for a list page at `offset` of `total`, 50 a page; "No builds match." for
// a list with none (`what` names them, as the console does).
std::string pager(const std::string& base, int64_t offset, int64_t shown, int64_t total,
                  const char* what) {
  Html h;
  if (total == 0) {
    h.raw("<p class=\"muted\">No ").raw(what).raw(" match.</p>");
    return h.take();
  }
  if (shown == 0 && offset > 0) {
    h.raw("<p class=\"muted\">Nothing at offset ")
        .number(offset)
        .raw(": there are ")
        .number(total)
        .raw(". ")
        .raw(link(base + "offset=0", "newest"))
        .raw("</p>");
    return h.take();
  }
  h.raw("<p class=\"muted\">").number(offset + (shown ? 1 : 0)).raw("–").number(offset + shown)
      .raw(" of ").number(total).raw(" ");
  if (offset > 0) h.raw(link(base + "offset=" + std::to_string(std::max<int64_t>(0, offset - 50)), "newer"));
  if (offset + shown < total) h.raw(" ").raw(link(base + "offset=" + std::to_string(offset + shown), "older"));
  h.raw("</p>");
  return h.take();
}

Result<std::string> builds_page(ApiClient& client, const httplib::Request& req) {
  auto offset = int_param(req, "offset", 0, 0, INT32_MAX);
  if (!offset.ok()) return offset.error();
  BuildsListRequest q;
  q.set_offset(static_cast<int32_t>(*offset));
  BEL_RETURN_IF_ERROR(status_params(req, parse_build_request_status, q.mutable_status_filter()));
  auto list = BuildsRepository(client).list(q, page_read_point(client));
  if (!list.ok()) return list.error();
  Html h;
  h.raw("<h1>Builds</h1><section id=\"builds\" data-live>")
      .raw(builds_table(list->builds()))
      .raw(pager("/builds?" + status_query(req), *offset, list->builds_size(), list->total_count(),
                 "builds"))
      .raw("</section>");
  return page("Builds", "event_types=build_request_event,build_cancel_event&since=" +
                            std::to_string(list->as_of_idx()), h.take());
}

Result<std::string> partitions_page(ApiClient& client, const httplib::Request& req) {
  auto offset = int_param(req, "offset", 0, 0, INT32_MAX);
  if (!offset.ok()) return offset.error();
  PartitionsListRequest q;
  q.set_offset(static_cast<int32_t>(*offset));
  q.set_pattern(req.get_param_value("pattern"));
  BEL_RETURN_IF_ERROR(status_params(req, parse_partition_status, q.mutable_status_filter()));
  auto list = PartitionsRepository(client).list(q, page_read_point(client));
  if (!list.ok()) return list.error();
  Html h;
  h.raw("<h1>Partitions");
  if (!q.pattern().empty()) h.raw(" matching <span class=\"mono\">").text(q.pattern()).raw("</span>");
  h.raw("</h1><section id=\"partitions\" data-live>")
      .raw(partitions_table(list->partitions()))
      .raw(pager("/partitions?" + status_query(req) +
                     "pattern=" + httplib::detail::encode_query_param(q.pattern()) + "&",
                 *offset, list->partitions_size(), list->total_count(), "partitions"))
      .raw("</section>");
  std::string stream = "since=" + std::to_string(list->as_of_idx());
  if (!q.pattern().empty()) {
    stream += "&partition_patterns=" + httplib::detail::encode_query_param(q.pattern());
  }
  return page("Partitions", stream, h.take());
}

Result<std::string> jobs_page(ApiClient& client) {
  auto jobs = JobsRepository(client).list(page_read_point(client));
  if (!jobs.ok()) return jobs.error();
  Html h;
  h.raw("<h1>Jobs</h1><section id=\"jobs\" data-live><table><tr><th>Job</th>"
        "<th class=\"num\">Runs</th><th class=\"num\">Success rate</th>"
        "<th class=\"num\">Mean duration</th><th>By status</th></tr>");
  for (const auto& j : jobs->jobs()) {
    h.raw("<tr><td class=\"mono\">")
        .raw(link(job_href(j.job_label()), j.job_label()))
        .raw("</td><td class=\"num\">")
        .number(j.total_runs())
        .raw("</td><td class=\"num\">")
        .text(success_percent(j))
        .raw("</td><td class=\"num\">")
        .text(format_mean_duration(j.avg_duration_ns()))
        .raw("</td><td>");
    h.raw(status_counts(j.runs_by_status(), " "));
    h.raw("</td></tr>");
  }
  h.raw("</table></section>");
  return page(
      "Jobs",
      "event_types=job_event,job_run_cancel_event&since=" + std::to_string(jobs->as_of_idx()),
      h.take());
}

Result<std::string> job_page(ApiClient& client, const std::string& label) {
  auto m = JobsRepository(client).metrics(label, page_read_point(client));
  if (!m.ok()) return m.error();
  JobRunsListRequest q;
  q.set_job_label(label);
  auto runs = JobRunsRepository(client).list(q, m->as_of_idx());
  if (!runs.ok()) return runs.error();
  Html h;
  h.raw("<h1>Job <span class=\"mono\">")
      .text(label)
      .raw("</span></h1>")
      .raw("<section id=\"job-metrics\" data-live><div class=\"cards\"><div class=\"card\"><b>")
      .number(m->total_runs())
      .raw("</b>runs</div><div class=\"card\"><b>")
      .text(success_percent(*m))
      .raw("</b>success rate</div><div class=\"card\"><b>")
      .text(format_mean_duration(m->avg_duration_ns()))
      .raw("</b>mean duration</div></div>")
      .raw("</section><h2>Recent runs</h2><section id=\"job-runs\" data-live>")
      .raw(runs_list(*runs))
      .raw("</section>");
  // A run's cancel names no label: the runs that have not ended are followed by their ids.
  std::vector<std::string> open_runs;
  for (const auto& r : runs->job_runs()) {
    if (!is_terminal_job_status(r.status_code())) open_runs.push_back(r.job_run_id());
  }
  return page("Job " + label,
              "job_labels=" + httplib::detail::encode_query_param(label) +
                  followed_ids(kAlsoRuns, open_runs) + "&since=" + std::to_string(m->as_of_idx()),
              h.take());
}

// Where `q` leads: a build, a job run's build, a job, a partition, or partitions matching a glob.
Result<std::string> search(ApiClient& client, const std::string& q) {
  if (q.empty()) return std::string("/");
  // Whatever is called exactly `q` wins over `q` read as a glob: a ref may hold '[', '*' or '?'.
  // At the page read point, as every page: an id acknowledged before the search is found.
  const int64_t at = page_read_point(client);
  if (BuildsRepository(client).show(q, at).ok()) return build_href(q);
  if (auto run = JobRunsRepository(client).show(q, at); run.ok()) {
    return build_href(run->build_request_id());
  }
  if (JobsRepository(client).metrics(q, at).ok()) return job_href(q);
  auto status = PartitionsRepository(client).status(q, at);
  if (status.ok() && status->status_code() != v1::PARTITION_UNKNOWN) return partition_href(q);
  if (q.find_first_of("*?[") != std::string::npos) {
    return "/partitions?pattern=" + httplib::detail::encode_query_param(q);
  }
  return make_error(ErrorCode::not_found,
                    "nothing in the log is called '" + q +
                        "' (searched build ids, job run ids, job labels and partition refs; a "
                        "glob like data/* lists partitions)");
}

using PageFn = std::function<Result<std::string>(const httplib::Request&, const std::string&)>;

void page_route(HttpServer& server, const std::string& pattern, const std::string& what,
                PageFn make) {
  server.get(pattern, [what, make](const httplib::Request& req, const std::string&,
                                   httplib::Response& res) {
    std::string part;
    if (req.matches.size() > 1) {
      auto decoded = decode_path_part(req.matches[1].str(), what);
      if (!decoded.ok()) return reply_page(res, decoded.error());
      part = *decoded;
    }
    reply_page(res, make(req, part));
  });
}

}  // namespace

std::string error_page(const Error& e) {
  Html h;
  h.raw("<h1>").text(to_string(e.code)).raw("</h1><section><p>").text(e.message).raw("</p>");
  if (e.code == ErrorCode::unauthorized) {
    h.raw("<p>This browser is not signed in, or its session ended: a session ends " +
          std::to_string(WebSessions::kSessionIdle.count()) + " hours after its last request, " +
          std::to_string(WebSessions::kSessionLifetime.count() / 24) +
          " days after its sign-in, and when the coordinator restarts (sessions live in its "
          "memory). Open a new sign-in link: <code>bel sign-in</code> "
          "prints one (as <code>bel serve</code> does when it starts), and <code>POST "
          "/api/v1/sign-in</code> with the token makes one too.</p>");
  } else {
    h.raw("<p>").raw(link("/", "Back to the activity")).raw("</p>");
  }
  h.raw("</section>");
  return page(to_string(e.code), "", h.take(),
              e.code == ErrorCode::unauthorized ? Reader::not_signed_in : Reader::signed_in);
}

void reply_page(httplib::Response& res, const Result<std::string>& made) {
  if (made.ok()) return HttpServer::reply(res, *made, kHtmlType);
  const Error& e = made.error();
  res.status = http_status(e.code);
  res.set_header("Bel-Error", to_string(e.code));
  res.set_content(error_page(e), kHtmlType);
}

void add_page_routes(HttpServer& server, ApiClient& client) {
  server.set_error_page(error_page);
  ApiClient* c = &client;
  server.get(kLiveScriptPath,
             [](const httplib::Request&, const std::string&, httplib::Response& res) {
               HttpServer::reply(res, live_script(), "text/javascript; charset=utf-8");
             });
  page_route(server, "/", "", [c](auto&, auto&) { return home_page(*c); });
  page_route(server, "/builds", "", [c](auto& req, auto&) { return builds_page(*c, req); });
  page_route(server, "/builds/([^/]+)", "build request id",
             [c](auto&, auto& id) { return build_page(*c, id); });
  page_route(server, "/partitions", "",
             [c](auto& req, auto&) { return partitions_page(*c, req); });
  page_route(server, "/partitions/([^/]+)", "partition ref",
             [c](auto&, auto& ref) { return partition_page(*c, ref); });
  page_route(server, "/jobs", "", [c](auto&, auto&) { return jobs_page(*c); });
  page_route(server, "/jobs/([^/]+)", "job label",
             [c](auto&, auto& label) { return job_page(*c, label); });
  server.get(
      "/search", [c](const httplib::Request& req, const std::string&, httplib::Response& res) {
        const std::string q = req.get_param_value("q");
        auto target = search(*c, q);
        // A name pasted with the spaces around it: found without them, unless it has them.
        const std::string_view trimmed = trim_blanks(q);
        if (!target.ok() && target.error().code == ErrorCode::not_found && trimmed != q) {
          target = search(*c, std::string(trimmed));
        }
        if (!target.ok()) return reply_page(res, target.error());
        res.set_redirect(*target, 303);
      });
}

}  // namespace bel::actors::web
