// The candidate side of `bel bench` P1/P2 (SPEC section 8): acknowledged appends per second
// through bel's real write path, on a fresh SQLite log. An event-based client actor keeps up to
// `window` single-event appends in flight (each answered after its COMMIT) until every event is
// acknowledged; a window above 1000 is kept by several such clients of at most 1000 each, each
// sending the events of its build requests in order. A coordinator's client sends through the
// client library's Appender unless told to send a request per append (AppendClient).
//
//   bel::bench::AckedAppendsOptions options;
//   options.log_path = dir + "/bel.db";        // must not exist yet
//   options.window = 1000;
//   auto m = bel::bench::measure_acked_appends(options, events, progress);
//   if (!m.ok()) return m.error();            // startup failed, or an append was refused
//   double per_second = m->per_second;        // m->stats: commits, group sizes
//
// Timing starts when the client sends its first append and stops at the last acknowledgement:
// starting and stopping the actors is not measured. Any refused append (invalid event,
// overloaded, timeout, ...) fails the measurement: a figure over a partly refused run would
// mean nothing.
#ifndef BEL_BENCH_ACKED_APPENDS_H_
#define BEL_BENCH_ACKED_APPENDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/raw_sqlite.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::bench {

// Which actor the client talks to.
enum class AppendPath {
  // The bel_api of a coordinator started in this process (start_coordinator): supervisor ->
  // storage actor, with every view subscribed and folding the committed events, as in
  // production. The default.
  coordinator,
  // The storage actor alone (LogWriter + spawn_storage_actor), nothing subscribed: isolates the
  // write path from the views (a diagnostic).
  storage_actor,
  // Not bel: an actor that writes each append as one row of the pure-append ceiling's table and
  // answers after COMMIT (bench/pure_append_actor.h). What actor-fed single-event appends reach
  // on this machine when nothing else is done for them (a diagnostic).
  pure_actor,
  // Not bel: the same actor, each row with its event_id under a UNIQUE index (a diagnostic).
  ids_actor,
};

// How the client sends its appends to a coordinator or to a bare actor (pure_actor, ids_actor:
// they take the Appender's messages too, so that they are fed as bel is); the storage actor alone
// takes requests only.
enum class AppendClient {
  // Through the client library's Appender (actors/client/appender.h): the appends made while
  // earlier ones are answered travel together, each its own append. The default, as producers
  // are advised to send.
  appender,
  // One CAF request per append.
  requests,
};

struct AckedAppendsOptions {
  std::string log_path;  // the SQLite file to create; must not exist
  std::string uri;       // a log URI to use instead (a fresh PostgreSQL schema); empty: log_path
  int window = 1000;     // appends in flight at most (over every client); >= 1
  bool durability_full = true;
  AppendPath path = AppendPath::coordinator;
  AppendClient client = AppendClient::appender;
};

// Acknowledgement latency (send to answer) of one run, in microseconds.
struct Latency {
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
};

// The percentiles of `samples_us` (nearest rank); zeros when empty.
Latency latency_percentiles(std::vector<double> samples_us);

struct AckedAppends {
  int64_t events = 0;
  double seconds = 0;
  double per_second = 0;   // acknowledged appends per second
  double cpu_seconds = 0;  // this process's CPU (all threads) from the first send to the last ack
  // Of it, the storage actor's thread's (named kStorageThreadName); -1 when the path has none
  // (the bare actors of bench/pure_append_actor.h).
  double storage_thread_cpu_seconds = -1;
  double storage_thread_runqueue_seconds = -1;  // and its wait for a core, -1 likewise
  StorageStats stats;      // the storage actor's counters after the run
  // Of the window, the storage actor's thread's wall seconds in append groups and in index batches
  // (StorageStats::commit_seconds, index_seconds over the run); -1 when the path has none.
  double storage_commit_seconds = -1;
  double storage_index_seconds = -1;
  Latency latency_us;      // per acknowledged append
  int64_t messages = 0;    // that carried the appends (one per append without the Appender)
  // events_appended / commits: the group size group commit achieved.
  double average_group() const {
    return stats.commits() > 0
               ? static_cast<double>(stats.events_appended()) / static_cast<double>(stats.commits())
               : 0;
  }
};

// Appends `events` one per request to a fresh log at options.log_path and reports the rate.
// `progress` is called from the calling thread every 100 ms with the acknowledgements so far.
Result<AckedAppends> measure_acked_appends(const AckedAppendsOptions& options,
                                           const std::vector<BuildEvent>& events,
                                           const ProgressFn& progress = {});

// Every AppendPath, for the values of --via (to_string of each).
inline constexpr AppendPath kAppendPaths[] = {AppendPath::coordinator, AppendPath::storage_actor,
                                              AppendPath::pure_actor, AppendPath::ids_actor};

// "coordinator" / "storage-actor" / "pure-actor" / "ids-actor".
const char* to_string(AppendPath path);

// "appender" / "requests".
const char* to_string(AppendClient client);

}  // namespace bel::bench

#endif  // BEL_BENCH_ACKED_APPENDS_H_
