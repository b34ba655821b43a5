// The dashboard fetched plainly (no JavaScript), the browser sign-in and the event
// stream (actors/web/*), against the seeded log of web_fixture.h.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/web/web_request.h"
#include "actors/web/web_stream.h"
#include "tests/support/loopback.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

using actors::web::encode_path_part;
using namespace bel::v1;

class WebPagesTest : public WebFixture {
 protected:
  std::string page(const std::string& path) {
    auto res = get(path);
    EXPECT_TRUE(res) << path;
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8") << path;
    return res->body;
  }
};

TEST_F(WebPagesTest, HomeShowsActivityRecentBuildsAndPartitions) {
  const std::string html = page("/");
  EXPECT_TRUE(contains(html, "Recent builds"));
  for (const char* id : {"br-fail", "br-ok", "br-deleg", "data/a", "data/b"}) {
    EXPECT_TRUE(contains(html, id)) << id;
  }
  EXPECT_TRUE(contains(html, "href=\"/builds/" + encode_path_part("br-fail") + "\""));
  EXPECT_TRUE(contains(html, "name=\"q\""));  // the search box
  // Builds by status in the statuses' order, the same on every load.
  const size_t completed = html.find(">completed</span> 1");
  const size_t failed = html.find(">failed</span> 1");
  const size_t received = html.find(">received</span> 1");
  ASSERT_NE(received, std::string::npos) << html;
  EXPECT_LT(completed, failed);
  EXPECT_LT(failed, received);
}

TEST_F(WebPagesTest, BuildPageSaysWhyItFailedEscaped) {
  const std::string html = page("/builds/" + encode_path_part("br-fail"));
  EXPECT_TRUE(contains(html, "Why it failed"));
  EXPECT_TRUE(contains(html, "&lt;b&gt;disk full&lt;/b&gt; &amp; &quot;quoted&quot;")) << html;
  EXPECT_FALSE(contains(html, "<b>disk full</b>"));  // every string from the log is escaped
  EXPECT_TRUE(contains(html, "//pkg:job"));
  EXPECT_TRUE(contains(html, "jr-1"));
  EXPECT_TRUE(contains(html, "4.0s"));  // the run's duration, from JOB_RUNNING to JOB_FAILED
  EXPECT_TRUE(contains(html, "class=\"bar bad\""));
}

// A skipped run (never scheduled nor started) is a mark at its end: the timeline still spans
// the runs' times, not the epoch to now.
TEST_F(WebPagesTest, ASkippedRunLeavesTheTimelineOnTheRunsTimes) {
  constexpr int64_t kT0 = 1'700'000'000'000'000'000;
  constexpr int64_t kSecond = 1'000'000'000;
  auto at = [](BuildEvent e, int64_t t) {
    e.set_timestamp(t);
    return e;
  };
  append(
      {at(request_event("br-tl", BUILD_REQUEST_RECEIVED, {"tl/a", "tl/b"}), kT0),
       at(request_event("br-tl", BUILD_REQUEST_EXECUTING), kT0 + kSecond),
       at(job_event("br-tl", "jr-tl-1", "//pkg:tl", JOB_SCHEDULED, {"tl/a"}), kT0 + 10 * kSecond),
       at(job_event("br-tl", "jr-tl-1", "//pkg:tl", JOB_RUNNING, {"tl/a"}), kT0 + 20 * kSecond),
       at(job_event("br-tl", "jr-tl-1", "//pkg:tl", JOB_COMPLETED, {"tl/a"}), kT0 + 60 * kSecond),
       at(job_event("br-tl", "jr-tl-2", "//pkg:tl", JOB_SKIPPED, {"tl/b"}), kT0 + 80 * kSecond)});
  const std::string html = page("/builds/" + encode_path_part("br-tl"));
  // 20 s to 80 s: the completed run from its start over two thirds, the skipped one at the end.
  const size_t run = html.find(">jr-tl-1<");
  const size_t skipped = html.find(">jr-tl-2<");
  ASSERT_NE(run, std::string::npos) << html;
  ASSERT_NE(skipped, std::string::npos) << html;
  EXPECT_NE(html.find("left:min(0.00%,calc(100% - 2px));width:66.67%", run), std::string::npos)
      << html.substr(run, 600);
  EXPECT_NE(html.find("left:min(100.00%,calc(100% - 2px));width:0.00%", skipped), std::string::npos)
      << html.substr(skipped, 600);
}

