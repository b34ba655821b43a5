#include "app/tables.h"

#include <fmt/format.h>

#include "app/output.h"
#include "app/text.h"
#include "messages/for_people.h"
#include "messages/status_names.h"
#include "projections/job_runs_view.h"

namespace bel::app {
namespace {

// "3 completed, 1 failed" from a status-name -> count map.
template <class Map>
std::string counts_text(const Map& counts) {
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [name, n] : sorted) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", n, short_status(name));
  }
  return out.empty() ? "-" : out;
}

// A job's success rate, or "-" while none of its runs has completed or failed: success_rate is
// then 0 by definition, not a measured 0% (JSON keeps the field as the view defines it).
std::string success_text(const JobMetrics& j) {
  if (!projections::has_success_rate(j)) return "-";
  return fmt::format("{:.1f}%", j.success_rate() * 100);
}

// Key-value lines, keys padded to the widest.
class Fields {
 public:
  void add(std::string key, std::string value) {
    rows_.emplace_back(std::move(key), value.empty() ? "-" : printable(value));
  }
  void print(std::FILE* out) const {
    size_t w = 0;
    for (const auto& r : rows_) w = std::max(w, r.first.size());
    for (const auto& [k, v] : rows_) {
      std::fprintf(out, "%s:%s%s\n", k.c_str(), std::string(w - k.size() + 2, ' ').c_str(),
                   v.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

void print_more(std::FILE* out, int shown, int64_t total, bool has_more) {
  if (has_more) {
    std::fprintf(out, "(%d of %lld shown; use --offset and --limit for more)\n", shown,
                 static_cast<long long>(total));
  }
}

// An empty list says so instead of printing a lone header; a page past the end of a list that
// has entries (`--offset` too large) says how many there are.
void print_none(const char* what, std::FILE* out, int64_t total = 0) {
  if (total > 0) {
    std::fprintf(out, "no %s at this offset: %lld match; use an --offset below %lld\n", what,
                 static_cast<long long>(total), static_cast<long long>(total));
    return;
  }
  std::fprintf(out, "no %s match\n", what);
}

std::string idx_text(int64_t idx) { return idx == 0 ? "-" : std::to_string(idx); }

}  // namespace

std::string short_status(const std::string& status_name) {
  if (status_name.empty()) return "-";
  return short_status_name(status_name);
}

void print_partitions_table(const PartitionsListResponse& list, std::FILE* out) {
  if (list.partitions_size() == 0) return print_none("partitions", out, list.total_count());
  Table t({"PARTITION", "STATUS", "UPDATED (UTC)", "IDX", "BUILD", "JOB RUN", "MESSAGE"});
  for (const auto& p : list.partitions()) {
    t.add_row({p.partition_ref(), short_status(p.status_name()), format_time(p.last_updated()),
               idx_text(p.last_idx()), p.build_request_id(), p.job_run_id(), p.message()});
  }
  t.print(out);
  print_more(out, list.partitions_size(), list.total_count(), list.has_more());
}

void print_partition_detail(const PartitionStatusResponse& status,
                            const std::vector<std::string>& active_builds,
                            const std::vector<BuildEvent>& recent_events, std::FILE* out) {
  Fields f;
  f.add("partition", status.partition_ref());
  f.add("status",
        short_status(status.status_name().empty() ? "PARTITION_UNKNOWN" : status.status_name()));
  f.add("updated", format_time(status.last_updated()));
  f.add("idx", idx_text(status.last_idx()));
  f.add("build", status.build_request_id());
  f.add("job run", status.job_run_id());
  f.add("message", status.message());
  const std::string active = fmt::format("{}", fmt::join(active_builds, ", "));
  f.add("active builds", active.empty() ? "none" : active);
  f.print(out);
  if (!recent_events.empty()) {
    std::fprintf(out, "\nrecent events:\n");
    EventPage page;
    for (const auto& e : recent_events) *page.add_events() = e;
    print_events_table_whole(page, out);
  }
}

void print_builds_table(const BuildsListResponse& list, std::FILE* out) {
  if (list.builds_size() == 0) return print_none("builds", out, list.total_count());
  Table t({"BUILD", "STATUS", "CREATED (UTC)", "UPDATED (UTC)", "EVENTS", "PARTITIONS", "JOB RUNS",
           "MESSAGE"});
  for (const auto& b : list.builds()) {
    t.add_row({b.build_request_id(), short_status(b.status_name()), format_time(b.created_at()),
               format_time(b.updated_at()), std::to_string(b.event_count()),
               std::to_string(b.partitions_size()), counts_text(b.job_runs_by_status()),
               b.cancel_reason().empty() ? b.message() : "cancelled: " + b.cancel_reason()});
  }
  t.print(out);
  print_more(out, list.builds_size(), list.total_count(), list.has_more());
}

void print_build_summary(const BuildRequestSummary& b, std::FILE* out) {
  Fields f;
  f.add("build", b.build_request_id());
  f.add("status", short_status(b.status_name()));
  f.add("requested", fmt::format("{}", fmt::join(b.requested_partitions(), ", ")));
  f.add("created", format_time(b.created_at()));
  f.add("updated", format_time(b.updated_at()));
  f.add("events", fmt::format("{} (idx {}..{})", b.event_count(), b.first_idx(), b.last_idx()));
  f.add("job runs", counts_text(b.job_runs_by_status()));
  if (!b.cancel_reason().empty()) f.add("cancel reason", b.cancel_reason());
  f.add("message", b.message());
  f.print(out);
  if (b.partitions_size() > 0) {
    std::fprintf(out, "\n");
    Table t({"PARTITION", "STATUS", "DELEGATED TO"});
    t.keep_last_column_whole();  // a build request id, never cut
    for (const auto& p : b.partitions()) {
      t.add_row(
          {p.partition_ref(), short_status(p.status_name()), p.delegated_to_build_request_id()});
    }
    t.print(out);
  }
  if (b.failures_size() > 0) {
    // Why the build failed: its failed and cancelled job runs, newest first.
    std::fprintf(out, "\nfailed or cancelled job runs (newest first):\n");
    Table t({"JOB RUN", "JOB", "STATUS", "PARTITIONS", "MESSAGE"});
    t.keep_last_column_whole();
    for (const auto& r : b.failures()) {
      std::string refs;
      for (const auto& ref : r.partition_refs()) refs += (refs.empty() ? "" : ", ") + ref;
      t.add_row({r.job_run_id(), r.job_label(), short_status(r.status_name()), refs, r.message()});
    }
    t.print(out);
  }
}

void print_job_metrics_table(const JobMetricsList& jobs, std::FILE* out) {
  if (jobs.jobs_size() == 0) return print_none("jobs", out);
  Table t({"JOB", "RUNS", "BY STATUS", "SUCCESS", "AVG DURATION", "LAST RUN", "LAST STATUS"});
  for (const auto& j : jobs.jobs()) {
    t.add_row({j.job_label(), std::to_string(j.total_runs()), counts_text(j.runs_by_status()),
               success_text(j), format_mean_duration(j.avg_duration_ns()),
               j.last_run().job_run_id(), short_status(j.last_run().status_name())});
  }
  t.print(out);
}

void print_job_metrics(const JobMetrics& j, std::FILE* out) {
  Fields f;
  f.add("job", j.job_label());
  f.add("runs", std::to_string(j.total_runs()));
  f.add("by status", counts_text(j.runs_by_status()));
  f.add("success rate", success_text(j));
  f.add("avg duration", format_mean_duration(j.avg_duration_ns()));
  f.add("last run", j.last_run().job_run_id().empty()
                        ? ""
                        : fmt::format("{} ({}, build {})", j.last_run().job_run_id(),
                                      short_status(j.last_run().status_name()),
                                      j.last_run().build_request_id()));
  f.print(out);
}

void print_job_runs_table(const JobRunsListResponse& list, std::FILE* out) {
  if (list.job_runs_size() == 0) return print_none("job runs", out, list.total_count());
  Table t({"JOB RUN", "JOB", "BUILD", "STATUS", "SCHEDULED (UTC)", "DURATION", "MESSAGE"});
  for (const auto& r : list.job_runs()) {
    t.add_row({r.job_run_id(), r.job_label(), r.build_request_id(), short_status(r.status_name()),
               format_time(r.scheduled_at()), format_span(r.started_at(), r.ended_at()),
               r.message()});
  }
  t.print(out);
  print_more(out, list.job_runs_size(), list.total_count(), list.has_more());
}

void print_job_run(const JobRunSummary& r, std::FILE* out) {
  Fields f;
  f.add("job run", r.job_run_id());
  f.add("job", r.job_label());
  f.add("build", r.build_request_id());
  f.add("status", short_status(r.status_name()));
  f.add("targets", fmt::format("{}", fmt::join(r.target_partitions(), ", ")));
  f.add("scheduled", format_time(r.scheduled_at()));
  f.add("started", format_time(r.started_at()));
  f.add("ended", format_time(r.ended_at()));
  // "-" until the run has both a start and an end, as job-runs list says.
  f.add("duration", r.ended_at() > 0 && r.started_at() > 0
                        ? format_span(r.started_at(), r.ended_at())
                        : std::string());
  f.add("message", r.message());
  f.print(out);
}

void print_activity(const ActivityResponse& a, std::FILE* out) {
  Fields f;
  f.add("events", fmt::format("{} (as of idx {})", a.event_count(), a.as_of_idx()));
  f.add("build requests",
        fmt::format("{} ({} active)", a.total_build_requests(), a.active_builds_count()));
  f.add("  by status", counts_text(a.build_requests_by_status()));
  f.add("partitions", std::to_string(a.total_partitions()));
  f.add("  by status", counts_text(a.partitions_by_status()));
  f.print(out);
  if (a.recent_builds_size() > 0) {
    std::fprintf(out, "\nrecent builds:\n");
    BuildsListResponse list;
    *list.mutable_builds() = a.recent_builds();
    print_builds_table(list, out);
  }
  if (a.recent_partitions_size() > 0) {
    std::fprintf(out, "\nrecent partitions:\n");
    PartitionsListResponse list;
    *list.mutable_partitions() = a.recent_partitions();
    print_partitions_table(list, out);
  }
}

void print_views_status(const ViewsStatus& views, std::FILE* out) {
  Table t({"VIEW", "STATE", "APPLIED", "LAG", "SNAPSHOT", "RESTARTS", "ANSWERED", "FALLBACKS",
           "LAST ERROR"});
  for (const auto& v : views.views()) {
    std::string state = ViewState_Name(v.state());
    if (state.rfind("VIEW_", 0) == 0) state = state.substr(5);
    for (auto& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t.add_row({v.view(), state, std::to_string(v.applied_idx()), std::to_string(v.lag()),
               idx_text(v.snapshot_idx()), std::to_string(v.restarts()),
               std::to_string(v.answered()), std::to_string(v.fallbacks()), v.last_error()});
  }
  t.print(out);
  std::fprintf(out, "\nlog last idx %lld; %lld queries answered by a fallback scan\n",
               static_cast<long long>(views.last_idx()),
               static_cast<long long>(views.fallback_queries()));
}

}  // namespace bel::app
