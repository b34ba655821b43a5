// bel views status | rebuild [NAME] (SPEC section 6).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "actors/check/log_check.h"
#include "actors/check/view_rebuild.h"
#include "actors/coordinator_options.h"
#include "app/commands.h"
#include "app/progress.h"
#include "app/tables.h"
#include "projections/queries.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::app {
namespace {

void run_status(Context& ctx) {
  auto format = ctx.output_format();
  if (!format) return;
  auto session = ctx.session();
  if (!session) return;
  if (!session->remote()) {
    // The views of an in-process session started with this command: report them once they
    // have loaded, not their first milliseconds.
    auto at = ctx.read_point(*session);
    if (!at) return;
    check::wait_for_views(session->client(), *at, std::chrono::seconds(30), {});
  }
  auto views = session->client().views_status();
  if (!views.ok()) return ctx.fail(views.error());
  print_answer(*format, *views, print_views_status);
}

// With no coordinator on an sqlite:// log (its writer lock is free): one pass over the log folds
// the views and replaces their snapshots (actors/check/view_rebuild.h). Nothing when a
// coordinator (or another writer) holds the lock, or the log lives in another process.
std::optional<Result<ViewsStatus>> rebuild_without_coordinator(Context& ctx,
                                                               const std::string& name) {
  if (!ctx.connect.empty() || ctx.shared_session) return std::nullopt;
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return std::nullopt;
  // A missing log is the session's error to report (never created by a rebuild).
  std::error_code ec;
  if (!std::filesystem::exists(parsed->path, ec)) return std::nullopt;
  // Opening for writing takes the log's writer lock; when a coordinator (or another writer) holds
  // it, or the log cannot be opened, the session path goes through the holder or reports why.
  storage::StorageOptions writer;
  writer.on_migrate = actors::migration_notice(ctx.log_uri);
  auto log = storage::open_storage(ctx.log_uri, writer);
  if (!log.ok()) return std::nullopt;
  std::vector<projections::ViewKind> kinds;
  if (!name.empty()) kinds.push_back(*projections::parse_view_name(name));
  Progress progress("rebuilding " + (name.empty() ? std::string("every view") : name));
  auto report = check::rebuild_view_snapshots(
      **log, kinds, [&](int64_t done, int64_t total) { progress.update(done, total); });
  progress.finish();
  if (!report.ok()) return Result<ViewsStatus>(report.error());
  return Result<ViewsStatus>(std::move(report->views));
}

// Prints the views rebuilt (the one named, or every view: whichever way the rebuild ran, a
// coordinator's answer lists them all) and fails the command when one is not healthy after it.
void report_rebuild(Context& ctx, Format format, const std::string& name, ViewsStatus result) {
  if (!name.empty()) {
    auto* views = result.mutable_views();
    views->erase(std::remove_if(views->begin(), views->end(),
                                [&](const auto& v) { return v.view() != name; }),
                 views->end());
  }
  for (const auto& v : result.views()) {
    if ((name.empty() || v.view() == name) && v.state() != v1::VIEW_HEALTHY) {
      print_answer(format, result, print_views_status);
      return ctx.fail(make_error(ErrorCode::internal, "view " + v.view() +
                                                          " did not rebuild: " + v.last_error()));
    }
  }
  print_answer(format, result, print_views_status);
}

void run_rebuild(Context& ctx, const std::string& name) {
  auto format = ctx.output_format();
  if (!format) return;
  if (!name.empty() && !projections::parse_view_name(name)) {
    return ctx.usage_error(projections::unknown_view_error(name).message);
  }
  if (auto direct = rebuild_without_coordinator(ctx, name)) {
    if (!direct->ok()) return ctx.fail(direct->error());
    return report_rebuild(ctx, *format, name, **direct);
  }
  // Rebuilt views write snapshots: an in-process session needs the writer.
  auto session = ctx.session(/*write=*/true);
  if (!session) return;
  auto done = std::async(std::launch::async, [&] { return session->client().rebuild(name); });
  const std::string label = "rebuilding " + (name.empty() ? std::string("every view") : name);
  Progress progress(label);
  // Redraws the bar from the views' status until the rebuild answers.
  while (done.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (!progress.enabled()) continue;
    auto views = session->client().views_status();
    if (!views.ok()) continue;
    const RebuildProgress now = rebuild_progress(*views, name);
    progress.set_label(now.saving ? label + ": saving snapshots" : label);
    progress.update(now.folded, now.total);
  }
  progress.finish();
  auto result = done.get();
  if (!result.ok()) return ctx.fail(result.error());
  report_rebuild(ctx, *format, name, *result);
}

}  // namespace

void refresh_snapshots_after_write(Context& ctx, Session& session) {
  if (session.remote()) return;  // the coordinator keeps its own
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return;
  // This process's session holds the log's writer lock: a second connection that reads the
  // events and saves only snapshots, as a coordinator's snapshot store does (a writable open would
  // ask for the lock this process already holds).
  storage::StorageOptions options;
  options.snapshots_only = true;
  auto log = storage::open_storage(ctx.log_uri, options);
  auto refreshed = log.ok() ? check::refresh_view_snapshots(**log, actors::ViewActorConfig{}, {})
                            : Result<check::ViewRebuildReport>(log.error());
  if (!refreshed.ok()) {
    std::fprintf(stderr, "bel: warning: view snapshots not refreshed: %s\n",
                 refreshed.error().to_string().c_str());
  }
}

void add_views_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("views", "The query views: health and rebuild");
  group->require_subcommand(1);
  auto* status =
      add_log_command(*group, ctx, "status",
                      "Per view: state, applied idx, lag behind the log, snapshot, last error");
  status->callback([&ctx] { run_status(ctx); });

  auto name = std::make_shared<std::string>();
  auto* rebuild = add_log_command(
      *group, ctx, "rebuild",
      "Fold the log again from idx 1 into a view (every view without NAME); heals a failed view");
  not_empty(
      rebuild->add_option("NAME", *name, "partition_status, build_summary, job_runs or activity"));
  rebuild->callback([&ctx, name] { run_rebuild(ctx, *name); });
}

}  // namespace bel::app
