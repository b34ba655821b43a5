// GET /metrics (issue 12): the coordinator's counters in the Prometheus text exposition format
// (version 0.0.4), from the storage actor's StorageStats, the views' ViewsStatus, the HTTP
// server's counters and the open event streams. docs/web.md lists every metric.
//
//   add_metrics_route(server, client);
//
// Thread-safety: the handler runs on the server's threads; `client` and `server` must outlive it.
#ifndef BEL_ACTORS_WEB_WEB_METRICS_H_
#define BEL_ACTORS_WEB_WEB_METRICS_H_

#include <string>

#include "actors/client/api_client.h"
#include "actors/net/http_server.h"

namespace bel::actors::web {

// The exposition text for these figures.
std::string metrics_text(const StorageStats& storage, const ViewsStatus& views,
                         const HttpServerStats& http, int64_t open_streams);

void add_metrics_route(HttpServer& server, ApiClient& client);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_METRICS_H_
