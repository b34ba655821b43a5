#include "actors/client/session.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/net/remote_api.h"
#include "actors/net/token.h"
#include "storage/checks.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::actors {
namespace {

// How long a writing command waits for another process's writer lock.
constexpr auto kLockWait = std::chrono::seconds(10);
// How long a command waits for a coordinator's greeting (at most its timeout).
constexpr auto kGreetingWait = std::chrono::seconds(5);
// How long a command that lost a coordinator during the greeting waits for its writer lock to
// free: a killed process's lock is freed as it exits, milliseconds after its connections break.
constexpr auto kGoneLockWait = std::chrono::seconds(2);

// Whether nobody holds the writer lock of the SQLite log at `uri`, or nobody does within `wait`:
// no coordinator runs on it.
bool writer_lock_frees(const std::string& uri, std::chrono::milliseconds wait) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return false;
  return storage::WriterLock::acquire_file(uri, parsed->path, wait).ok();
}

// The meta value `key` of the log at `uri`, opened read-only; "" when it has none.
Result<std::string> read_meta(const std::string& uri, const char* key) {
  storage::StorageOptions options;
  options.read_only = true;
  auto log = storage::open_storage(uri, options);
  if (!log.ok()) return log.error();
  auto value = (*log)->get_meta(key);
  if (!value.ok()) return value.error();
  return value->value_or("");
}

// How a console reaches a coordinator of the log at `uri`: a PostgreSQL log advertises none
// (docs/scale-out.md, "What is not shared"), only --connect reaches one; "" for other logs.
std::string how_to_reach(const std::string& uri) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::postgres) return "";
  return "; a PostgreSQL log advertises none of its coordinators: give one with --connect "
         "HOST:PORT (or $BEL_CONNECT)";
}

// The endpoint the log advertises, or "" when none (or no log yet).
Result<std::string> advertised_endpoint(const std::string& uri, bool create_log) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != storage::UriScheme::sqlite) return std::string();
  std::error_code ec;
  const bool missing = !std::filesystem::exists(parsed->path, ec);
  // A 0-byte file is a log whose creation did not finish (a kill, a full disk): a writer
  // initialises it, as `serve` does; to a reader there is no log there yet.
  const bool empty = !missing && std::filesystem::file_size(parsed->path, ec) == 0 && !ec;
  if (missing || empty) {
    if (create_log) return std::string();
    return make_error(
        ErrorCode::storage_unavailable,
        uri + ": no log at " + parsed->path +
            (empty ? std::string(" yet: an empty file, ") + storage::kUnfinishedLog : "") +
            " (create one with bel append or bel run)");
  }
  auto endpoint = read_meta(uri, kEndpointKey);
  // A database with no tables, which a creation that did not finish left, advertises nothing:
  // a command that may create the log makes it there, as in an empty file.
  if (!endpoint.ok() && create_log && endpoint.error().code == ErrorCode::storage_unavailable &&
      endpoint.error().message.find(storage::kUnfinishedLog) != std::string::npos) {
    return std::string();
  }
  return endpoint;
}

// A coordinator takes its log's writer lock as it starts and advertises its endpoint once it
// serves (its views loaded, its port open). The endpoint the SQLite log at `uri` advertises
// while another process holds its writer lock, waited for up to `wait`; "" when the lock is not
// held elsewhere (or frees meanwhile: another command wrote for a moment), or at the deadline
// with nothing advertised (then `*held` stays true).
std::string endpoint_once_served(const std::string& uri, std::chrono::milliseconds wait,
                                 bool* held) {
  *held = false;
  auto parsed = storage::parse_storage_uri(uri);
  std::error_code ec;
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite ||
      !std::filesystem::exists(parsed->path, ec)) {
    return "";  // no lock to ask (and none made: taking it creates the file)
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (bool said = false;; said = true) {
    if (storage::WriterLock::acquire(uri, held).ok() || !*held) return "";
    auto advertised = read_meta(uri, kEndpointKey);
    if (advertised.ok() && !advertised->empty()) return *advertised;
    if (std::chrono::steady_clock::now() >= deadline) return "";
    if (!said) {
      spdlog::info(
          "session: another process holds the writer lock of {} and advertises no coordinator "
          "yet: waiting up to {} s for one to serve it, or for the lock",
          storage::shown_uri(uri), std::chrono::duration_cast<std::chrono::seconds>(wait).count());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Whether `uri` is an SQLite log file in a directory this user may not write.
bool in_unwritable_directory(const std::string& uri) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return false;
  const std::string dir = std::filesystem::path(parsed->path).parent_path().string();
  return ::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0;
}

// The id of the SQLite log at `uri`, or "" when it cannot be read here (no such file, a path on
// the coordinator's host) or it has none: then nothing can be compared. A PostgreSQL log only
// with `postgres` (SessionOptions::compare_postgres_log), and then one that cannot be read is an
// error.
Result<std::string> local_log_id(const std::string& uri, bool postgres) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok()) return std::string();
  if (parsed->scheme == storage::UriScheme::postgres && postgres) {
    return read_meta(uri, storage::kLogIdKey);
  }
  if (parsed->scheme != storage::UriScheme::sqlite) return std::string();
  auto id = read_meta(uri, storage::kLogIdKey);
  if (!id.ok()) {
    spdlog::info("session: {} is not read here ({}): not compared with the coordinator's log",
                 storage::shown_uri(uri), id.error().to_string());
    return std::string();
  }
  return *id;
}

}  // namespace

