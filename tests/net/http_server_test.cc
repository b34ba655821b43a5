// HttpServer (actors/net/http_server.h): the token on every request, the per-request body limit,
// the bounds on requests and bytes in flight (answered `overloaded` at once, memory bounded), and
// binding a port again right after a stop.
#include "actors/net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/net/http_connections.h"
#include "actors/net/token.h"

namespace bel::actors {
namespace {

// Holds every request of the route /hold until release(); counts the requests holding.
class Hold {
 public:
  void enter() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++holding_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
  }
  void wait_holding(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return holding_ >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int holding_ = 0;
  bool released_ = false;
};

// A client connection speaking raw bytes: half a header, pipelined requests, bad headers.
// A read waits at most 20 s, so a test that fails does not hang.
class Raw {
 public:
  explicit Raw(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Raw() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the server closes the connection ("<timeout>" appended if it does not).
  std::string read_to_end() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return out;
      if (n < 0) return out + "<timeout>";
      out.append(buf, static_cast<size_t>(n));
    }
  }
  // False when the connection refuses the bytes (reset by the server).
  bool try_send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  void shut_writing() { ::shutdown(fd_, SHUT_WR); }
  // Waits (at most 20 s) until the server has sent something or closed.
  bool wait_news() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 20000) > 0;
  }
  // True when the server has sent something or closed, right now.
  bool has_news() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  int fd_;
  bool connected_ = false;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// SIGPIPE at its default disposition while it lives, put back as it was after.
