// The console side of the HTTP transport: a local bel_api actor that forwards every request to a
// coordinator's /rpc/v1/ routes (actors/net/rpc_server.h), so ApiClient and the repositories work
// the same on a remote coordinator as on one in this process.
//
//   auto channel = std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", 4390}, token);
//   auto hello = channel->hello(std::chrono::seconds(5));   // is a bel coordinator there?
//   if (!hello.ok()) return hello.error();                   // unauthorized, not bel, ...
//   BelApi api = spawn_remote_api(system, channel);
//   ApiClient client(system, api);                           // as with a local coordinator
//   ...
//   channel->stop();                                         // before the system shuts down
//   caf::anon_send_exit(api, caf::exit_reason::user_shutdown);
//
// Errors: the coordinator's own (with their SPEC section 7 code); storage_unavailable naming the
// call and the endpoint when nothing answers or the connection breaks: a coordinator that dies
// during a request is known as soon as its process is gone (the kernel closes the connection),
// not at the client's timeout. An append cut off that way may or may not have been committed.
// The bel_api meta call is refused (invalid_argument): it is not served over the network.
//
// Thread-safety: RpcChannel calls are serialized by a mutex; stop() may be called from any thread.
// The forwarding actor is detached (it blocks on the network) and answers one request at a time,
// over one keep-alive connection.
#ifndef BEL_ACTORS_NET_REMOTE_API_H_
#define BEL_ACTORS_NET_REMOTE_API_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <caf/all.hpp>

#include "actors/bel_api.h"
#include "actors/net/endpoint.h"
#include "messages/error.h"

namespace httplib {
class Client;
}

namespace bel::actors {

class RpcChannel {
 public:
  RpcChannel(Endpoint endpoint, std::string token);
  ~RpcChannel();

  // Asks whether a bel coordinator answers there and takes the token. Nothing (no error) when
  // nothing answers within `timeout` (a stale endpoint); unauthorized for a refused token;
  // storage_unavailable when something else answers.
  Result<bool> hello(std::chrono::milliseconds timeout);

  // POST /rpc/v1/<call> with `body`; the answer's body, or the error. Waits at most
  // `read_timeout` for the answer.
  Result<std::string> call(const std::string& call, const std::string& body,
                           std::chrono::milliseconds read_timeout);

  // POST /api/v1/sign-in: the path of a new one-time link that signs a browser in to the
  // coordinator's web view ("/login?once=...", actors/web/web_session.h).
  Result<std::string> sign_in(std::chrono::milliseconds read_timeout);

  // Breaks a call under way (it fails with storage_unavailable) and fails every later one.
  void stop();

  const std::string& endpoint() const { return text_; }

 private:
  // POST to /rpc/v1/<call>, or to `call` itself when it is a path ("/api/v1/...").
  Result<std::string> post(const std::string& call, const std::string& body,
                           std::chrono::milliseconds read_timeout, bool handshake);

  Endpoint endpoint_;
  std::string text_;
  std::string token_;
  std::mutex mutex_;         // one call at a time on the connection
  std::mutex stop_mutex_;    // guards stopped_ and the client's socket against stop()
  bool stopped_ = false;
  std::unique_ptr<httplib::Client> client_;
};

// Spawns the forwarding actor (detached) on `system`. It stops the channel when it exits.
BelApi spawn_remote_api(caf::actor_system& system, std::shared_ptr<RpcChannel> channel);

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_REMOTE_API_H_
