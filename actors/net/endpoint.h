// Console endpoints: "HOST:PORT" text, IPv6 in brackets ("[::1]:4390"), and whether a host is
// loopback (SPEC R6: beyond loopback a coordinator needs an operator's token file).
//
//   auto ep = bel::actors::parse_endpoint("[::1]:4390");     // ep->host == "::1", ep->port == 4390
//   bool local = bel::actors::is_loopback_host(ep->host);     // true
//   std::string text = bel::actors::format_endpoint(ep->host, ep->port);  // "[::1]:4390"
#ifndef BEL_ACTORS_NET_ENDPOINT_H_
#define BEL_ACTORS_NET_ENDPOINT_H_

#include <cstdint>
#include <string>

#include "messages/error.h"

namespace bel::actors {

struct Endpoint {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// Splits "HOST:PORT" or "[V6]:PORT". invalid_argument naming `text` otherwise.
Result<Endpoint> parse_endpoint(const std::string& text);

// "HOST:PORT", with brackets around an IPv6 address.
std::string format_endpoint(const std::string& host, uint16_t port);

// True for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (brackets allowed). Names other than
// "localhost" are not resolved: they count as beyond loopback.
bool is_loopback_host(const std::string& host);

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_ENDPOINT_H_
