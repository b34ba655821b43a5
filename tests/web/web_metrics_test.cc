// GET /metrics (actors/web/web_metrics.cc): the page parsed as Prometheus text format 0.0.4 (every
// family with HELP and TYPE, every sample in its family, histograms cumulative and ending with
// +Inf == _count), its counters moving under load against the seeded log of web_fixture.h, and
// FixedHistogram's buckets.
#include "actors/web/web_metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actors/fixed_histogram.h"
#include "messages/error.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

// One scrape: "name{labels}" -> value, and each family's type.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  // The sample `key`; a failure (and NaN) when the page has none.
  double at(const std::string& key) const {
    auto it = samples.find(key);
    if (it == samples.end()) {
      ADD_FAILURE() << "no sample " << key;
      return std::numeric_limits<double>::quiet_NaN();
    }
    return it->second;
  }
};

double parse_value(const std::string& text) { return std::stod(text); }  // "+Inf" included

// A histogram's buckets, in page order: their `le` and cumulative count.
using Buckets = std::vector<std::pair<double, double>>;

// Checks `buckets` of histogram `family`: `le` ascending and ending with +Inf, counts cumulative
// (never decreasing), the +Inf bucket equal to _count, and a _sum.
void check_histogram(const Scrape& scrape, const std::string& family, const Buckets& buckets) {
  ASSERT_FALSE(buckets.empty()) << family << " has no _bucket samples";
  EXPECT_TRUE(std::isinf(buckets.back().first)) << family << ": the last bucket is not +Inf";
  for (size_t k = 1; k < buckets.size(); ++k) {
    EXPECT_GT(buckets[k].first, buckets[k - 1].first) << family << ": le not ascending at " << k;
    EXPECT_GE(buckets[k].second, buckets[k - 1].second) << family << ": not cumulative at " << k;
  }
  EXPECT_EQ(buckets.back().second, scrape.at(family + "_count")) << family;
  EXPECT_TRUE(scrape.samples.count(family + "_sum")) << family << " has no _sum";
}

// Parses `text`, failing the test on anything Prometheus would refuse or misread.
Scrape parse_prometheus(const std::string& text) {
  static const std::string name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  static const std::regex help("^# HELP (" + name + ") .+$");
  static const std::regex type("^# TYPE (" + name + ") (counter|gauge|summary|histogram)$");
  static const std::regex sample(
      "^(" + name +
      ")(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})?"
      " ([-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN))$");
  static const std::regex le("le=\"([^\"]*)\"");
  Scrape out;
  std::set<std::string> helped;
  std::string current;  // the family declared last: its samples follow its TYPE line
  std::map<std::string, Buckets> buckets;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(helped.count(m[1])) << "TYPE without HELP before it: " << line;
      EXPECT_TRUE(out.types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
      current = m[1];
    } else if (std::regex_match(line, m, sample)) {
      const std::string n = m[1];
      const std::string& t = out.types[current];
      const bool with_suffix = n == current + "_sum" || n == current + "_count";
      const bool in_family = n == current || (t == "histogram" && n == current + "_bucket") ||
                             ((t == "histogram" || t == "summary") && with_suffix);
      EXPECT_TRUE(in_family) << "sample outside its family " << current << ": " << line;
      EXPECT_TRUE(out.samples.emplace(n + m[2].str(), parse_value(m[4])).second)
          << "sample twice: " << line;
      std::smatch bound;
      const std::string labels = m[2];
      if (n == current + "_bucket" && std::regex_search(labels, bound, le)) {
        buckets[current].emplace_back(parse_value(bound[1]), parse_value(m[4]));
      }
    } else {
      ADD_FAILURE() << "not Prometheus text: \"" << line << "\"";
    }
  }
  for (const auto& [family, t] : out.types) {
    if (t == "histogram") check_histogram(out, family, buckets[family]);
  }
  return out;
}

std::string rejected(ErrorCode code) {
  return std::string("bel_appends_rejected_total{code=\"") + to_string(code) + "\"}";
}

constexpr const char* kLatencyCount = "bel_append_latency_seconds_count";

// The coordinator refuses an append of more than 64 KiB at once (overloaded), so the test can
// provoke it without filling the pending limit.
constexpr size_t kPendingBytes = size_t{64} << 10;

class WebMetricsTest : public WebFixture {
 protected:
  actors::CoordinatorOptions coordinator_options() override {
    actors::CoordinatorOptions o;
    o.supervisor.storage.max_pending_bytes = kPendingBytes;
    return o;
  }

  Scrape scrape() {
    auto res = get("/metrics");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return parse_prometheus(res->body);
  }

