#include "actors/net/http_server.h"

#include <netdb.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/net/endpoint.h"
#include "actors/net/http_connections.h"
#include "actors/net/sigpipe.h"
#include "actors/net/token.h"
#include "messages/escape.h"
#include "messages/glob.h"
#include "messages/json.h"
#include "storage/thread_name.h"

namespace bel::actors {
namespace {

constexpr const char* kBearer = "Bearer ";

// "METHOD /path" for messages and log lines, the path's bytes outside printable ASCII escaped.
std::string describe(const httplib::Request& request) {
  return ascii_escaped(request.method) + " " + ascii_escaped(request.path);
}

bool has_body(const httplib::Request& request) {
  return request.method == "POST" || request.method == "PUT" || request.method == "PATCH" ||
         request.method == "DELETE";
}

// The error for a status httplib set by itself (no route, bad request line, ...).
Error error_for_status(const httplib::Request& request, int status) {
  // httplib answers a request line it could not read before it fills method and path.
  const std::string what = request.method.empty() ? "request" : describe(request);
  switch (status) {
    case 414:
      return make_error(ErrorCode::invalid_argument,
                        what + ": the request line is over " +
                            std::to_string(CPPHTTPLIB_REQUEST_URI_MAX_LENGTH) +
                            " bytes (the HTTP library's limit): split a long filter into "
                            "several requests; an id, ref or label of over about 6 000 bytes "
                            "in a path cannot be served here, ask the console instead");
    case 404:
      return make_error(ErrorCode::not_found, what + ": no such route");
    case 413:
      return make_error(ErrorCode::overloaded, what + ": request body too large");
    case 400:
      // httplib refuses a target with a second '?', which a query value may hold unencoded.
      if (std::count(request.target.begin(), request.target.end(), '?') > 1) {
        return make_error(ErrorCode::invalid_argument,
                          what +
                              ": the query holds a second '?'; write a '?' inside a value as "
                              "%3F");
      }
      [[fallthrough]];
    default:
      return make_error(
          ErrorCode::invalid_argument,
          what + ": not a well-formed HTTP/1.1 request (status " + std::to_string(status) + ")");
  }
}

// Runs a task at once: httplib's task for an accepted socket only hands it over (see Listener).
class Inline : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

// The query of a request target ("/path?a=1&b=x%3Dy"): its name=value pairs split at '&' and
// each at its first '=' (a value may hold '='), still percent-encoded; empty pairs skipped.
std::vector<std::pair<std::string_view, std::string_view>> raw_query(std::string_view target) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  const size_t mark = target.find('?');
  if (mark == std::string_view::npos) return out;
  std::string_view query = target.substr(mark + 1);
  const size_t fragment = query.find('#');
  if (fragment != std::string_view::npos) query = query.substr(0, fragment);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out.emplace_back(pair.substr(0, eq),
                     eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  return out;
}

// Fills request.params again from its target: httplib 0.11 splits a pair at its last '=', so
// "reason=rows=0" would read as reason "0".
void read_query(httplib::Request& request) {
  request.params.clear();
  for (const auto& [name, value] : raw_query(request.target)) {
    request.params.emplace(httplib::detail::decode_url(std::string(name), true),
                           httplib::detail::decode_url(std::string(value), true));
  }
}

// Set on a serving thread when the answer just written says "Connection: close" (a refused
// request, whose body was not read): the connection is closed rather than read on.
thread_local bool t_answer_closes = false;

HttpConnectionOptions connection_options(const HttpServerOptions& options) {
  HttpConnectionOptions out;
  out.threads = options.threads;
  out.header_timeout = options.header_timeout;
  out.max_pending = options.max_pending_connections;
  return out;
}

// The host of a Host header's value, in lower case, without its port or a final dot (the root of
// a fully qualified name): "[::1]:80" is "::1", "LocalHost.:80" "localhost". A value without a
// port is the host as it is.
std::string host_of(const std::string& value) {
  auto endpoint = parse_endpoint(value);
  std::string host = endpoint.ok() ? endpoint->host : value;
  if (!host.empty() && host.back() == '.') host.pop_back();
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

}  // namespace

// httplib's server, accepting connections and answering requests, with bel's connections in
// between (actors/net/http_connections.h): an accepted socket is handed over, and each request
// whose header has arrived comes back to httplib's process_request.
class HttpServer::Listener : public httplib::Server {
 public:
  explicit Listener(const HttpServerOptions& options)
      : connections_(connection_options(options),
                     [this](httplib::Stream& stream, bool close, bool& closed) {
                       t_answer_closes = false;
                       const bool ok = process_request(stream, close, closed, read_query);
                       closed = closed || t_answer_closes;
                       return ok;
                     }) {
    new_task_queue = [] { return new Inline; };
  }
  HttpConnections& connections() { return connections_; }

