#include "actors/web/web_metrics.h"

#include <fmt/format.h>

#include <type_traits>

#include "actors/web/web_request.h"
#include "actors/web/web_stream.h"
#include "messages/error.h"

namespace bel::actors::web {
namespace {

class Exposition {
 public:
  // Starts metric `name` of `type` (counter, gauge, histogram).
  void family(const std::string& name, const char* type, const std::string& help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  // A sample of `value`, a count or a number of seconds.
  template <class Number>
  void sample(const std::string& name, Number value, const std::string& labels = "") {
    static_assert(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>);
    out_ += labels.empty() ? fmt::format("{} {}\n", name, value)
                           : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  template <class Number>
  void one(const std::string& name, const char* type, const std::string& help, Number value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// A label value with \, " and newline escaped.
std::string label(const std::string& name, const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') escaped += '\\';
    escaped += c == '\n' ? 'n' : c;
  }
  return name + "=\"" + escaped + "\"";
}

// A histogram family: cumulative `_bucket{le=...}` samples ending with `+Inf` (== `_count`),
// then `_sum` and `_count`.
void histogram(Exposition& e, const std::string& name, const std::string& help,
               const v1::Histogram& h) {
  e.family(name, "histogram", help);
  int64_t cumulative = 0;
  for (int k = 0; k < h.bounds_size() && k < h.counts_size(); ++k) {
    cumulative += h.counts(k);
    e.sample(name + "_bucket", cumulative, label("le", fmt::format("{}", h.bounds(k))));
  }
  e.sample(name + "_bucket", h.count(), label("le", "+Inf"));
  e.sample(name + "_sum", h.sum());
  e.sample(name + "_count", h.count());
}

void view_family(Exposition& e, const ViewsStatus& views, const std::string& name,
                 const char* type, const std::string& help, int64_t (ViewStatus::*field)() const) {
  e.family(name, type, help);
  for (const auto& view : views.views()) e.sample(name, (view.*field)(), label("view", view.view()));
}

}  // namespace

std::string metrics_text(const StorageStats& s, const ViewsStatus& views,
                         const HttpServerStats& http, int64_t open_streams) {
  Exposition e;
  e.one("bel_log_last_idx", "gauge", "Highest committed idx.", s.last_idx());
  e.one("bel_appends_acked_total", "counter", "Events committed and acknowledged.",
        s.events_appended());
  e.one("bel_appends_duplicate_total", "counter",
        "Appends acknowledged as duplicates of an earlier event.", s.duplicates());
  e.family("bel_appends_rejected_total", "counter",
           "Appends answered with an error (a batch counts once), by error code.");
  for (ErrorCode code : kErrorCodes) {
    const auto found = s.rejected_by_code().find(to_string(code));
    e.sample("bel_appends_rejected_total",
             found == s.rejected_by_code().end() ? int64_t{0} : found->second,
             label("code", to_string(code)));
  }
  e.one("bel_commits_failed_total", "counter",
        "Transactions that failed (every append in them was answered with the error).",
        s.failed_commits());
  e.one("bel_appends_overloaded_total", "counter",
        "Appends refused with overloaded because too many were pending.", s.overloaded());
  e.one("bel_appends_pending", "gauge", "Events staged and not yet committed.", s.pending());
  histogram(e, "bel_append_latency_seconds",
            "Seconds from the coordinator admitting an append (a batch counts once) to its "
            "acknowledgement.",
            s.append_latency_seconds());
  histogram(e, "bel_commit_group_events", "Events per committed transaction.",
            s.commit_group_events());
  e.one("bel_commit_group_events_max", "gauge", "Most events committed in one transaction.",
        s.max_group_events());
  e.one("bel_storage_commit_seconds_total", "counter",
        "Wall seconds the storage actor's thread spent staging, committing and answering appends "
        "(waits for the disk included).",
        s.commit_seconds());
  e.one("bel_storage_index_seconds_total", "counter",
        "Wall seconds the storage actor's thread spent indexing the log's tail in batches.",
        s.index_seconds());
  e.one("bel_index_batches_total", "counter", "Index batches committed.", s.index_batches());
  e.one("bel_index_unindexed_events", "gauge",
        "Committed events the key index does not cover yet (reads scan them).",
        s.unindexed_events());
  e.one("bel_transition_warnings_total", "counter", "Lenient-mode transition warnings recorded.",
        s.warnings());
  view_family(e, views, "bel_view_applied_idx", "gauge", "Last idx the view applied.",
              &ViewStatus::applied_idx);
  view_family(e, views, "bel_view_lag", "gauge", "The log's last idx minus the view's applied_idx.",
              &ViewStatus::lag);
  view_family(e, views, "bel_view_snapshot_writes_total", "counter",
              "Snapshots the view wrote since it started.", &ViewStatus::snapshots_written);
  view_family(e, views, "bel_view_fallbacks_total", "counter",
              "Queries the view handed to the fallback scan.", &ViewStatus::fallbacks);
  view_family(e, views, "bel_view_answered_total", "counter", "Queries the view answered.",
              &ViewStatus::answered);
  view_family(e, views, "bel_view_restarts_total", "counter",
              "Times the supervisor restarted the view's actor.", &ViewStatus::restarts);
  e.one("bel_fallback_scans_total", "counter", "Queries answered by a fallback scan of the log.",
        views.fallback_queries());
  e.one("bel_http_requests_total", "counter", "HTTP requests answered.", http.requests);
  e.one("bel_http_unauthorized_total", "counter", "HTTP requests refused for the token.",
        http.unauthorized);
  e.one("bel_http_overloaded_total", "counter",
        "HTTP requests refused by the web server's own bounds.", http.overloaded);
  e.one("bel_http_inflight_requests", "gauge", "HTTP requests with a body being served.",
        http.inflight_requests);
  e.one("bel_http_open_connections", "gauge",
        "Connections accepted and not yet closed (keep-alive ones included).",
        http.open_connections);
  e.one("bel_http_event_streams_open", "gauge", "Open server-sent event streams.", open_streams);
  return e.take();
}

void add_metrics_route(HttpServer& server, ApiClient& client) {
  server.get("/metrics", [&server, &client](const httplib::Request& req, const std::string&,
                                            httplib::Response& res) {
    if (auto ok = check_params(req, {}); !ok.ok()) return reply_error(res, ok.error());
    auto stats = client.stats();
    if (!stats.ok()) return reply_error(res, stats.error());
    auto views = client.views_status();
    if (!views.ok()) return reply_error(res, views.error());
    res.set_header(kAsOfHeader, std::to_string(stats->last_idx()));
    HttpServer::reply(res, metrics_text(*stats, *views, server.stats(), open_event_streams()),
                      "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace bel::actors::web
