// The operators' web view (issue 12) on the coordinator's one HttpServer, beside the console's
// RPC routes: the JSON API (web_api.h), the browser sign-in (web_session.h), /metrics
// (web_metrics.h), the event stream (web_stream.h) and the dashboard (web_pages.h).
// docs/web.md is the reference.
//
//   ApiClient client(system, api);
//   WebView web(client);
//   web.add_routes(server);                  // before server.listen()
//   BEL_RETURN_IF_ERROR(server.listen());
//   print(web.sign_in_url("127.0.0.1:8080"));  // http://127.0.0.1:8080/login?once=...
//   ...
//   web.stop();                              // before server.stop(): ends the event streams
//
// Thread-safety: as its parts; `client` must outlive the WebView, which must outlive serving.
#ifndef BEL_ACTORS_WEB_WEB_VIEW_H_
#define BEL_ACTORS_WEB_WEB_VIEW_H_

#include <string>

#include "actors/client/api_client.h"
#include "actors/net/http_server.h"
#include "actors/web/web_session.h"
#include "actors/web/web_stream.h"

namespace bel::actors::web {

class WebView {
 public:
  explicit WebView(ApiClient& client, EventStreamOptions streams = {})
      : client_(client), streams_(client, streams) {}

  void add_routes(HttpServer& server);
  // A new one-time sign-in URL for `endpoint` (HOST:PORT).
  std::string sign_in_url(const std::string& endpoint) {
    return "http://" + endpoint + "/login?once=" + sessions_.new_once();
  }
  WebSessions& sessions() { return sessions_; }
  void stop() { streams_.stop(); }

 private:
  ApiClient& client_;
  WebSessions sessions_;
  EventStreams streams_;
};

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_VIEW_H_
