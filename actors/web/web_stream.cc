#include "actors/web/web_stream.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "actors/web/web_request.h"
#include "messages/event_keys.h"
#include "messages/json.h"

namespace bel::actors::web {
namespace {

std::atomic<int64_t> g_open_streams{0};
std::mutex g_count_mu;  // with g_count_changed: wait_for_open_event_streams
std::condition_variable g_count_changed;

void count_stream(int64_t change) {
  {
    std::lock_guard<std::mutex> lock(g_count_mu);
    g_open_streams += change;
  }
  g_count_changed.notify_all();
}

using Clock = std::chrono::steady_clock;

// One stream's position.
struct Cursor {
  std::vector<EventFilter> filters;  // an event matching any of them is delivered
  int64_t last_idx = 0;
  std::optional<EventPage> first;  // read before answering, so a bad filter is a 400
  Clock::time_point last_event;
  Clock::time_point last_write;
};

bool write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

std::string frame(const BuildEvent& event) {
  return "id: " + std::to_string(event.idx()) + "\nevent: " + std::string(event_type_name(event)) +
         "\ndata: " + to_json(event) + "\n\n";
}

// The filters of a stream: the request's filter, and one per non-empty also_ parameter.
Result<std::vector<EventFilter>> stream_filters(const httplib::Request& req) {
  auto filter = filter_params(req);
  if (!filter.ok()) return filter.error();
  std::vector<EventFilter> out = {*filter};
  // One filter per also_ parameter given: a page shows what the terminal events of these builds
  // and job runs change, which name no partition or label.
  EventFilter builds;
  EventFilter runs;
  for (auto [name, field] : {std::pair(kAlsoBuilds, builds.mutable_build_request_ids()),
                             std::pair(kAlsoRuns, runs.mutable_job_run_ids())}) {
    auto values = every_param(req, name);
    if (!values.ok()) return values.error();
    for (auto& v : *values) field->Add(std::move(v));
  }
  if (builds.build_request_ids_size() > 0) out.push_back(std::move(builds));
  if (runs.job_run_ids_size() > 0) out.push_back(std::move(runs));
  return out;
}

// A page of the events after `since` matching any of `filters`, in idx order, each once. Each
// filter's page is read; where one has more, events past its last are left for the next read,
// and so are events committed after the log's end read first: a filter read later may see an
// event that one read earlier could not, and what is delivered is never followed by an earlier
// idx.
Result<EventPage> any_page(ApiClient& client, const std::vector<EventFilter>& filters,
                           int64_t since, int limit) {
  if (filters.size() == 1) return client.events_page(filters[0], since, limit, 0);
  auto head = client.stats();
  if (!head.ok()) return head.error();
  std::map<int64_t, BuildEvent> merged;
  int64_t bound = head->last_idx();
  bool more = false;
  for (const auto& filter : filters) {
    auto page = client.events_page(filter, since, limit, 0);
    if (!page.ok()) return page.error();
    if (page->has_more() && page->events_size() > 0) {
      more = true;
      bound = std::min(bound, page->events(page->events_size() - 1).idx());
    }
    for (auto& event : *page->mutable_events()) merged.emplace(event.idx(), std::move(event));
  }
  EventPage out;
  for (auto& [idx, event] : merged) {
    if (idx > bound) {
      more = true;
      break;
    }
    *out.add_events() = std::move(event);
  }
  out.set_has_more(more);
  return out;
}

}  // namespace

int64_t open_event_streams() { return g_open_streams.load(); }

bool wait_for_open_event_streams(int64_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(g_count_mu);
  return g_count_changed.wait_for(lock, timeout, [n] { return g_open_streams.load() == n; });
}

EventStreams::EventStreams(ApiClient& client, EventStreamOptions options)
    : state_(std::make_shared<State>(client, options)) {}

void EventStreams::add_route(HttpServer& server) {
  std::vector<const char*> known = {"since", kAlsoBuilds, kAlsoRuns};
  known.insert(known.end(), kFilterParams.begin(), kFilterParams.end());
  auto state = state_;
  HttpServer* counts = &server;  // outlives its routes
  server.get("/api/v1/events/stream", [state, known, counts](const httplib::Request& req,
                                                             const std::string&,
                                                             httplib::Response& res) {
    if (auto ok = check_params(req, known); !ok.ok()) return reply_error(res, ok.error());
    auto filters = stream_filters(req);
    if (!filters.ok()) return reply_error(res, filters.error());
    auto since = int_param(req, "since", 0, 0, INT64_MAX);
    if (!since.ok()) return reply_error(res, since.error());
    auto cursor = std::make_shared<Cursor>();
    cursor->filters = std::move(*filters);
    cursor->last_idx = *since;
    if (req.has_header("Last-Event-ID")) {
      httplib::Request header_only;
      header_only.params.emplace("Last-Event-ID", req.get_header_value("Last-Event-ID"));
      auto last = int_param(header_only, "Last-Event-ID", 0, 0, INT64_MAX);
      if (!last.ok()) {
        return reply_error(
            res, make_error(ErrorCode::invalid_argument,
                            "header Last-Event-ID: \"" + req.get_header_value("Last-Event-ID") +
                                "\" is not an event's idx (0 or more)"));
      }
      cursor->last_idx = *last;
    }
    if (state->stopping) {
      return reply_error(res, make_error(ErrorCode::storage_unavailable,
                                         "GET /api/v1/events/stream: the coordinator is stopping"));
    }
    // The first page is read now: a filter the log refuses (say, a label with a control
    // character) is answered with its status, not with a stream the browser would reopen.
    auto first =
        any_page(state->client, cursor->filters, cursor->last_idx, state->options.page_limit);
    if (!first.ok()) return reply_error(res, first.error());
    cursor->first = std::move(*first);
    if (state->open.fetch_add(1) >= state->options.max_streams) {
      state->open -= 1;
      counts->count_overloaded();
      return reply_error(res, make_error(ErrorCode::overloaded,
                                         "GET /api/v1/events/stream: " +
                                             std::to_string(state->options.max_streams) +
                                             " event streams are open already; retry later"));
    }
    count_stream(+1);
    cursor->last_event = cursor->last_write = Clock::now();
    res.set_header("X-Accel-Buffering", "no");  // no-store as every answer (web_view.cc)
    auto provider = [state, cursor](size_t offset, httplib::DataSink& sink) {
      const auto& o = state->options;
      if (offset == 0 && !write(sink, "retry: 1000\n\n")) return false;
      Result<EventPage> page =
          cursor->first ? Result<EventPage>(std::move(*cursor->first))
                        : any_page(state->client, cursor->filters, cursor->last_idx, o.page_limit);
      cursor->first.reset();
      if (!page.ok()) {
        write(sink, "event: error\ndata: " + error_json(page.error()) + "\n\n");
        sink.done();
        return true;
      }
      std::string out;
      for (const auto& event : page->events()) {
        out += frame(event);
        cursor->last_idx = event.idx();
      }
      const auto now = Clock::now();
      if (!out.empty()) {
        cursor->last_event = cursor->last_write = now;
        return write(sink, out);
      }
      if (state->stopping || now - cursor->last_event >= o.idle_timeout) {
        sink.done();
        return true;
      }
      if (client_gone()) return false;  // the page was left: its slot is free at once
      if (now - cursor->last_write >= o.keepalive_interval) {
        cursor->last_write = now;
        if (!write(sink, ": keep-alive\n\n")) return false;
      }
      if (!page->has_more()) std::this_thread::sleep_for(o.poll_interval);
      if (state->stopping) sink.done();
      return true;
    };
    res.set_chunked_content_provider("text/event-stream", provider, [state](bool) {
      state->open -= 1;
      count_stream(-1);
    });
  });
}

}  // namespace bel::actors::web