  // Appends `batch`, expects it refused with `code` and counted once, under that code alone.
  void expect_refused_and_counted(std::vector<BuildEvent> batch, ErrorCode code) {
    const Scrape before = scrape();
    auto refused = client_->append(std::move(batch));
    ASSERT_FALSE(refused.ok()) << "appended, expected " << to_string(code);
    ASSERT_EQ(refused.error().code, code) << refused.error().to_string();
    expect_one_more(before, scrape(), code);
  }

  // Expects the append counter of every code to be as in `before`, but `code`'s one more.
  void expect_one_more(const Scrape& before, const Scrape& after, ErrorCode code) {
    for (ErrorCode c : kErrorCodes) {
      EXPECT_EQ(after.at(rejected(c)), before.at(rejected(c)) + (c == code ? 1 : 0))
          << "after a rejection with " << to_string(code) << ", the count of " << to_string(c);
    }
  }
};

TEST_F(WebMetricsTest, MetricsAreParseablePrometheusTextAndMoveUnderLoad) {
  const Scrape m0 = scrape();
  EXPECT_EQ(m0.at("bel_log_last_idx"), seeded_idx_);
  EXPECT_EQ(m0.at("bel_appends_acked_total"), seeded_idx_);
  EXPECT_EQ(m0.at(kLatencyCount), 1);  // the seeded batch counts once
  EXPECT_EQ(m0.types.at("bel_append_latency_seconds"), "histogram");
  EXPECT_EQ(m0.types.at("bel_commit_group_events"), "histogram");
  const auto lag = m0.samples.lower_bound("bel_view_lag{view=");
  EXPECT_TRUE(lag != m0.samples.end() && lag->first.rfind("bel_view_lag{view=", 0) == 0);
  for (ErrorCode c : kErrorCodes) EXPECT_EQ(m0.at(rejected(c)), 0) << to_string(c);

  std::vector<BuildEvent> load;
  for (int i = 0; i < 50; ++i) {
    load.push_back(request_event("br-load-" + std::to_string(i), v1::BUILD_REQUEST_RECEIVED,
                                 {"load/" + std::to_string(i)}));
  }
  append(std::move(load));
  const Scrape m1 = scrape();
  EXPECT_EQ(m1.at("bel_appends_acked_total"), m0.at("bel_appends_acked_total") + 50);
  EXPECT_EQ(m1.at("bel_log_last_idx"), seeded_idx_ + 50);
  EXPECT_EQ(m1.at(kLatencyCount), m0.at(kLatencyCount) + 1);
  EXPECT_GT(m1.at("bel_commit_group_events_count"), m0.at("bel_commit_group_events_count"));
  EXPECT_EQ(m1.at("bel_commit_group_events_sum"), m0.at("bel_commit_group_events_sum") + 50);
  EXPECT_GE(m1.at("bel_commit_group_events_max"), 50);
  // 50 events in one commit: the bucket le=32 did not move, le=64 did.
  EXPECT_EQ(m1.at("bel_commit_group_events_bucket{le=\"32\"}"),
            m0.at("bel_commit_group_events_bucket{le=\"32\"}"));
  EXPECT_GT(m1.at("bel_commit_group_events_bucket{le=\"64\"}"),
            m0.at("bel_commit_group_events_bucket{le=\"64\"}"));
  EXPECT_GT(m1.at("bel_http_requests_total"), m0.at("bel_http_requests_total"));
  EXPECT_GE(m1.at("bel_http_open_connections"), 1);  // the one asking
  // The storage actor's thread timed the commit; the index gauge is a count of events.
  EXPECT_EQ(m1.types.at("bel_storage_commit_seconds_total"), "counter");
  EXPECT_EQ(m1.types.at("bel_storage_index_seconds_total"), "counter");
  EXPECT_EQ(m1.types.at("bel_index_batches_total"), "counter");
  EXPECT_EQ(m1.types.at("bel_index_unindexed_events"), "gauge");
  EXPECT_GT(m1.at("bel_storage_commit_seconds_total"), m0.at("bel_storage_commit_seconds_total"));
  EXPECT_GE(m1.at("bel_index_unindexed_events"), 0);
  EXPECT_LE(m1.at("bel_index_unindexed_events"), m1.at("bel_log_last_idx"));
}

TEST_F(WebMetricsTest, LatencyHistogramCountsEveryAcknowledgedAppend) {
  const Scrape before = scrape();
  constexpr int kAppends = 20;
  for (int i = 0; i < kAppends; ++i) {
    auto ack = client_->append(request_event(
        "br-lat-" + std::to_string(i), v1::BUILD_REQUEST_RECEIVED, {"lat/" + std::to_string(i)}));
    ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  }
  const Scrape after = scrape();
  EXPECT_EQ(after.at(kLatencyCount), before.at(kLatencyCount) + kAppends);
  EXPECT_EQ(after.at("bel_append_latency_seconds_bucket{le=\"+Inf\"}"),
            before.at("bel_append_latency_seconds_bucket{le=\"+Inf\"}") + kAppends);
  EXPECT_GT(after.at("bel_append_latency_seconds_sum"),
            before.at("bel_append_latency_seconds_sum"));
  for (ErrorCode c : kErrorCodes) EXPECT_EQ(after.at(rejected(c)), before.at(rejected(c)));
}

