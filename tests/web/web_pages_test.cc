// The dashboard fetched plainly (no JavaScript), the browser sign-in, /metrics and the event
// stream (actors/web/*), against the seeded log of web_fixture.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "actors/web/web_request.h"
#include "actors/web/web_stream.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

using actors::web::encode_path_part;
using namespace bel::v1;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

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
  EXPECT_EQ(where("nothing-like-it").substr(0, 4), "404 ");
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
  ASSERT_TRUE(contains(pair, "bel_session="));
  auto signed_in = browser.Get("/api/v1/activity", {{"Cookie", pair}});
  ASSERT_TRUE(signed_in);
  EXPECT_EQ(signed_in->status, 200);
  auto again = browser.Get("/login?once=" + once);  // works once
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  auto forged = browser.Get("/api/v1/activity", {{"Cookie", "bel_session=" + once}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  auto elsewhere = browser.Get("/login?once=" + web_->sessions().new_once() +
                               "&next=//evil.example/");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->get_header_value("Location"), "/");
}

// name{labels} value, per line; families declared by # TYPE.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::set<std::string> families;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.eE+]+)$)");
  const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram)$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      families.insert(m[1]);
    } else if (line.rfind("# HELP ", 0) == 0) {
    } else {
      EXPECT_TRUE(std::regex_match(line, m, sample)) << "not Prometheus text: " << line;
      if (m.empty()) continue;
      std::string family = m[1];
      for (const char* suffix : {"_sum", "_count"}) {
        if (!families.count(family) && family.size() > strlen(suffix) &&
            family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0) {
          family.resize(family.size() - strlen(suffix));
        }
      }
      EXPECT_TRUE(families.count(family)) << "no # TYPE before " << line;
      samples[m[1].str() + m[2].str()] = std::stod(m[4]);
    }
  }
  return samples;
}

TEST_F(WebPagesTest, MetricsAreParseablePrometheusTextAndMoveUnderLoad) {
  auto before = get("/metrics");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  auto m0 = parse_prometheus(before->body);
  EXPECT_EQ(m0["bel_log_last_idx"], seeded_idx_);
  EXPECT_EQ(m0["bel_appends_acked_total"], seeded_idx_);
  EXPECT_TRUE(m0.count("bel_view_lag{view=\"partition_status\"}") ||
              std::any_of(m0.begin(), m0.end(),
                          [](auto& kv) { return kv.first.rfind("bel_view_lag{", 0) == 0; }));
  std::vector<BuildEvent> load;
  for (int i = 0; i < 50; ++i) {
    load.push_back(request_event("br-load-" + std::to_string(i), v1::BUILD_REQUEST_RECEIVED,
                                 {"load/" + std::to_string(i)}));
  }
  append(std::move(load));
  // One rejected append: a job run of a build never received, in strict mode.
  EXPECT_FALSE(client_->append(job_event("", "jr-x", "//x", v1::JOB_RUNNING)).ok());
  auto after = get("/metrics");
  ASSERT_TRUE(after);
  auto m1 = parse_prometheus(after->body);
  EXPECT_EQ(m1["bel_appends_acked_total"], m0["bel_appends_acked_total"] + 50);
  EXPECT_EQ(m1["bel_log_last_idx"], seeded_idx_ + 50);
  EXPECT_GT(m1["bel_commit_group_events_count"], m0["bel_commit_group_events_count"]);
  EXPECT_GE(m1["bel_commit_group_events_max"], 18);
  EXPECT_GT(m1["bel_appends_rejected_total{cause=\"validation\"}"],
            m0["bel_appends_rejected_total{cause=\"validation\"}"]);
  EXPECT_GT(m1["bel_http_requests_total"], m0["bel_http_requests_total"]);
  EXPECT_GE(m1["bel_http_open_connections"], 1);  // the one asking
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

TEST_F(WebStreamTest, DeliversEveryEventOfAFilterExactlyOnceAcrossAReconnect) {
  const std::string path = "/api/v1/events/stream?build_request_ids=br-ok,br-s";
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
  EXPECT_EQ(actors::web::open_event_streams(), 0);
}

TEST_F(WebStreamTest, RefusesABadLastEventId) {
  auto res = http().Get("/api/v1/events/stream", {{"Last-Event-ID", "x1"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

}  // namespace
}  // namespace bel::testing