// A ref whose page's path is longer than a request line may be is shown, not linked (the link
// would lead to a 414); a shorter one is linked.
TEST_F(WebPagesTest, ARefTooLongToOpenIsShownNotLinked) {
  const std::string too_long = "long/" + std::string(7000, 'l');
  append({request_event("br-long", BUILD_REQUEST_RECEIVED, {too_long, "long/short"})});
  const std::string html = page("/builds/" + encode_path_part("br-long"));
  EXPECT_TRUE(contains(html, ">" + too_long + "</span>"));
  EXPECT_FALSE(contains(html, "href=\"/partitions/" + encode_path_part(too_long) + "\""));
  EXPECT_TRUE(contains(html, "href=\"/partitions/" + encode_path_part("long/short") + "\""));
  auto opened = get("/partitions/" + encode_path_part(too_long));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->status, 414);  // what the link would have led to
}

TEST_F(WebPagesTest, BuildPageShowsDelegation) {
  const std::string html = page("/builds/" + encode_path_part("br-deleg"));
  EXPECT_TRUE(contains(html, "→ <a href=\"/builds/" + encode_path_part("br-ok") + "\">br-ok</a>"))
      << html;
}

TEST_F(WebPagesTest, PartitionJobsAndListPages) {
  const std::string partition = page("/partitions/" + encode_path_part("data/a"));
  EXPECT_TRUE(contains(partition, ">failed<"));
  EXPECT_TRUE(contains(partition, "History"));
  EXPECT_TRUE(contains(partition, "job run jr-1 failed"));
  // Every kind of event reads as words in a history, a job graph naming the partition too.
  BuildEvent graph;
  graph.set_build_request_id("br-graph");
  graph.mutable_job_graph_event()->mutable_job_graph()->set_label("nightly");
  graph.mutable_job_graph_event()->mutable_job_graph()->add_outputs()->set_str("graph/a");
  graph.mutable_job_graph_event()->set_message("2 jobs");
  append({request_event("br-graph", BUILD_REQUEST_RECEIVED, {"graph/a"}), graph});
  const std::string planned = page("/partitions/" + encode_path_part("graph/a"));
  EXPECT_TRUE(contains(planned, "job graph nightly planned: 2 jobs")) << planned;
  EXPECT_FALSE(contains(planned, "job_graph_event")) << planned;
  // A page follows the builds that claim its partition by id, while their ids fit its stream's
  // request line.
  const std::string big(6100, 'b');
  append({request_event("br-claim", BUILD_REQUEST_RECEIVED, {"cap/a"}),
          partition_event("br-claim", "cap/a", PARTITION_REQUESTED),
          request_event(big, BUILD_REQUEST_RECEIVED, {"cap/b"}),
          partition_event(big, "cap/b", PARTITION_REQUESTED)});
  EXPECT_TRUE(contains(page("/partitions/" + encode_path_part("cap/a")),
                       "also_build_request_ids=br-claim"));
  const std::string crowded = page("/partitions/" + encode_path_part("cap/b"));
  EXPECT_TRUE(contains(crowded, "data-stream=\"partition_refs=cap%2Fb&amp;since=")) << crowded;
  // A ref no event names: its status is shown as unknown, not as an empty badge.
  const std::string unseen = page("/partitions/" + encode_path_part("never/seen"));
  EXPECT_TRUE(contains(unseen, "<span class=\"badge\">unknown</span>")) << unseen;
  EXPECT_TRUE(contains(unseen, "no status yet")) << unseen;
  const std::string jobs = page("/jobs");
  EXPECT_TRUE(contains(jobs, "//pkg:job"));
  EXPECT_TRUE(contains(jobs, "0%"));    // //pkg:job never succeeded
  EXPECT_TRUE(contains(jobs, "100%"));  // //pkg:other always did
  const std::string job = page("/jobs/" + encode_path_part("//pkg:other"));
  EXPECT_TRUE(contains(job, "jr-2"));
  EXPECT_TRUE(contains(page("/builds?status=failed"), "br-fail"));
  EXPECT_FALSE(contains(page("/builds?status=failed"), "br-ok"));
  EXPECT_TRUE(contains(page("/partitions?pattern=data/b*"), "data/b"));
  EXPECT_FALSE(contains(page("/partitions?pattern=data/b*"), ">data/a<"));
}

// Paging a filtered list stays within the filter: the next page's link carries the statuses.
TEST_F(WebPagesTest, PagingAFilteredListKeepsItsFilter) {
  std::vector<BuildEvent> more;
  for (int i = 0; i < 51; ++i) {
    const std::string ref = "more/" + std::to_string(i);
    more.push_back(request_event("br-more-" + std::to_string(i), BUILD_REQUEST_RECEIVED, {ref}));
    more.push_back(partition_event("br-more-" + std::to_string(i), ref, PARTITION_REQUESTED));
  }
  append(more);
  const std::string builds = page("/builds?status=received");
  EXPECT_TRUE(contains(builds, "href=\"/builds?status=received&amp;offset=50\"")) << builds;
  const std::string older = page("/builds?status=received&offset=50");
  EXPECT_FALSE(contains(older, ">br-ok<")) << older;  // completed: not on any page of received
  const std::string partitions = page("/partitions?status=requested&pattern=more/*");
  EXPECT_TRUE(contains(partitions,
                       "href=\"/partitions?status=requested&amp;pattern=more%2F*&amp;"
                       "offset=50\""))
      << partitions;
}

