// bel serve: the long-running coordinator (SPEC sections 5, 6; R6).
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/client/session.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/net/endpoint.h"
#include "actors/sim/simulator.h"
#include "actors/web/console_endpoint.h"
#include "app/commands.h"
#include "app/simulation_flags.h"
#include "messages/for_people.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::app {
namespace {

constexpr const char* kDefaultListen = "127.0.0.1:0";

struct ServeFlags {
  ServeFlags() {
    sim.rate = 20;   // events/s: a pace a person can follow in `bel events tail`
    sim.builds = 0;  // until stopped
  }
  bool simulate = false;
  sim::SimulationOptions sim;
  std::string listen = kDefaultListen;
  bool listen_given = false;  // --listen on the command line, even with the default's value
  std::string http;  // the same server as --listen, named for the web view
  // The overload bounds (docs/reliability.md, R5): appends pending at once, request bodies read.
  int64_t max_pending_events = int64_t(actors::StorageActorConfig{}.max_pending_events);
  int64_t max_pending_bytes = int64_t(actors::StorageActorConfig{}.max_pending_bytes);
  int64_t max_inflight_bytes = int64_t(actors::ConsoleEndpointOptions{}.max_inflight_bytes);
};

// Request bodies read at once must leave room for one request of the largest event (1 MiB) and
// its framing: below that, some appends could never be taken, at any load.
constexpr int64_t kMinInflightBytes = 2 << 20;

// The overload bounds as flags: each at least `least`.
struct LimitFlag {
  const char* name;
  int64_t ServeFlags::*value;
  const char* help;
  int64_t least = 1;
};
constexpr LimitFlag kLimitFlags[] = {
    {"--max-pending-events", &ServeFlags::max_pending_events,
     "Appends pending at once, in events; beyond it appends are answered overloaded"},
    {"--max-pending-bytes", &ServeFlags::max_pending_bytes,
     "Appends pending at once, in bytes of encoded events (an eighth of their decoded size "
     "where that is more); beyond it appends are answered overloaded; request bodies decode "
     "within 8 times it at once"},
    {"--max-inflight-bytes", &ServeFlags::max_inflight_bytes,
     "Console request bodies read at once, in bytes, at least 2 MiB (one request's body is at "
     "most this and 32 MiB); beyond it requests are answered overloaded",
     kMinInflightBytes},
};

void say(const std::string& line) {
  std::fprintf(stderr, "bel serve: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

// glibc gives threads that allocate at once arenas of their own (up to 8 per core), and an arena
// keeps what its threads freed for their next allocations. The console's request threads each
// parse a whole request body, so without a cap the peak resident memory grows with every arena
// that has parsed a large body, to many times the bound the overload limits set (R5,
// docs/reliability.md). At a start, the views' readers (each on its own thread) leave what they
// decoded of the snapshots in theirs: 148 MB resident once a 1M-event log's views are restored,
// 131 MB with the cap. Two arenas keep both down. (On jemalloc, the `bel` binary's allocator,
// app/main.cc sets one arena for the same reason and this call changes nothing.)
void cap_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
}

namespace {

// The endpoint of a coordinator that already serves `ctx`'s log and answers there, if any: what
// a second `bel serve` on the log meets (its writer lock says only who holds the log).
std::optional<std::string> answering_coordinator(const Context& ctx) {
  actors::SessionOptions options;
  options.log_uri = ctx.log_uri;
  options.token_file = ctx.token_file;
  options.start_views = false;
  options.views = std::vector<std::string>{};
  auto session = actors::Session::open(options);
  if (!session.ok() || !(*session)->remote()) return std::nullopt;
  return (*session)->description();
}

void run_serve(Context& ctx, const ServeFlags& f) {
  cap_malloc_arenas();
  // A coordinator whose output pipe closes (`bel serve 2>&1 | head`, a log collector restarting)
  // keeps serving: its writes there fail with EPIPE (docs/embedding.md, "Signals").
  ::signal(SIGPIPE, SIG_IGN);
  auto durable = ctx.durability_full();
  if (!durable) return;
  ctx.warn_durability(/*applies=*/true);
  if (!check_simulation_flags(ctx, f.sim)) return;
  // One server answers the console, the web API and the dashboard: --http names its address
  // for the web view's sake (docs/web.md).
  if (!f.http.empty() && f.listen_given && f.listen != f.http) {
    return ctx.usage_error("--http " + f.http + " and --listen " + f.listen +
                           ": the console and the web view share one server; give one address");
  }
  for (const auto& limit : kLimitFlags) {
    if (f.*limit.value < limit.least) {
      return ctx.usage_error(std::string(limit.name) + ": must be at least " +
                             std::to_string(limit.least) + ", got " +
                             std::to_string(f.*limit.value));
    }
  }
  const std::string address = f.http.empty() ? f.listen : f.http;
  const std::string flag = f.http.empty() ? "--listen" : "--http";  // the one given
  auto listen = actors::parse_endpoint(address);
  if (!listen.ok()) return ctx.usage_error(flag + ": " + listen.error().message);
  const bool loopback = actors::is_loopback_host(listen->host);
  if (!loopback && ctx.token_file.empty()) {
    return ctx.usage_error(
        flag + " " + address +
        ": listening beyond loopback needs --token-file FILE (yours, mode 0600, at least 32 hex "
        "digits)");
  }
  auto parsed_uri = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed_uri.ok()) return ctx.fail(parsed_uri.error());

  // Without a token file, a log that is no file here (in-process, PostgreSQL) has nowhere to keep
  // the console's token: no endpoint then, which an address asked for explicitly must not meet
  // silently.
  const bool serves = !ctx.token_file.empty() || actors::default_token_path(ctx.log_uri);
  if (!serves && (!f.http.empty() || f.listen_given)) {
    return ctx.usage_error(flag + " " + address + ": " + storage::shown_uri(ctx.log_uri) +
                           " is not a log file on this host, so there is no file to keep the "
                           "console's token beside; give --token-file FILE to serve it");
  }

  // SIGINT and SIGTERM are taken by sigwait() below, never by a handler: block them before any
  // thread starts so every thread inherits the mask. So is SIGHUP (the terminal or the ssh
  // session it ran in closed), which would otherwise end it with no orderly stop: unless it was
  // started to ignore it (nohup), for a blocked signal is queued even when ignored.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  struct sigaction hangup {};
  if (sigaction(SIGHUP, nullptr, &hangup) == 0 && hangup.sa_handler != SIG_IGN) {
    sigaddset(&stop_signals, SIGHUP);
  }
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};

  // The console endpoint's address is bound before the coordinator opens the log: a port that is
  // taken stops `serve` before it makes a log, a lock record and a token for a coordinator that
  // never ran. It serves once the coordinator runs (actors/web/console_endpoint.h).
  std::unique_ptr<actors::ConsoleEndpoint> endpoint;
  if (serves) {
    actors::ConsoleEndpointOptions endpoint_options;
    endpoint_options.listen = address;
    endpoint_options.token_file = ctx.token_file;
    endpoint_options.max_inflight_bytes = static_cast<size_t>(f.max_inflight_bytes);
    auto bound = actors::ConsoleEndpoint::bind(ctx.log_uri, endpoint_options);
    if (!bound.ok()) {
      // The flags were checked above: what is left is the token file's error, which names the
      // file, or the address that cannot be bound (storage_unavailable), named by its flag.
      Error e = bound.error();
      if (e.code == ErrorCode::storage_unavailable) {
        e = e.with_context(flag + " " + address);
        if (auto live = answering_coordinator(ctx)) {  // a second serve of this log, same address
          e.message += "; the " + *live + " answers: bel commands on this log go through it as " +
                       "they are; stop it (Ctrl-C or SIGTERM) to start another";
        }
      }
      return ctx.fail(e);
    }
    endpoint = std::move(*bound);
  }

  actors::CoordinatorOptions options;
  options.storage.durability_full = *durable;
  options.supervisor.storage.max_pending_events = static_cast<size_t>(f.max_pending_events);
  options.supervisor.storage.max_pending_bytes = static_cast<size_t>(f.max_pending_bytes);
  auto api = actors::start_coordinator(system, ctx.log_uri, options);
  if (!api.ok()) {
    if (api.error().code == ErrorCode::storage_unavailable) {
      if (auto live = answering_coordinator(ctx)) {
        return ctx.fail(Error{ErrorCode::storage_unavailable,
                              api.error().message + "; the " + *live +
                                  " answers: bel commands on this log go through it as they "
                                  "are; stop it (Ctrl-C or SIGTERM) to start another"});
      }
    }
    return ctx.fail(api.error());
  }

  // The console endpoint: HTTP, the token on every request, the web view beside the console's
  // calls. On any way out it stops (idempotent) before the coordinator does.
  struct StopFirst {
    actors::ConsoleEndpoint* endpoint;
    ~StopFirst() {
      if (endpoint != nullptr) endpoint->stop();
    }
  } stop_endpoint_first{endpoint.get()};
  if (endpoint) {
    if (auto ok = endpoint->serve(system, *api); !ok.ok()) {
      endpoint->stop();
      actors::stop_coordinator(*api);
      // The token file's error names the file, a failed listen the endpoint: neither is the
      // flag's (its address was bound above).
      return ctx.fail(ok.error());
    }
    say("coordinator on " + storage::shown_uri(ctx.log_uri) + ", console endpoint " +
        endpoint->endpoint() + ", token file " + endpoint->token_path());
    say("dashboard (open once, within an hour, to sign this browser in; bel sign-in prints "
        "another): " +
        endpoint->sign_in_url());
  } else {
    say("coordinator on " + storage::shown_uri(ctx.log_uri) +
        " (not a log file on this host: no console endpoint without --token-file)");
  }

  sim::SimulationActor simulation;
  if (f.simulate) {
    auto started = sim::start_simulation(system, *api, f.sim, [](const sim::SimulationReport& r) {
      say("simulation stopped: " + plural(r.events_appended, "event") + ", " +
          plural(r.builds_completed, "build") + " completed, " + std::to_string(r.builds_failed) +
          " failed, " + std::to_string(r.builds_cancelled) + " cancelled, " +
          plural(r.errors, "error"));
    });
    if (!started.ok()) {
      actors::stop_coordinator(*api);
      return ctx.fail(started.error());
    }
    simulation = *started;
    say(fmt::format("simulating {} build workers (seed {}, {}, {})", f.sim.workers, f.sim.seed,
                    f.sim.rate > 0 ? fmt::format("{:g} events/s", f.sim.rate) : "no pace",
                    f.sim.builds > 0 ? plural(f.sim.builds, "build request") : "until stopped"));
  }
  say(sigismember(&stop_signals, SIGHUP) ? "running; stop with Ctrl-C, SIGTERM or SIGHUP"
                                         : "running; stop with Ctrl-C or SIGTERM");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  say(std::string("stopping (") + strsignal(signal_number) + ")");

  // Stop producing first, then stop serving consoles, then the coordinator: the storage actor
  // commits what is staged and answers every pending append before it ends.
  if (simulation) {
    caf::scoped_actor self{system};
    self->monitor(simulation);
    caf::anon_send(simulation, sim::stop_atom::value);
    self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(30)) >> [] {});
  }
  if (endpoint) endpoint->stop();  // withdraws the advertisement, answers what is under way
  actors::ApiClient client(system, *api, std::chrono::seconds(10));
  auto stats = client.stats();
  actors::stop_coordinator(*api);
  system.await_all_actors_done();
  if (stats.ok()) {
    say("stopped; the log ends at idx " + std::to_string(stats->last_idx()));
  } else {
    say("stopped");
  }
  // Every actor has finished: every acknowledged event is committed and the log is closed. Under
  // heavy load CAF 0.17's actor system teardown (scheduler and multiplexer threads) was seen to
  // hang after this point, keeping a stopped coordinator alive; nothing is left to release that
  // the kernel does not release at exit (the writer lock is an flock), so exit here.
  std::fflush(nullptr);
  std::_Exit(ctx.exit_code);
}

}  // namespace

