// The connections of bel's HTTP server (actors/net/http_server.h): the part of serving that
// cpp-httplib 0.11 leaves out. httplib gives each connection one of its threads from accept to
// close and reads a request's header with no deadline, so a few clients that send half a header
// (slowloris) would hold every thread and an operator's request would wait behind them. Here:
//  - an accepted connection, and a kept-alive one between requests, waits in one thread (epoll)
//    until its header block (up to the empty line) has arrived; only then does a serving thread
//    take it, for that request and any pipelined behind it, and gives it back afterwards;
//  - a header not complete within header_timeout of the connection's accept (between requests:
//    of its first byte) is answered 408 and the connection closed; a kept-alive connection idle
//    for keep_alive_timeout is closed;
//  - a header block over max_header_bytes, or with a line longer than httplib reads, is answered
//    431, bytes that cannot begin a request line (another protocol) 400, and the connection
//    closed;
//  - at most max_pending connections wait: one more closes the one that has waited longest;
//    at most max_pending requests wait for a serving thread: one more is answered 429;
//  - a body must arrive within read_timeout plus one second per min_body_rate bytes;
//  - a connection the server closes first is shut for writing and its input read and dropped
//    until the peer closes (at most linger_timeout), so unread bytes do not reset the
//    connection and destroy the answer in flight;
//  - stop() gives the requests being served stop_grace, then shuts their sockets down.
// So a waiting connection costs a socket and its buffer, never a thread.
//
//   HttpConnections connections(options, [&](httplib::Stream& s, bool close, bool& closed) {
//     return server.process_request(s, close, closed, nullptr);   // one request
//   });
//   connections.start();
//   connections.accept(sock);   // from the listening thread; takes ownership of sock
//   connections.stop();         // closes waiting connections, ends the ones being served
//
// Thread-safety: every method may be called from any thread.
#ifndef BEL_ACTORS_NET_HTTP_CONNECTIONS_H_
#define BEL_ACTORS_NET_HTTP_CONNECTIONS_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "messages/error.h"

namespace bel::actors {

struct HttpConnectionOptions {
  size_t threads = 24;  // serving threads
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds keep_alive_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};  // one read of a body, once its header is in
  size_t min_body_rate = 16u << 10;  // bytes a second a body arrives at, after read_timeout
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds linger_timeout{2000};
  std::chrono::milliseconds stop_grace{5000};
  size_t max_pending = 512;
  size_t max_header_bytes = 64u << 10;
  size_t keep_alive_max_count = 100000;  // requests on one connection
};

class HttpConnections {
 public:
  // Serves one request from `stream`: `close` asks for the connection to be closed after it;
  // sets `closed` when the answer closes it. False: the connection is to be closed.
  using Serve = std::function<bool(httplib::Stream& stream, bool close, bool& closed)>;
  struct Connection;

  HttpConnections(HttpConnectionOptions options, Serve serve);
  // stop()s.
  ~HttpConnections();
  HttpConnections(const HttpConnections&) = delete;
  HttpConnections& operator=(const HttpConnections&) = delete;

  // Starts the waiting thread and the serving threads. REQUIRES: called once; options.threads
  // and options.max_pending at least 1.
  void start();
  // A connection just accepted: it waits for its header. After stop(): closed at once.
  void accept(int sock);
  // Accepted and not yet closed (waiting or being served).
  int64_t open() const { return open_->load(); }
  // Requests whose header is in, waiting for a serving thread.
  int64_t queued() const { return queued_.load(); }
  // Requests answered 429 because max_pending of them already waited for a thread.
  int64_t refused() const { return refused_.load(); }
  // Closes the waiting connections; gives the requests being served stop_grace to finish, then
  // shuts their sockets down and waits for their threads. Idempotent; a second call returns
  // when the first has finished.
  void stop();

 private:
  void wait_loop();
  // Hands `c` to the waiting thread (closing it after stop()).
  void park(std::unique_ptr<Connection> c);
  void serve(std::unique_ptr<Connection> c);
  void close(std::unique_ptr<Connection> c);
  // Shuts `c` for writing and parks it to drop its input until the peer closes (see above).
  void linger(std::unique_ptr<Connection> c);
  void stop_once();

  HttpConnectionOptions options_;
  Serve serve_;
  int epoll_ = -1;
  int wake_ = -1;  // an eventfd that wakes the waiting thread for stop()
  std::atomic<bool> stopping_{false};
  std::once_flag stopped_;
  std::mutex mutex_;                // guards waiting_ and serving_
  std::condition_variable served_;  // serving_ shrank
  std::unordered_map<int, std::unique_ptr<Connection>> waiting_;
  std::unordered_set<int> serving_;  // the sockets of connections being served
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> refused_{0};
  std::thread waiter_;
  std::unique_ptr<httplib::ThreadPool> pool_;
  std::shared_ptr<std::atomic<int64_t>> open_ = std::make_shared<std::atomic<int64_t>>(0);
};

// An Accept-Encoding value without its br (brotli) codings: "br, gzip;q=0.8" -> "gzip;q=0.8".
// httplib prefers brotli whenever a client offers it (every browser does) and compresses at
// brotli's highest quality, 11: seconds of a core for a megabyte of JSON, where gzip takes
// milliseconds.
std::string without_brotli(std::string_view accept_encoding);

// The error for a request whose method no server route takes (TRACE, CONNECT), with the status
// to answer it with, 501 (RFC 9110 15.6.2: a method the server does not implement); none for a
// method routes may take (GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH: a path's own routes then
// answer, or 405 names the ones it has). A method httplib does not know at all (PROPFIND) it
// answers 400 itself, before bel sees the request.
std::optional<std::pair<int, Error>> unimplemented_method(const std::string& method,
                                                          const std::string& what);

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_HTTP_CONNECTIONS_H_
