#include "actors/net/http_connections.h"

#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "actors/net/http_server.h"
#include "storage/thread_name.h"

namespace bel::actors {

using Clock = std::chrono::steady_clock;

struct HttpConnections::Connection {
  int sock = -1;
  std::string buffer;  // bytes received and not yet read by httplib: buffer[pos..]
  size_t pos = 0;
  size_t scanned = 0;          // no header ends before buffer[scanned - 3]: a search resumes there
  Clock::time_point since;     // accepted, or given back between requests
  Clock::time_point deadline;  // closed when still waiting then
  bool idle = true;            // no byte of the next request yet
  bool lingering = false;      // shut for writing: its input is dropped until the peer closes
  size_t served = 0;           // requests answered on it

  size_t unread() const { return buffer.size() - pos; }
  bool header_complete() {
    const size_t from = std::max(pos, scanned < 3 ? 0 : scanned - 3);
    if (buffer.find("\r\n\r\n", from) != std::string::npos) return true;
    scanned = buffer.size();
    return false;
  }
  // The complete header block at pos: its first field line longer than httplib reads (with its
  // CRLF, CPPHTTPLIB_HEADER_MAX_LENGTH bytes; httplib refuses a longer one with a bare 400), as
  // "line N (field NAME) is B bytes", or empty. The request line is httplib's to judge (414).
  std::string overlong_line() const {
    const size_t end = buffer.find("\r\n\r\n", pos);
    if (end - pos < CPPHTTPLIB_HEADER_MAX_LENGTH) return "";  // no line can be: most requests
    size_t at = buffer.find('\n', pos) + 1;  // after the request line; httplib's lines end at LF
    for (size_t line = 2; at < end + 2; ++line) {
      const size_t next = buffer.find('\n', at) + 1;
      if (next - at > CPPHTTPLIB_HEADER_MAX_LENGTH) {
        // Its name, when it is one: a token of at most 64 bytes (RFC 9110 5.1) before ':'.
        const size_t colon = buffer.find(':', at);
        std::string name =
            colon < next && colon > at && colon - at <= 64 ? buffer.substr(at, colon - at) : "";
        const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) ||
                 std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr;
        });
        return "line " + std::to_string(line) + (token ? " (field " + name + ")" : "") + " is " +
               std::to_string(next - at) + " bytes";
      }
      at = next;
    }
    return "";
  }
  // Empty lines before a request line are skipped (RFC 9112 section 2.2: some clients send
  // one after a body).
  void skip_empty_lines() {
    while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) ++pos;
  }
  void compact() {
    buffer.erase(0, pos);
    scanned = scanned > pos ? scanned - pos : 0;
    pos = 0;
  }
};

