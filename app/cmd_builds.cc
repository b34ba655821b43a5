// bel builds list | show | cancel (SPEC section 6).
#include "actors/client/builds_repository.h"
#include "actors/client/command_events.h"
#include "app/commands.h"
#include "app/tables.h"

namespace bel::app {
namespace {

void run_list(Context& ctx, const ListFlags& f) {
  BuildsListRequest request;
  if (!fill_list_request<BuildRequestStatus>(ctx, f, parse_build_request_status, &request)) return;
  ask_list<actors::BuildsRepository>(ctx, "build_summary", request, json_or(print_builds_table));
}

void run_cancel(Context& ctx, const std::string& id, const std::string& reason) {
  if (!arguments_fit(ctx, actors::make_build_cancel_event(id, reason, ""),
                     {{"build_request_id", "ID"}, {"build_cancel_event.reason", "--reason"}})) {
    return;
  }
  append_one(
      ctx,
      [&](actors::ApiClient& client) {
        return actors::BuildsRepository(client).cancel(id, reason);
      },
      "cancelled " + id);
}

}  // namespace

void add_builds_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("builds", "Build requests: list, summary, cancel");
  group->require_subcommand(1);

  auto lf = std::make_shared<ListFlags>();
  auto* list = group->add_subcommand("list", "Build requests, newest first");
  add_status_option<BuildRequestStatus>(list, lf->statuses);
  add_window_options(list, *lf);
  add_log_options(list, ctx);
  list->callback([&ctx, lf] { run_list(ctx, *lf); });

  add_show_and_cancel(
      group, ctx,
      {"The build request id",
       "A build request's status, partitions, job runs and why it ended as it did",
       "Cancel a build request that has not finished", "Why (kept as the cancel reason)",
       asking_about<actors::BuildsRepository>(ctx, &actors::BuildsRepository::show,
                                              json_or(print_build_summary)),
       [&ctx](const std::string& id, const std::string& reason) { run_cancel(ctx, id, reason); }});
}

}  // namespace bel::app
