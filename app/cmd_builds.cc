// bel builds list | show | cancel (SPEC section 6).
#include "actors/client/builds_repository.h"
#include "app/commands.h"
#include "app/tables.h"

namespace bel::app {
namespace {

struct ListFlags {
  std::vector<std::string> statuses;
  int limit = 50;
  int offset = 0;
};

void run_list(Context& ctx, const ListFlags& f) {
  auto statuses =
      parse_statuses<BuildRequestStatus>(ctx, f.statuses, parse_build_request_status);
  if (!statuses || !check_window(ctx, f.limit, f.offset)) return;
  BuildsListRequest request;
  request.set_limit(f.limit);
  request.set_offset(f.offset);
  for (auto s : *statuses) request.add_status_filter(s);
  answer_question(
      ctx,
      [&](actors::ApiClient& client, int64_t at) {
        return actors::BuildsRepository(client).list(request, at);
      },
      json_or(print_builds_table));
}

void run_show(Context& ctx, const std::string& id) {
  answer_question(
      ctx,
      [&](actors::ApiClient& client, int64_t at) {
        return actors::BuildsRepository(client).show(id, at);
      },
      json_or(print_build_summary));
}

void run_cancel(Context& ctx, const std::string& id, const std::string& reason) {
  append_one(
      ctx,
      [&](actors::ApiClient& client) { return actors::BuildsRepository(client).cancel(id, reason); },
      "cancelled " + id);
}

}  // namespace

void add_builds_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("builds", "Build requests: list, summary, cancel");
  group->require_subcommand(1);

  auto lf = std::make_shared<ListFlags>();
  auto* list = group->add_subcommand("list", "Build requests, newest first");
  add_status_option<BuildRequestStatus>(list, lf->statuses);
  list->add_option("--limit", lf->limit, "At most this many (1..1000)")->capture_default_str();
  list->add_option("--offset", lf->offset, "Skip this many first")->capture_default_str();
  add_log_options(list, ctx);
  list->callback([&ctx, lf] { run_list(ctx, *lf); });

  auto id = std::make_shared<std::string>();
  auto* show = group->add_subcommand(
      "show", "A build request's status, partitions, job runs and why it ended as it did");
  show->add_option("ID", *id, "The build request id")->required();
  add_log_options(show, ctx);
  show->callback([&ctx, id] { run_show(ctx, *id); });

  auto cid = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto* cancel = group->add_subcommand("cancel", "Cancel a build request that has not finished");
  cancel->add_option("ID", *cid, "The build request id")->required();
  cancel->add_option("--reason", *reason, "Why (kept as the cancel reason)")->required();
  add_log_options(cancel, ctx);
  cancel->callback([&ctx, cid, reason] { run_cancel(ctx, *cid, *reason); });
}

}  // namespace bel::app