namespace {

// The socket of the request a serving thread answers (client_gone), -1 between requests.
thread_local int t_client = -1;

// Waits up to `timeout` for `events` on `sock`.
bool wait_for(int sock, short events, std::chrono::milliseconds timeout) {
  pollfd p{sock, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  auto* a = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(sock, a, &len) : ::getsockname(sock, a, &len)) != 0) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(a, len, host, sizeof(host), service, sizeof(service),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

// A connection's socket as httplib reads it: first the bytes the waiting thread received. The
// reads of one request (its body) end at read_timeout plus a second per min_body_rate bytes
// read, so a body sent a byte at a time does not hold a serving thread for ever.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(HttpConnections::Connection& c, const HttpConnectionOptions& options)
      : c_(c), options_(options) {}

  void begin_request() {
    started_ = Clock::now();
    received_ = 0;
  }

  bool is_readable() const override { return c_.unread() > 0 || wait_readable(); }
  bool is_writable() const override { return wait_for(c_.sock, POLLOUT, options_.write_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (c_.unread() == 0) {
      if (!wait_readable()) return -1;
      // A body's bytes go straight to httplib; a header's are read a byte at a time, buffered.
      const bool direct = size >= kChunk;
      char chunk[kChunk];
      ssize_t n;
      do {
        n = ::recv(c_.sock, direct ? ptr : chunk, direct ? size : kChunk, 0);
      } while (n < 0 && errno == EINTR);
      if (n > 0) received_ += static_cast<size_t>(n);
      if (n <= 0 || direct) return n;
      c_.buffer.assign(chunk, static_cast<size_t>(n));
      c_.pos = 0;
      c_.scanned = 0;
    }
    const size_t n = std::min(size, c_.unread());
    std::memcpy(ptr, c_.buffer.data() + c_.pos, n);
    c_.pos += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(c_.sock, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(c_.sock, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(c_.sock, false, ip, port);
  }
  socket_t socket() const override { return c_.sock; }

 private:
  static constexpr size_t kChunk = 4096;

  // Waits for input until the request's read deadline, each wait at most read_timeout.
  bool wait_readable() const {
    using std::chrono::milliseconds;
    const auto allowed =
        options_.read_timeout +
        milliseconds(received_ * 1000 / std::max<size_t>(options_.min_body_rate, 1));
    const auto left = std::chrono::duration_cast<milliseconds>(started_ + allowed - Clock::now());
    return left.count() > 0 && wait_for(c_.sock, POLLIN, std::min(left, options_.read_timeout));
  }

  HttpConnections::Connection& c_;
  const HttpConnectionOptions& options_;
  Clock::time_point started_ = Clock::now();
  size_t received_ = 0;  // bytes of this request read from the socket
};

// Answers a connection whose request will not be read, best effort (it is closed next).
void answer_and_forget(int sock, const char* status, const std::string& code,
                       const std::string& message) {
  const std::string body = "{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}\n";
  const std::string answer =
      std::string("HTTP/1.1 ") + status +
      "\r\nContent-Type: application/json\r\nBel-Error: " + code +
      "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// What the wait made of a connection: still waiting (more), its header in (complete), to be
// answered and closed (late, too_big, long_line, not_http), or to close (gone: its peer closed, or a
// lingering connection's time is up).
enum class Received { more, complete, late, too_big, long_line, not_http, gone };
constexpr size_t kOutcomes = 7;

// The answer to a header whose line is longer than httplib reads (Connection::overlong_line).
constexpr const char* kHeaderTooLarge = "431 Request Header Fields Too Large";
std::string long_line_message(const std::string& line) {
  return "the request's header " + line + ", over the " +
         std::to_string(CPPHTTPLIB_HEADER_MAX_LENGTH) +
         " that the HTTP library reads in one line (its CRLF included)";
}

// False when the bytes so far cannot begin an HTTP request line: a method is a few capital
// letters and then a space (a peer speaking another protocol is answered at once).
bool may_be_http(const std::string& buffer, size_t pos) {
  constexpr size_t kLongestMethod = 16;
  for (size_t i = pos; i < buffer.size() && i - pos <= kLongestMethod; ++i) {
    if (buffer[i] == ' ') return i > pos;
    if (buffer[i] < 'A' || buffer[i] > 'Z') return false;
  }
  return buffer.size() - pos <= kLongestMethod;
}

// Drops what a lingering connection has received, without waiting: at most 64 KiB a call, so
// a peer writing without pause cannot keep the waiting thread here (it is woken again).
Received drain(HttpConnections::Connection& c) {
  char chunk[4096];
  for (int reads = 0; reads < 16;) {
    const ssize_t n = ::recv(c.sock, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      ++reads;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? Received::more : Received::gone;
  }
  return Received::more;
}

// Reads what `c` has received, without waiting.
Received receive(HttpConnections::Connection& c, const HttpConnectionOptions& options) {
  if (c.lingering) return drain(c);
  char chunk[4096];
  bool got = false;
  bool ended = false;  // the peer sent its last byte (it may still read the answer)
  for (;;) {
    const ssize_t n = ::recv(c.sock, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      c.buffer.append(chunk, static_cast<size_t>(n));
      got = true;
      if (c.unread() > options.max_header_bytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return Received::gone;  // reset
    ended = true;
    break;
  }
  c.skip_empty_lines();
  c.compact();
  if (got && c.idle && c.unread() > 0) {
    c.idle = false;
    // The first request's header counts from the accept; a later one's from its first byte
    // (empty lines before it do not count: a kept-alive connection stays idle).
    if (c.served > 0) c.deadline = Clock::now() + options.header_timeout;
  }
  if (c.header_complete()) {
    return c.overlong_line().empty() ? Received::complete : Received::long_line;
  }
  if (!may_be_http(c.buffer, c.pos)) return Received::not_http;
  if (ended) return Received::gone;
  return c.unread() > options.max_header_bytes ? Received::too_big : Received::more;
}

std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

HttpConnections::HttpConnections(HttpConnectionOptions options, Serve serve)
    : options_(options), serve_(std::move(serve)) {}

HttpConnections::~HttpConnections() { stop(); }

void HttpConnections::start() {
  assert(options_.threads > 0 && options_.max_pending > 0);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  std::promise<void> started;
  auto ready = started.get_future();
  waiter_ = std::thread([this, &started] {
    // Named first, so that the serving threads started from this one inherit the name.
    name_this_thread("bel.http");
    pool_ = std::make_unique<httplib::ThreadPool>(options_.threads);
    started.set_value();
    wait_loop();
  });
  ready.wait();
}

void HttpConnections::accept(int sock) {
  *open_ += 1;
  auto c = std::make_unique<Connection>();
  c->sock = sock;
  c->since = Clock::now();
  c->deadline = c->since + options_.header_timeout;
  park(std::move(c));
}

void HttpConnections::park(std::unique_ptr<Connection> c) {
  std::unique_ptr<Connection> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      if (waiting_.size() >= options_.max_pending) {
        // Lingering connections first: their answer is sent.
        auto oldest = std::min_element(waiting_.begin(), waiting_.end(), [](auto& a, auto& b) {
          return std::make_pair(!a.second->lingering, a.second->since) <
                 std::make_pair(!b.second->lingering, b.second->since);
        });
        evicted = std::move(oldest->second);
        waiting_.erase(oldest);
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, evicted->sock, nullptr);
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = c->sock;
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c->sock, &ev);
      const int sock = c->sock;
      waiting_.emplace(sock, std::move(c));
    }
  }
  if (evicted) close(std::move(evicted));
  if (c) close(std::move(c));
}

void HttpConnections::close(std::unique_ptr<Connection> c) {
  ::close(c->sock);
  *open_ -= 1;
}

void HttpConnections::linger(std::unique_ptr<Connection> c) {
  ::shutdown(c->sock, SHUT_WR);
  c->lingering = true;
  std::string().swap(c->buffer);
  c->pos = 0;
  c->scanned = 0;
  c->since = Clock::now();
  c->deadline = c->since + options_.linger_timeout;
  park(std::move(c));
}

void HttpConnections::wait_loop() {
  // What a connection taken from the wait is answered with before it is closed, by outcome.
  struct Answer {
    Received outcome;
    const char* status;
    const char* code;
    std::string message;
  };
  const std::string queue_full = std::to_string(options_.max_pending) +
                                 " requests already wait for a serving thread; retry later";
  const Answer answers[] = {
      {Received::late, "408 Request Timeout", "timeout",
       "the request's header did not arrive within " + seconds(options_.header_timeout)},
      {Received::too_big, kHeaderTooLarge, "invalid_argument",
       "the request's header is over " + std::to_string(options_.max_header_bytes) + " bytes"},
      {Received::not_http, "400 Bad Request", "invalid_argument",
       "not an HTTP request: bel's endpoint speaks HTTP/1.1"},
  };
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_, events, kMaxEvents, 100);
    std::array<std::vector<std::unique_ptr<Connection>>, kOutcomes> taken;  // by outcome
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto take = [&](std::unordered_map<int, std::unique_ptr<Connection>>::iterator it,
                      Received outcome) {
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->first, nullptr);
        taken[static_cast<size_t>(outcome)].push_back(std::move(it->second));
        waiting_.erase(it);
      };
      for (int i = 0; i < n; ++i) {
        auto it = waiting_.find(events[i].data.fd);
        if (it == waiting_.end()) continue;  // the wake-up, or a connection already gone
        const Received outcome = receive(*it->second, options_);
        if (outcome != Received::more) take(it, outcome);
      }
      const auto now = Clock::now();
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        auto next = std::next(it);
        if (it->second->deadline <= now) {
          const bool quiet = it->second->idle || it->second->lingering;
          take(it, quiet ? Received::gone : Received::late);
        }
        it = next;
      }
    }
    for (const Answer& a : answers) {
      for (auto& c : taken[static_cast<size_t>(a.outcome)]) {
        answer_and_forget(c->sock, a.status, a.code, a.message);
      }
    }
    for (auto& c : taken[static_cast<size_t>(Received::long_line)]) {
      answer_and_forget(c->sock, kHeaderTooLarge, "invalid_argument",
                        long_line_message(c->overlong_line()));
    }
    for (size_t outcome = 0; outcome < kOutcomes; ++outcome) {
      for (auto& c : taken[outcome]) {
        if (outcome == static_cast<size_t>(Received::gone)) {
          close(std::move(c));
        } else if (outcome != static_cast<size_t>(Received::complete)) {
          linger(std::move(c));
        } else if (queued_ >= static_cast<int64_t>(options_.max_pending)) {
          refused_ += 1;
          answer_and_forget(c->sock, "429 Too Many Requests", "overloaded", queue_full);
          linger(std::move(c));
        } else {
          queued_ += 1;
          pool_->enqueue([this, raw = c.release()] { serve(std::unique_ptr<Connection>(raw)); });
        }
      }
    }
  }
}

