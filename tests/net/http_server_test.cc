// HttpServer (actors/net/http_server.h): the token on every request, the per-request body limit,
// the bounds on requests and bytes in flight (answered `overloaded` at once, memory bounded), and
// binding a port again right after a stop.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/net/http_server.h"
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

TEST_F(HttpServerTest, ABodyOverTheLimitIsOverloadedNamingTheLimitAndTheConnectionGoesOn) {
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
  // The same keep-alive connection carries the next request.
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

TEST_F(HttpServerTest, ErrorsMapToHttpStatuses) {
  EXPECT_EQ(http_status(ErrorCode::invalid_argument), 400);
  EXPECT_EQ(http_status(ErrorCode::unauthorized), 401);
  EXPECT_EQ(http_status(ErrorCode::not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::overloaded), 429);
  EXPECT_EQ(http_status(ErrorCode::storage_unavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::timeout), 504);
  EXPECT_EQ(http_status(ErrorCode::internal), 500);
}

}  // namespace
}  // namespace bel::actors
