// bel::actors::ApiClient: blocking calls on a BelApi from a thread that is not an actor (console
// commands, tests, the coordinator's own main thread). Every call waits at most a finite timeout
// and returns a Result; nothing throws. The repositories (PartitionsRepository, ...) are built on
// it.
//
//   auto api = bel::actors::start_coordinator(system, "sqlite://bel.db");
//   bel::actors::ApiClient client(system, *api);                // 30 s per call
//   event.set_event_id(bel::new_event_id());  // optional: a retry with this id is idempotent
//   Result<AppendAck> ack = client.append(event);                // after COMMIT
//   if (!ack.ok()) return ack.error();
//   Query q;
//   q.set_min_idx(ack->idx());                                   // read your own write
//   q.mutable_partition_status()->set_partition_ref("data/a");
//   Result<QueryResult> r = client.query(q);                     // r->partition_status()
//
// It talks to the actor through the BelApi interface only, so a handle obtained from another
// process works the same as one from start_coordinator.
//
// Event ids: leave event_id empty and the log assigns a time-ordered UUIDv7; a producer that
// wants to retry safely sets its own, best with bel::new_event_id() (messages/event_id.h, included
// here), which is time-ordered too and so cheaper for the log to index than a random UUID.
//
// Thread-safe: each call uses its own caf::scoped_actor, so calls on several threads never see
// each other's answers, and an answer that arrives after its call timed out is dropped. Never
// call it from an actor's message handler: it blocks the calling thread until the answer.
#ifndef BEL_ACTORS_CLIENT_API_CLIENT_H_
#define BEL_ACTORS_CLIENT_API_CLIENT_H_

#include <caf/all.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "actors/bel_api.h"
#include "messages/error.h"
#include "messages/event_id.h"
#include "messages/types.h"

namespace bel::actors {

class ApiClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{30 * 1000};
  // Rebuilding a view folds the whole log: far longer than any other call.
  static constexpr std::chrono::milliseconds kDefaultRebuildTimeout{10 * 60 * 1000};

  // Calls `api` on `system`, waiting at most `timeout` per call. Owns neither: `system` must
  // outlive the client; the actor behind `api` may stop at any time (calls then fail with
  // storage_unavailable). REQUIRES: timeout > 0
  ApiClient(caf::actor_system& system, BelApi api,
            std::chrono::milliseconds timeout = kDefaultTimeout);

  // Error contract of every call below:
  //  - the actor's own errors (invalid_event, invalid_transition, not_found, overloaded, ...)
  //    come back unchanged, as from_caf_error() makes them;
  //  - no answer within the timeout: timeout, naming the call and the wait,
  //    e.g. "bel_api query partition_status(data/a): no answer within 30000 ms". The request may
  //    still take effect later (an append may yet commit): retry appends with the same event_id;
  //  - the actor is gone (or the handle is invalid): storage_unavailable, naming the call.

  // Appends `events` as one atomic batch (SPEC section 2): all are committed, or none and the
  // error names the batch position. One ack per event, in order; a retried event (same event_id,
  // same content) is acked with duplicate = true. An empty batch is refused: invalid_argument,
  // "append: the batch has no events".
  Result<std::vector<AppendAck>> append(std::vector<BuildEvent> events) const;

  // Appends one event; answered after its commit.
  Result<AppendAck> append(BuildEvent event) const;

  // Answers `query` (SPEC section 4), reflecting at least its min_idx. A bad query (no field set,
  // an empty ref / id / label, a negative min_idx, a bad limit, offset or pattern) fails with
  // invalid_argument naming the field, without asking the actor. On success the result field set
  // is the one named like the query's (query.build_summary -> result.build_summary).
  Result<QueryResult> query(const Query& query) const;

  // Asks every query of `queries` as query() does, many to a message (bel_api's (query_atom,
  // each_atom, queries); through the console protocol one call per message): one result per
  // query, in order, each its own answer or error. A bad query is invalid_argument, never sent;
  // a message that gets no answer in time (each_wait(timeout(), its questions): the timeout per
  // kQueriesInFlightPerMessage questions) fails every query it carried. Far cheaper than a call per
  // question for many small ones
  // (`bel check` asks hundreds of thousands).
  std::vector<Result<QueryResult>> query_each(const std::vector<Query>& queries) const;