std::optional<std::string> default_token_path(const std::string& log_uri) {
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return std::nullopt;
  // Beside the file a symlink names, and as an absolute path even before the log exists (its
  // directories' links resolved as they will be once it does).
  std::error_code absolute_ec, canonical_ec;
  const auto absolute = std::filesystem::absolute(parsed->path, absolute_ec);
  const auto real = std::filesystem::weakly_canonical(absolute, canonical_ec);
  return (absolute_ec || canonical_ec ? parsed->path : real.string()) + ".token";
}

Result<std::unique_ptr<Session>> Session::open(const SessionOptions& options) {
  std::unique_ptr<Session> session(new Session());
  session->config_ = std::make_unique<caf::actor_system_config>();
  actors::configure_actor_system(*session->config_);
  session->system_ = std::make_unique<caf::actor_system>(*session->config_);
  session->log_shown_ = storage::shown_uri(options.log_uri);
  session->timeout_ = options.timeout;

  std::string endpoint = options.connect;
  std::string stale_endpoint;  // advertised, with nobody holding the log's writer lock
  std::string unanswered_notice;  // the advertised coordinator's silence, when it was silent
  if (endpoint.empty()) {
    auto advertised = advertised_endpoint(options.log_uri, options.create_log);
    if (advertised.ok()) {
      endpoint = *advertised;
    } else if (!(options.write || options.create_log) ||
               advertised.error().code != ErrorCode::storage_unavailable ||
               !in_unwritable_directory(options.log_uri)) {
      return advertised.error();
    } else {
      // A directory this user may not write: a reader finds no -shm file and may not make one.
      // A command that writes opens the log for writing next, and that open says what stops it
      // in a writer's words (a reader's advice would not help it). A coordinator running on the
      // log would have made the files a reader lacks, so none is passed over here.
      spdlog::info("session: {} not read before writing: {}", storage::shown_uri(options.log_uri),
                   advertised.error().to_string());
    }
    // A coordinator holds the log's writer lock for as long as it runs: when nobody holds it,
    // the advertised endpoint is stale (a coordinator killed before it could clear it).
    if (!endpoint.empty() && storage::WriterLock::acquire(options.log_uri).ok()) {
      spdlog::info("session: stale endpoint {} in {} (the log is not locked)", endpoint,
                   options.log_uri);
      stale_endpoint = std::move(endpoint);
      endpoint.clear();
    }
    // A command that writes, or needs a coordinator, while one is starting would otherwise wait
    // for a writer lock held as long as that coordinator runs: it waits for the endpoint.
    if (endpoint.empty() && stale_endpoint.empty() &&
        (options.write || options.create_log || options.coordinator_only)) {
      bool held = false;
      endpoint = endpoint_once_served(options.log_uri, kLockWait, &held);
      if (endpoint.empty() && held) session->lock_wait_ = std::chrono::milliseconds(0);
    }
  }
  if (!endpoint.empty()) {
    // A coordinator runs (or ran) on this log: present the token beside the log. A missing
    // token file is presented as an empty token, which the coordinator refuses like a wrong one.
    std::string token;
    std::string token_problem;
    std::string token_path = options.token_file;
    if (token_path.empty()) token_path = default_token_path(options.log_uri).value_or("");
    if (!token_path.empty()) {
      auto read = read_token_file(token_path, TokenFileRule::console);
      if (read.ok()) {
        token = *read;
      } else {
        token_problem = read.error().message;
      }
    } else {
      token_problem = "no token file for this log";
    }
    auto api = session->connect(endpoint, token, token_problem, options.timeout);
    if (!api.ok() && options.connect.empty() &&
        api.error().code == ErrorCode::storage_unavailable &&
        writer_lock_frees(options.log_uri, kGoneLockWait)) {
      // The connection broke during the greeting and the writer lock is free: the coordinator
      // went away (killed, or stopping), so its endpoint is stale, as above.
      session->notice_ = "the coordinator at " + endpoint + " went away during the greeting (" +
                         api.error().message + ")";
      stale_endpoint = endpoint;
      api = std::optional<actors::BelApi>();
    }
    if (!api.ok()) return api.error();
    if (api->has_value()) {
      session->api_ = **api;
      session->remote_ = true;
      session->description_ = "coordinator at " + endpoint;
      session->client_ = std::make_unique<actors::ApiClient>(*session->system_, session->api_,
                                                             options.timeout);
      if (!options.connect.empty() && options.log_named) {
        BEL_RETURN_IF_ERROR(session->check_named_log(
            options.log_uri, endpoint, options.connect_source, options.compare_postgres_log));
      }
      return session;
    }
    if (!options.connect.empty()) {
      return make_error(ErrorCode::storage_unavailable, "no coordinator answers at " + endpoint +
                                                            " (" + options.connect_source + ")");
    }
    ErrorCode unanswered = ErrorCode::not_found;  // the coordinator went away: none serves it
    if (session->notice_.empty()) {
      unanswered = ErrorCode::timeout;
      session->notice_ =
          "the log's writer lock is held, but the coordinator at " + endpoint +
          " did not answer the greeting within " +
          std::to_string(
              std::min<std::chrono::milliseconds>(options.timeout, kGreetingWait).count()) +
          " ms (it is stopped or stuck, or nothing listens there)";
    }
    if (options.coordinator_only) return make_error(unanswered, session->notice_);
    spdlog::info("session: stale endpoint {} in {}, opening the log in-process", endpoint,
                 options.log_uri);
    unanswered_notice = session->notice_;
    session->notice_ += "; answering from the log in this process";
  }
  if (options.coordinator_only) {
    return make_error(ErrorCode::not_found,
                      "no coordinator serves " + storage::shown_uri(options.log_uri) +
                          (stale_endpoint.empty() ? std::string()
                                                  : " (it advertises " + stale_endpoint +
                                                        ", but no process holds its writer lock)") +
                          how_to_reach(options.log_uri));
  }
  // A coordinator that did not answer holds the lock for as long as it is stopped or stuck; one
  // that is exiting frees it within kGoneLockWait.
  if (!unanswered_notice.empty()) session->lock_wait_ = kGoneLockWait;
  if (auto started = session->start_local(options); !started.ok()) {
    // A writer refused the lock that a coordinator which did not answer holds: say both, or
    // the reader is left to wonder why its command did not go through that coordinator.
    if (unanswered_notice.empty()) return started.error();
    Error refused = started.error();
    refused.message += "; " + unanswered_notice;
    return refused;
  }
  if (!stale_endpoint.empty() && (options.write || options.create_log)) {
    // This session holds the writer lock now: the stale endpoint would look live to the next
    // command, which would present the log's token to whatever listens at that port by now.
    if (auto cleared = session->client_->set_meta(kEndpointKey, ""); !cleared.ok()) {
      spdlog::warn("session: could not clear the stale endpoint {} in {}: {}", stale_endpoint,
                   storage::shown_uri(options.log_uri), cleared.error().to_string());
    }
  }
  return session;
}

