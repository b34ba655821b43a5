// bel's HTTP server (cpp-httplib): the coordinator's one network endpoint. The console's RPC
// routes (actors/net/rpc_server.h) are registered on it; the web API and dashboard add theirs.
//
//   HttpServerOptions options;
//   options.host = "127.0.0.1";          // port 0: any free port
//   options.token = token;               // REQUIRES: not empty
//   HttpServer server(options);
//   server.post(R"(/rpc/v1/(\w+))", [](const httplib::Request& req, const std::string& body,
//                                      httplib::Response& res) { ... });
//   BEL_RETURN_IF_ERROR(server.listen());    // serves on its own threads until stop()
//
// What every request goes through, before any handler runs (SPEC R5, R6):
//  1. The token. A request is authenticated by "Authorization: Bearer <token>" (compared in
//     constant time) or by a check added with add_credential() (the hook for a browser's session
//     cookie). Anything else gets 401 `unauthorized` and its body is never read. Routes added with
//     Access::open skip this (a sign-in page that checks a one-time token itself); routes added
//     with Access::bearer take the token only (the route that makes sign-in links).
//  2. The body. A request with a body must say its Content-Length and use no Transfer-Encoding
//     or Content-Encoding (`invalid_argument`), so the bytes read are the bytes announced.
//  3. Admission. A body over max_body_bytes, or one that would take the requests being served
//     over max_inflight_requests or their bodies over max_inflight_bytes, is answered `overloaded`
//     at once, naming the limit; its bytes are read and dropped (never stored), so the connection
//     stays usable. So the memory held by request bodies never exceeds max_inflight_bytes.
// Errors are answered with the HTTP status of http_status(code), a header "Bel-Error: <code>"
// and a JSON body {"code": "...", "message": "..."}.
//
// Connections (actors/net/http_connections.h): a connection takes a serving thread only once a
// request's whole header has arrived, within header_timeout; so clients that send half a header
// hold no thread, and the requests pipelined on one connection are each answered.
//
// The listening socket sets SO_REUSEADDR (not SO_REUSEPORT): a restarted coordinator binds its
// port again at once despite connections in TIME_WAIT, and a second server on a port in use is
// refused.
//
// Thread-safety: register routes and credentials before listen(); handlers run on the server's
// threads, several at once. stats() and stop() may be called from any thread.
#ifndef BEL_ACTORS_NET_HTTP_SERVER_H_
#define BEL_ACTORS_NET_HTTP_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "messages/error.h"

namespace bel::actors {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see port())
  std::string token;
  size_t max_body_bytes = 32u << 20;       // one request's body
  size_t max_inflight_bytes = 64u << 20;   // the bodies of every request being served
  size_t max_inflight_requests = 16;       // requests being served (their handlers running)
  // Requests served at once (their header in); one more waits for a free thread. More than
  // max_inflight_requests, so refusals are answered at once.
  size_t threads = 24;
  // A request's header must arrive within it (from the connection's accept, or from the first
  // byte of a later request on it): else 408 and the connection is closed.
  std::chrono::milliseconds header_timeout{10000};
  // Connections waiting for a header, idle kept-alive ones included; one more closes the one
  // that has waited longest. Also the requests (header in) waiting for a serving thread: one
  // more is answered 429 `overloaded`.
  size_t max_pending_connections = 512;
};

// Counters since the server started.
struct HttpServerStats {
  int64_t requests = 0;        // requests answered, whatever the outcome
  int64_t unauthorized = 0;    // refused for a missing or wrong token
  // Answered 429: refused by the body limit, the in-flight bounds, waiting for a thread with
  // max_pending_connections requests already waiting, or by a handler's count_overloaded().
  int64_t overloaded = 0;
  int64_t open_connections = 0;  // accepted and not yet closed (being served or waiting)
  int64_t queued_requests = 0;   // header in, waiting for a serving thread
  int64_t inflight_requests = 0;
  int64_t peak_inflight_requests = 0;
  int64_t inflight_bytes = 0;
  int64_t peak_inflight_bytes = 0;
};

// The HTTP status bel answers `code` with (a table in docs/reliability.md).
int http_status(ErrorCode code);

// True when the client of the request this thread answers has closed its connection: a content
// provider that waits between writes (an event stream) asks, so that a page the browser left
// frees its stream at once, not at the next write. False off a serving thread.
bool client_gone();