 private:
  bool process_and_close_socket(socket_t sock) override {
    connections_.accept(sock);
    return true;
  }

  HttpConnections connections_;
};

int http_status(ErrorCode code) {
  // Every other code (storage_corrupt, schema_too_new, internal) is the server's fault: 500.
  static constexpr std::pair<ErrorCode, int> kStatuses[] = {
      {ErrorCode::invalid_argument, 400},    {ErrorCode::unsupported_uri, 400},
      {ErrorCode::unauthorized, 401},        {ErrorCode::not_found, 404},
      {ErrorCode::invalid_transition, 409},  {ErrorCode::duplicate_event_id, 409},
      {ErrorCode::invalid_event, 422},       {ErrorCode::overloaded, 429},
      {ErrorCode::storage_unavailable, 503}, {ErrorCode::timeout, 504},
  };
  for (const auto& [known, status] : kStatuses) {
    if (known == code) return status;
  }
  return 500;
}

// httplib's constructor ignores SIGPIPE process-wide; an embedding process keeps its own
// disposition (docs/embedding.md). The connections write with MSG_NOSIGNAL themselves
// (http_connections.cc); the serving threads also block SIGPIPE (sigpipe.h), a safeguard should
// any of httplib's own writes reach a socket.
std::unique_ptr<HttpServer::Listener> HttpServer::make_listener(const HttpServerOptions& options) {
  struct sigaction before {};
  ::sigaction(SIGPIPE, nullptr, &before);
  auto listener = std::make_unique<Listener>(options);
  ::sigaction(SIGPIPE, &before, nullptr);
  return listener;
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), listener_(make_listener(options_)), server_(*listener_) {
  assert(!options_.token.empty());
  // SO_REUSEADDR only: httplib's default sets SO_REUSEPORT, which would let a second server bind
  // a port in use.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Without it an answer written in two parts waits for the peer's delayed ACK (~40 ms a call).
  server_.set_tcp_nodelay(true);
  server_.set_payload_max_length(options_.max_body_bytes);
  // httplib writes them into its Keep-Alive header: say what the connections do. The timeout a
  // second short of the idle close, so a client that reuses a connection just before the time it
  // was told does not race the close (under 2 s: the whole seconds it has).
  const HttpConnectionOptions connections = connection_options(options_);
  server_.set_keep_alive_max_count(connections.keep_alive_max_count);
  const auto idle_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(connections.keep_alive_timeout).count();
  server_.set_keep_alive_timeout(idle_seconds >= 2 ? idle_seconds - 1 : idle_seconds);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        return before_routing(req, res);
      });
  server_.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (res.get_header_value("Connection") == "close") t_answer_closes = true;
    count(&HttpServerStats::requests);
  });
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (res.has_header("Bel-Error")) return httplib::Server::HandlerResponse::Handled;
        // No route for this method: 405 naming the methods the path has, if it has any.
        const std::string allow = res.status == 404 ? allowed_methods(req.path) : "";
        if (!allow.empty()) {
          answer_not_allowed(req, res, allow);
        } else {
          const int status = res.status;
          answer_error(req, res, error_for_status(req, status));
          res.status = status;
          // A request httplib could not read (a request line over its limit) is refused before
          // its token was checked: its connection closes, as a 401's does.
          if (!authenticated(req)) {
            res.set_header("Connection", "close");
            t_answer_closes = true;
          }
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} threw: {}", describe(req), what);
        reply_error(res, make_error(ErrorCode::internal, describe(req) + " failed: " + what));
      });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::note_access(const std::string& pattern, Access access) {
  if (access == Access::open) open_routes_.emplace_back(pattern);
  if (access == Access::bearer) bearer_routes_.emplace_back(pattern);
}

void HttpServer::get(const std::string& pattern, Handler handler, Access access) {
  note_access(pattern, access);
  routes_.emplace_back(std::regex(pattern), "GET, HEAD");
  server_.Get(pattern, [handler](const httplib::Request& req, httplib::Response& res) {
    handler(req, std::string(), res);
  });
}

