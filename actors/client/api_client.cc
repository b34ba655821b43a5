#include "actors/client/api_client.h"

#include <algorithm>
#include <cassert>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include "projections/queries.h"
#include "storage/checks.h"
#include "storage/storage.h"

namespace bel::actors {
namespace {

using Millis = std::chrono::milliseconds;

std::string waited(Millis timeout) { return std::to_string(timeout.count()) + " ms"; }

// Sends (xs...) to `api` and waits for its Reply. `describe` names the call for error messages;
// it is only evaluated on failure, so a successful call never builds the string.
template <class Reply, class Describe, class... Ts>
Result<Reply> ask(caf::actor_system& system, const BelApi& api, Millis timeout,
                  const Describe& describe, Ts&&... xs) {
  if (!api) {
    return make_error(ErrorCode::storage_unavailable, describe() + ": no bel_api actor");
  }
  try {
    Result<Reply> out = make_error(ErrorCode::internal, describe() + ": no answer");
    // A fresh scoped_actor per call: a late answer to a timed-out request dies with it instead
    // of waiting in the mailbox of the next call.
    caf::scoped_actor self{system};
    self->request(api, timeout, std::forward<Ts>(xs)...)
        .receive([&](Reply& reply) { out = std::move(reply); },
                 [&](caf::error& error) { out = call_error(error, describe(), waited(timeout)); });
    return out;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, describe() + ": " + e.what());
  }
}

// `result` when it answers `query` (Query and QueryResult number their oneof fields alike:
// partition_status = 10, ...), else internal naming what it answered. `describe` names the call.
template <class Describe>
Result<QueryResult> answer_to(const Query& query, Result<QueryResult> result,
                              const Describe& describe) {
  if (!result.ok()) return result;
  if (static_cast<int>(result->result_case()) != static_cast<int>(query.query_case())) {
    return make_error(ErrorCode::internal, describe() + ": answered with " +
                                               std::string(projections::result_name(*result)));
  }
  return result;
}

// Checks `query`, asks it with `atom` and checks that the answer is the one asked for.
template <class Atom>
Result<QueryResult> ask_query(caf::actor_system& system, const BelApi& api, Millis timeout,
                              const char* verb, Atom atom, const Query& query) {
  if (auto ok = projections::check_query(query); !ok.ok()) return ok.error();
  auto describe = [&] {
    return std::string("bel_api ") + verb + " " + projections::describe_query(query);
  };
  return answer_to(query, ask<QueryResult>(system, api, timeout, describe, atom, query), describe);
}

// The questions query_each carries in one message: a message's answers are held whole (a list
// page may be ~100 kB), so far fewer than kMaxQueriesPerMessage.
constexpr size_t kQueriesPerMessage = 1000;

}  // namespace

ApiClient::ApiClient(caf::actor_system& system, BelApi api, std::chrono::milliseconds timeout)
    : system_(system), api_(std::move(api)), timeout_(timeout) {
  assert(timeout_.count() > 0);
}

Result<std::vector<AppendAck>> ApiClient::append(std::vector<BuildEvent> events) const {
  const size_t n = events.size();
  auto describe = [n] { return "bel_api append batch of " + std::to_string(n) + " events"; };
  auto acks =
      ask<AppendAcks>(system_, api_, timeout_, describe, append_atom::value, std::move(events));
  if (!acks.ok()) return acks.error();
  if (static_cast<size_t>(acks->acks_size()) != n) {
    return make_error(ErrorCode::internal, describe() + ": answered with " +
                                               std::to_string(acks->acks_size()) + " acks");
  }
  return std::vector<AppendAck>(std::make_move_iterator(acks->mutable_acks()->begin()),
                                std::make_move_iterator(acks->mutable_acks()->end()));
}

Result<AppendAck> ApiClient::append(BuildEvent event) const {
  auto describe = [id = event.build_request_id()] {
    return "bel_api append event of build request \"" + id + "\"";
  };
  return ask<AppendAck>(system_, api_, timeout_, describe, append_atom::value, std::move(event));
}

Result<QueryResult> ApiClient::query(const Query& query) const {
  return ask_query(system_, api_, timeout_, "query", query_atom::value, query);
}

