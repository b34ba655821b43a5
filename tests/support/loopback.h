// A TCP connection to a port on 127.0.0.1, for tests that write raw bytes to a server.
//
//   const int fd = bel::testing::connect_loopback(server.port());
//   ASSERT_GE(fd, 0);
#ifndef BEL_TESTS_SUPPORT_LOOPBACK_H_
#define BEL_TESTS_SUPPORT_LOOPBACK_H_

#include <cstdint>

namespace bel::testing {

// A connected socket (the caller closes it), or -1.
int connect_loopback(uint16_t port);

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_LOOPBACK_H_