class SigpipeAtDefault {
 public:
  SigpipeAtDefault() {
    struct sigaction at_default {};
    at_default.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &at_default, &before_);
  }
  ~SigpipeAtDefault() { ::sigaction(SIGPIPE, &before_, nullptr); }
  SigpipeAtDefault(const SigpipeAtDefault&) = delete;
  SigpipeAtDefault& operator=(const SigpipeAtDefault&) = delete;

 private:
  struct sigaction before_ {};
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options) {
    options.token = token_;
    server_ = std::make_unique<HttpServer>(options);
    server_->post("/echo", [](const httplib::Request&, const std::string& body,
                              httplib::Response& res) {
      HttpServer::reply(res, body, "application/octet-stream");
    });
    server_->post("/hold", [this](const httplib::Request&, const std::string& body,
                                  httplib::Response& res) {
      hold_.enter();
      HttpServer::reply(res, std::to_string(body.size()), "text/plain");
    });
    // What a write to a peer that has gone does in the serving thread: a SIGPIPE sent to it.
    server_->post("/sigpipe",
                  [](const httplib::Request&, const std::string&, httplib::Response& res) {
                    ::pthread_kill(::pthread_self(), SIGPIPE);
                    HttpServer::reply(res, "raised", "text/plain");
                  });
    server_->get(
        "/open",
        [](const httplib::Request&, const std::string&, httplib::Response& res) {
          HttpServer::reply(res, "hi", "text/plain");
        },
        HttpServer::Access::open);
    ASSERT_TRUE(server_->listen().ok());
  }
  void TearDown() override {
    hold_.release();
    if (server_) server_->stop();
  }
  std::unique_ptr<httplib::Client> client() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_keep_alive(true);
    return c;
  }
  httplib::Headers auth() const { return {{"Authorization", "Bearer " + token_}}; }
  // `n` raw connections, one after the other, each sending `bytes`.
  std::vector<std::unique_ptr<Raw>> open_raw(int n, const std::string& bytes) {
    std::vector<std::unique_ptr<Raw>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<Raw>(server_->port()));
      EXPECT_TRUE(out.back()->connected());
      out.back()->send(bytes);
    }
    return out;
  }

  // Starts a server whose header timeout is short, for requests that never complete.
  void start_impatient() {
    HttpServerOptions options;
    options.header_timeout = std::chrono::milliseconds(200);
    start(options);
  }
  // Everything a new connection that sends `bytes` is answered until the server closes it.
  std::string answer_to(const std::string& bytes) {
    Raw raw(server_->port());
    raw.send(bytes);
    return raw.read_to_end();
  }

  std::string token_ = new_token();
  Hold hold_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, OnlyRequestsCarryingTheTokenReachAHandler) {
  start({});
  auto c = client();
  for (const httplib::Headers& headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
        httplib::Headers{{"Authorization", "Bearer " + token_.substr(0, 63)}},
        httplib::Headers{{"Authorization", token_}},
        httplib::Headers{{"Authorization", "Basic " + token_}}}) {
    auto res = c->Post("/echo", headers, "secret", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->get_header_value("Bel-Error"), "unauthorized");
    EXPECT_EQ(res->body.find("secret"), std::string::npos);
    // A route that does not exist is refused the same way: nothing is learned without the token.
    res = c->Get("/no-such-route", headers);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
  }
  EXPECT_EQ(server_->stats().unauthorized, 10);
  auto res = c->Post("/echo", auth(), "secret", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "secret");
  // An open route (a sign-in page checks its own credentials) needs no token; an added credential
  // (the hook for a browser's cookie) is honoured.
  res = c->Get("/open");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, AnAddedCredentialAuthenticatesARequest) {
  HttpServerOptions options;
  options.token = token_;
  server_ = std::make_unique<HttpServer>(options);
  server_->get("/page", [](const httplib::Request&, const std::string&, httplib::Response& res) {
    HttpServer::reply(res, "page", "text/plain");
  });
  server_->add_credential([](const httplib::Request& req) {
    return req.get_header_value("Cookie") == "bel_session=good";
  });
  ASSERT_TRUE(server_->listen().ok());
  auto c = client();
  auto res = c->Get("/page", {{"Cookie", "bel_session=bad"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = c->Get("/page", {{"Cookie", "bel_session=good"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, ABodyOverTheLimitIsOverloadedNamingTheLimitAndTheClientGoesOn) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  start(options);
  auto c = client();
  auto res = c->Post("/echo", auth(), std::string(1001, 'x'), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Bel-Error"), "overloaded");
  EXPECT_NE(res->body.find("limit of 1000 bytes"), std::string::npos) << res->body;
  EXPECT_EQ(server_->stats().overloaded, 1);
  EXPECT_EQ(server_->stats().peak_inflight_bytes, 0) << "the refused body was stored";
  // The refused body was not read: its connection closed, and the client's next request goes.
  res = c->Post("/echo", auth(), std::string(1000, 'y'), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, std::string(1000, 'y'));
}

TEST_F(HttpServerTest, AFloodOfBigRequestsIsAnsweredOverloadedAtOnceWithinTheBounds) {
  HttpServerOptions options;
  options.max_body_bytes = 2000;
  options.max_inflight_bytes = 3000;
  options.max_inflight_requests = 2;
  options.threads = 12;
  start(options);
  const std::string big(1500, 'b');
  // Two requests are admitted (3000 bytes) and held in their handler.
  std::vector<std::future<int>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::async(std::launch::async, [&] {
      auto c = client();
      auto res = c->Post("/hold", auth(), big, "application/octet-stream");
      return res ? res->status : -1;
    }));
  }
  hold_.wait_holding(2);
  // While they are held, every further request is refused: answered now, not queued.
  std::vector<std::future<std::string>> flood;
  for (int i = 0; i < 8; ++i) {
    flood.push_back(std::async(std::launch::async, [&] {
      auto c = client();
      auto res = c->Post("/hold", auth(), big, "application/octet-stream");
      return res ? res->get_header_value("Bel-Error") : std::string("no answer");
    }));
  }
  for (auto& f : flood) EXPECT_EQ(f.get(), "overloaded");
  hold_.release();
  for (auto& f : held) EXPECT_EQ(f.get(), 200);
  const auto stats = server_->stats();
  EXPECT_EQ(stats.overloaded, 8);
  EXPECT_LE(stats.peak_inflight_bytes, 3000);
  EXPECT_LE(stats.peak_inflight_requests, 2);
  EXPECT_EQ(stats.inflight_bytes, 0);
  EXPECT_EQ(stats.inflight_requests, 0);
}

TEST_F(HttpServerTest, ARefusedBodyThatNeverComesHoldsNoThread) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  options.max_inflight_requests = 1;
  start(options);
  auto held = std::async(std::launch::async,
                         [&] { return client()->Post("/hold", auth(), "x", "text/plain"); });
  hold_.wait_holding(1);
  // Each announces a body and never sends it: over the in-flight bound, then over the size limit.
  // Answered and closed at once; had the server waited for the body, it would wait for a client
  // that never sends it, holding a serving thread.
  for (const char* length : {"10", "1001"}) {
    Raw raw(server_->port());
    raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
             "\r\nContent-Length: " + length + "\r\n\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 429") << length << ": " << answer;
    EXPECT_EQ(answer.find("<timeout>"), std::string::npos) << length << ": " << answer;
  }
  hold_.release();
  auto held_answer = held.get();
  ASSERT_TRUE(held_answer);
  EXPECT_EQ(held_answer->status, 200);
}

TEST_F(HttpServerTest, ABodyMustSayItsLengthAndComeUnencoded) {
  start({});
  auto c = client();
  httplib::Headers gzip = auth();
  gzip.emplace("Content-Encoding", "gzip");
  auto res = c->Post("/echo", gzip, "not really gzip", "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Bel-Error"), "invalid_argument");
  auto c2 = client();
  res = c2->Post("/echo", auth(),
                 [](size_t offset, httplib::DataSink& sink) {
                   if (offset == 0) sink.write("chunk", 5);
                   sink.done();
                   return true;
                 },
                 "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Bel-Error"), "invalid_argument");
}

