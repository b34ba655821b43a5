// The console's calls over HTTP (SPEC section 6, R6): one route per bel_api call, protobuf bodies.
//
//   POST /rpc/v1/hello         (no body)            -> "bel.v1", header Bel-Protocol: 1
//   POST /rpc/v1/append        BuildEvent           -> AppendAck
//   POST /rpc/v1/append_batch  AppendRequest        -> AppendAcks   (one atomic batch)
//   POST /rpc/v1/query         Query                -> QueryResult
//   POST /rpc/v1/query_each    QueryBatch           -> QueryBatchOutcomes (each answered alone)
//   POST /rpc/v1/fallback      Query                -> QueryResult  (from a scan, `bel check`)
//   POST /rpc/v1/list          ListEventsRequest    -> EventPage
//   POST /rpc/v1/views         (no body)            -> ViewsStatus
//   POST /rpc/v1/rebuild       StringValue (view)   -> ViewsStatus
//   POST /rpc/v1/stats         (no body)            -> StorageStats
//   POST /rpc/v1/validation_mode  StringValue ("strict" or "lenient") -> StringValue (the mode set)
// Requests carry "Authorization: Bearer <token>" and "Content-Type: application/x-protobuf";
// answers are the reply message in binary protobuf, or an error as HttpServer answers it (the
// SPEC section 7 code in the Bel-Error header and the JSON body). bel_api's meta call is served
// for the validation mode only (`bel validation`): the other meta values, such as the endpoint
// the coordinator advertises, only the coordinator itself sets.
//
//   HttpServer server(options);
//   add_rpc_routes(server, system, api);
//   BEL_RETURN_IF_ERROR(server.listen());
//
// Each request is answered by a blocking call on `api` from the server's thread, waiting at most
// kRpcCallTimeout (kRpcRebuildTimeout for rebuild); the client side is actors/net/remote_api.h.
#ifndef BEL_ACTORS_NET_RPC_SERVER_H_
#define BEL_ACTORS_NET_RPC_SERVER_H_

#include <chrono>

#include <caf/all.hpp>

#include "actors/bel_api.h"
#include "actors/net/http_server.h"

namespace bel::actors {

inline constexpr const char* kRpcPath = "/rpc/v1/";
inline constexpr const char* kRpcProtocol = "1";
inline constexpr const char* kProtobufType = "application/x-protobuf";
inline constexpr std::chrono::seconds kRpcCallTimeout{60};
inline constexpr std::chrono::minutes kRpcRebuildTimeout{10};
// The one meta value a console sets through the endpoint: the log's validation mode (SPEC
// section 2; actors/write/log_writer.h, kValidationModeKey), by the call of the same name. The
// other meta values (the endpoint the coordinator advertises) are the coordinator's own.
inline constexpr const char* kRpcMetaKey = "validation_mode";

// Registers the routes above on `server`, answering from `api`. `system` must outlive `server`.
// An append_batch of more than `max_batch_events` events (0: no such check) is answered
// `overloaded` before its events are decoded: pass the coordinator's pending limit
// (StorageStats::max_pending_events), which such a batch could never be admitted under. Bodies
// are decoded only while the bytes they are estimated to take decoded (messages/decoded_size.h),
// all together, stay within `max_decoded_bytes` (0: no such bound); one that would not is
// `overloaded` before it is decoded: "split it" when it alone is over, else "retry later".
void add_rpc_routes(HttpServer& server, caf::actor_system& system, BelApi api,
                    size_t max_batch_events = 0, size_t max_decoded_bytes = 0);

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_RPC_SERVER_H_
