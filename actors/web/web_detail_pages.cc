// The build page and the partition page of the dashboard (actors/web/web_pages.h).
#include <algorithm>

#include "actors/client/builds_repository.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/web/web_html.h"
#include "actors/web/web_pages.h"
#include "actors/web/web_request.h"
#include "messages/event_keys.h"
#include "messages/for_people.h"
#include "messages/status_names.h"

namespace bel::actors::web {
namespace {

std::string bar_kind(const std::string& status_name) {
  if (status_name == "JOB_COMPLETED") return " ok";
  if (status_name == "JOB_FAILED") return " bad";
  if (status_name == "JOB_CANCELLED" || status_name == "JOB_SKIPPED") return " warn";
  return "";
}

// The job runs of a build as a table with a timeline column: each run's bar spans from its start
// (or scheduling) to its end (or `now`, the build's last update, while it runs). A run that was
// never scheduled nor started (skipped: a delegation's run) is a mark at its end; one with no
// time at all has no bar, and neither moves the timeline's scale.
std::string runs_table(const JobRunsListResponse& runs, int64_t now) {
  if (runs.job_runs().empty()) return "<p class=\"muted\">No job runs yet.</p>";
  auto begin = [](const JobRunSummary& r) {
    return r.started_at() ? r.started_at() : r.scheduled_at() ? r.scheduled_at() : r.ended_at();
  };
  // Never before its begin: a producer's clock may say a run ended before it started.
  auto end = [now, begin](const JobRunSummary& r) {
    return std::max(begin(r), r.ended_at() ? r.ended_at() : now);
  };
  int64_t t0 = INT64_MAX;
  int64_t t1 = 0;
  for (const auto& r : runs.job_runs()) {
    if (begin(r) == 0) continue;
    t0 = std::min(t0, begin(r));
    t1 = std::max(t1, end(r));
  }
  if (t0 > t1) t0 = t1;  // no run with a time
  const double span = std::max<int64_t>(1, t1 - t0);
  Html h;
  h.raw("<table><tr><th>Job run</th><th>Job</th><th>Status</th><th class=\"num\">Duration</th>"
        "<th style=\"width:35%\">Timeline</th><th>Message</th></tr>");
  for (const auto& r : runs.job_runs()) {
    std::string bar;
    if (begin(r) != 0) {
      const double left = 100.0 * static_cast<double>(begin(r) - t0) / span;
      const double width = 100.0 * static_cast<double>(end(r) - begin(r)) / span;
      char style[96];
      // A bar is at least 2px wide (the style sheet): one at the right end stays inside.
      std::snprintf(style, sizeof(style), "left:min(%.2f%%,calc(100%% - 2px));width:%.2f%%", left,
                    width);
      bar = Html()
                .raw("<div class=\"bar")
                .raw(bar_kind(r.status_name()))
                .raw("\" style=\"")
                .raw(style)
                .raw("\" title=\"")
                .text(format_time(begin(r)))
                .raw("\"></div>")
                .take();
    }
    h.raw("<tr><td class=\"mono\">")
        .text(r.job_run_id())
        .raw("</td><td>")
        .raw(link(job_href(r.job_label()), r.job_label()))
        .raw("</td><td>")
        .raw(badge(r.status_name()))
        .raw("</td><td class=\"num\">")
        .text(r.ended_at() ? format_span(r.started_at(), r.ended_at()) : "running")
        .raw("</td><td><div class=\"timeline\">")
        .raw(bar)
        .raw("</div></td><td>")
        .text(r.message())
        .raw("</td></tr>");
  }
  if (runs.has_more()) {
    h.raw("<tr><td colspan=\"6\" class=\"muted\">").number(runs.total_count())
        .raw(" job runs in all; the first shown.</td></tr>");
  }
  h.raw("</table>");
  return h.take();
}

std::string describe(const BuildEvent& e) {
  switch (e.event_type_case()) {
    case BuildEvent::kPartitionEvent:
      return short_status_name(e.partition_event().status_name()) +
             (e.partition_event().message().empty() ? "" : ": " + e.partition_event().message());
    case BuildEvent::kJobEvent:
      return "job run " + e.job_event().job_run_id() + " " +
             short_status_name(e.job_event().status_name()) +
             (e.job_event().message().empty() ? "" : ": " + e.job_event().message());
    case BuildEvent::kBuildRequestEvent:
      return "build " + short_status_name(e.build_request_event().status_name());
    case BuildEvent::kDelegationEvent:
      return "delegated to " + e.delegation_event().delegated_to_build_request_id() +
             (e.delegation_event().message().empty() ? "" : ": " + e.delegation_event().message());
    case BuildEvent::kJobGraphEvent: {
      const auto& g = e.job_graph_event();
      return "job graph" + (g.job_graph().label().empty() ? "" : " " + g.job_graph().label()) +
             " planned" + (g.message().empty() ? "" : ": " + g.message());
    }
    case BuildEvent::kPartitionInvalidationEvent:
      return "invalidated: " + e.partition_invalidation_event().reason();
    case BuildEvent::kJobRunCancelEvent:
      return "job run " + e.job_run_cancel_event().job_run_id() + " cancelled: " +
             e.job_run_cancel_event().reason();
    case BuildEvent::kBuildCancelEvent:
      return "build cancelled: " + e.build_cancel_event().reason();
    default:
      return std::string(event_type_name(e));
  }
}

}  // namespace


Result<std::string> build_page(ApiClient& client, const std::string& id) {
  BuildsRepository builds(client);
  auto summary = builds.show(id, page_read_point(client));
  if (!summary.ok()) return summary.error();
  JobRunsListRequest q;
  q.set_build_request_id(id);
  q.set_limit(200);
  auto runs = JobRunsRepository(client).list(q, summary->as_of_idx());
  if (!runs.ok()) return runs.error();
  const auto& s = *summary;
  Html h;
  h.raw("<h1>Build <span class=\"mono\">").text(id).raw("</span> ").raw(badge(s.status_name()))
      .raw("</h1><section id=\"build-status\" data-live><table>")
      .raw("<tr><th>Status</th><td>").raw(badge(s.status_name())).raw(" ").text(s.message())
      .raw("</td></tr>");
  if (!s.cancel_reason().empty()) {
    h.raw("<tr><th>Cancelled because</th><td>").text(s.cancel_reason()).raw("</td></tr>");
  }
  h.raw("<tr><th>Requested</th><td>");
  for (const auto& ref : s.requested_partitions()) h.raw(link(partition_href(ref), ref)).raw(" ");
  h.raw("</td></tr><tr><th>Created</th><td>").text(format_time(s.created_at()))
      .raw("</td></tr><tr><th>Updated</th><td>").text(format_time(s.updated_at()))
      .raw(" <span class=\"muted\">(").text(format_duration(s.updated_at() - s.created_at()))
      .raw(" after creation)</span></td></tr><tr><th>Events</th><td>").number(s.event_count())
      .raw(" <span class=\"muted\">idx ").number(s.first_idx()).raw("–").number(s.last_idx())
      .raw("</span></td></tr></table></section>");
  h.raw("<h2>Why it failed</h2><section id=\"build-failures\" data-live>");
  if (s.failures().empty()) h.raw("<p class=\"muted\">No failed job runs.</p>");
  for (const auto& f : s.failures()) {
    h.raw("<div class=\"failure\"><b>").raw(link(job_href(f.job_label()), f.job_label()))
        .raw("</b> run <span class=\"mono\">").text(f.job_run_id()).raw("</span> ")
        .raw(badge(f.status_name())).raw("<div>").text(f.message()).raw("</div>");
    if (!f.partition_refs().empty()) {
      h.raw("<div class=\"muted\">for ");
      for (const auto& ref : f.partition_refs()) h.raw(link(partition_href(ref), ref)).raw(" ");
      h.raw("</div>");
    }
    h.raw("</div>");
  }
  h.raw("</section><h2>Partitions</h2><section id=\"build-partitions\" data-live><table>"
        "<tr><th>Partition</th><th>Status</th><th>Delegated to</th></tr>");
  for (const auto& p : s.partitions()) {
    h.raw("<tr><td>").raw(link(partition_href(p.partition_ref()), p.partition_ref()))
        .raw("</td><td>").raw(badge(p.status_name())).raw("</td><td>");
    if (!p.delegated_to_build_request_id().empty()) {
      h.raw("→ ").raw(build_link(p.delegated_to_build_request_id()));
    }
    h.raw("</td></tr>");
  }
  h.raw("</table></section><h2>Job runs</h2><section id=\"build-runs\" data-live>")
      .raw(runs_table(*runs, s.updated_at())).raw("</section>");
  return page("Build " + id,
              "build_request_ids=" + httplib::detail::encode_query_param(id) +
                  "&since=" + std::to_string(s.as_of_idx()),
              h.take());
}

Result<std::string> partition_page(ApiClient& client, const std::string& ref) {
  auto detail = PartitionsRepository(client).show(ref, 50, page_read_point(client));
  if (!detail.ok()) return detail.error();
  const auto& st = detail->status;
  Html h;
  h.raw("<h1>Partition <span class=\"mono\">")
      .text(ref)
      .raw("</span></h1>")
      .raw("<section id=\"partition-status\" data-live><table><tr><th>Status</th><td>")
      .raw(badge(st.status_name()))
      .raw(" ")
      .text(st.message());
  if (st.last_idx() == 0) {
    h.raw("<span class=\"muted\">no status yet: no partition event or invalidation for it</span>");
  }
  h.raw("</td></tr>")
      .raw("<tr><th>Since</th><td>")
      .text(format_time(st.last_updated()))
      .raw(" <span class=\"muted\">idx ")
      .number(st.last_idx())
      .raw("</span></td></tr>")
      .raw("<tr><th>By build</th><td>");
  if (!st.build_request_id().empty()) {
    h.raw(build_link(st.build_request_id()));
  }
  h.raw("</td></tr><tr><th>Active builds</th><td>");
  if (detail->active_builds.empty()) h.raw("<span class=\"muted\">none</span>");
  for (const auto& b : detail->active_builds) h.raw(build_link(b)).raw(" ");
  h.raw("</td></tr></table></section><h2>History</h2><section id=\"partition-history\" "
        "data-live><table><tr><th class=\"num\">idx</th><th>Time</th><th>Build</th>"
        "<th>What</th></tr>");
  for (auto it = detail->recent_events.rbegin(); it != detail->recent_events.rend(); ++it) {
    h.raw("<tr><td class=\"num\">")
        .number(it->idx())
        .raw("</td><td>")
        .text(format_time(it->timestamp()))
        .raw("</td><td>")
        .raw(build_link(it->build_request_id()))
        .raw("</td><td>")
        .text(describe(*it))
        .raw("</td></tr>");
  }
  h.raw("</table></section>");
  // A claim ends with its build's terminal event (or its job run's, which names the build too),
  // which names no partition: the active builds are followed by their ids.
  return page("Partition " + ref,
              "partition_refs=" + httplib::detail::encode_query_param(ref) +
                  followed_ids(kAlsoBuilds, detail->active_builds) +
                  "&since=" + std::to_string(st.as_of_idx()),
              h.take());
}

}  // namespace bel::actors::web