void HttpServer::post(const std::string& pattern, Handler handler, Access access) {
  note_access(pattern, access);
  routes_.emplace_back(std::regex(pattern), "POST");
  server_.Post(pattern, [this, handler](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    serve_with_body(req, res, reader, handler);
  });
}

void HttpServer::add_credential(std::function<bool(const httplib::Request&)> check) {
  credentials_.push_back(std::move(check));
}

bool HttpServer::authenticated(const httplib::Request& request) const {
  const std::string header = request.get_header_value("Authorization");
  // The scheme's name is case-insensitive (RFC 7235 section 2.1).
  if (header.size() >= std::strlen(kBearer) &&
      ::strncasecmp(header.c_str(), kBearer, std::strlen(kBearer)) == 0 &&
      constant_time_equal(header.substr(std::strlen(kBearer)), options_.token)) {
    return true;
  }
  // A route that takes the token only is matched here, after the token: not on every request.
  if (matches(bearer_routes_, request.path)) return false;
  for (const auto& check : credentials_) {
    if (check(request)) return true;
  }
  return false;
}

void HttpServer::set_error_page(std::function<std::string(const Error&)> render) {
  error_page_ = std::move(render);
}

void HttpServer::set_default_headers(httplib::Headers headers) {
  server_.set_default_headers(std::move(headers));
}

void HttpServer::answer_error(const httplib::Request& req, httplib::Response& res,
                              const Error& error) const {
  const bool page = error_page_ && req.method == "GET" &&
                    req.get_header_value("Accept").find("text/html") != std::string::npos &&
                    req.path.rfind("/api/", 0) != 0 && req.path.rfind("/rpc/", 0) != 0;
  if (!page) return reply_error(res, error);
  res.status = http_status(error.code);
  res.set_header("Bel-Error", to_string(error.code));
  res.set_content(error_page_(error), "text/html; charset=utf-8");
}

std::string HttpServer::allowed_methods(const std::string& path) const {
  std::string allow;
  for (const auto& [pattern, methods] : routes_) {
    if (allow.find(methods) == std::string::npos && std::regex_match(path, pattern)) {
      allow += (allow.empty() ? "" : ", ") + methods;
    }
  }
  return allow;
}

void HttpServer::answer_not_allowed(const httplib::Request& req, httplib::Response& res,
                                    const std::string& allow) const {
  answer_error(req, res,
               make_error(ErrorCode::invalid_argument,
                          describe(req) + ": method not allowed here (allowed: " + allow + ")"));
  res.status = 405;
  res.set_header("Allow", allow);
}

bool HttpServer::matches(const std::vector<std::regex>& routes, const std::string& path) {
  for (const auto& pattern : routes) {
    if (std::regex_match(path, pattern)) return true;
  }
  return false;
}

