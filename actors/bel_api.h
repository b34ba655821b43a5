// bel_api: the one typed actor interface that in-process build workers, the coordinator's own
// code and the console use for appends and every query of SPEC section 4 (SPEC section 5).
//
//   BelApi api = *bel::actors::start_coordinator(system, "sqlite://bel.db");  // coordinator.h
//   self->request(api, kTimeout, append_atom::value, event)
//       .then([=](const AppendAck& ack) { ... });                     // after COMMIT
//   Query q;
//   q.set_min_idx(ack.idx());                                          // read your own write
//   q.mutable_partition_status()->set_partition_ref("data/a");
//   self->request(api, kTimeout, query_atom::value, q)
//       .then([=](const QueryResult& r) { use(r.partition_status()); });
//
// Errors arrive as caf::error of the bel category; from_caf_error() turns them back into
// bel::Error (invalid_event, invalid_transition, not_found, overloaded, timeout, ...). A batch's
// error names the event by its place ("append #3: partition_event.partition_ref is empty"); an
// event appended alone, or as one of an each-message, is named by none.
//
// Every append is answered: after its COMMIT, with its rejection, or with an error when the
// coordinator's storage actor or the coordinator stops (SPEC R9). A producer that keeps many
// appends in flight may therefore ask with caf::infinite and keep one deadline of its own (or
// monitor the coordinator): CAF 0.17 registers each request's timeout with its clock thread,
// a few microseconds of CPU per append across three threads (docs/performance.md). Keep at most
// about a thousand requests in flight per actor, too: CAF 0.17 searches an actor's pending
// requests linearly for each answer: one producer with 8 000 in flight cost ~6 µs more CPU per
// append than with 1 000 (docs/performance.md). More appends in flight belong to more actors
// (one per worker), or in batches. The coordinator itself keeps no request per append, whatever is
// in flight.
//
// A producer with many single-event appends in flight sends them best through an Appender
// (actors/client/appender.h): it carries the appends made while its earlier ones are answered in
// one (append_atom, each_atom, events) message, each event still its own append, answered alone.
#ifndef BEL_ACTORS_BEL_API_H_
#define BEL_ACTORS_BEL_API_H_

#include <algorithm>
#include <caf/all.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/caf_support.h"

namespace bel::actors {

// The answer to one of the independent appends of (append_atom, each_atom, events): its ack, or
// the error refusing it (a default caf::error when acknowledged).
struct AppendOutcome {
  AppendAck ack;
  caf::error error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AppendOutcome& x) {
  return f(caf::meta::type_name("bel.AppendOutcome"), x.ack, x.error);
}

using AppendOutcomes = std::vector<AppendOutcome>;

// The answer to one of the independent questions of (query_atom, each_atom, queries): its answer,
// or the error refusing it (a default caf::error when answered).
struct QueryOutcome {
  QueryResult answer;
  caf::error error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, QueryOutcome& x) {
  return f(caf::meta::type_name("bel.QueryOutcome"), x.answer, x.error);
}

using QueryOutcomes = std::vector<QueryOutcome>;

// The most questions one (query_atom, each_atom, queries) message may carry; more are refused
// with invalid_argument (ApiClient::query_each splits longer lists).
inline constexpr size_t kMaxQueriesPerMessage = 10000;

// The questions of one such message the coordinator asks at once: enough to keep the four views
// busy, few enough that a message of questions for a failed view (each a fallback scan) stays
// inside the query actor's bound on fallback scans (actors/read/query_actor.h).
inline constexpr size_t kQueriesInFlightPerMessage = 8;

// How long to wait for the answer to a message of `questions` questions, given the wait for one:
// one wait per kQueriesInFlightPerMessage questions, since a message of slow questions (fallback
// scans of a failed view) takes that many turns.
inline std::chrono::milliseconds each_wait(std::chrono::milliseconds one, size_t questions) {
  const size_t turns = std::max<size_t>(
      1, (questions + kQueriesInFlightPerMessage - 1) / kQueriesInFlightPerMessage);
  return one * static_cast<int64_t>(turns);
}

using BelApi = caf::typed_actor<
    // One event / one atomic batch; answered after its COMMIT (SPEC section 2).
    caf::replies_to<append_atom, BuildEvent>::with<AppendAck>,
    caf::replies_to<append_atom, std::vector<BuildEvent>>::with<AppendAcks>,
    // Independent single-event appends carried in one message: each is admitted, checked,
    // stored and refused alone, exactly as if sent by itself in this order; one outcome per
    // event, in order, once every one is answered. An error for the whole message only when none
    // could be taken (the coordinator stopping, its storage actor down).
    caf::replies_to<append_atom, each_atom, std::vector<BuildEvent>>::with<AppendOutcomes>,
    // Any question of SPEC section 4; the answer reflects at least min_idx_of(query).
    caf::replies_to<query_atom, Query>::with<QueryResult>,
    // Independent questions carried in one message: each answered exactly as if asked by itself
    // (its own answer or error, reflecting at least its own min_idx), one outcome per question,
    // in order, once every one is answered; kQueriesInFlightPerMessage are asked at a time. An
    // error for the whole message only when it cannot be answered at all (the coordinator
    // stopping, more than kMaxQueriesPerMessage questions, no answer within the caller's wait:
    // wait each_wait(one question's wait, questions)).
    caf::replies_to<query_atom, each_atom, std::vector<Query>>::with<QueryOutcomes>,
    // The same question answered from a scan of the log, never from a view (`bel check`).
    caf::replies_to<fallback_atom, Query>::with<QueryResult>,
    // list_events (SPEC 3.1): the events of a partition, build request, job run, ...
    caf::replies_to<list_atom, ListEventsRequest>::with<EventPage>,
    // Every view's health, with the log's last idx.
    caf::replies_to<views_atom>::with<ViewsStatus>,
    // Rebuilds the view named (every view for ""); answers when done. not_found for an unknown
    // name.
    caf::replies_to<rebuild_atom, std::string>::with<ViewsStatus>,
    // The storage actor's counters.
    caf::replies_to<stats_atom>::with<StorageStats>,
    // Sets a meta value of the log (see StorageActor): validation_mode, coordinator_endpoint.
    caf::replies_to<meta_atom, std::string, std::string>::with<std::string>>;

}  // namespace bel::actors

#endif  // BEL_ACTORS_BEL_API_H_