Result<std::optional<actors::BelApi>> Session::connect(const std::string& endpoint,
                                                       const std::string& token,
                                                       const std::string& token_problem,
                                                       std::chrono::milliseconds timeout) {
  auto parsed = parse_endpoint(endpoint);
  if (!parsed.ok()) return parsed.error();
  auto channel = std::make_shared<RpcChannel>(*parsed, token);
  // A live coordinator on loopback answers the greeting in milliseconds; a stopped one, or
  // another program on a stale endpoint's port, may accept the connection and never answer.
  const auto handshake = std::min<std::chrono::milliseconds>(timeout, kGreetingWait);
  auto hello = channel->hello(handshake);
  if (!hello.ok()) {
    Error err = hello.error();
    if (err.code == ErrorCode::unauthorized && !token_problem.empty()) {
      // No token was presented: the server's "wrong token" would send the reader looking for
      // the wrong mistake.
      err.message = "coordinator at " + endpoint + ": this console has no token to present (" +
                    token_problem + "); pass the coordinator's token file with --token-file or " +
                    "$BEL_TOKEN_FILE";
    } else if (err.code == ErrorCode::unauthorized) {
      err = err.with_context("coordinator at " + endpoint);
    }
    return err;
  }
  if (!*hello) {
    spdlog::info("session: no coordinator answers at {}", endpoint);
    return std::optional<actors::BelApi>();
  }
  channel_ = channel;
  return std::optional<actors::BelApi>(spawn_remote_api(*system_, std::move(channel)));
}

