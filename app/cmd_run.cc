// bel run: the coordinator with simulated in-process build workers for a bounded number of build
// requests, then a summary of what the log holds (./scripts/run).
#include <fmt/format.h>

#include <filesystem>

#include "actors/client/activity_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/sim/simulator.h"
#include "app/commands.h"
#include "app/progress.h"
#include "app/simulation_flags.h"
#include "app/tables.h"
#include "app/text.h"
#include "messages/for_people.h"
#include "storage/uri.h"

namespace bel::app {
namespace {

struct RunFlags {
  RunFlags() { sim.builds = 60; }  // rate 0: as fast as the log takes them
  sim::SimulationOptions sim;
  int timeout_s = 120;
};

// The build worth asking "why did it end as it did": the newest failed one, else the newest.
std::string interesting_build(actors::ApiClient& client, const sim::SimulationReport& report) {
  if (report.build_request_ids.empty()) return "ID";
  Query failed;
  failed.set_min_idx(report.last_idx);
  failed.mutable_builds_list()->add_status_filter(v1::BUILD_REQUEST_FAILED);
  failed.mutable_builds_list()->set_limit(1);
  auto answer = client.query(failed);
  if (answer.ok() && answer->builds_list().builds_size() > 0) {
    return answer->builds_list().builds(0).build_request_id();
  }
  return report.build_request_ids.back();
}

// The partition worth showing: one this run invalidated (it then has a history of being built,
// invalidated and rebuilt), else one it delegated, else the most recently changed one.
std::string interesting_partition(actors::ApiClient& client, const sim::SimulationReport& report) {
  for (const char* type : {"partition_invalidation_event", "delegation_event"}) {
    ListEventsRequest request;
    for (const auto& id : report.build_request_ids) {
      if (request.filter().build_request_ids_size() >= 500) break;
      request.mutable_filter()->add_build_request_ids(id);
    }
    request.mutable_filter()->add_event_types(type);
    request.set_limit(1);
    auto page = client.list_events(request);
    if (!page.ok() || page->events().empty()) continue;
    const auto& e = page->events(0);
    if (e.has_partition_invalidation_event()) {
      return e.partition_invalidation_event().partition_ref().str();
    }
    if (e.has_delegation_event()) return e.delegation_event().partition_ref().str();
  }
  Query q;
  q.set_min_idx(report.last_idx);
  q.mutable_partitions_list()->set_limit(1);
  auto list = client.query(q);
  if (list.ok() && list->partitions_list().partitions_size() > 0) {
    return list->partitions_list().partitions(0).partition_ref();
  }
  return "";
}

// The error `bel run` ends with when the simulation met errors (its report is printed first).
Error simulation_errors(const sim::SimulationReport& r) {
  return make_error(ErrorCode::internal,
                    fmt::format("the simulation met {} errors; first: {}", r.errors,
                                r.error_messages.empty() ? "" : r.error_messages[0]));
}

void run_run(Context& ctx, const RunFlags& f) {
  auto format = ctx.output_format();
  if (!format) return;
  if (!check_simulation_flags(ctx, f.sim)) return;
  if (f.sim.builds < 1 || f.sim.builds > 1000000) {
    return ctx.usage_error("--builds: must be between 1 and 1000000, got " +
                           std::to_string(f.sim.builds));
  }
  if (f.timeout_s < 1) return ctx.usage_error("--timeout: must be at least 1 second");
  cap_malloc_arenas();  // it hosts the coordinator, as `bel serve` does
  auto session = ctx.session(/*write=*/true, /*create_log=*/true);
  if (!session) return;

  if (*format == Format::table) {
    std::printf("bel run: %s by %s (seed %llu) on %s\n",
                plural(f.sim.builds, "build request").c_str(),
                plural(f.sim.workers, "simulated worker").c_str(),
                static_cast<unsigned long long>(f.sim.seed), session->description().c_str());
    std::fflush(stdout);
  }
  Progress bar("simulating");
  auto report = sim::run_simulation(
      session->system(), session->api(), f.sim, std::chrono::seconds(f.timeout_s),
      [&bar, &f](const sim::SimulationReport& r) {
        bar.update(r.builds_completed + r.builds_failed + r.builds_cancelled, f.sim.builds);
      });
  bar.finish();
  if (!report.ok()) return ctx.fail(report.error());

  actors::ActivityRepository activity_repo(session->client());
  auto activity = activity_repo.activity(report->last_idx);
  if (!activity.ok()) return ctx.fail(activity.error());
  const std::string ref = interesting_partition(session->client(), *report);
  actors::PartitionsRepository partitions(session->client());
  std::optional<actors::PartitionDetail> detail;
  if (!ref.empty()) {
    auto shown = partitions.show(ref, 12, report->last_idx);
    if (!shown.ok()) return ctx.fail(shown.error());
    detail = std::move(*shown);
  }

  const auto& r = *report;
  if (*format == Format::json) {
    std::string builds;
    for (const auto& id : r.build_request_ids)
      builds += (builds.empty() ? "" : ",") + json_string(id);
    fmt::print(
        "{{\"report\":{{\"events_appended\":\"{}\",\"builds_completed\":\"{}\","
        "\"builds_failed\":\"{}\",\"builds_cancelled\":\"{}\",\"delegations_active\":\"{}\","
        "\"delegations_historical\":\"{}\",\"jobs_failed\":\"{}\",\"invalidations\":\"{}\","
        "\"errors\":\"{}\",\"last_idx\":\"{}\",\"build_request_ids\":[{}]}},"
        "\"activity\":{},\"partition\":{}}}\n",
        r.events_appended, r.builds_completed, r.builds_failed, r.builds_cancelled,
        r.delegations_active, r.delegations_historical, r.jobs_failed, r.invalidations, r.errors,
        r.last_idx, builds, to_json(*activity), detail ? to_json(detail->status) : "null");
    if (r.errors > 0) {
      return ctx.fail(simulation_errors(r));
    }
    return;
  }

  fmt::print(
      "appended {}: {} completed, {} failed, {} cancelled; {} to running builds, {} to "
      "earlier builds; {} failed; {}\n\n",
      plural(r.events_appended, "event"), plural(r.builds_completed, "build"), r.builds_failed,
      r.builds_cancelled, plural(r.delegations_active, "delegation"), r.delegations_historical,
      plural(r.jobs_failed, "job run"), plural(r.invalidations, "invalidation"));
  std::printf("== activity\n");
  print_activity(*activity, stdout);
  if (detail) {
    std::printf("\n== partition %s\n", ref.c_str());
    print_partition_detail(detail->status, detail->active_builds, detail->recent_events, stdout);
  }
  auto where = storage::parse_storage_uri(ctx.log_uri);
  if (ctx.connect.empty() && where.ok() && storage::lives_in_process(where->scheme)) {
    // The log lived in this process: no later command can read it.
    std::printf(
        "\nThe log (%s) ended with this process; run with --log sqlite://FILE to keep it "
        "and explore it afterwards.\n",
        storage::shown_uri(ctx.log_uri).c_str());
    if (r.errors > 0) return ctx.fail(simulation_errors(r));
    return;
  }
  // Commands to paste: every word quoted for the shell, and a password never printed (the user
  // puts it back, or sets $BEL_LOG).
  const std::string log =
      ctx.log_uri == kDefaultLogUri ? "" : " --log " + shell_word(storage::shown_uri(ctx.log_uri));
  const std::string some_build = shell_word(interesting_build(session->client(), r));
  // Which bel: the commands below name it `bel`, which may not be on the PATH (a build tree).
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::printf("\nExplore further (bel is %s):\n",
              ec ? "this program" : shell_word(self.string()).c_str());
  std::printf("  bel builds list%s --status failed      # which builds failed\n", log.c_str());
  std::printf("  bel builds show%s %s    # why a build ended as it did\n", log.c_str(),
              some_build.c_str());
  if (!ref.empty()) {
    std::printf("  bel partitions show%s %s\n", log.c_str(), shell_word(ref).c_str());
  }
  std::printf("  bel jobs list%s                        # success rate and duration per job\n",
              log.c_str());
  std::printf("  bel events list%s --pattern 'sales/*' --type job_event\n", log.c_str());
  std::printf("  bel console%s                          # all of the above, interactively\n",
              log.c_str());
  if (r.errors > 0) {
    return ctx.fail(simulation_errors(r));
  }
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand(
      "run",
      "Run the coordinator with simulated in-process build workers for a number of build "
      "requests, then print what the log holds");
  add_simulation_options(cmd, f->sim, "");
  cmd->add_option("--timeout", f->timeout_s, "Give up after this many seconds")
      ->capture_default_str();
  add_durability_option(cmd, ctx);
  add_log_options(cmd, ctx, LogRole::in_process);
  cmd->callback([&ctx, f] {
    // run takes no --connect: $BEL_CONNECT, read for the commands that do, is not where its
    // simulated workers go (its log is --log, through the coordinator that log advertises).
    ctx.connect.clear();
    run_run(ctx, *f);
  });
}

}  // namespace bel::app