TEST_F(WebPagesTest, SearchLeadsToTheThingNamed) {
  auto client = http();
  auto where = [&](const std::string& q) {
    auto res = client.Get("/search?q=" + httplib::detail::encode_query_param(q));
    EXPECT_TRUE(res);
    return res ? std::to_string(res->status) + " " + res->get_header_value("Location") : "";
  };
  EXPECT_EQ(where("br-ok"), "303 /builds/" + encode_path_part("br-ok"));
  EXPECT_EQ(where("jr-1"), "303 /builds/" + encode_path_part("br-fail"));
  EXPECT_EQ(where("//pkg:job"), "303 /jobs/" + encode_path_part("//pkg:job"));
  EXPECT_EQ(where("data/a"), "303 /partitions/" + encode_path_part("data/a"));
  EXPECT_EQ(where("data/*").substr(0, 24), "303 /partitions?pattern=");
  // A ref that holds glob characters is found by its exact name first.
  append({invalidation_event("operator:me", "q/[x]", "late")});
  EXPECT_EQ(where("q/[x]"), "303 /partitions/" + encode_path_part("q/[x]"));
  EXPECT_EQ(where("q/[y]").substr(0, 24), "303 /partitions?pattern=");
  EXPECT_EQ(where("nothing-like-it").substr(0, 4), "404 ");
  // Pasted with spaces or a newline around it.
  EXPECT_EQ(where(" br-ok\n"), "303 /builds/" + encode_path_part("br-ok"));
  EXPECT_EQ(where("\tdata/a "), "303 /partitions/" + encode_path_part("data/a"));
  EXPECT_EQ(where("   "), "303 /");
}

TEST_F(WebPagesTest, AClockThatRunsBackwardsOrAnOffsetPastTheEndShowSomethingSensible) {
  // A run whose producer's clock says it ended before it started: its bar has no negative width.
  auto started = job_event("br-skew", "jr-skew", "//pkg:job", v1::JOB_RUNNING, {"s/k"});
  auto ended = job_event("br-skew", "jr-skew", "//pkg:job", v1::JOB_COMPLETED, {"s/k"});
  started.set_timestamp(1'700'000'010'000'000'000);
  ended.set_timestamp(1'700'000'000'000'000'000);
  append({request_event("br-skew", v1::BUILD_REQUEST_RECEIVED, {"s/k"}),
          job_event("br-skew", "jr-skew", "//pkg:job", v1::JOB_SCHEDULED, {"s/k"}), started,
          ended});
  const std::string build = page("/builds/" + encode_path_part("br-skew"));
  EXPECT_TRUE(contains(build, "jr-skew")) << build;
  EXPECT_FALSE(contains(build, "width:-")) << build;
  const std::string past = page("/builds?offset=99999");
  EXPECT_TRUE(contains(past, "Nothing at offset 99999")) << past;
  EXPECT_FALSE(contains(past, "99999–99999")) << past;
  const std::string none = page("/partitions?pattern=no/such/*");
  EXPECT_TRUE(contains(none, "No partitions match.")) << none;
  EXPECT_FALSE(contains(none, "0–0 of 0")) << none;
}

