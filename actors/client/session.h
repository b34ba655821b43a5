// How a console command reaches a log (SPEC section 6): through the live coordinator when the
// log advertises an endpoint that answers, else through a coordinator started in this process on
// the log. Either way the command talks to one bel_api, so both paths give the same answers.
//
//   SessionOptions options;
//   options.log_uri = "sqlite://bel.db";
//   auto session = Session::open(options);
//   if (!session.ok()) return fail(session.error());    // names the URI or endpoint
//   auto status = (*session)->client().query(q);
//
// The endpoint lives in the log's meta (`coordinator_endpoint`, "127.0.0.1:PORT"); the token the
// coordinator expects lives in a file beside the log ("<path>.token", mode 0600) that only the
// user running the coordinator can read. A remote session's bel_api is a local actor forwarding
// each request over HTTP with the token (actors/net/remote_api.h).
#ifndef BEL_ACTORS_CLIENT_SESSION_H_
#define BEL_ACTORS_CLIENT_SESSION_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/client/api_client.h"
#include "actors/bel_api.h"
#include "messages/error.h"

namespace bel::actors {

class RpcChannel;  // actors/net/remote_api.h

// The meta key where a running coordinator advertises its console endpoint.
inline constexpr const char* kEndpointKey = "coordinator_endpoint";

struct SessionOptions {
  std::string log_uri;
  // HOST:PORT of a coordinator to use instead of the log's advertised endpoint.
  std::string connect;
  // Where `connect` came from, named in the error when no coordinator answers there (a flag, or an
  // environment variable the user may have forgotten was set).
  std::string connect_source = "--connect";
  // Whether the user named log_uri on the command line along with `connect`: then the session
  // refuses (invalid_argument) a coordinator that serves another log, when this host can tell (an
  // SQLite log that opens here and has a log_id, storage/checks.h). Otherwise `connect` decides.
  bool log_named = false;
  // With log_named and `connect`: a PostgreSQL log_uri is opened here to compare its log_id too,
  // and one that cannot be read here fails open() (bel check, which reads that log itself for its
  // schema and derived rows: its report would otherwise describe two logs as one). Without it a
  // PostgreSQL log is not compared: its server may be out of this host's reach, and a connection
  // there could hang long before the coordinator is asked anything.
  bool compare_postgres_log = false;
  // The token file; empty means the one beside the log.
  std::string token_file;
  // Whether the command writes (append, cancel, invalidate, rebuild). An in-process session that
  // writes holds the log's writer lock (storage/writer_lock.h); one that only reads opens the log
  // read-only and locks nothing.
  bool write = false;
  // Whether a log that does not exist yet may be created (append, run). Implies write.
  bool create_log = false;
  // For an in-process coordinator: synchronous=FULL (true) or NORMAL.
  bool durability_full = true;
  // For an in-process coordinator: whether its views run. A command about one key (partitions
  // show, builds show, job-runs show, events list) passes false: each query is then answered
  // from indexed reads of that key's events and of what SPEC section 4 makes it depend on
  // (projections::FallbackFold), with no view loading a snapshot or folding the log.
  bool start_views = true;
  // Only a running coordinator will do (bel sign-in): when none answers, open() fails rather than
  // open the log in this process: not_found when none serves the log, timeout when one holds it
  // but does not answer the greeting.
  bool coordinator_only = false;
  // Per request.
  std::chrono::milliseconds timeout{30000};
  // The views an in-process coordinator runs, by name (projections/queries.h: "activity", ...);
  // unset: all; empty: none (a command that only appends). A one-shot command names the one it
  // asks, which then answers from its newest snapshot plus the tail of the log, however long
  // loading takes (up to `timeout`), rather than from a fallback scan. Ignored when the commands
  // go through a running coordinator.
  std::optional<std::vector<std::string>> views;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> open(const SessionOptions& options);
  // Stops an in-process coordinator (committing what is pending) and waits for its actors.
  ~Session();

  actors::ApiClient& client() { return *client_; }
  actors::BelApi api() const { return api_; }
  caf::actor_system& system() { return *system_; }
  // True when the commands go through a coordinator in another process.
  bool remote() const { return remote_; }
  // "sqlite://bel.db (in-process)" or "coordinator at 127.0.0.1:4321".
  const std::string& description() const { return description_; }
  // What the user should be told about how the log was reached, or "": the coordinator the log
  // advertises holds it but did not answer the greeting in time (stopped, or stuck), or went away
  // during it. The commands then go to the log in this process, which holds every acknowledged
  // event; a command shows this as a warning.
  const std::string& notice() const { return notice_; }
  // A new one-time link that signs a browser in to the web view of the coordinator this session
  // reaches ("http://HOST:PORT/login?once=..."); not_found when the session runs in this process
  // (no coordinator serves the log, so no web view does).
  Result<std::string> sign_in_url();

 private:
  Session() = default;
  Status start_local(const SessionOptions& options);
  // invalid_argument when the coordinator reached serves another log than the one at log_uri.
  Status check_named_log(const std::string& log_uri, const std::string& endpoint,
                         const std::string& source, bool compare_postgres);
  // Greets the coordinator at `endpoint` over HTTP, presenting `token` (`token_problem`, when not
  // empty, says why there is none and is added to an `unauthorized` answer), and spawns the actor
  // that forwards every bel_api request there. Nothing (no error) when nothing answers there
  // within `timeout`: a stale endpoint.
  Result<std::optional<actors::BelApi>> connect(const std::string& endpoint,
                                                const std::string& token,
                                                const std::string& token_problem,
                                                std::chrono::milliseconds timeout);

  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  actors::BelApi api_;
  std::unique_ptr<actors::ApiClient> client_;
  std::shared_ptr<RpcChannel> channel_;  // remote sessions: the connection api_ forwards over
  bool remote_ = false;
  std::string description_;
  std::string notice_;
  std::string log_shown_;  // the log's URI as printed (storage::shown_uri)
  std::chrono::milliseconds timeout_{30000};
  // How long an in-process coordinator waits for another process's writer lock: 10 s, none when
  // open() already waited that long for it.
  std::chrono::milliseconds lock_wait_{10000};
};

// The token file of a log: "<path>.token" for sqlite://, beside the file the path resolves to
// (symlinks followed, as the writer lock's record is), so a coordinator and its consoles find
// the same file whichever symlink names the log; nothing for in-process logs.
std::optional<std::string> default_token_path(const std::string& log_uri);

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_SESSION_H_
