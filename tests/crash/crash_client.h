// A crash-harness client (SPEC section 9, R1): a process that appends to a `bel serve`
// coordinator which the driver kills and restarts, and reports every acknowledgement.
//
//   run_crash_client(options);   // in a forked child, before any actor system exists there
//
// Protocol with the driver:
//  - standard input (`control_fd`): lines "<generation> <host:port>" naming the coordinator's
//    endpoint after each (re)start, and "stop" once the driver wants the client to finish: the
//    client completes the unit it is in (retrying until it is acknowledged) and exits 0.
//  - `ack_fd` (a pipe shared by all clients; each record is one write below PIPE_BUF, so
//    records never interleave): one line per acknowledged event,
//      "A <client> <unit> <idx> <event_id> <build_request_id> <duplicate 0|1>"
//    and one line per event whose fate the client cannot know (an append without its own
//    event_id that failed, so it is not retried),
//      "U <client> <unit> <build_request_id>".
//
// Units, chosen by the client's seeded generator:
//  - a batch with the client's own event_ids (bel::new_event_id()): a new build request, its
//    partitions REQUESTED and a job run SCHEDULED; retried with the same ids until acknowledged;
//  - one event with its own id moving an earlier partition to SCHEDULED; retried likewise;
//  - one event, or a batch of three, of new build requests without event_ids: the log assigns
//    them, so a failed attempt is not retried (reported with "U").
// Every failure (the coordinator was killed, a timeout) makes the client reconnect to the newest
// endpoint it was given, waiting on standard input for a newer one while nothing answers there
// (and trying the same one again now and then: a slow coordinator is not a dead one).
#ifndef BEL_TESTS_CRASH_CRASH_CLIENT_H_
#define BEL_TESTS_CRASH_CRASH_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace bel::crash {

struct CrashClientOptions {
  int client = 0;
  uint64_t seed = 1;
  std::string log_uri;  // for the token file beside the log
  int control_fd = 0;
  int ack_fd = 1;
  // Per request: a request in flight when the coordinator dies is given up after this long.
  std::chrono::milliseconds timeout{3000};
};

// Runs until told to stop; returns the process exit code (0, or 1 after an unexpected error
// such as an invalid_transition, which it prints on standard error).
int run_crash_client(const CrashClientOptions& options);

}  // namespace bel::crash

#endif  // BEL_TESTS_CRASH_CRASH_CLIENT_H_