TEST_F(WebPagesTest, OneTimeSignInSetsAStrictHttpOnlyCookie) {
  const std::string once = web_->sessions().new_once();
  auto browser = http(false);
  auto res = browser.Get("/login?once=" + once + "&next=/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/jobs");
  const std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_TRUE(contains(cookie, "HttpOnly"));
  EXPECT_TRUE(contains(cookie, "SameSite=Strict"));
  const std::string pair = cookie.substr(0, cookie.find(';'));
  // Named for this server's port: another coordinator on the host keeps its own.
  const std::string name = "bel_session_" + std::to_string(server_->port());
  ASSERT_EQ(pair.rfind(name + "=", 0), 0u) << pair;
  auto signed_in = browser.Get("/api/v1/activity", {{"Cookie", pair}});
  ASSERT_TRUE(signed_in);
  EXPECT_EQ(signed_in->status, 200);
  auto again = browser.Get("/login?once=" + once);  // works once
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  auto forged = browser.Get("/api/v1/activity", {{"Cookie", name + "=" + once}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  // The session under another port's name is not this server's.
  forged =
      browser.Get("/api/v1/activity", {{"Cookie", "bel_session=" + pair.substr(name.size() + 1)}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  // Never another site: a browser drops a tab or newline and reads '\\' as '/'.
  for (const std::string next : {"//evil.example/", "/%09/evil.example", "/%0A/evil.example",
                                 "/%5Cevil.example", "https://evil.example"}) {
    auto elsewhere = browser.Get("/login?once=" + web_->sessions().new_once() + "&next=" + next);
    ASSERT_TRUE(elsewhere) << next;
    EXPECT_EQ(elsewhere->status, 303) << next;
    EXPECT_EQ(elsewhere->get_header_value("Location"), "/") << next;
  }
}

// POST /logout ends the session its cookie names and clears the cookie, from this server's own
// pages only: another origin's form cannot sign a browser out. Every page offers the button.
TEST_F(WebPagesTest, SignOutEndsTheSessionFromTheServersOwnPagesOnly) {
  auto browser = http(false);
  auto sign_in = [&] {
    auto res = browser.Get("/login?once=" + web_->sessions().new_once());
    EXPECT_TRUE(res);
    const std::string cookie = res ? res->get_header_value("Set-Cookie") : "";
    return cookie.substr(0, cookie.find(';'));
  };
  const std::string cookie = sign_in();
  const std::string other = sign_in();
  auto with = [](const std::string& c, const char* site) {
    return httplib::Headers{{"Cookie", c}, {"Sec-Fetch-Site", site}};
  };
  auto page = browser.Get("/", with(cookie, "same-origin"));
  ASSERT_TRUE(page);
  EXPECT_TRUE(contains(page->body, "<form action=\"/logout\" method=\"post\">")) << page->body;

  auto cross = browser.Post("/logout", with(cookie, "same-site"), "", "text/plain");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 401);
  auto still = browser.Get("/api/v1/activity", with(cookie, "same-origin"));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);

  auto out = browser.Post("/logout", with(cookie, "same-origin"), "", "text/plain");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200) << out->body;
  EXPECT_TRUE(contains(out->get_header_value("Set-Cookie"),
                       "bel_session_" + std::to_string(server_->port()) + "=;"))
      << out->body;
  EXPECT_TRUE(contains(out->get_header_value("Set-Cookie"), "Max-Age=0"));
  EXPECT_TRUE(contains(out->body, "Signed out"));
  // Nothing left to sign out of, and every page would answer 401: neither the button nor the
  // navigation is offered.
  const std::string kSignOutForm = "action=\"/logout\"";
  EXPECT_FALSE(contains(out->body, kSignOutForm)) << out->body;
  EXPECT_FALSE(contains(out->body, "href=\"/builds\"")) << out->body;
  auto gone = browser.Get("/api/v1/activity", with(cookie, "same-origin"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 401);
  httplib::Headers navigation = with(cookie, "same-origin");
  navigation.emplace("Accept", "text/html");
  auto gone_page = browser.Get("/builds", navigation);
  ASSERT_TRUE(gone_page);
  EXPECT_EQ(gone_page->status, 401);
  EXPECT_TRUE(contains(gone_page->body, "bel sign-in")) << gone_page->body;
  EXPECT_FALSE(contains(gone_page->body, kSignOutForm)) << gone_page->body;
  EXPECT_FALSE(contains(gone_page->body, "role=\"search\"")) << gone_page->body;
  // A write with the ended session's cookie says what a session needs.
  auto again = browser.Post("/logout", with(cookie, "same-origin"), "", "text/plain");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  EXPECT_TRUE(contains(again->body,
                       "only while its session lives (bel sign-in signs a browser "
                       "in again)"))
      << again->body;
  auto kept = browser.Get("/api/v1/activity", with(other, "same-origin"));  // only its own
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 200);
}

// A session makes no sign-in links: one could otherwise renew itself past its lifetime through a
// link of its own. The token does.
TEST_F(WebPagesTest, OnlyTheTokenMakesSignInLinks) {
  auto browser = http(false);
  auto res = browser.Get("/login?once=" + web_->sessions().new_once());
  ASSERT_TRUE(res);
  const std::string cookie = res->get_header_value("Set-Cookie");
  const httplib::Headers own_page = {{"Cookie", cookie.substr(0, cookie.find(';'))},
                                     {"Sec-Fetch-Site", "same-origin"}};
  auto page = browser.Get("/api/v1/activity", own_page);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);  // the session is live
  auto by_session = browser.Post("/api/v1/sign-in", own_page, "", "application/json");
  ASSERT_TRUE(by_session);
  EXPECT_EQ(by_session->status, 401) << by_session->body;
  EXPECT_FALSE(contains(by_session->body, "/login?once=")) << by_session->body;
  EXPECT_TRUE(contains(by_session->body,
                       "this route takes the token itself, never a browser's "
                       "session"))
      << by_session->body;
  auto by_token = http().Post("/api/v1/sign-in", "", "application/json");
  ASSERT_TRUE(by_token);
  EXPECT_EQ(by_token->status, 200) << by_token->body;
  EXPECT_TRUE(contains(by_token->body, "\"url_path\":\"/login?once=")) << by_token->body;
}

