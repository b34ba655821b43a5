// Helpers shared by the query tier's actor tests: the SPEC section 4 queries worth asking of a log
// (ReferenceFold::answer is the oracle's answer to each), asking an actor (one request or a
// pipelined list) and waiting with a timeout, and a comparer that reports the first few
// differences.
//
//   testing::ReferenceFold oracle(events);
//   QueryComparer compare("seed 42 after idx 300");
//   auto queries = queries_for(oracle, 300);
//   auto from_views = ask_all(self, api, query_atom::value, queries);
//   for (size_t i = 0; i < queries.size(); ++i) {
//     compare.same(oracle.answer(queries[i]), from_views[i], queries[i], "view");
//   }
//
// Header-only: tests/actors/*_test.cc are one binary and only *_test.cc files are compiled.
#ifndef BEL_TESTS_ACTORS_QUERY_CHECKS_H_
#define BEL_TESTS_ACTORS_QUERY_CHECKS_H_

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "actors/caf_support.h"
#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"
#include "tests/support/queries.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::actors::query_checks {

using testing::random_stream;
using testing::RandomStreamOptions;
using testing::ReferenceFold;

// Every request in these tests is answered within this, or the test fails (never hangs).
inline constexpr auto kTimeout = std::chrono::seconds(30);

// ---- asking actors ------------------------------------------------------------------------------

// Sends `xs...` to `dest` and waits for the answer of type T (or the error) up to kTimeout.
template <class T, class Handle, class... Ts>
Result<T> request_value(caf::scoped_actor& self, const Handle& dest, const Ts&... xs) {
  Result<T> out = make_error(ErrorCode::internal, "no answer");
  self->request(dest, kTimeout, xs...)
      .receive([&](const T& value) { out = value; },
               [&](const caf::error& e) { out = from_caf_error(e); });
  return out;
}

// Asks `dest` every query with `atom` (query_atom or fallback_atom), keeping up to `window`
// requests in flight, and returns the answers in query order.
template <class Handle, class Atom>
std::vector<Result<QueryResult>> ask_all(caf::scoped_actor& self, const Handle& dest, Atom atom,
                                         const std::vector<Query>& queries, size_t window = 32) {
  using Pending = decltype(self->request(dest, kTimeout, atom, queries.front()));
  std::vector<Result<QueryResult>> out;
  out.reserve(queries.size());
  std::deque<Pending> pending;
  size_t next = 0;
  while (out.size() < queries.size()) {
    while (next < queries.size() && pending.size() < window) {
      pending.push_back(self->request(dest, kTimeout, atom, queries[next++]));
    }
    // A blocking actor waiting for one response id leaves other responses in its mailbox.
    Result<QueryResult> answer = make_error(ErrorCode::internal, "no answer");
    pending.front().receive([&](const QueryResult& r) { answer = r; },
                            [&](const caf::error& e) { answer = from_caf_error(e); });
    pending.pop_front();
    out.push_back(std::move(answer));
  }
  return out;
}