void HttpConnections::serve(std::unique_ptr<Connection> c) {
  queued_ -= 1;
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped = stopping_;
    if (!stopped) serving_.insert(c->sock);
  }
  if (stopped) {
    // Its request came in before the stop: it gets an answer, not an empty reply.
    answer_and_forget(c->sock, "503 Service Unavailable", "storage_unavailable",
                      "the server is stopping; the request was not served");
    return linger(std::move(c));
  }
  bool again = false;  // the connection stays open for its next request
  ConnectionStream stream(*c, options_);
  while (!stopping_) {
    c->served += 1;
    stream.begin_request();
    const bool last = stopping_ || c->served >= options_.keep_alive_max_count;
    bool closed = false;
    t_client = c->sock;
    const bool ok = serve_(stream, last, closed);
    t_client = -1;
    if (!ok || closed || last) break;
    // A request pipelined behind the one answered is served at once.
    c->skip_empty_lines();
    if (!c->header_complete()) {
      again = true;
      break;
    }
    if (const std::string line = c->overlong_line(); !line.empty()) {
      answer_and_forget(c->sock, kHeaderTooLarge, "invalid_argument", long_line_message(line));
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    serving_.erase(c->sock);
  }
  served_.notify_all();
  if (!again || stopping_) return linger(std::move(c));
  c->compact();
  c->idle = c->unread() == 0;
  c->since = Clock::now();
  c->deadline = c->since + (c->idle ? options_.keep_alive_timeout : options_.header_timeout);
  park(std::move(c));
}