TEST_F(WebMetricsTest, RejectedAppendsAreCountedByErrorCode) {
  const double acked_before = scrape().at(kLatencyCount);
  expect_refused_and_counted({job_event("", "jr-x", "//x", v1::JOB_RUNNING)},
                             ErrorCode::invalid_event);  // no build_request_id
  // A job run of a build never received, in strict mode.
  expect_refused_and_counted({job_event("br-never", "jr-x", "//x", v1::JOB_RUNNING)},
                             ErrorCode::invalid_transition);
  expect_refused_and_counted({}, ErrorCode::invalid_argument);  // an empty batch
  ASSERT_TRUE(
      client_->append(with_id(request_event("br-dup", v1::BUILD_REQUEST_RECEIVED), "d-1")).ok());
  expect_refused_and_counted(
      {with_id(request_event("br-other", v1::BUILD_REQUEST_RECEIVED), "d-1")},
      ErrorCode::duplicate_event_id);
  // Larger than the pending limit on its own: refused by the supervisor at admission.
  const double overloaded_before = scrape().at("bel_appends_overloaded_total");
  auto huge = job_event("br-dup", "jr-h", "//h", v1::JOB_FAILED);
  huge.mutable_job_event()->set_message(std::string(kPendingBytes + 1, 'x'));
  expect_refused_and_counted({huge}, ErrorCode::overloaded);
  const Scrape after = scrape();
  EXPECT_EQ(after.at("bel_appends_overloaded_total"), overloaded_before + 1);
  // Only the one acknowledged append (d-1) was timed.
  EXPECT_EQ(after.at(kLatencyCount), acked_before + 1);
}

TEST(WebMetricsTextTest, HistogramsAreCumulativeAndEveryCodeIsListed) {
  StorageStats stats;
  auto* h = stats.mutable_append_latency_seconds();
  for (double b : {0.001, 0.01}) h->add_bounds(b);
  for (int64_t c : {3, 0, 2}) h->add_counts(c);
  h->set_count(5);
  h->set_sum(1.5e-5);
  (*stats.mutable_rejected_by_code())["overloaded"] = 2;
  stats.set_commit_seconds(1.25);
  stats.set_index_seconds(0.5);
  stats.set_index_batches(3);
  stats.set_unindexed_events(42);
  const Scrape s = parse_prometheus(actors::web::metrics_text(stats, ViewsStatus{}, {}, 0));
  EXPECT_DOUBLE_EQ(s.at("bel_storage_commit_seconds_total"), 1.25);
  EXPECT_DOUBLE_EQ(s.at("bel_storage_index_seconds_total"), 0.5);
  EXPECT_EQ(s.at("bel_index_batches_total"), 3);
  EXPECT_EQ(s.at("bel_index_unindexed_events"), 42);
  EXPECT_EQ(s.at("bel_append_latency_seconds_bucket{le=\"0.001\"}"), 3);
  EXPECT_EQ(s.at("bel_append_latency_seconds_bucket{le=\"0.01\"}"), 3);
  EXPECT_EQ(s.at("bel_append_latency_seconds_bucket{le=\"+Inf\"}"), 5);
  EXPECT_DOUBLE_EQ(s.at("bel_append_latency_seconds_sum"), 1.5e-5);
  EXPECT_EQ(s.at("bel_commit_group_events_bucket{le=\"+Inf\"}"), 0);  // none: only +Inf
  for (ErrorCode c : kErrorCodes) {
    EXPECT_EQ(s.at(rejected(c)), c == ErrorCode::overloaded ? 2 : 0) << to_string(c);
  }
}

constexpr std::array<double, 3> kTestBounds = {1, 2, 4};

TEST(FixedHistogramTest, CountsEachValueInTheFirstBucketAtOrAboveIt) {
  actors::FixedHistogram<kTestBounds.size()> h(kTestBounds);
  for (double v : {0.5, 1.0, 3.0, 100.0}) h.observe(v);
  v1::Histogram out;
  h.copy_to(&out);
  ASSERT_EQ(out.bounds_size(), 3);
  ASSERT_EQ(out.counts_size(), 4);
  EXPECT_EQ(out.counts(0), 2);  // 0.5 and 1 (le is inclusive)
  EXPECT_EQ(out.counts(1), 0);
  EXPECT_EQ(out.counts(2), 1);  // 3
  EXPECT_EQ(out.counts(3), 1);  // 100: +Inf
  EXPECT_EQ(out.count(), 4);
  EXPECT_DOUBLE_EQ(out.sum(), 104.5);
}

}  // namespace
}  // namespace bel::testing
