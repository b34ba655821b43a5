// Sign-in links and sessions (actors/web/web_session.h) on a clock the test moves: a link works
// once and within kOnceLifetime; a session ends kSessionIdle after the last request that carried
// it, and kSessionLifetime after its sign-in however busy; beyond kMaxSessions the oldest goes.
#include "actors/web/web_session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace bel::testing {
namespace {

using actors::web::WebSessions;
using namespace std::chrono_literals;

class WebSessionsTest : public ::testing::Test {
 protected:
  // A request carrying `session` as its cookie, among another cookie.
  static httplib::Request carrying(const std::string& session) {
    httplib::Request request;
    request.method = "GET";
    request.headers.emplace("Cookie", "theme=dark; bel_session=" + session);
    return request;
  }
  bool live(const std::string& session) { return sessions_.has_session(carrying(session)); }

  WebSessions::Clock::time_point now_ = WebSessions::Clock::time_point{} + 1000h;
  WebSessions sessions_{[this] { return now_; }};
};

TEST_F(WebSessionsTest, ALinkWorksOnceWithinItsLifetime) {
  const std::string once = sessions_.new_once();
  now_ += WebSessions::kOnceLifetime - 1s;
  EXPECT_TRUE(sessions_.use_once(once));
  EXPECT_FALSE(sessions_.use_once(once));  // works once

  const std::string late = sessions_.new_once();
  now_ += WebSessions::kOnceLifetime;
  EXPECT_FALSE(sessions_.use_once(late));
  EXPECT_FALSE(sessions_.use_once(""));
}

TEST_F(WebSessionsTest, ASessionLivesWhileUsedAndEndsAfterItsIdleTime) {
  const std::string session = sessions_.new_session();
  EXPECT_TRUE(live(session));
  EXPECT_FALSE(live(session + "0"));
  EXPECT_FALSE(live(""));
  // Each request moves its end.
  for (int i = 0; i < 3; ++i) {
    now_ += WebSessions::kSessionIdle - 1s;
    EXPECT_TRUE(live(session)) << i;
  }
  now_ += WebSessions::kSessionIdle;
  EXPECT_FALSE(live(session));
  now_ -= WebSessions::kSessionIdle;  // gone for good, even if the clock looked back
  EXPECT_FALSE(live(session));
}

TEST_F(WebSessionsTest, ASessionEndsAtItsLifetimeHoweverBusy) {
  const std::string session = sessions_.new_session();
  const auto signed_in = now_;
  while (now_ + 6h < signed_in + WebSessions::kSessionLifetime) {
    now_ += 6h;
    ASSERT_TRUE(live(session)) << (now_ - signed_in).count();
  }
  const std::string later = sessions_.new_session();
  now_ = signed_in + WebSessions::kSessionLifetime;
  EXPECT_FALSE(live(session));
  EXPECT_TRUE(live(later));  // each session's own lifetime
}

// A write refused for its origin (another port's page sending the cookie) neither signs in nor
// keeps the session alive; one from this server's own pages does both.
TEST_F(WebSessionsTest, ARefusedCrossOriginWriteDoesNotKeepASessionAlive) {
  const std::string session = sessions_.new_session();
  httplib::Request cross = carrying(session);
  cross.method = "POST";
  cross.headers.emplace("Sec-Fetch-Site", "same-site");
  httplib::Request own = carrying(session);
  own.method = "POST";
  own.headers.emplace("Sec-Fetch-Site", "same-origin");

  now_ += WebSessions::kSessionIdle - 1s;
  EXPECT_FALSE(actors::web::signed_in_by_session(sessions_, cross));
  now_ += 1s;
  EXPECT_FALSE(actors::web::signed_in_by_session(sessions_, own));

  const std::string other = sessions_.new_session();
  own = carrying(other);
  own.method = "POST";
  own.headers.emplace("Sec-Fetch-Site", "same-origin");
  now_ += WebSessions::kSessionIdle - 1s;
  EXPECT_TRUE(actors::web::signed_in_by_session(sessions_, own));
  now_ += WebSessions::kSessionIdle - 1s;
  EXPECT_TRUE(actors::web::signed_in_by_session(sessions_, carrying(other)));
}

TEST_F(WebSessionsTest, TheOldestGoesBeyondTheLimits) {
  std::vector<std::string> sessions;
  for (size_t i = 0; i <= WebSessions::kMaxSessions; ++i) {
    sessions.push_back(sessions_.new_session());
  }
  EXPECT_FALSE(live(sessions.front()));
  EXPECT_TRUE(live(sessions[1]));
  EXPECT_TRUE(live(sessions.back()));

  std::vector<std::string> links;
  for (size_t i = 0; i <= WebSessions::kMaxOnce; ++i) links.push_back(sessions_.new_once());
  EXPECT_FALSE(sessions_.use_once(links.front()));
  EXPECT_TRUE(sessions_.use_once(links[1]));
  EXPECT_TRUE(sessions_.use_once(links.back()));
}

}  // namespace
}  // namespace bel::testing
