#include "actors/client/session.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/gate_actor.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::actors {
namespace {

// How long a writing command waits for another process's writer lock.
constexpr auto kLockWait = std::chrono::seconds(10);

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// The endpoint the log advertises, or "" when none (or no log yet).
Result<std::string> advertised_endpoint(const std::string& uri, bool create_log) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != storage::UriScheme::sqlite) return std::string();
  std::error_code ec;
  if (!std::filesystem::exists(parsed->path, ec)) {
    if (create_log) return std::string();
    return make_error(ErrorCode::storage_unavailable,
                      uri + ": no log at " + parsed->path +
                          " (create one with bel append or bel run)");
  }
  storage::StorageOptions options;
  options.read_only = true;
  auto log = storage::open_storage(uri, options);
  if (!log.ok()) return log.error();
  auto endpoint = (*log)->get_meta(kEndpointKey);
  if (!endpoint.ok()) return endpoint.error();
  return endpoint->value_or("");
}

}  // namespace

Result<std::pair<std::string, uint16_t>> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(ErrorCode::invalid_argument,
                      "endpoint \"" + text + "\" is not HOST:PORT (e.g. 127.0.0.1:4390)");
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  errno = 0;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
    return make_error(ErrorCode::invalid_argument,
                      "endpoint \"" + text + "\": port \"" + port_text + "\" is not 0..65535");
  }
  return std::make_pair(text.substr(0, colon), static_cast<uint16_t>(port));
}

std::optional<std::string> default_token_path(const std::string& log_uri) {
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return std::nullopt;
  return parsed->path + ".token";
}

Result<std::string> read_token_file(const std::string& path, bool require_private) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorCode::unauthorized,
                      "token file " + path + ": " + std::strerror(errno));
  }
  if (require_private && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorCode::invalid_argument,
                      "token file " + path + " has mode " + mode +
                          "; it must be readable by its owner only (chmod 600 " + path + ")");
  }
  std::ifstream in(path);
  if (!in) {
    return make_error(ErrorCode::unauthorized,
                      "token file " + path + ": cannot be read (" + std::strerror(errno) + ")");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string token = trim(buf.str());
  if (token.empty()) {
    return make_error(ErrorCode::invalid_argument, "token file " + path + " is empty");
  }
  return token;
}

Status write_token_file(const std::string& path, const std::string& token) {
  // Created private from the start: never a moment where others could read it.
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      "token file " + tmp + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);  // in case it existed with a wider mode
  const std::string text = token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::storage_unavailable,
                      "token file " + path + ": cannot be written (" + std::strerror(errno) + ")");
  }
  return ok_status();
}

Result<std::unique_ptr<Session>> Session::open(const SessionOptions& options) {
  std::unique_ptr<Session> session(new Session());
  session->config_ = std::make_unique<caf::actor_system_config>();
  actors::configure_actor_system(*session->config_);
  session->config_->load<caf::io::middleman>();
  session->system_ = std::make_unique<caf::actor_system>(*session->config_);

  std::string endpoint = options.connect;
  if (endpoint.empty()) {
    auto advertised = advertised_endpoint(options.log_uri, options.create_log);
    if (!advertised.ok()) return advertised.error();
    endpoint = *advertised;
    // A coordinator holds the log's writer lock for as long as it runs: when nobody holds it,
    // the advertised endpoint is stale (a coordinator killed before it could clear it).
    if (!endpoint.empty() && storage::WriterLock::acquire(options.log_uri).ok()) {
      spdlog::info("session: stale endpoint {} in {} (the log is not locked)", endpoint,
                   options.log_uri);
      endpoint.clear();
    }
  }
  if (!endpoint.empty()) {
    // A coordinator runs (or ran) on this log: present the token beside the log. A missing
    // token file is presented as an empty token, which the gate refuses like a wrong one.
    std::string token;
    std::string token_problem;
    std::string token_path = options.token_file;
    if (token_path.empty()) token_path = default_token_path(options.log_uri).value_or("");
    if (!token_path.empty()) {
      auto read = read_token_file(token_path, false);
      if (read.ok()) {
        token = *read;
      } else {
        token_problem = read.error().message;
      }
    } else {
      token_problem = "no token file: pass --token-file";
    }
    auto api = session->connect(endpoint, token, token_problem, options.timeout);
    if (!api.ok()) return api.error();
    if (api->has_value()) {
      session->api_ = **api;
      session->remote_ = true;
      session->description_ = "coordinator at " + endpoint;
      session->client_ = std::make_unique<actors::ApiClient>(*session->system_, session->api_,
                                                             options.timeout);
      return session;
    }
    if (!options.connect.empty()) {
      return make_error(ErrorCode::storage_unavailable,
                        "no coordinator answers at " + endpoint + " (--connect)");
    }
    spdlog::info("session: stale endpoint {} in {}, opening the log in-process", endpoint,
                 options.log_uri);
  }
  BEL_RETURN_IF_ERROR(session->start_local(options));
  return session;
}

