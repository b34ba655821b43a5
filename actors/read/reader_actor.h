// Reader actors (DESIGN "Read path"): detached actors, each with its own read-only handle onto the
// log (its own SQLite connection), that run scans beside the writer so a scan never blocks an
// append or a view query. They serve list_events, snapshot loads, and the fallback answer of a
// query: a scan folded with the same projection code as the views (projections/queries.h).
//
//   auto storage = open_storage(uri, {}); auto reader = (*storage)->open_reader();
//   ReaderActor r = spawn_reader_actor(system, std::move(*reader), {});
//   self->request(r, kTimeout, fallback_atom::value, query).then(
//       [](const QueryResult& answer) { ... }, [](const caf::error& e) { ... });
#ifndef BEL_ACTORS_READ_READER_ACTOR_H_
#define BEL_ACTORS_READ_READER_ACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/caf_support.h"
#include "actors/read/shared_scans.h"
#include "storage/storage.h"

namespace bel::actors {

// Whatever answers a query from a scan of the log: the query actor (which spreads the scans over
// its readers) or a single reader.
using FallbackActor = caf::typed_actor<caf::replies_to<fallback_atom, Query>::with<QueryResult>>;

// fallback_atom: the answer to `query` from a scan of the log as of its last committed idx.
// timeout when that idx is below the query's min_idx (the events asked for are not committed yet).
using ReaderActor = FallbackActor::extend<
    // list_events (SPEC 3.1); errors as the storage's (invalid_argument for bad arguments).
    caf::replies_to<list_atom, ListEventsRequest>::with<EventPage>,
    // The unfiltered events after since_idx, at most limit (1..10000), as a read-only page that
    // the readers sharing ReaderOptions::shared_scans read once between them (a view's catch-up);
    // its events have storage::EventDetail::views.
    caf::replies_to<scan_atom, int64_t, int32_t>::with<SharedPage>,
    // The newest snapshot of (view, version); applied_idx 0 and no data when there is none.
    caf::replies_to<load_atom, std::string, int32_t>::with<ViewSnapshot>,
    // The log's last committed idx.
    caf::replies_to<last_idx_atom>::with<int64_t>>;

struct ReaderOptions {
  // Events read per page of a scan.
  int page_size = 10000;
  // The pages of unfiltered scans this reader shares with others (the views' readers); none:
  // it reads every page itself.
  std::shared_ptr<SharedScans> shared_scans;
  // Test seam: called after each page of a fallback scan, on the reader's thread. Never set in
  // production.
  std::function<void()> after_page;
  // Test seam: false runs the reader on the scheduler instead of its own thread, so CAF's test
  // coordinator can drive it. Never set in production.
  bool detached = true;
};

// Spawns a detached reader owning `storage` (a read-only handle from Storage::open_reader()).
ReaderActor spawn_reader_actor(caf::actor_system& system, std::unique_ptr<storage::Storage> storage,
                               ReaderOptions options = {});

// Scans `storage` and answers `query` as of the log's last idx (what the reader actor runs).
// timeout when the last idx is below min_idx_of(query).
Result<QueryResult> answer_from_scan(storage::Storage& storage, const Query& query,
                                     const ReaderOptions& options = {});

}  // namespace bel::actors

// A shared page is only ever sent between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bel::actors::SharedPage)

#endif  // BEL_ACTORS_READ_READER_ACTOR_H_
