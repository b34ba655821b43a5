#include "actors/web/console_endpoint.h"

#include <algorithm>
#include <utility>

#include "actors/client/api_client.h"
#include "actors/client/session.h"
#include "actors/component_log.h"
#include "actors/net/endpoint.h"
#include "actors/net/http_server.h"
#include "actors/net/rpc_server.h"
#include "actors/net/token.h"
#include "actors/web/web_view.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::actors {

struct ConsoleEndpoint::Impl {
  std::string log_uri;
  std::string host;
  std::string token;
  std::string token_path;
  bool token_is_ours = false;  // a fresh token, written beside the log by serve()
  bool advertise = false;      // an SQLite log: the endpoint goes into its meta
  std::unique_ptr<HttpServer> server;
  // Made by serve(); the routes use them, so they go after the server has stopped.
  std::unique_ptr<ApiClient> client;
  std::unique_ptr<web::WebView> web;
  bool serving = false;
};

ConsoleEndpoint::ConsoleEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsoleEndpoint::~ConsoleEndpoint() { stop(); }

Result<std::unique_ptr<ConsoleEndpoint>> ConsoleEndpoint::bind(const std::string& log_uri,
                                                               ConsoleEndpointOptions options) {
  auto listen = parse_endpoint(options.listen);
  if (!listen.ok()) return listen.error().with_context("console endpoint " + options.listen);
  if (!is_loopback_host(listen->host) && options.token_file.empty()) {
    return make_error(
        ErrorCode::invalid_argument,
        "console endpoint " + options.listen +
            ": listening beyond loopback needs a token file (yours, mode 0600, at least "
            "32 hex digits)");
  }
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok()) return parsed.error();
  auto impl = std::make_unique<Impl>();
  impl->log_uri = log_uri;
  impl->host = listen->host;
  impl->advertise = parsed->scheme == storage::UriScheme::sqlite;
  if (!options.token_file.empty()) {
    auto read = read_token_file(options.token_file, TokenFileRule::coordinator);
    if (!read.ok()) return read.error();
    impl->token = *read;
    impl->token_path = options.token_file;
  } else if (auto beside = default_token_path(log_uri)) {
    impl->token = new_token();
    impl->token_path = *beside;
    impl->token_is_ours = true;
  } else {
    return make_error(ErrorCode::invalid_argument,
                      "console endpoint " + options.listen + ": " + storage::shown_uri(log_uri) +
                          " is not a log file on this host, so there is no file to keep the "
                          "console's token beside; give a token file");
  }
  HttpServerOptions http;
  http.host = listen->host;
  http.port = listen->port;
  http.token = impl->token;
  http.max_inflight_bytes = options.max_inflight_bytes;
  http.max_body_bytes = std::min(http.max_body_bytes, http.max_inflight_bytes);
  impl->server = std::make_unique<HttpServer>(http);
  BEL_RETURN_IF_ERROR(impl->server->bind());
  return std::unique_ptr<ConsoleEndpoint>(new ConsoleEndpoint(std::move(impl)));
}

Status ConsoleEndpoint::serve(caf::actor_system& system, const BelApi& api) {
  Impl& d = *impl_;
  if (d.token_is_ours) BEL_RETURN_IF_ERROR(write_token_file(d.token_path, d.token));
  d.client = std::make_unique<ApiClient>(system, api);
  d.web = std::make_unique<web::WebView>(*d.client);
  // The coordinator's pending limit, so that a batch it could never admit is refused undecoded.
  auto stats = d.client->stats();
  if (!stats.ok()) {
    static const ComponentLog log("console");
    log.get()->warn(
        "batches are judged by the coordinator alone (its pending limit is unknown: {})",
        stats.error().to_string());
  }
  const size_t max_batch_events =
      stats.ok() ? static_cast<size_t>(std::max<int64_t>(0, stats->max_pending_events())) : 0;
  // The pending limit counts an eighth of an event's decoded bytes where that is more than its
  // encoded ones (append_admission.cc): bodies decoded at once stay within as much.
  const size_t max_decoded_bytes =
      stats.ok() ? 8 * static_cast<size_t>(std::max<int64_t>(0, stats->max_pending_bytes())) : 0;
  add_rpc_routes(*d.server, system, api, max_batch_events, max_decoded_bytes);
  d.web->add_routes(*d.server);
  if (auto listening = d.server->listen(); !listening.ok()) {
    return listening.error().with_context("the console endpoint " + endpoint());
  }
  d.serving = true;
  storage::WriterLock::add_note(d.log_uri, "console endpoint " + endpoint());
  // Best effort: consoles given --connect reach it all the same.
  if (d.advertise) {
    if (auto ok = d.client->set_meta(kEndpointKey, endpoint()); !ok.ok()) {
      static const ComponentLog log("console");
      log.get()->warn("could not advertise the endpoint in the log: {}", ok.error().to_string());
    }
  }
  return ok_status();
}

Result<std::unique_ptr<ConsoleEndpoint>> ConsoleEndpoint::start(caf::actor_system& system,
                                                                const BelApi& api,
                                                                const std::string& log_uri,
                                                                ConsoleEndpointOptions options) {
  auto bound = bind(log_uri, std::move(options));
  if (!bound.ok()) return bound.error();
  BEL_RETURN_IF_ERROR((*bound)->serve(system, api));
  return bound;
}

std::string ConsoleEndpoint::endpoint() const {
  return format_endpoint(impl_->host, impl_->server->port());
}

const std::string& ConsoleEndpoint::token_path() const { return impl_->token_path; }

std::string ConsoleEndpoint::sign_in_url() {
  return impl_->web ? impl_->web->sign_in_url(endpoint()) : std::string();
}

void ConsoleEndpoint::stop() {
  if (!impl_) return;
  Impl& d = *impl_;
  if (d.serving && d.advertise) (void)d.client->set_meta(kEndpointKey, "");
  // A refused writer's message no longer names a port that is closing.
  if (d.serving) storage::WriterLock::remove_note(d.log_uri, "console endpoint " + endpoint());
  d.serving = false;
  if (d.web) d.web->stop();        // ends the event streams
  if (d.server) d.server->stop();  // answers the requests under way, then closes the port
}

}  // namespace bel::actors