  // The same as query(), answered from a scan of the log instead of a view (`bel check`).
  Result<QueryResult> fallback(const Query& query) const;

  // One page of list_events (SPEC 3.1): events matching request.filter with idx > since_idx,
  // ascending; continue from next_idx while has_more. With order EVENT_ORDER_DESCENDING, events
  // with idx < before_idx (0: from the newest), newest first; continue with before_idx =
  // next_idx. limit 0 means 1000. The page reads the log itself, so it holds every event
  // acknowledged before the call. A negative since_idx / before_idx, a since_idx with descending
  // order or a limit outside 0..10000 fails with invalid_argument naming the field, without
  // asking the actor; a bad filter is the storage's invalid_argument.
  Result<EventPage> list_events(const ListEventsRequest& request) const;

  // Asks `query` reflecting at least `min_idx` and returns the answer's field that `take` names
  // (e.g. &QueryResult::mutable_builds_list): the shape of every repository read.
  template <class Answer>
  Result<Answer> ask_for(Query query, int64_t min_idx, Answer* (QueryResult::*take)()) const;

  // The same for a Query whose one question, named by `put` (e.g. &Query::mutable_builds_list),
  // is `question`: the shape of every repository list.
  template <class Question, class Answer>
  Result<Answer> ask_for(Question* (Query::*put)(), const Question& question, int64_t min_idx,
                         Answer* (QueryResult::*take)()) const;

  // The same for a question that names one thing, `key`, in the field `key_field` gives (e.g.
  // &BuildSummaryRequest::mutable_build_request_id): the shape of every repository show.
  template <class Question, class Answer>
  Result<Answer> ask_about(const std::string& key, Question* (Query::*put)(),
                           std::string* (Question::*key_field)(), int64_t min_idx,
                           Answer* (QueryResult::*take)()) const;

  // One page of list_events for `filter`, after checking `min_idx` (invalid_argument when
  // negative; timeout when beyond the log's last committed idx, as a view's answer): the page
  // reads the log itself, which holds every acknowledged event, so it reflects any min_idx up to
  // that. The shape of every repository's events().
  Result<EventPage> events_page(EventFilter filter, int64_t since_idx, int limit,
                                int64_t min_idx) const;

  // Every view's health, with the log's last idx.
  Result<ViewsStatus> views_status() const;

  // Rebuilds the view named `view` (every view for "") and answers when done, waiting at most
  // `timeout` (not the client's). not_found for an unknown view name.
  Result<ViewsStatus> rebuild(const std::string& view,
                              std::chrono::milliseconds timeout = kDefaultRebuildTimeout) const;

  // The storage actor's counters.
  Result<StorageStats> stats() const;

  // Sets the log's meta value `key` through the coordinator's writer: "validation_mode" to
  // "strict" or "lenient" switches how it judges transitions from the next append on (SPEC
  // section 2; invalid_argument for any other value), and is kept in the log for every writer
  // that opens it later.
  Status set_meta(const std::string& key, const std::string& value) const;

  std::chrono::milliseconds timeout() const { return timeout_; }
  const BelApi& api() const { return api_; }

 private:
  caf::actor_system& system_;
  BelApi api_;
  std::chrono::milliseconds timeout_;
};

template <class Answer>
Result<Answer> ApiClient::ask_for(Query query, int64_t min_idx,
                                  Answer* (QueryResult::*take)()) const {
  query.set_min_idx(min_idx);
  auto result = this->query(query);
  if (!result.ok()) return result.error();
  return std::move(*((*result).*take)());
}

template <class Question, class Answer>
Result<Answer> ApiClient::ask_for(Question* (Query::*put)(), const Question& question,
                                  int64_t min_idx, Answer* (QueryResult::*take)()) const {
  Query query;  // query() checks every field
  *(query.*put)() = question;
  return ask_for(std::move(query), min_idx, take);
}

template <class Question, class Answer>
Result<Answer> ApiClient::ask_about(const std::string& key, Question* (Query::*put)(),
                                    std::string* (Question::*key_field)(), int64_t min_idx,
                                    Answer* (QueryResult::*take)()) const {
  Question question;  // query() checks the key
  *(question.*key_field)() = key;
  return ask_for(put, question, min_idx, take);
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_API_CLIENT_H_
