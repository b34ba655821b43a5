// ConsoleEndpoint: what makes a coordinator reachable by `bel` commands and by a browser (SPEC
// section 6, R6): the HTTP endpoint of the console's calls, the web API and the dashboard, with
// its token, advertised in an SQLite log so that `bel ... --log FILE` goes through it. `bel serve`
// runs one; a program that embeds the coordinator starts its own the same way, so operators can
// cancel, invalidate and rebuild views on its log while it runs:
//
//   auto api = bel::actors::start_coordinator(system, "sqlite:///var/lib/bel/log.db");
//   auto endpoint = bel::actors::ConsoleEndpoint::start(system, *api, log_uri);
//   if (!endpoint.ok()) ...;                        // names the address or the token file
//   log(endpoint->get()->endpoint());               // "127.0.0.1:41234"
//   ...
//   endpoint->get()->stop();                        // before stop_coordinator(*api)
//
// Without an endpoint a `bel` command that writes meets the coordinator's writer lock: it waits,
// then fails naming the process that holds the log.
#ifndef BEL_ACTORS_WEB_CONSOLE_ENDPOINT_H_
#define BEL_ACTORS_WEB_CONSOLE_ENDPOINT_H_

#include <caf/all.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "actors/bel_api.h"
#include "messages/error.h"

namespace bel::actors {

struct ConsoleEndpointOptions {
  // HOST:PORT to listen on; port 0 takes any free port. Beyond loopback it needs token_file.
  std::string listen = "127.0.0.1:0";
  // The operator's token file (mode 0600, at least 32 hex digits), which consoles present with
  // --token-file. Empty: a fresh token, written beside an SQLite log ("<log file>.token") where
  // consoles on this host find it; a log that is no file here (PostgreSQL) then needs one.
  std::string token_file;
  // The bodies of the requests being served at once; beyond it requests are answered overloaded.
  size_t max_inflight_bytes = 64u << 20;
};

class ConsoleEndpoint {
 public:
  // Takes the address (nothing is answered yet) and the token. invalid_argument for an address
  // that does not parse, one beyond loopback without a token file, or no token file for a log
  // that is no file here; the token file's own error; storage_unavailable when the address is
  // taken. `bel serve` binds before it opens the log, so a taken port makes no log.
  static Result<std::unique_ptr<ConsoleEndpoint>> bind(const std::string& log_uri,
                                                       ConsoleEndpointOptions options);
  // Answers from `api` (the coordinator of the log bind() was given): writes a fresh token's
  // file, listens, and advertises the endpoint in an SQLite log (best effort: a failure is logged
  // as a warning, and consoles given --connect reach it all the same). `system` must outlive
  // stop().
  Status serve(caf::actor_system& system, const BelApi& api);
  // bind() then serve().
  static Result<std::unique_ptr<ConsoleEndpoint>> start(caf::actor_system& system,
                                                        const BelApi& api,
                                                        const std::string& log_uri,
                                                        ConsoleEndpointOptions options = {});

  // HOST:PORT as bound (the port chosen when 0 was asked).
  std::string endpoint() const;
  // The file that holds the token consoles present.
  const std::string& token_path() const;
  // Opens the dashboard once in a browser and signs it in (after serve()).
  std::string sign_in_url();

  // Withdraws the advertisement, ends the dashboard's event streams, answers the requests under
  // way and closes the port. Idempotent; the destructor calls it. Call it before
  // stop_coordinator.
  void stop();
  ~ConsoleEndpoint();

 private:
  struct Impl;
  explicit ConsoleEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_WEB_CONSOLE_ENDPOINT_H_