Result<std::optional<actors::BelApi>> Session::connect(const std::string& endpoint,
                                                       const std::string& token,
                                                       const std::string& token_problem,
                                                       std::chrono::milliseconds timeout) {
  auto parsed = parse_endpoint(endpoint);
  if (!parsed.ok()) return parsed.error();
  // Through the middleman actor rather than middleman().remote_actor(), which waits without
  // limit: a stopped coordinator, or another program now on a stale endpoint's port, may accept
  // the connection and never answer.
  caf::scoped_actor self{*system_};
  std::optional<actors::GateActor> gate;
  bool stale = false;
  Error failure = make_error(ErrorCode::internal, "");
  // A live coordinator on loopback answers the handshake in milliseconds.
  const auto handshake = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(5));
  self->request(system_->middleman().actor_handle(), handshake, caf::connect_atom::value,
                parsed->first, parsed->second)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& remote,
              const std::set<std::string>& interface) {
            if (!remote || !system_->assignable(interface,
                                                system_->message_types<actors::GateActor>())) {
              failure = make_error(ErrorCode::storage_unavailable,
                                   endpoint + " does not speak this bel's console protocol "
                                              "(another program, or a coordinator of another "
                                              "version)");
              return;
            }
            gate = caf::actor_cast<actors::GateActor>(std::move(remote));
          },
          [&](const caf::error& e) {
            spdlog::info("session: no coordinator at {}: {}", endpoint, system_->render(e));
            stale = true;
          });
  if (stale) return std::optional<actors::BelApi>();
  if (!gate) return failure;

  Result<std::optional<actors::BelApi>> out =
      make_error(ErrorCode::internal, "no answer from the coordinator at " + endpoint);
  self->request(*gate, timeout, actors::login_atom::value, token)
      .receive([&](const actors::BelApi& api) { out = std::optional<actors::BelApi>(api); },
               [&](const caf::error& e) {
                 Error err = actors::from_caf_error(e).with_context("coordinator at " + endpoint);
                 if (!token_problem.empty()) err.message += " (" + token_problem + ")";
                 out = err;
               });
  return out;
}

Status Session::start_local(const SessionOptions& options) {
  actors::CoordinatorOptions coordinator;
  coordinator.storage.durability_full = options.durability_full;
  coordinator.read_only = !options.write && !options.create_log;
  if (options.views) {
    auto& run = coordinator.supervisor.run_views;
    run.fill(false);
    for (const auto& name : *options.views) {
      auto kind = projections::parse_view_name(name);
      if (!kind) return projections::unknown_view_error(name);
      run[static_cast<size_t>(*kind)] = true;
    }
    coordinator.supervisor.views.wait_budget = options.timeout;
  }
  if (!coordinator.read_only) {
    // Another bel command may be writing for a moment: wait a little for it.
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    for (;;) {
      auto lock = storage::WriterLock::acquire(options.log_uri);
      if (lock.ok()) {
        lock_ = std::move(*lock);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return lock.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto api = actors::start_coordinator(*system_, options.log_uri, coordinator);
  if (!api.ok()) return api.error();
  api_ = *api;
  remote_ = false;
  description_ = options.log_uri + " (in-process)";
  client_ = std::make_unique<actors::ApiClient>(*system_, api_, options.timeout);
  return ok_status();
}

Session::~Session() {
  client_.reset();
  if (system_ && api_ && !remote_) actors::stop_coordinator(api_);
  api_ = actors::BelApi{};
  if (system_) system_->await_all_actors_done();
}

}  // namespace bel::actors