void add_serve_command(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the coordinator until SIGINT, SIGTERM or SIGHUP (unless started under nohup): it hosts "
      "the actors, serves consoles on a loopback endpoint (recorded in an SQLite log, where "
      "consoles find it; a postgresql:// log's consoles are given its address), and with "
      "--simulate drives simulated builds");
  auto* simulate =
      cmd->add_flag("--simulate", f->simulate, "Run simulated in-process build workers");
  add_simulation_options(cmd, f->sim, "With --simulate",
                         "then stop simulating (0: until the coordinator stops)");
  // Without --simulate they would change nothing: a typo'd command line is told so.
  for (const char* name : {"--workers", "--builds", "--rate", "--seed"}) {
    cmd->get_option(name)->needs(simulate);
  }
  auto* listen = cmd->add_option("--listen", f->listen,
                                 "Console endpoint HOST:PORT (port 0 = any free port); beyond "
                                 "loopback it needs --token-file")
                     ->capture_default_str();
  cmd->add_option("--http", f->http,
                  "Web view (dashboard, JSON API, /metrics) on HOST:PORT: the same server as "
                  "--listen, which it names; bel serve prints a one-time sign-in URL");
  for (const auto& limit : kLimitFlags) {
    cmd->add_option(limit.name, (*f).*limit.value, limit.help)->capture_default_str();
  }
  add_durability_option(cmd, ctx);
  add_log_options(cmd, ctx, LogRole::coordinator);
  cmd->callback([&ctx, f, listen] {
    f->listen_given = listen->count() > 0;
    run_serve(ctx, *f);
  });
}

}  // namespace bel::app
