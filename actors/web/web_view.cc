#include "actors/web/web_view.h"

#include "actors/web/web_api.h"
#include "actors/web/web_metrics.h"
#include "actors/web/web_pages.h"

namespace bel::actors::web {

void WebView::add_routes(HttpServer& server) {
  add_session_routes(server, sessions_);
  streams_.add_route(server);  // before the API's /api/v1/events: patterns match in order
  add_api_routes(server, client_);
  add_metrics_route(server, client_);
  add_page_routes(server, client_);
}

}  // namespace bel::actors::web
