// bel partitions list | show | invalidate (SPEC section 6).
#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include "actors/client/command_events.h"
#include "actors/client/partitions_repository.h"
#include "app/commands.h"
#include "app/tables.h"
#include "messages/glob.h"

namespace bel::app {
namespace {

// What a partition's status never is (SPEC section 4): help, completion and the accepted names
// leave it out.
const std::vector<std::string> kNeverAStatus = {"delegated"};

struct PartitionsFlags : ListFlags {
  std::string pattern;
};

void run_list(Context& ctx, const PartitionsFlags& f) {
  auto statuses =
      parse_statuses<PartitionStatus>(ctx, f.statuses, parse_partition_status, kNeverAStatus);
  if (!statuses) return;
  // A partition's status is never DELEGATED (SPEC section 4: a delegation leaves it as the
  // delegate's events make it): a filter on it would match nothing, whatever the log holds.
  if (std::count(statuses->begin(), statuses->end(), v1::PARTITION_DELEGATED) > 0) {
    return ctx.usage_error(
        "--status: delegated is never a partition's status (a delegation leaves the partition "
        "to the build it was delegated to); bel builds show ID lists a build's delegated "
        "partitions");
  }
  if (!f.pattern.empty()) {
    if (auto ok = check_glob(f.pattern); !ok.ok()) {
      return ctx.usage_error("--pattern: " + ok.error().message);
    }
  }
  PartitionsListRequest request;
  request.set_limit(f.limit);
  request.set_offset(f.offset);
  request.set_pattern(f.pattern);
  for (auto s : *statuses) request.add_status_filter(s);
  if (!check_window(ctx, f.limit, f.offset)) return;
  ask_list<actors::PartitionsRepository>(ctx, "partition_status", request,
                                         json_or(print_partitions_table));
}

void run_show(Context& ctx, const std::string& ref, int recent) {
  if (recent < 0 || recent > actors::PartitionsRepository::kMaxRecentEvents) {
    return ctx.usage_error("--recent: must be between 0 and " +
                           std::to_string(actors::PartitionsRepository::kMaxRecentEvents) +
                           ", got " + std::to_string(recent));
  }
  answer_question(
      ctx,
      [&](actors::ApiClient& client, int64_t at) {
        return actors::PartitionsRepository(client).show(ref, recent, at);
      },
      [](Format format, const actors::PartitionDetail& d) {
        if (format == Format::table) {
          return print_partition_detail(d.status, d.active_builds, d.recent_events, stdout);
        }
        // SPEC section 6: {"status": PartitionStatusResponse, "active_builds": [ids],
        // "recent_events": [BuildEvent]}.
        std::string builds;
        for (const auto& id : d.active_builds)
          builds += (builds.empty() ? "" : ",") + json_string(id);
        std::string events;
        for (const auto& e : d.recent_events) events += (events.empty() ? "" : ",") + to_json(e);
        std::printf("{\"status\":%s,\"active_builds\":[%s],\"recent_events\":[%s]}\n",
                    to_json(d.status).c_str(), builds.c_str(), events.c_str());
      },
      /*one_key=*/true);
}

// The name of the user running the console, for "operator:<user>".
std::string console_user() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return "uid" + std::to_string(::geteuid());
}

void run_invalidate(Context& ctx, const std::string& ref, const std::string& reason,
                    const std::string& build) {
  // Without --build it is the operator's own action (SPEC section 2).
  const std::string by = build.empty() ? actors::operator_id(console_user()) : build;
  if (!arguments_fit(ctx, actors::make_partition_invalidation_event(ref, reason, by, ""),
                     {{"partition_invalidation_event.partition_ref", "REF"},
                      {"partition_invalidation_event.reason", "--reason"},
                      // Without --build the id is made of the user's name: say so.
                      {"build_request_id",
                       build.empty() ? "the operator id made of your user name" : "--build"}})) {
    return;
  }
  append_one(
      ctx,
      [&](actors::ApiClient& client) -> Result<AppendAck> {
        actors::PartitionsRepository partitions(client);
        if (!build.empty()) {
          // A mistyped --build is refused rather than logged as an operator named after it.
          if (Status known = partitions.check_invalidation_build(build); !known.ok()) {
            return known.error().with_context("--build");
          }
        }
        return partitions.invalidate(ref, reason, by);
      },
      "invalidated " + ref + (build.empty() ? " as " + by : ""));
}

}  // namespace

void add_partitions_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("partitions", "Partition status, history and invalidation");
  group->require_subcommand(1);

  auto lf = std::make_shared<PartitionsFlags>();
  auto* list =
      group->add_subcommand("list", "Partitions with a known status, most recently changed first");
  add_status_option<PartitionStatus>(list, lf->statuses, kNeverAStatus);
  not_empty(list->add_option(
      "--pattern", lf->pattern,
      "Only refs matching this glob: * ? [a-z] [^a-z] (SQLite GLOB: [!a] is ! or a)"));
  add_window_options(list, *lf);
  add_log_options(list, ctx);
  list->callback([&ctx, lf] { run_list(ctx, *lf); });

  auto ref = std::make_shared<std::string>();
  auto recent = std::make_shared<int>(20);
  auto* show = group->add_subcommand(
      "show", "A partition's status, the builds building it now, and its recent events");
  key_argument(show->add_option("REF", *ref, "The partition ref")->required());
  show->add_option("--recent", *recent,
                   "How many recent events to show (0.." +
                       std::to_string(actors::PartitionsRepository::kMaxRecentEvents) + ")")
      ->capture_default_str();
  add_log_options(show, ctx);
  show->callback([&ctx, ref, recent] { run_show(ctx, *ref, *recent); });

  auto iref = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto build = std::make_shared<std::string>();
  auto* invalidate = group->add_subcommand(
      "invalidate",
      "Mark a partition invalid (its status becomes invalidated until a later event of it "
      "changes it, such as a new build's)");
  not_empty(invalidate->add_option("REF", *iref, "The partition ref")->required());
  not_empty(
      invalidate->add_option("--reason", *reason, "Why (becomes the status message)")->required());
  not_empty(invalidate->add_option(
      "--build", *build,
      "The build request on whose behalf (one the log has, not finished), or operator:NAME for "
      "another operator's; without it, the invalidation is yours: operator:<your user name>"));
  add_log_options(invalidate, ctx);
  invalidate->callback(
      [&ctx, iref, reason, build] { run_invalidate(ctx, *iref, *reason, *build); });
}

}  // namespace bel::app