std::vector<Result<QueryResult>> ApiClient::query_each(const std::vector<Query>& queries) const {
  std::vector<Result<QueryResult>> out;
  out.reserve(queries.size());
  std::vector<size_t> asked;  // the positions of the queries that pass their checks
  for (size_t i = 0; i < queries.size(); ++i) {
    auto ok = projections::check_query(queries[i]);
    out.emplace_back(ok.ok() ? make_error(ErrorCode::internal, "not asked") : ok.error());
    if (ok.ok()) asked.push_back(i);
  }
  for (size_t from = 0; from < asked.size(); from += kQueriesPerMessage) {
    const size_t to = std::min(asked.size(), from + kQueriesPerMessage);
    std::vector<Query> message;
    message.reserve(to - from);
    for (size_t k = from; k < to; ++k) message.push_back(queries[asked[k]]);
    auto describe = [n = message.size()] {
      return "bel_api query_each of " + std::to_string(n) + " questions";
    };
    auto outcomes = ask<QueryOutcomes>(system_, api_, each_wait(timeout_, message.size()), describe,
                                       query_atom::value, each_atom::value, std::move(message));
    if (outcomes.ok() && outcomes->size() != to - from) {
      outcomes =
          make_error(ErrorCode::internal, describe() + ": answered with " +
                                              std::to_string(outcomes->size()) + " outcomes");
    }
    for (size_t k = from; k < to; ++k) {
      const Query& query = queries[asked[k]];
      auto& result = out[asked[k]];
      if (!outcomes.ok()) {
        result = outcomes.error();
        continue;
      }
      auto& outcome = (*outcomes)[k - from];
      auto describe_one = [&] { return "bel_api query " + projections::describe_query(query); };
      result =
          outcome.error
              ? Result<QueryResult>(call_error(outcome.error, describe_one(), waited(timeout_)))
              : answer_to(query, std::move(outcome.answer), describe_one);
    }
  }
  return out;
}

Result<QueryResult> ApiClient::fallback(const Query& query) const {
  return ask_query(system_, api_, timeout_, "fallback", fallback_atom::value, query);
}

Result<EventPage> ApiClient::list_events(const ListEventsRequest& request) const {
  // The storage's own checks, here so that bad arguments never cost a round trip.
  BEL_RETURN_IF_ERROR(storage::check_list_request("bel_api", request));
  auto describe = [&request] {
    return request.order() == v1::EVENT_ORDER_DESCENDING
               ? "bel_api list_events newest first before_idx=" +
                     std::to_string(request.before_idx())
               : "bel_api list_events since_idx=" + std::to_string(request.since_idx());
  };
  return ask<EventPage>(system_, api_, timeout_, describe, list_atom::value, request);
}

Result<EventPage> ApiClient::events_page(EventFilter filter, int64_t since_idx, int limit,
                                         int64_t min_idx) const {
  BEL_RETURN_IF_ERROR(projections::check_min_idx(min_idx));
  if (min_idx > 0) {
    // As a view's answer does: an idx the log has not committed is a timeout, not a page that
    // silently lacks it.
    auto log = stats();
    if (!log.ok()) return log.error();
    if (log->last_idx() < min_idx) {
      return make_error(ErrorCode::timeout,
                        "bel_api list_events: min_idx " + std::to_string(min_idx) +
                            " is beyond the last committed idx " + std::to_string(log->last_idx()));
    }
  }
  ListEventsRequest request;  // list_events checks since_idx, limit and the filter
  request.set_since_idx(since_idx);
  request.set_limit(limit);
  *request.mutable_filter() = std::move(filter);
  return list_events(request);
}

Result<ViewsStatus> ApiClient::views_status() const {
  auto describe = [] { return std::string("bel_api views status"); };
  return ask<ViewsStatus>(system_, api_, timeout_, describe, views_atom::value);
}

Result<ViewsStatus> ApiClient::rebuild(const std::string& view,
                                       std::chrono::milliseconds timeout) const {
  auto describe = [&view] {
    return "bel_api rebuild " + (view.empty() ? std::string("of every view") : view);
  };
  if (timeout.count() <= 0) {
    return make_error(
        ErrorCode::invalid_argument,
        describe() + ": timeout " + std::to_string(timeout.count()) + " ms is not positive");
  }
  return ask<ViewsStatus>(system_, api_, timeout, describe, rebuild_atom::value, view);
}

Result<StorageStats> ApiClient::stats() const {
  auto describe = [] { return std::string("bel_api stats"); };
  return ask<StorageStats>(system_, api_, timeout_, describe, stats_atom::value);
}

Status ApiClient::set_meta(const std::string& key, const std::string& value) const {
  auto describe = [&] { return "bel_api setting meta " + key; };
  auto set = ask<std::string>(system_, api_, timeout_, describe, meta_atom::value, key, value);
  if (!set.ok()) return set.error();
  return ok_status();
}

}  // namespace bel::actors