void HttpConnections::stop() {
  std::call_once(stopped_, [this] { stop_once(); });
}

void HttpConnections::stop_once() {
  stopping_ = true;
  if (epoll_ < 0) return;
  const uint64_t one = 1;
  (void)::write(wake_, &one, sizeof(one));
  if (waiter_.joinable()) waiter_.join();
  std::unordered_map<int, std::unique_ptr<Connection>> waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& [sock, c] : waiting) close(std::move(c));
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // A request being served may finish; one that holds its thread longer (a body or an answer
    // trickling, a stream) has its socket shut, which ends its reads and writes.
    served_.wait_for(lock, options_.stop_grace, [this] { return serving_.empty(); });
    for (const int sock : serving_) ::shutdown(sock, SHUT_RDWR);
  }
  if (pool_) pool_->shutdown();
  ::close(epoll_);
  ::close(wake_);
}

bool client_gone() {
  char byte = 0;
  const ssize_t n = t_client < 0 ? 1 : ::recv(t_client, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

std::string without_brotli(std::string_view accept_encoding) {
  std::string out;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    std::string_view coding = accept_encoding.substr(0, comma);
    accept_encoding.remove_prefix(comma == std::string_view::npos ? accept_encoding.size()
                                                                  : comma + 1);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
      coding.remove_prefix(1);
    }
    std::string name(coding.substr(0, coding.find_first_of(" \t;")));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "br" || coding.empty()) continue;
    out += (out.empty() ? "" : ", ") + std::string(coding);
  }
  return out;
}

std::optional<std::pair<int, Error>> unimplemented_method(const std::string& method,
                                                          const std::string& what) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (method == known) return std::nullopt;
  }
  return std::make_pair(501, make_error(ErrorCode::invalid_argument,
                                        what + ": this server does not implement " + method +
                                            " (its routes take GET, HEAD and POST)"));
}

}  // namespace bel::actors