TEST_F(HttpServerTest, APortIsBoundAgainRightAfterAStopButNotTwiceAtOnce) {
  start({});
  const uint16_t port = server_->port();
  // A keep-alive connection open when the server stops: the server closes it first, so it
  // lingers in TIME_WAIT on the server's port.
  auto c = client();
  auto res = c->Post("/echo", auth(), "x", "text/plain");
  ASSERT_TRUE(res);
  // While it serves, a second server cannot take its port.
  HttpServerOptions same;
  same.port = port;
  same.token = token_;
  {
    HttpServer second(same);
    EXPECT_FALSE(second.listen().ok());
  }
  server_->stop();
  HttpServer again(same);
  auto listening = again.listen();
  ASSERT_TRUE(listening.ok()) << listening.error().to_string();
  EXPECT_EQ(again.port(), port);
}

TEST_F(HttpServerTest, ClientsSendingHalfAHeaderHoldNoThread) {
  HttpServerOptions options;
  options.threads = 2;
  options.header_timeout = std::chrono::seconds(60);
  start(options);
  // Eight connections, more than the threads, each stopping in the middle of its header; no
  // token needed to do that.
  auto slow = open_raw(8, "GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  // Accepted after them, an operator's request is answered at once: well before httplib's own
  // 30 s read timeout would have freed a thread.
  auto c = client();
  c->set_read_timeout(20, 0);
  auto res = c->Post("/echo", auth(), "now", "text/plain");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(server_->stats().open_connections, 8);
  // The slow ones are still waiting, and answered when their header ends.
  slow[0]->send("1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(slow[0]->read_to_end().substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTest, AHeaderNotInWithinTheTimeoutIsAnswered408AndClosed) {
  start_impatient();
  const std::string answer = answer_to("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 408") << answer;
  EXPECT_NE(answer.find("Bel-Error: timeout"), std::string::npos) << answer;
  EXPECT_NE(answer.find("within 200 ms"), std::string::npos) << answer;
  // A connection that never says anything is closed without an answer.
  Raw silent(server_->port());
  EXPECT_EQ(silent.read_to_end(), "");
  // A kept-alive connection: the next request's header has the same time from its first byte.
  Raw kept(server_->port());
  kept.send("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /open HTTP/1.1\r\n");
  const std::string both = kept.read_to_end();
  EXPECT_EQ(count_of(both, "HTTP/1.1 200 OK"), 1u) << both;
  EXPECT_EQ(count_of(both, "HTTP/1.1 408"), 1u) << both;
}

TEST_F(HttpServerTest, PipelinedRequestsAreEachAnswered) {
  start({});
  Raw raw(server_->port());
  const std::string auth_line = "Authorization: Bearer " + token_ + "\r\n";
  raw.send(
      "GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      auth_line +
      "Content-Length: 5\r\n\r\nhello"
      "GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  const std::string answers = raw.read_to_end();
  EXPECT_EQ(count_of(answers, "HTTP/1.1 200 OK"), 3u) << answers;
  EXPECT_NE(answers.find("\r\n\r\nhello"), std::string::npos) << answers;
  EXPECT_EQ(answers.find("<timeout>"), std::string::npos);
}

TEST_F(HttpServerTest, ARequestSentBeforeThePeerShutsItsSideIsAnswered) {
  start({});
  Raw raw(server_->port());
  raw.send("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  raw.shut_writing();
  const std::string answer = raw.read_to_end();
  EXPECT_EQ(answer.substr(0, 15), "HTTP/1.1 200 OK") << answer;
}

TEST_F(HttpServerTest, OneConnectionOverThePendingBoundClosesTheOneWaitingLongest) {
  HttpServerOptions options;
  options.max_pending_connections = 3;
  options.header_timeout = std::chrono::seconds(60);
  start(options);
  auto waiting = open_raw(4, "GET /open HTTP/1.1\r\n");
  // Connections are accepted in the order they came: the fourth closes the first.
  EXPECT_EQ(waiting[0]->read_to_end(), "");
  EXPECT_FALSE(waiting[1]->has_news());
  waiting[1]->send("Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(waiting[1]->read_to_end().substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTest, ARequestLineTooLongIs414SayingSo) {
  start({});
  auto c = client();
  auto res = c->Get("/open?q=" + std::string(9000, 'q'), auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 414);
  EXPECT_NE(res->body.find("request line is over 8192 bytes"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("ask the console instead"), std::string::npos) << res->body;
}

// A host that does not resolve is said to be that (httplib's failure leaves an unrelated errno).
TEST(HttpServerListenTest, AHostThatDoesNotResolveIsSaidToBeThat) {
  HttpServerOptions options;
  options.token = new_token();
  options.host = "nosuchhost.invalid";  // RFC 6761: never resolves
  options.port = 19999;
  HttpServer server(options);
  const Status listened = server.listen();
  ASSERT_FALSE(listened.ok());
  EXPECT_EQ(listened.error().code, ErrorCode::storage_unavailable);
  EXPECT_NE(listened.error().message.find("cannot listen on nosuchhost.invalid port 19999: the "
                                          "host does not resolve to an address ("),
            std::string::npos)
      << listened.error().message;
}

// httplib cannot read a target with a second '?' (a value holding one unencoded): the 400 says
// what to write instead.
TEST_F(HttpServerTest, ASecondQuestionMarkInTheQueryIs400NamingIt) {
  start({});
  Raw raw(server_->port());
  raw.send("GET /open?pattern=a?b HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
           "\r\n"
           "Connection: close\r\n\r\n");
  const std::string answer = raw.read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer.substr(0, 200);
  EXPECT_NE(answer.find("GET /open: the query holds a second '?'; write a '?' inside a value as "
                        "%3F"),
            std::string::npos)
      << answer;
}

// A request line too long to read is refused before its token could be checked, as a header
// over the limit is; the connection then closes, so a peer without the token keeps none alive.
TEST_F(HttpServerTest, ARequestLineTooLongWithoutTheTokenIsAnsweredAndClosed) {
  start({});
  for (const std::string path : {"/open?q=", "/echo?q="}) {
    Raw raw(server_->port());
    raw.send("GET " + path + std::string(9000, 'q') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // A second request on the same connection, which needs no token: never answered.
    raw.send("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 414") << path << answer.substr(0, 200);
    EXPECT_EQ(count_of(answer, "HTTP/1.1 "), 1u) << path << answer.substr(0, 400);
    EXPECT_EQ(answer.find("<timeout>"), std::string::npos) << path;
  }
}

TEST_F(HttpServerTest, AHeaderOverTheLimitIsAnswered431) {
  start({});
  Raw raw(server_->port());
  raw.send("GET /open HTTP/1.1\r\n");
  const std::string line = "X-Filler: " + std::string(1000, 'f') + "\r\n";
  for (int i = 0; i < 70; ++i) raw.send(line);
  const std::string answer = raw.read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 431") << answer.substr(0, 200);
}

// httplib reads a header line of at most 8 192 bytes and refuses a longer one with a bare 400; the
// block may be 64 KiB. Such a line is 431 naming it, whether the request came first or pipelined
// behind one served; a line of exactly 8 192 bytes (its CRLF included) is read.
TEST_F(HttpServerTest, AHeaderLineLongerThanTheLibraryReadsIsAnswered431NamingIt) {
  start({});
  const std::string head = "GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  auto field = [](size_t bytes) {  // X-Long's line of `bytes` bytes, its CRLF included
    return "X-Long: " + std::string(bytes - 10, 'l') + "\r\n";
  };
  {
    Raw raw(server_->port());
    raw.send(head + field(8192) + "Connection: close\r\n\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer.substr(0, 300);
  }
  const std::string refused =
      "the request's header line 3 (field X-Long) is 8193 bytes, over the 8192 that the HTTP "
      "library reads in one line (its CRLF included)";
  {
    Raw raw(server_->port());
    raw.send(head + field(8193) + "\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 431") << answer.substr(0, 300);
    EXPECT_NE(answer.find(refused), std::string::npos) << answer;
  }
  {
    Raw raw(server_->port());
    raw.send(head + "\r\n" + head + field(8193) + "\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer.substr(0, 300);
    EXPECT_EQ(count_of(answer, "HTTP/1.1 "), 2u) << answer.substr(0, 600);
    EXPECT_NE(answer.find("HTTP/1.1 431"), std::string::npos) << answer.substr(0, 600);
    EXPECT_NE(answer.find(refused), std::string::npos) << answer;
  }
}

TEST_F(HttpServerTest, AContentLengthThatIsNotOneNumberIsRefusedAtOnce) {
  start({});
  const std::string auth_line = "Authorization: Bearer " + token_ + "\r\n";
  for (const std::string& lengths :
       {std::string("Content-Length: -1\r\n"), std::string("Content-Length: abc\r\n"),
        std::string("Content-Length: 99999999999999999999999\r\n"),
        std::string("Content-Length: 2\r\nContent-Length: 2\r\n")}) {
    Raw raw(server_->port());
    raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth_line + lengths + "\r\nhi");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << lengths << answer;
    EXPECT_NE(answer.find("Content-Length"), std::string::npos) << answer;
  }
}

// Two Host or two Authorization fields, which a proxy in front could read otherwise than the
// server: 400 naming the field, the handler never reached, whatever the values.
TEST_F(HttpServerTest, AHostOrAnAuthorizationGivenTwiceIsRefused) {
  start({});
  const std::string auth_line = "Authorization: Bearer " + token_ + "\r\n";
  for (const auto& [fields, name] : std::vector<std::pair<std::string, std::string>>{
           {"Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n" + auth_line, "Host"},
           {"Host: 127.0.0.1\r\n" + auth_line + auth_line, "Authorization"},
           {"Host: 127.0.0.1\r\n" + auth_line + "Authorization: Bearer wrong\r\n",
            "Authorization"}}) {
    Raw raw(server_->port());
    raw.send("POST /echo HTTP/1.1\r\n" + fields + "Content-Length: 2\r\n\r\nhi");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << fields << answer;
    EXPECT_NE(answer.find(name + " given more than once"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("\r\n\r\nhi"), std::string::npos) << answer;  // not echoed
  }
  Raw raw(server_->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + auth_line +
           "Content-Length: 2\r\n\r\nhi");
  EXPECT_EQ(raw.read_to_end().substr(0, 12), "HTTP/1.1 200");
}

TEST_F(HttpServerTest, AnErrorShowsTheRequestsPathOnOneLineWithOddBytesEscaped) {
  start({});
  auto c = client();
  auto res = c->Get("/no%0Asuch%FFroute", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(res->body.find("/no\\\\x0asuch\\\\xffroute"), std::string::npos) << res->body;
}

TEST_F(HttpServerTest, AMethodAPathDoesNotTakeIs405NamingTheOnesItTakes) {
  start({});
  auto c = client();
  auto res = c->Get("/echo", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  EXPECT_EQ(res->get_header_value("Bel-Error"), "invalid_argument");
  res = c->Post("/open", auth(), "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
  res = c->Get("/nothing", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_FALSE(res->has_header("Allow"));
  // A method the path does not take, sent without a Content-Length (`curl -X PUT`): 405 too, not
  // a missing length; a POST the path takes still needs its length.
  for (const std::string method : {"PUT", "PATCH", "POST"}) {
    Raw raw(server_->port());
    raw.send(method + " /open HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
             "\r\n\r\n");
    const std::string answer = raw.read_to_end();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 405") << method << answer.substr(0, 300);
    EXPECT_NE(answer.find("Allow: GET, HEAD\r\n"), std::string::npos) << method << answer;
  }
  Raw raw(server_->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
           "\r\n\r\n");
  const std::string answer = raw.read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer.substr(0, 300);
  EXPECT_NE(answer.find("POST /echo: no Content-Length"), std::string::npos) << answer;
}

// A method no route takes anywhere (TRACE, CONNECT) is one the server does not implement: 501
// (RFC 9110 15.6.2) saying so, not a 400 calling the request malformed.
TEST_F(HttpServerTest, AMethodNoRouteTakesIs501) {
  start({});
  for (const std::string method : {"TRACE", "CONNECT"}) {
    const std::string answer =
        answer_to(method + " /open HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
                  "\r\n\r\n");
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 501") << method << answer.substr(0, 300);
    EXPECT_NE(answer.find(method + " /open: this server does not implement " + method),
              std::string::npos)
        << answer;
  }
}

TEST_F(HttpServerTest, TheBearerSchemeIsReadInAnyCase) {
  start({});
  auto c = client();
  for (const std::string scheme : {"bearer ", "BEARER ", "Bearer "}) {
    auto res = c->Post("/echo", {{"Authorization", scheme + token_}}, "x", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << scheme;
  }
}

// A Range header is ignored: the whole answer, once, however many ranges it asks for (httplib
// cut a JSON answer to the range, still with status 200, and repeated it once per range).
TEST_F(HttpServerTest, ARangeHeaderIsIgnored) {
  start({});
  auto c = client();
  const std::string body = "{\"a\": \"0123456789abcdef\"}";
  std::string many = "bytes=0-";
  for (int i = 0; i < 999; ++i) many += ",0-";
  for (const std::string& range : {std::string("bytes=0-3"), std::string("bytes=5-"), many}) {
    httplib::Headers headers = auth();
    headers.emplace("Range", range);
    auto res = c->Post("/echo", headers, body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << range.substr(0, 20);
    EXPECT_EQ(res->body, body) << range.substr(0, 20);
    EXPECT_FALSE(res->has_header("Content-Range"));
    res = c->Get("/open", {{"Range", range}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hi");
  }
}

// On loopback, only requests addressed to a loopback name are answered: a page of another site
// whose name resolves to 127.0.0.1 (DNS rebinding) sends that name as Host.
TEST_F(HttpServerTest, OnLoopbackARequestForAnotherHostIsRefused) {
  start({});
  auto c = client();
  const std::string port = ":" + std::to_string(server_->port());
  for (const std::string& host :
       std::vector<std::string>{"evil.example" + port, "evil.example", "127.0.0.1.evil.example",
                                "localhost.evil.example" + port, "10.0.0.1" + port}) {
    httplib::Headers headers = auth();
    headers.emplace("Host", host);
    auto res = c->Post("/echo", headers, "x", "text/plain");
    ASSERT_TRUE(res) << host;
    EXPECT_EQ(res->status, 400) << host;
    EXPECT_EQ(res->get_header_value("Bel-Error"), "invalid_argument") << host;
    EXPECT_NE(res->body.find("Host '" + host + "' is not this server's"), std::string::npos)
        << res->body;
    c = client();  // a refusal closes its connection
  }
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1" + port, "localhost" + port, "LocalHost" + port,
                                "[::1]" + port, "127.0.0.1", "localhost", "localhost." + port}) {
    httplib::Headers headers = auth();
    headers.emplace("Host", host);
    auto res = c->Post("/echo", headers, "x", "text/plain");
    ASSERT_TRUE(res) << host;
    EXPECT_EQ(res->status, 200) << host;
  }
}

TEST_F(HttpServerTest, ErrorsMapToHttpStatuses) {
  EXPECT_EQ(http_status(ErrorCode::invalid_argument), 400);
  EXPECT_EQ(http_status(ErrorCode::unauthorized), 401);
  EXPECT_EQ(http_status(ErrorCode::not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::overloaded), 429);
  EXPECT_EQ(http_status(ErrorCode::storage_unavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::timeout), 504);
  EXPECT_EQ(http_status(ErrorCode::internal), 500);
}

TEST_F(HttpServerTest, ARefusedRequestsAnswerSurvivesTheBodyItDidNotRead) {
  start({});
  Raw raw(server_->port());
  // No token: answered 401 and closed, its body unread.
  raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n");
  ASSERT_TRUE(raw.wait_news());
  // The client goes on sending its body, as a client writing before it reads does: the server
  // drops it rather than resetting the connection, which would destroy the answer.
  const std::string piece(8192, 'b');
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(raw.try_send(piece)) << "piece " << i;
  raw.shut_writing();
  const std::string answer = raw.read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
}

TEST_F(HttpServerTest, RequestsWaitingForAThreadAreBoundedAndOneMoreIsOverloaded) {
  HttpServerOptions options;
  options.threads = 1;
  options.max_pending_connections = 2;
  start(options);
  auto held = std::async(std::launch::async,
                         [&] { return client()->Post("/hold", auth(), "x", "text/plain"); });
  hold_.wait_holding(1);
  const std::string request = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
                              "\r\nConnection: close\r\nContent-Length: 1\r\n\r\nq";
  auto queued = open_raw(2, request);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server_->stats().queued_requests < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(server_->stats().queued_requests, 2);
  auto refused = open_raw(1, request);
  const std::string answer = refused[0]->read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 429") << answer;
  EXPECT_NE(answer.find("Bel-Error: overloaded"), std::string::npos) << answer;
  EXPECT_EQ(server_->stats().overloaded, 1);
  hold_.release();
  auto held_answer = held.get();
  ASSERT_TRUE(held_answer);
  EXPECT_EQ(held_answer->status, 200);
  for (auto& q : queued) EXPECT_EQ(q->read_to_end().substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(server_->stats().queued_requests, 0);
}

TEST_F(HttpServerTest, EmptyLinesBeforeARequestLineAreSkipped) {
  start_impatient();
  // An empty line before the request line is not another protocol: the connection waits for the
  // rest of its header (here in vain: 408, not 400).
  const std::string late = answer_to("\r\nGET /open HTTP/1.1\r\n");
  EXPECT_EQ(late.substr(0, 12), "HTTP/1.1 408") << late;
  // One after a body (some clients send it), the next request behind it.
  Raw raw(server_->port());
  raw.send("\r\nPOST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
           "\r\nContent-Length: 1\r\n\r\nq\r\nGET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Connection: close\r\n\r\n");
  const std::string answers = raw.read_to_end();
  EXPECT_EQ(count_of(answers, "HTTP/1.1 200 OK"), 2u) << answers;
}

TEST_F(HttpServerTest, AnEmptyLineOnAnIdleConnectionIsNotTheStartOfARequest) {
  start_impatient();
  Raw raw(server_->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
           "\r\nContent-Length: 1\r\n\r\nq");
  ASSERT_TRUE(raw.wait_news());
  // A CRLF after the answer (a client ending its body so): the connection stays idle, closed
  // without a word after the keep-alive timeout, not answered 408 for a request never sent.
  raw.send("\r\n");
  const std::string answers = raw.read_to_end();
  EXPECT_EQ(count_of(answers, "HTTP/1.1 200 OK"), 1u) << answers;
  EXPECT_EQ(count_of(answers, "408"), 0u) << answers;
}

TEST_F(HttpServerTest, AHeaderSentAByteAtATimeIsAnswered) {
  start({});
  Raw raw(server_->port());
  for (const char b : std::string("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
    raw.send(std::string(1, b));
  }
  EXPECT_EQ(raw.read_to_end().substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTest, TheKeepAliveHeaderSaysWhatTheServerDoes) {
  start({});
  auto res = client()->Get("/open");
  ASSERT_TRUE(res);
  // The connections' own bounds (a second short of the 5 s idle close; 100000 requests), not
  // httplib's defaults (max=5).
  EXPECT_EQ(res->get_header_value("Keep-Alive"), "timeout=4, max=100000");
}

TEST_F(HttpServerTest, NoServingThreadOrNoWaitingRoomIsRefusedAtListen) {
  for (const auto& [threads, pending] : {std::pair<size_t, size_t>{0, 512}, {24, 0}}) {
    HttpServerOptions options;
    options.token = token_;
    options.threads = threads;
    options.max_pending_connections = pending;
    HttpServer server(options);
    const Status listening = server.listen();
    ASSERT_FALSE(listening.ok());
    EXPECT_EQ(listening.error().code, ErrorCode::invalid_argument);
  }
}

// HttpConnections on its own: a listening socket whose connections it takes, and the test's own
// way of serving a request.
class ConnectionsUnderTest {
 public:
  ConnectionsUnderTest(HttpConnectionOptions options, HttpConnections::Serve serve)
      : connections_(options, std::move(serve)), listen_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listen_, 16), 0);
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    connections_.start();
    acceptor_ = std::thread([this] {
      for (;;) {
        const int sock = ::accept(listen_, nullptr, nullptr);
        if (sock < 0) return;
        connections_.accept(sock);
      }
    });
  }
  ~ConnectionsUnderTest() {
    ::shutdown(listen_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_);
    connections_.stop();
  }
  HttpConnections& connections() { return connections_; }
  uint16_t port() const { return port_; }

 private:
  HttpConnections connections_;
  int listen_;
  uint16_t port_ = 0;
  std::thread acceptor_;
};

// Reads a request's body until the stream gives up; says how many bytes it read.
HttpConnections::Serve read_until_refused(std::promise<void>& entered, std::promise<size_t>& read) {
  return [&](httplib::Stream& stream, bool, bool&) {
    entered.set_value();
    size_t total = 0;
    char buf[8192];
    for (ssize_t n; (n = stream.read(buf, sizeof(buf))) > 0;) total += static_cast<size_t>(n);
    read.set_value(total);
    return false;
  };
}

TEST(HttpConnectionsTest, ABodyTrickledAByteAtATimeEndsAtItsDeadline) {
  HttpConnectionOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  options.min_body_rate = 100;  // bytes a second: each byte buys 10 ms more
  std::promise<void> entered;
  std::promise<size_t> read;
  auto done = read.get_future();
  ConnectionsUnderTest under(options, read_until_refused(entered, read));
  Raw raw(under.port());
  raw.send("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
  // A byte every 50 ms (20 a second, under the rate) for at most 20 s: each read is quicker than
  // read_timeout, so only the request's overall deadline ends it.
  bool ended = false;
  for (int i = 0; i < 400 && !ended; ++i) {
    if (!raw.try_send("x")) break;
    ended = done.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready;
  }
  ASSERT_TRUE(ended);
  EXPECT_LT(done.get(), 400u);
}

TEST(HttpConnectionsTest, ARequestWaitingForAThreadWhenTheServerStopsIsAnswered503) {
  HttpConnectionOptions options;
  options.threads = 1;
  options.read_timeout = std::chrono::hours(1);
  options.stop_grace = std::chrono::milliseconds(100);
  std::promise<void> entered;
  std::promise<size_t> read;
  ConnectionsUnderTest under(options, read_until_refused(entered, read));
  Raw holding(under.port());
  holding.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n");  // and no body
  entered.get_future().wait();
  Raw queued(under.port());
  queued.send("GET / HTTP/1.1\r\n\r\n");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (under.connections().queued() < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(under.connections().queued(), 1);
  under.connections().stop();
  const std::string answer = queued.read_to_end();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 503") << answer;
}

TEST(HttpConnectionsTest, StopEndsARequestHoldingItsThreadAndEveryStopReturnsWhenDone) {
  HttpConnectionOptions options;
  options.read_timeout = std::chrono::hours(1);
  options.stop_grace = std::chrono::milliseconds(100);
  std::promise<void> entered;
  std::promise<size_t> read;
  auto done = read.get_future();
  ConnectionsUnderTest under(options, read_until_refused(entered, read));
  Raw raw(under.port());
  raw.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n");  // and no body
  entered.get_future().wait();
  // Two stops at once: each returns only when the request has ended and its connection closed.
  auto stop = [&] {
    under.connections().stop();
    return under.connections().open();
  };
  auto first = std::async(std::launch::async, stop);
  auto second = std::async(std::launch::async, stop);
  ASSERT_EQ(first.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  ASSERT_EQ(second.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(first.get(), 0);
  EXPECT_EQ(second.get(), 0);
  EXPECT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
}

// The process's SIGPIPE stays at its default (httplib's server constructor would set it ignored
// process-wide). The connections write with MSG_NOSIGNAL; should a write of httplib's own raise
// SIGPIPE in a serving thread (as the handler below does), the thread blocks it, so that it ends
// no process, and the server answers on.
TEST_F(HttpServerTest, ASigpipeInAServingThreadLeavesTheProcessAndItsDispositionAlone) {
  const SigpipeAtDefault at_default;
  start({});
  struct sigaction now {};
  ::sigaction(SIGPIPE, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL) << "starting the server changed SIGPIPE's disposition";
  auto c = client();
  for (int i = 0; i < 3; ++i) {
    auto res = c->Post("/sigpipe", auth(), "", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "raised");
  }
}

TEST(HttpEncodingTest, BrotliIsDroppedFromWhatAClientAccepts) {
  EXPECT_EQ(without_brotli("gzip, deflate, br"), "gzip, deflate");
  EXPECT_EQ(without_brotli("br;q=1.0, gzip;q=0.8, *;q=0.1"), "gzip;q=0.8, *;q=0.1");
  EXPECT_EQ(without_brotli(" BR ,identity"), "identity");
  EXPECT_EQ(without_brotli("br"), "");
  EXPECT_EQ(without_brotli("brotli-ish, gzip"), "brotli-ish, gzip");  // not the br coding
}

// A browser offers brotli before gzip; httplib would compress at brotli's slowest quality.
TEST_F(HttpServerTest, AnAnswerToABrowserIsGzippedNotBrotli) {
  start({});
  const std::string request =
      "GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
      "Bearer " +
      token_ + "\r\nConnection: close\r\nAccept-Encoding: ";
  const std::string both = answer_to(request + "gzip, deflate, br\r\n\r\n");
  EXPECT_EQ(both.substr(0, 12), "HTTP/1.1 404") << both.substr(0, 300);
  EXPECT_NE(both.find("Content-Encoding: gzip\r\n"), std::string::npos) << both.substr(0, 300);
  const std::string only = answer_to(request + "br\r\n\r\n");
  EXPECT_EQ(only.find("Content-Encoding"), std::string::npos) << only.substr(0, 300);
  EXPECT_NE(only.find("\"code\":\"not_found\""), std::string::npos) << only;
}

}  // namespace
}  // namespace bel::actors