httplib::Server::HandlerResponse HttpServer::before_routing(const httplib::Request& req,
                                                            httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  // Range is ignored, as HTTP lets a server do (RFC 9110, 14.2): httplib would otherwise cut every
  // answer to it after the handler (a JSON document into an unreadable part, status 200), and for
  // a list of ranges repeat the whole answer once per range in one buffer. bel answers nothing in
  // parts. The request is httplib's own non-const object, handed to the handlers as const.
  auto& own = const_cast<httplib::Request&>(req);
  own.ranges.clear();
  // Compressed with gzip, not brotli (http_connections.h, without_brotli).
  for (auto& [name, value] : own.headers) {
    if (strcasecmp(name.c_str(), "Accept-Encoding") == 0) value = without_brotli(value);
  }
  const std::string what = describe(req);
  // A refused request's body is not read: the connection is closed after the answer.
  auto refuse = [&](const Error& error, int status = 0) {
    answer_error(req, res, error);
    if (status != 0) res.status = status;
    res.set_header("Connection", "close");
    return R::Handled;
  };
  if (auto no = unimplemented_method(req.method, what)) return refuse(no->second, no->first);
  // One Host and one Authorization (RFC 9112 3.2: two Host fields are a 400; neither is a list):
  // two could be read one way here and the other way by a proxy in front.
  for (const char* name : {"Host", "Authorization"}) {
    if (req.get_header_value_count(name) > 1) {
      return refuse(make_error(ErrorCode::invalid_argument,
                               what + ": " + name + " given more than once; a request has one"));
    }
  }
  // A server on a loopback address answers only requests addressed to one (DNS rebinding: a page
  // of another site whose name the attacker points at 127.0.0.1 sends its own name as Host).
  if (is_loopback_host(options_.host) && req.has_header("Host")) {
    const std::string host = req.get_header_value("Host");
    if (!is_loopback_host(host_of(host))) {
      return refuse(make_error(ErrorCode::invalid_argument,
                               what + ": Host '" + ascii_escaped(host) +
                                   "' is not this server's: it listens on loopback, for "
                                   "requests to 127.0.0.1, localhost or [::1]"));
    }
  }
  if (!matches(open_routes_, req.path) && !authenticated(req)) {
    count(&HttpServerStats::unauthorized);
    const bool presented = req.has_header("Authorization");
    spdlog::warn("http: refused {} from {}: {} token", what, ascii_escaped(req.remote_addr),
                 presented ? "wrong" : "no");
    // What a cookie could not do, when one came instead of the token.
    std::string cookie_note;
    if (!presented && req.has_header("Cookie")) {
      if (matches(bearer_routes_, req.path)) {
        cookie_note = "; this route takes the token itself, never a browser's session";
      } else if (req.method != "GET" && req.method != "HEAD") {
        cookie_note =
            "; a browser's session cookie signs in a write only while its session lives (bel "
            "sign-in signs a browser in again) and only from this server's own pages, not from "
            "another origin";
      }
    }
    return refuse(make_error(
        ErrorCode::unauthorized,
        what + ": " + (presented ? "wrong" : "missing") +
            " token (every request needs Authorization: Bearer <token>, the token in the "
            "coordinator's token file" +
            cookie_note + ")"));
  }
  if (req.has_header("Transfer-Encoding") || req.has_header("Content-Encoding")) {
    return refuse(make_error(ErrorCode::invalid_argument,
                             what + ": Transfer-Encoding and Content-Encoding are not accepted; "
                                    "send the body as it is, with its Content-Length"));
  }
  // One Content-Length, all digits: httplib would read "-1" as 2^64-1 and "abc" as 0.
  const size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths > 1) {
    return refuse(make_error(
        ErrorCode::invalid_argument,
        what + ": Content-Length given " + std::to_string(lengths) + " times; give it once"));
  }
  if (lengths == 1) {
    const std::string length = req.get_header_value("Content-Length");
    if (length.empty() || length.size() > 18 ||
        length.find_first_not_of("0123456789") != std::string::npos) {
      return refuse(make_error(
          ErrorCode::invalid_argument,
          what + ": Content-Length '" + ascii_escaped(length) + "' is not a number of bytes"));
    }
  }
  const bool announced = lengths == 1;
  // httplib reads a body without a length until the peer closes: refuse it (a DELETE without a
  // length has no body).
  if (has_body(req) && !announced && req.method != "DELETE") {
    // A method its path does not take is that first (405, as once routed), length or not.
    const std::string allow = allowed_methods(req.path);
    if (allow.empty() || allow.find(req.method) != std::string::npos) {
      return refuse(make_error(ErrorCode::invalid_argument, what + ": no Content-Length"));
    }
    answer_not_allowed(req, res, allow);
    res.set_header("Connection", "close");  // its body is not read
    return R::Handled;
  }
  if (!has_body(req) && announced && req.get_header_value<uint64_t>("Content-Length") > 0) {
    return refuse(make_error(ErrorCode::invalid_argument, what + ": a body is not accepted"));
  }
  return R::Unhandled;
}

void HttpServer::serve_with_body(const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader, const Handler& handler) {
  const std::string what = describe(req);
  const uint64_t length = req.get_header_value<uint64_t>("Content-Length");
  // A refused body is not read: the connection is closed after the answer. Reading it would hold
  // this serving thread for as long as a client takes to send it, or never sends it.
  auto drop_body = [&] { res.set_header("Connection", "close"); };
  if (length > options_.max_body_bytes) {
    drop_body();
    count(&HttpServerStats::overloaded);
    return reply_error(
        res, make_error(ErrorCode::overloaded, what + ": a request of " + std::to_string(length) +
                                                   " bytes is over the limit of " +
                                                   std::to_string(options_.max_body_bytes) +
                                                   " bytes per request; send less in one request"));
  }
  const size_t bytes = static_cast<size_t>(length);
  if (!admit(bytes)) {
    drop_body();
    count(&HttpServerStats::overloaded);
    return reply_error(
        res, make_error(ErrorCode::overloaded,
                        what + ": the coordinator is already serving its limit of " +
                            std::to_string(options_.max_inflight_requests) + " requests or " +
                            std::to_string(options_.max_inflight_bytes) +
                            " bytes of request bodies at once; retry later"));
  }
  struct Release {
    HttpServer* server;
    size_t bytes;
    ~Release() { server->release(bytes); }
  } release{this, bytes};
  std::string body;
  body.reserve(bytes);
  const bool read = reader([&](const char* data, size_t n) {
    if (body.size() + n > bytes) return false;
    body.append(data, n);
    return true;
  });
  if (!read || body.size() != bytes) {
    res.set_header("Connection", "close");
    return reply_error(res, make_error(ErrorCode::invalid_argument,
                                       what + ": the body does not match its Content-Length"));
  }
  handler(req, body, res);
}