// Every answer carries the browser's security headers, once each: pages, the live script, JSON,
// a refusal and the sign-in redirect. A page runs no inline script (the policy would block it):
// the live script is a file of the server's own.
TEST_F(WebPagesTest, EveryAnswerCarriesTheSecurityHeadersAndPagesRunNoInlineScript) {
  const std::string once = web_->sessions().new_once();
  auto browser = http(false);
  std::vector<std::pair<std::string, httplib::Result>> answers;
  answers.emplace_back("/", get("/"));
  answers.emplace_back("/live.js", get("/live.js"));
  answers.emplace_back("/api/v1/activity", get("/api/v1/activity"));
  answers.emplace_back("401", get("/api/v1/activity", /*with_token=*/false));
  answers.emplace_back("404", get("/no/such/page"));
  answers.emplace_back("/login", browser.Get("/login?once=" + once));
  for (auto& [what, res] : answers) {
    ASSERT_TRUE(res) << what;
    for (const char* name : {"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                             "Referrer-Policy", "Cache-Control"}) {
      EXPECT_EQ(res->get_header_value_count(name), 1u) << what << ": " << name;
    }
    const std::string policy = res->get_header_value("Content-Security-Policy");
    EXPECT_TRUE(contains(policy, "script-src 'self';")) << policy;
    EXPECT_TRUE(contains(policy, "frame-ancestors 'none'")) << policy;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store") << what;
  }
  const std::string home = answers[0].second->body;
  EXPECT_TRUE(contains(home, "<script src=\"/live.js\"></script>")) << home;
  EXPECT_EQ(home.find("<script>"), std::string::npos) << home;
  EXPECT_EQ(answers[1].second->status, 200);
  EXPECT_EQ(answers[1].second->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_TRUE(contains(answers[1].second->body, "new EventSource(")) << answers[1].second->body;
}

TEST_F(WebPagesTest, AnOperatorsInvalidationNamesTheOperatorWithoutALinkToABuildPage) {
  auto invalidated =
      post("/api/v1/partitions/" + encode_path_part("ops/p") + "/invalidate?reason=x");
  ASSERT_TRUE(invalidated);
  ASSERT_EQ(invalidated->status, 200) << invalidated->body;
  const std::string dead = "href=\"/builds/" + encode_path_part("operator:web") + "\"";
  for (const std::string& path :
       std::vector<std::string>{"/", "/partitions", "/partitions/" + encode_path_part("ops/p")}) {
    const std::string html = page(path);
    EXPECT_TRUE(contains(html, "operator:web")) << path << ": " << html;
    EXPECT_FALSE(contains(html, dead)) << path << ": " << html;
  }
}

TEST_F(WebPagesTest, SignInTakesNoBodyAndNoParameters) {
  auto c = http();
  auto with_body = c.Post("/api/v1/sign-in", "junk", "text/plain");
  ASSERT_TRUE(with_body);
  EXPECT_EQ(with_body->status, 400) << with_body->body;
  EXPECT_TRUE(contains(with_body->body, "a body is not accepted")) << with_body->body;
  auto with_param = c.Post("/api/v1/sign-in?foo=bar", "", "text/plain");
  ASSERT_TRUE(with_param);
  EXPECT_EQ(with_param->status, 400) << with_param->body;
  EXPECT_TRUE(contains(with_param->body, "foo")) << with_param->body;
  auto plain = c.Post("/api/v1/sign-in", "", "text/plain");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200) << plain->body;
  EXPECT_TRUE(contains(plain->body, "/login?once=")) << plain->body;
}

TEST_F(WebPagesTest, ASessionCookieSignsInWritesOnlyFromThisServersOwnPages) {
  auto browser = http(false);
  auto signed_in = browser.Get("/login?once=" + web_->sessions().new_once());
  ASSERT_TRUE(signed_in);
  const std::string set = signed_in->get_header_value("Set-Cookie");
  const std::string pair = set.substr(0, set.find(';'));
  ASSERT_TRUE(contains(pair, "bel_session_"));
  const std::string own = "http://127.0.0.1:" + std::to_string(server_->port());
  const std::string other = "http://127.0.0.1:" + std::to_string(server_->port() + 1);
  const std::string path = "/api/v1/partitions/" + encode_path_part("csrf/p") + "/invalidate";
  // A page on another port of the same host is the same site to a browser: SameSite=Strict
  // sends the cookie; the origin is what tells.
  const std::vector<httplib::Headers> forged = {
      {{"Cookie", pair}, {"Origin", other}},
      {{"Cookie", pair}, {"Origin", other}, {"Sec-Fetch-Site", "same-site"}},
      {{"Cookie", pair}, {"Origin", own}, {"Sec-Fetch-Site", "cross-site"}},
      {{"Cookie", pair}},
  };
  for (const auto& headers : forged) {
    auto res = browser.Post(path + "?reason=forged", headers, "", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << res->body;
    EXPECT_TRUE(contains(res->body, "own pages")) << res->body;
  }
  const std::vector<httplib::Headers> own_pages = {
      {{"Cookie", pair}, {"Origin", own}},
      {{"Cookie", pair}, {"Origin", own}, {"Sec-Fetch-Site", "same-origin"}},
  };
  for (const auto& headers : own_pages) {
    auto res = browser.Post(path + "?reason=own-page", headers, "", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
  // Reads from anywhere the cookie reaches stay signed in.
  auto read = browser.Get("/api/v1/activity", {{"Cookie", pair}, {"Origin", other}});
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);
  auto events = get("/api/v1/events?limit=1000");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->status, 200);
  EXPECT_FALSE(contains(events->body, "forged")) << events->body;
  EXPECT_TRUE(contains(events->body, "own-page")) << events->body;
}

// A control character from the request or the log is shown as \xNN in a page, never sent raw.
TEST_F(WebPagesTest, AControlCharacterInAPageIsShownEscaped) {
  auto res = http().Get("/builds/a%00b%1Bc", {{"Accept", "text/html"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);  // not a build request id
  EXPECT_TRUE(contains(res->body, "a\\x00b\\x1bc")) << res->body;
  EXPECT_EQ(res->body.find('\0'), std::string::npos);
  EXPECT_EQ(res->body.find('\x1b'), std::string::npos);
  // A right-to-left override in a ref, a C1 control in a message: shown as \uXXXX, as the
  // console shows them, so that "data/" U+202E "yliad" cannot read as "data/daily" (the Hebrew
  // letters stay as they are).
  const std::string rtl = "data/\u202eyliad/\u05d0";
  auto requested = partition_event("br-rtl", rtl, PARTITION_REQUESTED);
  requested.mutable_partition_event()->set_message("next\u0085line");
  append({request_event("br-rtl", BUILD_REQUEST_RECEIVED, {rtl}), requested});
  const std::string page = this->page("/partitions/" + encode_path_part(rtl));
  EXPECT_TRUE(contains(page, "data/\\u202eyliad/\u05d0")) << page;
  EXPECT_TRUE(contains(page, "next\\u0085line")) << page;
  EXPECT_FALSE(contains(page, "\u202e"));
  EXPECT_FALSE(contains(page, "\u0085"));
  // Nor can "spoof/dai" U+200B "ly", drawn as nothing between its letters.
  const std::string hidden = "spoof/dai\u200bly";
  append({request_event("br-zw", BUILD_REQUEST_RECEIVED, {hidden})});
  const std::string zw = this->page("/partitions/" + encode_path_part(hidden));
  EXPECT_TRUE(contains(zw, "spoof/dai\\u200bly")) << zw;
  EXPECT_FALSE(contains(zw, "\u200b"));
  // A ref holding the six characters \u200b is another ref: its backslash is doubled, as the
  // console shows it, so the two never read alike (on the list that shows both too).
  const std::string literal = "spoof/dai\\u200bly";
  append({request_event("br-literal", BUILD_REQUEST_RECEIVED, {literal, hidden}),
          partition_event("br-literal", literal, PARTITION_REQUESTED),
          partition_event("br-literal", hidden, PARTITION_REQUESTED)});
  const std::string own = this->page("/partitions/" + encode_path_part(literal));
  EXPECT_TRUE(contains(own, "spoof/dai\\\\u200bly")) << own;
  const std::string list = this->page("/partitions?pattern=spoof/*");
  EXPECT_TRUE(contains(list, ">spoof/dai\\u200bly<")) << list;
  EXPECT_TRUE(contains(list, ">spoof/dai\\\\u200bly<")) << list;
}

TEST_F(WebPagesTest, ABrowserIsAnsweredWithPagesSayingHowToSignInAgain) {
  auto browser = http(false);
  const httplib::Headers html = {
      {"Accept", "text/html,application/xhtml+xml"},
      {"Cookie", "bel_session_" + std::to_string(server_->port()) + "=from-before-a-restart"}};
  auto res = browser.Get("/builds", html);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("Bel-Error"), "unauthorized");
  EXPECT_TRUE(contains(res->get_header_value("Content-Type"), "text/html"));
  EXPECT_TRUE(contains(res->body, "sign-in link")) << res->body;
  // A used link too.
  const std::string once = web_->sessions().new_once();
  ASSERT_TRUE(browser.Get("/login?once=" + once));
  res = browser.Get("/login?once=" + once, html);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(contains(res->body, "sign-in link")) << res->body;
  // Scripts and the API keep their JSON.
  res = browser.Get("/builds", {{"Cookie", "bel_session_" + std::to_string(server_->port()) +
                                               "=from-before-a-restart"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  res = browser.Get("/api/v1/activity", html);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  // Signed in, a path with no page is a page too.
  auto signed_in = http(true);
  res = signed_in.Get("/favicon.ico", {{"Accept", "text/html"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(contains(res->get_header_value("Content-Type"), "text/html"));
  EXPECT_TRUE(contains(res->body, "Back to the activity")) << res->body;
}

class WebStreamTest : public WebFixture {
 protected:
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o;
    o.poll_interval = std::chrono::milliseconds(20);
    o.idle_timeout = std::chrono::milliseconds(300);  // so a caught-up stream ends by itself
    o.page_limit = 3;                                  // several pages per stream
    return o;
  }

  // Reads the stream at `path` (with Last-Event-ID `last` when > 0) until it ends or `stop_after`
  // events arrived; the ids received.
  std::vector<int64_t> read(const std::string& path, int64_t last, size_t stop_after) {
    std::vector<int64_t> ids;
    std::string buffer;
    httplib::Headers headers;
    if (last > 0) headers.emplace("Last-Event-ID", std::to_string(last));
    auto client = http();
    auto res = client.Get(path, headers, [&](const char* data, size_t n) {
      buffer.append(data, n);
      size_t end;
      while ((end = buffer.find("\n\n")) != std::string::npos) {
        const std::string frame = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        if (frame.rfind("id: ", 0) == 0) {
          ids.push_back(std::stoll(frame.substr(4, frame.find('\n') - 4)));
          EXPECT_TRUE(contains(frame, "\ndata: {")) << frame;
        }
      }
      return ids.size() < stop_after;
    });
    return ids;
  }
};

TEST_F(WebStreamTest, AFilterTheLogRefusesIsA400NotAStream) {
  // Bytes that are not UTF-8, an unclosed '[' in a pattern: refused by the log's filter check.
  // A stream would answer 200 and an error event, which the browser's EventSource reopens for
  // ever; it answers as /api/v1/events does.
  for (const std::string& path : {std::string("/api/v1/events/stream?partition_refs=%FF"),
                                  std::string("/api/v1/events/stream?partition_patterns=d%5B"),
                                  std::string("/api/v1/events?partition_refs=%FF"),
                                  std::string("/api/v1/events?partition_patterns=d%5B")}) {
    auto res = get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Bel-Error"), "invalid_argument") << path;
  }
  EXPECT_EQ(actors::web::open_event_streams(), 0);
}

TEST_F(WebStreamTest, DeliversEveryEventOfAFilterExactlyOnceAcrossAReconnect) {
  const std::string path = "/api/v1/events/stream?build_request_ids=br-ok&build_request_ids=br-s";
  auto first = read(path, 0, 4);
  ASSERT_GE(first.size(), 4u);  // the chunk that made it stop may hold more: all count
  append({request_event("br-s", v1::BUILD_REQUEST_RECEIVED, {"s/1"}),
          request_event("br-other", v1::BUILD_REQUEST_RECEIVED, {"s/2"}),
          request_event("br-s", v1::BUILD_REQUEST_EXECUTING)});
  auto second = read(path, first.back(), SIZE_MAX);
  std::vector<int64_t> all = first;
  all.insert(all.end(), second.begin(), second.end());
  ListEventsRequest q;
  q.mutable_filter()->add_build_request_ids("br-ok");
  q.mutable_filter()->add_build_request_ids("br-s");
  auto page = client_->list_events(q);
  ASSERT_TRUE(page.ok());
  std::vector<int64_t> expected;
  for (const auto& e : page->events()) expected.push_back(e.idx());
  EXPECT_EQ(all, expected);
  EXPECT_TRUE(actors::web::wait_for_open_event_streams(0, std::chrono::seconds(60)))
      << actors::web::open_event_streams() << " streams still open";
}

// also_build_request_ids and also_job_run_ids widen a stream's filter: a build's cancel, which
// names no partition, reaches a stream of the partition it claimed. Every event matching the
// filter or one of them comes once, in idx order, across pages of 3.
TEST_F(WebStreamTest, AlsoParametersAddTheEventsOfBuildsAndRunsOnceEachInIdxOrder) {
  // The partition's and br-w's pages of 3 end before jr-y's events begin: what a page that has
  // more leaves unread comes before what the others read, and is not skipped.
  append({request_event("br-w", v1::BUILD_REQUEST_RECEIVED, {"w/a"}),
          partition_event("br-w", "w/a", v1::PARTITION_REQUESTED),
          job_event("br-w", "jr-w", "//pkg:w", v1::JOB_SCHEDULED, {"w/a"}),
          job_event("br-w", "jr-w", "//pkg:w", v1::JOB_RUNNING, {"w/a"}),
          request_event("br-x", v1::BUILD_REQUEST_RECEIVED, {"w/b"}),
          partition_event("br-x", "w/b", v1::PARTITION_REQUESTED),
          job_event("br-x", "jr-y", "//pkg:w", v1::JOB_SCHEDULED, {"w/b"}),
          partition_event("br-x", "w/b", v1::PARTITION_BUILDING, "jr-y"),
          job_run_cancel_event("br-x", "jr-y", "stop"), build_cancel_event("br-w", "stop")});
  std::vector<int64_t> expected;
  for (const auto& [kind, value] : std::vector<std::pair<std::string, std::string>>{
           {"partition", "w/a"}, {"build", "br-w"}, {"run", "jr-y"}}) {
    ListEventsRequest q;
    if (kind == "partition") q.mutable_filter()->add_partition_refs(value);
    if (kind == "build") q.mutable_filter()->add_build_request_ids(value);
    if (kind == "run") q.mutable_filter()->add_job_run_ids(value);
    auto page = client_->list_events(q);
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->events()) expected.push_back(e.idx());
  }
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  ASSERT_EQ(expected.size(), 8u);  // all but br-x's request and partition rows
  EXPECT_EQ(read("/api/v1/events/stream?partition_refs=w/a&also_build_request_ids=br-w"
                 "&also_job_run_ids=jr-y",
                 0, SIZE_MAX),
            expected);
  auto empty = get("/api/v1/events/stream?partition_refs=w/a&also_build_request_ids=");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400) << empty->body;
}

class OneStreamTest : public WebStreamTest {
 protected:
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o = WebStreamTest::stream_options();
    o.max_streams = 1;
    o.idle_timeout = std::chrono::minutes(10);  // the first stream stays open until its client
    o.keepalive_interval = std::chrono::milliseconds(50);  // leaves: its next write sees that
    return o;
  }
};

// A stream over the bound is 429 and counted in bel_http_overloaded_total, as the server's own
// refusals are.
TEST_F(OneStreamTest, AStreamOverTheBoundIs429AndCountedAsOverloaded) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread holder([&] {
    auto client = http();
    client.Get("/api/v1/events/stream", [&](const char*, size_t) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
      return false;
    });
  });
  ASSERT_TRUE(actors::web::wait_for_open_event_streams(1, std::chrono::seconds(60)));
  auto res = get("/api/v1/events/stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429) << res->body;
  EXPECT_TRUE(contains(res->body, "1 event streams are open already")) << res->body;
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(contains(metrics->body, "\nbel_http_overloaded_total 1\n")) << metrics->body;
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  holder.join();
  EXPECT_TRUE(actors::web::wait_for_open_event_streams(0, std::chrono::seconds(60)));
}

class QuietStreamTest : public WebStreamTest {
 protected:
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o = WebStreamTest::stream_options();
    o.idle_timeout = std::chrono::hours(1);        // nothing ends a stream by itself
    o.keepalive_interval = std::chrono::hours(1);  // and nothing is written to it
    return o;
  }
};

// A page the browser leaves closes its stream's connection: the server ends the stream at once
// (its slot free for the next page), not at its next write, which on a quiet log may be long.
TEST_F(QuietStreamTest, AStreamWhoseClientLeftEndsWithoutAWrite) {
  const int sock = testing::connect_loopback(server_->port());
  ASSERT_GE(sock, 0);
  const std::string request = "GET /api/v1/events/stream?since=" + std::to_string(seeded_idx_) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
                              "\r\n\r\n";
  ASSERT_EQ(::send(sock, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  while (answer.find("retry: 1000") == std::string::npos) {
    const ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << answer;
    answer.append(buf, static_cast<size_t>(n));
  }
  EXPECT_TRUE(contains(answer, "HTTP/1.1 200")) << answer;
  ASSERT_TRUE(actors::web::wait_for_open_event_streams(1, std::chrono::seconds(60)));
  ::close(sock);
  EXPECT_TRUE(actors::web::wait_for_open_event_streams(0, std::chrono::seconds(60)))
      << actors::web::open_event_streams() << " streams open";
}

TEST_F(WebStreamTest, RefusesABadLastEventId) {
  auto res = http().Get("/api/v1/events/stream", {{"Last-Event-ID", "x1"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("header Last-Event-ID: \\\"x1\\\" is not an event's idx"),
            std::string::npos)
      << res->body;
}

}  // namespace
}  // namespace bel::testing
