// bel sign-in: a new one-time link that signs a browser in to the running coordinator's web view
// (docs/web.md), for an operator who did not keep the one `bel serve` printed or whose session
// ended.
#include <cstdio>
#include <string>

#include "actors/web/web_session.h"
#include "app/commands.h"

namespace bel::app {
namespace {

void run_sign_in(Context& ctx) {
  auto format = ctx.output_format();
  if (!format) return;
  // Only a coordinator serves a dashboard: the log is never opened here.
  ctx.coordinator_only = true;
  auto session = ctx.session(/*write=*/false, /*create_log=*/false, /*one_key=*/true);
  ctx.coordinator_only = false;
  if (!session) return;
  auto url = session->sign_in_url();
  if (!url.ok()) return ctx.fail(url.error());
  const auto minutes = actors::web::WebSessions::kOnceLifetime.count();
  if (*format == Format::json) {
    std::printf("{\"url\":%s,\"valid_for_s\":%lld}\n", json_string(*url).c_str(),
                static_cast<long long>(minutes * 60));
    return;
  }
  std::printf("%s\n", url->c_str());
  std::printf("  opens the dashboard once, within %lld minutes, and signs that browser in\n",
              static_cast<long long>(minutes));
}

}  // namespace

void add_sign_in_command(CLI::App& app, Context& ctx) {
  auto* cmd = add_log_command(
      app, ctx, "sign-in",
      "Print a new one-time link that signs a browser in to the dashboard of the coordinator "
      "serving the log (or at --connect): it works once, within an hour, and needs the "
      "coordinator's token, as every console command does");
  cmd->callback([&ctx] { run_sign_in(ctx); });
}

}  // namespace bel::app
