// bel jobs list | show, bel job-runs list | show | cancel (SPEC section 6).
#include "actors/client/command_events.h"
#include "actors/client/job_runs_repository.h"
#include "actors/client/jobs_repository.h"
#include "app/commands.h"
#include "app/tables.h"

namespace bel::app {
namespace {

// SPEC section 6: `jobs list` prints a JSON array of JobMetrics, not the JobMetricsList.
void run_jobs_list(Context& ctx) {
  ask_view(
      ctx, "job_runs",
      [](actors::ApiClient& client, int64_t at) { return actors::JobsRepository(client).list(at); },
      [](Format format, const JobMetricsList& list) {
        if (format == Format::table) return print_job_metrics_table(list, stdout);
        std::string text;
        for (const auto& j : list.jobs()) text += (text.empty() ? "" : ",") + to_json(j);
        std::printf("[%s]\n", text.c_str());
      });
}

void run_jobs_show(Context& ctx, const std::string& label) {
  ask_repository<actors::JobsRepository>(ctx, &actors::JobsRepository::metrics, label,
                                         json_or(print_job_metrics));
}

struct RunsFlags : ListFlags {
  std::string job;
  std::string build;
};

void run_runs_list(Context& ctx, const RunsFlags& f) {
  JobRunsListRequest request;
  if (!fill_list_request<JobStatus>(ctx, f, parse_job_status, &request)) return;
  request.set_job_label(f.job);
  request.set_build_request_id(f.build);
  ask_list<actors::JobRunsRepository>(ctx, "job_runs", request, json_or(print_job_runs_table));
}

void run_runs_cancel(Context& ctx, const std::string& id, const std::string& reason) {
  // Its build request is looked up later; any id stands in for it here.
  if (!arguments_fit(ctx, actors::make_job_run_cancel_event("-", id, reason, ""),
                     {{"job_run_cancel_event.job_run_id", "ID"},
                      {"job_run_cancel_event.reason", "--reason"}})) {
    return;
  }
  append_one(
      ctx,
      [&](actors::ApiClient& client) -> Result<AppendAck> {
        // The run is looked up (for its build request) as of every write acknowledged so far.
        auto stats = client.stats();
        if (!stats.ok()) return stats.error();
        return actors::JobRunsRepository(client).cancel(id, reason, stats->last_idx());
      },
      "cancelled " + id);
}

}  // namespace

void add_jobs_commands(CLI::App& app, Context& ctx) {
  auto* jobs = app.add_subcommand("jobs", "Jobs (by label): run counts, success rate, duration");
  jobs->require_subcommand(1);
  auto* list = add_log_command(*jobs, ctx, "list", "Every job label with its metrics");
  list->callback([&ctx] { run_jobs_list(ctx); });
  auto label = std::make_shared<std::string>();
  auto* show = add_log_command(*jobs, ctx, "show", "One job label's metrics and last run");
  key_argument(show->add_option("LABEL", *label, "The job label, e.g. //sales:daily")->required());
  show->callback([&ctx, label] { run_jobs_show(ctx, *label); });

  auto* runs = app.add_subcommand("job-runs", "Job runs: list, details, cancel");
  runs->require_subcommand(1);
  auto rf = std::make_shared<RunsFlags>();
  auto* rlist = runs->add_subcommand("list", "Job runs, newest first");
  key_argument(rlist->add_option("--job", rf->job, "Only runs of this job label"));
  key_argument(rlist->add_option("--build", rf->build,
                                 "Only runs of this build request (e.g. to see why it failed)"));
  add_status_option<JobStatus>(rlist, rf->statuses);
  add_window_options(rlist, *rf);
  add_log_options(rlist, ctx);
  rlist->callback([&ctx, rf] { run_runs_list(ctx, *rf); });

  add_show_and_cancel(runs, ctx,
                      {"The job run id", "One job run: status, times, targets, message",
                       "Cancel a job run that has not finished", "Why",
                       asking_about<actors::JobRunsRepository>(
                           ctx, &actors::JobRunsRepository::show, json_or(print_job_run)),
                       [&ctx](const std::string& id, const std::string& reason) {
                         run_runs_cancel(ctx, id, reason);
                       }});
}

}  // namespace bel::app
