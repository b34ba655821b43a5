#include "actors/web/web_view.h"

#include "actors/web/web_api.h"
#include "actors/web/web_metrics.h"
#include "actors/web/web_pages.h"

namespace bel::actors::web {

namespace {

// On every answer, pages and JSON alike: no script but the pages' own file and no other origin's
// content runs in them, no page is framed (or clicked through a frame), nothing is sniffed into
// another type, cached or named in a Referer. The pages' style is inline (a <style> element and
// the timelines' style attributes).
const httplib::Headers kSecurityHeaders = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
     "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cache-Control", "no-store"},
};

}  // namespace

void WebView::add_routes(HttpServer& server) {
  server.set_default_headers(kSecurityHeaders);
  add_session_routes(server, sessions_);
  streams_.add_route(server);  // before the API's /api/v1/events: patterns match in order
  add_api_routes(server, client_);
  add_metrics_route(server, client_);
  add_page_routes(server, client_);
}

}  // namespace bel::actors::web