bool HttpServer::admit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stats_.inflight_requests + 1 > static_cast<int64_t>(options_.max_inflight_requests) ||
      stats_.inflight_bytes + static_cast<int64_t>(bytes) >
          static_cast<int64_t>(options_.max_inflight_bytes)) {
    return false;
  }
  stats_.inflight_requests += 1;
  stats_.inflight_bytes += static_cast<int64_t>(bytes);
  stats_.peak_inflight_requests = std::max(stats_.peak_inflight_requests, stats_.inflight_requests);
  stats_.peak_inflight_bytes = std::max(stats_.peak_inflight_bytes, stats_.inflight_bytes);
  return true;
}

void HttpServer::release(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.inflight_requests -= 1;
  stats_.inflight_bytes -= static_cast<int64_t>(bytes);
}

void HttpServer::count(int64_t HttpServerStats::*counter) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.*counter += 1;
}

HttpServerStats HttpServer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  HttpServerStats out = stats_;
  out.open_connections = listener_->connections().open();
  out.queued_requests = listener_->connections().queued();
  out.overloaded += listener_->connections().refused();
  return out;
}

Status HttpServer::bind() {
  if (options_.threads == 0 || options_.max_pending_connections == 0) {
    return make_error(ErrorCode::invalid_argument,
                      "the HTTP server needs at least one serving thread and one waiting "
                      "connection (threads " +
                          std::to_string(options_.threads) + ", max_pending_connections " +
                          std::to_string(options_.max_pending_connections) + ")");
  }
  const int port = options_.port == 0 ? server_.bind_to_any_port(options_.host)
                                      : (server_.bind_to_port(options_.host, options_.port)
                                             ? options_.port
                                             : -1);
  const int bind_errno = errno;
  const std::string address = options_.host + " port " + std::to_string(options_.port);
  if (port <= 0) {
    // httplib resolves the host before it binds: a name that does not resolve leaves an errno
    // that has nothing to do with it.
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(options_.host.c_str(), nullptr, &hints, &found);
    if (found != nullptr) ::freeaddrinfo(found);
    if (rc != 0) {
      return make_error(ErrorCode::storage_unavailable, "cannot listen on " + address +
                                                            ": the host does not resolve to an " +
                                                            "address (" + ::gai_strerror(rc) + ")");
    }
    return make_error(ErrorCode::storage_unavailable,
                      "cannot listen on " + address + ": " + std::strerror(bind_errno));
  }
  port_ = static_cast<uint16_t>(port);
  return ok_status();
}

Status HttpServer::listen() {
  if (port_ == 0) BEL_RETURN_IF_ERROR(bind());
  // Every thread that may write to a socket starts here (make_listener).
  SigpipeBlocked blocked;
  listener_->connections().start();
  thread_ = std::thread([this] {
    name_this_thread("bel.http");
    server_.listen_after_bind();
  });
  // httplib's stop() acts only on a running server: until the thread has marked it running, a
  // stop() would be lost and the thread would wait in accept() for ever.
  while (!server_.is_running()) std::this_thread::yield();
  return ok_status();
}

void HttpServer::stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
  listener_->connections().stop();
}

void HttpServer::reply(httplib::Response& response, std::string body, const char* content_type) {
  response.status = 200;
  response.set_content(std::move(body), content_type);
}

void HttpServer::reply_error(httplib::Response& response, const Error& error) {
  response.status = http_status(error.code);
  response.set_header("Bel-Error", to_string(error.code));
  // The message's bytes that are not UTF-8 (a path given as %FF) as the text \xNN.
  response.set_content(error_json(error) + "\n", "application/json");
}

}  // namespace bel::actors
