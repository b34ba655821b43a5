// bel::actors::Repository, the base of every repository (questions and commands over an
// ApiClient), and ListingRepository and KeyedRepository: the reads every repository of one kind
// of thing (build requests, job runs, partitions) offers — a page of the list, the events of one
// of them and, for KeyedRepository, its summary — each named by its key (a build request id, a
// job run id, a partition ref). BuildsRepository, JobRunsRepository and PartitionsRepository
// derive from them and add their own questions and commands.
//
// `Traits` names the questions:
//   struct BuildsQuestions {
//     static constexpr auto kList = &Query::mutable_builds_list;  // list's question
//     static constexpr auto kListAnswer = &QueryResult::mutable_builds_list;
//     static constexpr std::string* (EventFilter::*kEventsKey)() =  // events' filter
//         &EventFilter::add_build_request_ids;
//     static constexpr auto kShow = &Query::mutable_build_summary;  // show's (KeyedRepository)
//     static constexpr auto kShowKey = &BuildSummaryRequest::mutable_build_request_id;
//     static constexpr auto kShowAnswer = &QueryResult::mutable_build_summary;
//   };
//
// Every read takes an optional `min_idx` (read-your-writes, SPEC section 4): the answer reflects
// at least that idx; pass the idx of an ack to see your own write. 0 asks for no particular idx.
// Every method checks its arguments first and fails with invalid_argument naming the field
// ("build_request_id is empty", "min_idx -1 is negative"); other errors are the ApiClient's.
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_REPOSITORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The message an accessor such as &Query::mutable_builds_list gives: BuildsListRequest.
template <class Accessor>
struct AccessedBy;
template <class Owner, class Message>
struct AccessedBy<Message* (Owner::*)()> {
  using type = Message;
};
template <class Accessor>
using AccessedByT = typename AccessedBy<std::remove_const_t<Accessor>>::type;

// What every repository is: questions (and commands) over an ApiClient it does not own.
class Repository {
 public:
  explicit Repository(ApiClient& api) : api_(api) {}

 protected:
  ApiClient& api_;
};

template <class Traits>
class ListingRepository : public Repository {
 public:
  using ListRequest = AccessedByT<decltype(Traits::kList)>;
  using ListResponse = AccessedByT<decltype(Traits::kListAnswer)>;

  using Repository::Repository;

  // One page of the list (SPEC section 4), in the order and with the filters its request
  // documents. request.limit 0 means 50; a bad limit, offset, pattern or status is
  // invalid_argument. The answer reflects at least the larger of `min_idx` and request.min_idx.
  Result<ListResponse> list(const ListRequest& request, int64_t min_idx = 0) const {
    return api_.ask_for(Traits::kList, request, min_idx, Traits::kListAnswer);
  }

  // Up to `limit` events of the one keyed `key` with idx > `since_idx`, ascending; continue from
  // next_idx while has_more. limit 0 means 1000; the maximum is 10000. An unknown key is not an
  // error: an empty page. The page reads the log itself, which holds every acknowledged event,
  // so it always reflects `min_idx` (checked only: a negative value is invalid_argument).
  Result<EventPage> events(const std::string& key, int64_t since_idx = 0, int limit = 0,
                           int64_t min_idx = 0) const {
    EventFilter filter;  // ApiClient::list_events checks the key
    *(filter.*Traits::kEventsKey)() = key;
    return api_.events_page(std::move(filter), since_idx, limit, min_idx);
  }
};

template <class Traits>
class KeyedRepository : public ListingRepository<Traits> {
 public:
  using Summary = AccessedByT<decltype(Traits::kShowAnswer)>;

  using ListingRepository<Traits>::ListingRepository;

  // The summary of the one keyed `key`. not_found for a key the log (as of the answer) has never
  // seen; a caller that just wrote it should pass its ack's idx as `min_idx`.
  Result<Summary> show(const std::string& key, int64_t min_idx = 0) const {
    return this->api_.ask_about(key, Traits::kShow, Traits::kShowKey, min_idx, Traits::kShowAnswer);
  }

 protected:
  // Appends `event`, a command about the one keyed `key`. The log refuses a command on one that
  // has ended with invalid_transition, whose message speaks of transitions; say what the operator
  // needs instead: read its summary as of everything committed (as of `min_idx` when the stats
  // fail) and, when `ended(summary)` tells how it ended ("br-7 already completed at idx 42"),
  // fail with invalid_transition "<that>; nothing was changed". One the log has never seen fails
  // with the summary's not_found, as a show of it would. Otherwise the log's answer stands.
  template <class Ended>
  Result<AppendAck> append_unless_ended(BuildEvent event, const std::string& key, int64_t min_idx,
                                        Ended ended) const {
    auto ack = this->api_.append(std::move(event));
    if (ack.ok() || ack.error().code != ErrorCode::invalid_transition) return ack;
    auto stats = this->api_.stats();
    auto summary = show(key, stats.ok() ? stats->last_idx() : min_idx);
    if (!summary.ok()) {
      if (summary.error().code != ErrorCode::not_found) return ack;
      return Error{ErrorCode::not_found, summary.error().message + "; nothing was changed"};
    }
    std::optional<std::string> how = ended(*summary);
    if (!how) return ack;
    return Error{ErrorCode::invalid_transition, *how + "; nothing was changed"};
  }
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_REPOSITORY_H_