// Asks `api` for views_atom until `done` holds or `budget` ran out; returns the last status.
template <class Api>
ViewsStatus wait_for_views(caf::scoped_actor& self, const Api& api,
                           const std::function<bool(const ViewsStatus&)>& done,
                           std::chrono::seconds budget = kTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  ViewsStatus last;
  do {
    auto s = request_value<ViewsStatus>(self, api, views_atom::value);
    if (!s.ok()) {
      ADD_FAILURE() << "views_atom: " << s.error().to_string();
      return last;
    }
    last = std::move(*s);
    if (done(last)) return last;
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

// The status of the view named `name` in `all`; an empty one when absent.
inline ViewStatus view_named(const ViewsStatus& all, const std::string& name) {
  for (const auto& v : all.views()) {
    if (v.view() == name) return v;
  }
  return ViewStatus{};
}

// True when every view is HEALTHY at `idx`.
inline bool all_healthy_at(const ViewsStatus& all, int64_t idx) {
  if (all.views_size() == 0) return false;
  for (const auto& v : all.views()) {
    if (v.state() != v1::VIEW_HEALTHY || v.applied_idx() != idx) return false;
  }
  return true;
}

// ---- the queries --------------------------------------------------------------------------------

using testing::active_builds_query;
using testing::partition_status_query;

// Sets `min_idx` on the list request `request` of `q` when `own_min_idx`, else on the query: a
// list request's own min_idx counts as much as the query's (projections::min_idx_of).
template <class ListRequest>
Query with_min_idx(Query q, ListRequest* (Query::*request)(), int64_t min_idx, bool own_min_idx) {
  if (own_min_idx) {
    (q.*request)()->set_min_idx(min_idx);
  } else {
    q.set_min_idx(min_idx);
  }
  return q;
}

// The partition questions only (what the partition_status view answers).
inline std::vector<Query> partition_queries_for(const testing::ReferenceFold& oracle,
                                                int64_t min_idx) {
  std::vector<Query> out;
  const auto refs = oracle.partition_refs();
  for (const auto& ref : refs) {
    out.push_back(partition_status_query(ref, min_idx));
    out.push_back(active_builds_query(ref, min_idx));
  }
  out.push_back(partition_status_query("data/none/never-seen", min_idx));
  out.push_back(active_builds_query("data/none/never-seen", min_idx));
  auto list = [&](int limit, int offset, std::vector<PartitionStatus> filter, std::string pattern,
                  bool own_min_idx) {
    out.push_back(with_min_idx(
        testing::partitions_list_query(limit, offset, std::move(filter), std::move(pattern)),
        &Query::mutable_partitions_list, min_idx, own_min_idx));
  };
  list(0, 0, {}, "", false);
  list(5, 0, {}, "", true);
  list(5, 5, {}, "", false);
  list(3, 1000, {}, "", true);
  list(1000, 0, {}, "", false);
  list(7, 2, {v1::PARTITION_AVAILABLE}, "", false);
  list(4, 0, {v1::PARTITION_FAILED, v1::PARTITION_INVALIDATED}, "", true);
  list(10, 1, {v1::PARTITION_BUILDING, v1::PARTITION_SCHEDULED, v1::PARTITION_REQUESTED}, "",
       false);
  list(0, 0, {v1::PARTITION_DELEGATED}, "", false);
  list(3, 0, {}, "data/sales/*", true);
  list(50, 2, {v1::PARTITION_AVAILABLE}, "data/*/2024-0[5-6]-0?", false);
  list(0, 0, {}, "*-01", false);
  if (!refs.empty()) list(0, 0, {}, refs.front(), false);
  list(1001, 0, {}, "", false);          // invalid_argument
  list(5, -3, {}, "", false);            // invalid_argument
  list(5, 0, {}, "data/[sales", false);  // invalid_argument: bad pattern
  return out;
}

// Every kind of question of SPEC section 4 about what `oracle`'s events name, each with min_idx
// (the query's own or, for some lists, the list request's).
inline std::vector<Query> queries_for(const testing::ReferenceFold& oracle, int64_t min_idx) {
  std::vector<Query> out = partition_queries_for(oracle, min_idx);

  auto add_build = [&](const std::string& id) {
    out.push_back(testing::build_summary_query(id, min_idx));
  };
  for (const auto& id : oracle.build_request_ids()) add_build(id);
  add_build("br-never-seen");  // not_found
  auto builds = [&](int limit, int offset, std::vector<BuildRequestStatus> filter,
                    bool own_min_idx) {
    out.push_back(with_min_idx(testing::builds_list_query(limit, offset, std::move(filter)),
                               &Query::mutable_builds_list, min_idx, own_min_idx));
  };
  builds(0, 0, {}, false);
  builds(3, 0, {}, true);
  builds(3, 3, {}, false);
  builds(10, 100000, {}, false);
  builds(1000, 0, {}, true);
  builds(5, 1, {v1::BUILD_REQUEST_COMPLETED}, false);
  builds(0, 0,
         {v1::BUILD_REQUEST_EXECUTING, v1::BUILD_REQUEST_PLANNING, v1::BUILD_REQUEST_RECEIVED,
          v1::BUILD_REQUEST_ANALYSIS_COMPLETED},
         false);
  builds(4, 2, {v1::BUILD_REQUEST_FAILED, v1::BUILD_REQUEST_CANCELLED}, true);
  builds(-5, 0, {}, false);  // invalid_argument

  auto add_run = [&](const std::string& id) { out.push_back(testing::job_run_query(id, min_idx)); };
  for (const auto& id : oracle.job_run_ids()) add_run(id);
  add_run("jr-never-seen");  // not_found
  const auto labels = oracle.job_labels();
  auto runs = [&](int limit, int offset, std::string label, std::vector<JobStatus> filter,
                  bool own_min_idx) {
    out.push_back(with_min_idx(
        testing::job_runs_list_query(limit, offset, std::move(filter), std::move(label)),
        &Query::mutable_job_runs_list, min_idx, own_min_idx));
  };
  runs(0, 0, "", {}, false);
  runs(4, 4, "", {}, true);
  runs(10, 100000, "", {}, false);
  runs(1000, 0, "", {}, false);
  runs(6, 1, "", {v1::JOB_COMPLETED}, true);
  runs(0, 0, "", {v1::JOB_SCHEDULED, v1::JOB_RUNNING}, false);
  runs(0, 0, "", {v1::JOB_FAILED, v1::JOB_CANCELLED, v1::JOB_SKIPPED}, false);
  for (const auto& label : labels) runs(3, 1, label, {v1::JOB_COMPLETED, v1::JOB_FAILED}, false);
  runs(0, 0, "//jobs:never_seen", {}, false);
  runs(1001, 0, "", {}, false);  // invalid_argument

  auto add_metrics = [&](const std::string& label) {
    Query q = testing::job_metrics_query(label);
    q.set_min_idx(min_idx);
    out.push_back(std::move(q));
  };
  for (const auto& label : labels) add_metrics(label);
  add_metrics("//jobs:never_seen");  // not_found
  {
    Query q;
    q.set_min_idx(min_idx);
    q.mutable_job_metrics_list();
    out.push_back(std::move(q));
  }
  {
    Query q;
    q.set_min_idx(min_idx);
    q.mutable_activity();
    out.push_back(std::move(q));
  }
  return out;
}

// ---- comparing ----------------------------------------------------------------------------------

// Compares answers with the oracle's; reports the first few differences with `context` (which
// names the seed), counts the rest.
class QueryComparer {
 public:
  explicit QueryComparer(std::string context) : context_(std::move(context)) {}

  void same(const Result<QueryResult>& want, const Result<QueryResult>& got, const Query& query,
            const std::string& source) {
    ++compared_;
    const std::string what = context_ + ": " + projections::describe_query(query) + " {" +
                             query.ShortDebugString() + "} from the " + source;
    if (want.ok() != got.ok()) {
      report(what + ": oracle " + (want.ok() ? "answered" : want.error().to_string()) + ", got " +
             (got.ok() ? "an answer" : got.error().to_string()));
      return;
    }
    if (!want.ok()) {
      if (want.error().code != got.error().code) {
        report(what + ": oracle " + want.error().to_string() + ", got " + got.error().to_string());
      }
      return;
    }
    if (google::protobuf::util::MessageDifferencer::Equals(*want, *got)) return;
    google::protobuf::util::MessageDifferencer d;
    std::string diff;
    d.ReportDifferencesToString(&diff);
    d.Compare(*want, *got);
    report(what + " differs from the oracle:\n" + diff);
  }

  int failures() const { return failures_; }
  int64_t compared() const { return compared_; }

 private:
  static constexpr int kMaxReported = 5;

  void report(const std::string& message) {
    if (++failures_ <= kMaxReported) ADD_FAILURE() << message;
  }

  std::string context_;
  int failures_ = 0;
  int64_t compared_ = 0;
};

// Asks `dest` every query of `queries` with `atom` and compares each answer with the oracle's.
template <class Handle, class Atom>
void expect_answers(caf::scoped_actor& self, const Handle& dest, Atom atom,
                    const std::vector<Query>& queries, const testing::ReferenceFold& oracle,
                    const std::string& source, QueryComparer& compare) {
  auto got = ask_all(self, dest, atom, queries);
  for (size_t i = 0; i < queries.size(); ++i) {
    compare.same(oracle.answer(queries[i]), got[i], queries[i], source);
  }
}

// The number of queries that pass projections::check_query (the rest never reach a view).
inline int64_t valid_count(const std::vector<Query>& queries) {
  int64_t n = 0;
  for (const auto& q : queries) n += projections::check_query(q).ok() ? 1 : 0;
  return n;
}

}  // namespace bel::actors::query_checks

#endif  // BEL_TESTS_ACTORS_QUERY_CHECKS_H_