class HttpServer {
 public:
  // The request, its body (empty for GET) and the response to fill.
  using Handler = std::function<void(const httplib::Request& request, const std::string& body,
                                     httplib::Response& response)>;
  // token: the token, or another credential (add_credential); bearer: the token itself only
  // (a route that makes credentials: one must not renew itself); open: no check.
  enum class Access { token, bearer, open };

  // REQUIRES: !options.token.empty()
  explicit HttpServer(HttpServerOptions options);
  // stop()s.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes: `pattern` is a regular expression matched against the whole path.
  void get(const std::string& pattern, Handler handler, Access access = Access::token);
  void post(const std::string& pattern, Handler handler, Access access = Access::token);
  // Another way a request may prove it holds the token (e.g. a session cookie set by a sign-in
  // route): a request for which `check` is true counts as authenticated.
  void add_credential(std::function<bool(const httplib::Request&)> check);

  // How the errors the server answers by itself (401, no such route, 405, a bad request) look in
  // a browser: a GET whose Accept header names text/html, for a path outside /api/ and /rpc/,
  // gets `render(error)` as an HTML page (same status and Bel-Error) rather than JSON.
  void set_error_page(std::function<std::string(const Error&)> render);
  // Headers every answer carries (a browser's security headers, say). Each answer starts with
  // them, so a handler that sets one of them again sends it twice: handlers leave them alone.
  // REQUIRES: called before listen().
  void set_default_headers(httplib::Headers headers);

  // Binds options.host:options.port without serving yet (connections wait in the backlog), so
  // that a caller learns the address is taken before it starts anything else. storage_unavailable
  // naming the address when it cannot bind. A server bound but never listen()ed keeps its port
  // until the process exits (httplib closes only a running server's socket). REQUIRES: called at
  // most once, before listen().
  Status bind();
  // Serves on background threads, bind()ing first unless it was. REQUIRES: called once.
  Status listen();
  // The port bound (after bind() or listen()).
  uint16_t port() const { return port_; }
  // Stops accepting, waits for the requests being served to be answered. Idempotent.
  void stop();

  HttpServerStats stats() const;
  // Counts a request a handler refused with `overloaded` by a bound of its own (the open event
  // streams) in stats().overloaded, with the server's own refusals.
  void count_overloaded() { count(&HttpServerStats::overloaded); }
  const HttpServerOptions& options() const { return options_; }

  // Fills `response` with `body` (status 200).
  static void reply(httplib::Response& response, std::string body, const char* content_type);
  // Fills `response` with `error` (see above).
  static void reply_error(httplib::Response& response, const Error& error);

 private:
  // The token; on a route not added with Access::bearer, another credential too.
  bool authenticated(const httplib::Request& request) const;
  // Fills `response` with `error`: as JSON, or for a browser's page as set_error_page() says.
  void answer_error(const httplib::Request& request, httplib::Response& response,
                    const Error& error) const;
  static bool matches(const std::vector<std::regex>& routes, const std::string& path);
  // The methods the routes of `path` take, for a 405's Allow ("GET, HEAD, POST"); "" for none.
  std::string allowed_methods(const std::string& path) const;
  // Answers 405 naming the methods `allow` lists, in its Allow header too.
  void answer_not_allowed(const httplib::Request& request, httplib::Response& response,
                          const std::string& allow) const;
  // Records a route's `pattern` among those its `access` names (the token's need none).
  void note_access(const std::string& pattern, Access access);
  httplib::Server::HandlerResponse before_routing(const httplib::Request& request,
                                                  httplib::Response& response);
  void serve_with_body(const httplib::Request& request, httplib::Response& response,
                       const httplib::ContentReader& reader, const Handler& handler);
  // Reserves `bytes` and one request; false (nothing reserved) when over a bound.
  bool admit(size_t bytes);
  void release(size_t bytes);
  void count(int64_t HttpServerStats::*counter);

  class Listener;
  // httplib's server, made without changing the process's SIGPIPE disposition (see the .cc).
  static std::unique_ptr<Listener> make_listener(const HttpServerOptions& options);

  HttpServerOptions options_;
  std::unique_ptr<Listener> listener_;
  httplib::Server& server_;
  std::vector<std::regex> open_routes_;
  std::vector<std::regex> bearer_routes_;
  // Every route's pattern and method, for the Allow header of a 405.
  std::vector<std::pair<std::regex, std::string>> routes_;
  std::vector<std::function<bool(const httplib::Request&)>> credentials_;
  std::function<std::string(const Error&)> error_page_;
  std::thread thread_;
  uint16_t port_ = 0;
  mutable std::mutex mutex_;  // guards stats_
  HttpServerStats stats_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_HTTP_SERVER_H_
