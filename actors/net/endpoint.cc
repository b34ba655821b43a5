#include "actors/net/endpoint.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace bel::actors {
namespace {

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

Result<Endpoint> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  const bool bracketed = !text.empty() && text.front() == '[';
  const auto close = text.find(']');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() ||
      (bracketed && (close == std::string::npos || close + 1 != colon)) ||
      (!bracketed && text.find(':') != colon)) {
    return make_error(ErrorCode::invalid_argument,
                      "endpoint \"" + text +
                          "\" is not HOST:PORT (e.g. 127.0.0.1:4390, or [::1]:4390 for IPv6)");
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  errno = 0;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
    return make_error(ErrorCode::invalid_argument,
                      "endpoint \"" + text + "\": port \"" + port_text + "\" is not 0..65535");
  }
  Endpoint out;
  out.host = strip_brackets(text.substr(0, colon));
  out.port = static_cast<uint16_t>(port);
  if (out.host.empty()) {
    return make_error(ErrorCode::invalid_argument, "endpoint \"" + text + "\" has no host");
  }
  return out;
}

std::string format_endpoint(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_loopback_host(const std::string& text) {
  const std::string host = strip_brackets(text);
  if (host == "localhost") return true;
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace bel::actors