Result<std::string> Session::sign_in_url() {
  if (!channel_) {
    return make_error(ErrorCode::not_found,
                      "no coordinator serves " + log_shown_ +
                          " (this session opened it in process; bel serve serves the dashboard)" +
                          how_to_reach(log_shown_));  // its scheme is shown as given
  }
  auto path = channel_->sign_in(timeout_);
  if (!path.ok()) return path.error();
  return "http://" + channel_->endpoint() + *path;
}

Status Session::check_named_log(const std::string& log_uri, const std::string& endpoint,
                                const std::string& source, bool compare_postgres) {
  auto read = local_log_id(log_uri, compare_postgres);
  if (!read.ok()) {
    return read.error().with_context("--log " + storage::shown_uri(log_uri) +
                                     " cannot be compared with the log of the coordinator " +
                                     source + " " + endpoint + " reaches");
  }
  const std::string& named = *read;
  if (named.empty()) return ok_status();
  auto stats = client_->stats();
  if (!stats.ok()) return stats.error();
  if (stats->log_id().empty() || stats->log_id() == named) return ok_status();
  return make_error(
      ErrorCode::invalid_argument,
      source + " " + endpoint + " reaches the coordinator of another log than --log " +
          storage::shown_uri(log_uri) + " (log id " + stats->log_id() + ", not " + named + "): " +
          (how_to_reach(log_uri).empty()
               ? "drop " + source + " to reach the coordinator that log advertises, "
               : "give " + source +
                     " a coordinator of that log (a PostgreSQL log advertises "
                     "none), ") +
          "or drop --log to use the coordinator's log");
}

Status Session::start_local(const SessionOptions& options) {
  actors::CoordinatorOptions coordinator;
  coordinator.storage.durability_full = options.durability_full;
  coordinator.read_only = !options.write && !options.create_log;
  coordinator.supervisor.start_views = options.start_views;
  if (options.views) {
    auto& run = coordinator.supervisor.run_views;
    run.fill(false);
    for (const auto& name : *options.views) {
      auto kind = projections::parse_view_name(name);
      if (!kind) return projections::unknown_view_error(name);
      run[static_cast<size_t>(*kind)] = true;
    }
    coordinator.supervisor.views.wait_budget = options.timeout;
    // One command's question: the snapshot's stored answer does when nothing follows it.
    coordinator.supervisor.views.restore_on_demand = true;
  }
  // The storage takes the log's writer lock; another bel command may be writing for a moment:
  // wait a little for it.
  coordinator.storage.writer_lock_wait = lock_wait_;
  auto api = actors::start_coordinator(*system_, options.log_uri, coordinator);
  if (!api.ok()) return api.error();
  api_ = *api;
  remote_ = false;
  description_ = storage::shown_uri(options.log_uri) + " (in-process)";
  client_ = std::make_unique<actors::ApiClient>(*system_, api_, options.timeout);
  return ok_status();
}

Session::~Session() {
  client_.reset();
  if (system_ && api_ && !remote_) actors::stop_coordinator(api_);
  if (channel_) {
    channel_->stop();  // a request under way fails at once instead of holding the forwarder
    caf::anon_send_exit(api_, caf::exit_reason::user_shutdown);
  }
  api_ = actors::BelApi{};
  if (system_) system_->await_all_actors_done();
}

}  // namespace bel::actors
