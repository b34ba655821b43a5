// bel activity (SPEC section 6): the overview.
#include "actors/client/activity_repository.h"
#include "app/commands.h"
#include "app/tables.h"

namespace bel::app {
namespace {

void run_activity(Context& ctx) {
  ask_view(
      ctx, "activity",
      [](actors::ApiClient& client, int64_t at) {
        return actors::ActivityRepository(client).activity(at);
      },
      json_or(print_activity));
}

}  // namespace

void add_activity_command(CLI::App& app, Context& ctx) {
  auto* cmd =
      add_log_command(app, ctx, "activity",
                      "Overview: build requests and partitions by status, the most recent of each");
  cmd->callback([&ctx] { run_activity(ctx); });
}

}  // namespace bel::app
