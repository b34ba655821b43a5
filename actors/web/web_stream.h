// GET /api/v1/events/stream (issue 12): the log's events as server-sent events, so a page or a
// script follows a build as it happens. docs/web.md states the contract:
//  - the same SPEC 3.2 filter parameters as /api/v1/events, and ?since= (default 0: from the
//    start of the log);
//  - each event is "id: <idx>\nevent: <event type>\ndata: <the event in JSON>\n\n", in idx
//    order; a reconnecting client sends "Last-Event-ID: <idx>" and gets the events after it, so
//    a filter's events arrive exactly once across reconnects (the header wins over ?since=);
//  - the server polls list_events every poll_interval, writes a ": keep-alive" comment every
//    keepalive_interval, and ends a stream that delivered nothing for idle_timeout (an
//    EventSource reconnects by itself); an error ends the stream with "event: error" and the JSON
//    error as data;
//  - at most max_streams streams at once (each holds one server thread); one more is answered
//    429 `overloaded`.
//
//   EventStreams streams(client);
//   streams.add_route(server);
//   ...
//   streams.stop();      // ends every stream within one poll_interval: call before server.stop()
//
// Thread-safety: the handlers run on the server's threads; stop() may be called from any thread.
// `client` must outlive the streams, which must outlive the server's serving.
#ifndef BEL_ACTORS_WEB_WEB_STREAM_H_
#define BEL_ACTORS_WEB_WEB_STREAM_H_

#include <atomic>
#include <chrono>
#include <memory>

#include "actors/client/api_client.h"
#include "actors/net/http_server.h"

namespace bel::actors::web {

struct EventStreamOptions {
  size_t max_streams = 8;
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds keepalive_interval{5000};
  std::chrono::milliseconds idle_timeout{120000};
  int page_limit = 500;  // events read per poll
};

// Streams open in this process (every EventStreams together), for /metrics.
int64_t open_event_streams();
// Waits until exactly `n` streams are open in this process (a stream ends on the server a little
// after its client left), at most `timeout`; true when they are.
bool wait_for_open_event_streams(int64_t n, std::chrono::milliseconds timeout);

class EventStreams {
 public:
  explicit EventStreams(ApiClient& client, EventStreamOptions options = {});
  ~EventStreams() { stop(); }
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  void add_route(HttpServer& server);
  // Ends every stream (now and later) within one poll_interval. Idempotent.
  void stop() { state_->stopping = true; }

 private:
  struct State {
    State(ApiClient& c, EventStreamOptions o) : client(c), options(o) {}
    ApiClient& client;
    EventStreamOptions options;
    std::atomic<bool> stopping{false};
    std::atomic<size_t> open{0};
  };
  std::shared_ptr<State> state_;
};

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_STREAM_H_
