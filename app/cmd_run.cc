// bel run: a coordinator session with built-in simulated work, then a summary of the log.
#include "actors/log_writer.h"
#include "app/commands.h"
#include "app/local_log.h"
#include "app/scenario.h"
#include "messages/json.h"

namespace bel::app {
namespace {

void run_run(Context& ctx) {
  auto format = ctx.output_format();
  auto durable = ctx.durability_full();
  if (!format || !durable) return;
  LocalLogOptions options;
  options.durability_full = *durable;
  auto log = LocalLog::open(ctx.log_uri, options);
  if (!log.ok()) return ctx.fail(log.error());

  const std::string run_id = actors::new_uuid_v4().substr(0, 8);
  auto steps = demo_scenario(run_id);
  EventFilter mine;
  size_t appended = 0;
  for (auto& step : steps) {
    for (const auto& e : step) {
      if (std::find(mine.build_request_ids().begin(), mine.build_request_ids().end(),
                    e.build_request_id()) == mine.build_request_ids().end()) {
        mine.add_build_request_ids(e.build_request_id());
      }
    }
    appended += step.size();
    auto acks = (*log)->append(std::move(step));
    if (!acks.ok()) return ctx.fail(acks.error());
  }
  auto page = (*log)->reader().list_events(0, mine, storage::kMaxListLimit);
  if (!page.ok()) return ctx.fail(page.error());
  auto last = (*log)->reader().last_idx();
  if (!last.ok()) return ctx.fail(last.error());

  if (*format == Format::json) {
    std::printf("%s\n", to_json(*page).c_str());
    return;
  }
  std::printf("bel run %s: appended %zu events in %zu atomic batches to %s\n\n", run_id.c_str(),
              appended, steps.size(), ctx.log_uri.c_str());
  print_events_table(*page, stdout);
  std::printf("\nThe log now holds %lld events. Explore it:\n", static_cast<long long>(*last));
  const std::string log_flag = ctx.log_uri == kDefaultLogUri ? "" : " --log " + ctx.log_uri;
  std::printf("  bel events list%s --partition sales/daily/2026-11-21\n", log_flag.c_str());
  std::printf("  bel events list%s --pattern 'reports/*' --type job_event\n", log_flag.c_str());
  std::printf("  bel events list%s --build br-%s-2 --format json\n", log_flag.c_str(),
              run_id.c_str());
  std::printf("  bel events tail%s          # follow new events\n", log_flag.c_str());
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "run",
      "Run the coordinator with simulated in-process workers on the log, then print what the log "
      "holds");
  cmd->add_option("--durability", ctx.durability, "full (default) or normal")
      ->capture_default_str();
  add_log_options(cmd, ctx);
  cmd->callback([&ctx] { run_run(ctx); });
}

}  // namespace bel::app
