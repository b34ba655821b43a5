// Folding the views in one streaming pass over the log, without a coordinator, and saving their
// snapshots (docs/query-tier.md, "Snapshots" and "Rebuild in one pass"):
//  - rebuild_view_snapshots: `bel views rebuild` with no coordinator running: fresh views folded
//    from idx 1; their snapshots are replaced, so the next start restores the rebuilt state.
//  - refresh_view_snapshots: what an in-process writer (`bel append`) does after appending: each
//    view whose snapshot is due under the snapshot policy (view_actor.h, snapshot_due_after) is
//    restored from it, folded over the tail and saved again. Nothing is read when none is due.
//
//   auto log = storage::open_storage(uri, {});            // writable: it saves snapshots
//   auto report = rebuild_view_snapshots(**log, {ViewKind::activity}, progress);
//   if (!report.ok()) return fail(report.error());        // the scan's or the save's error
//   print(report->views);                                 // ViewsStatus, each HEALTHY
//
// The log is read once, a page at a time, from the lowest idx any view needs (each event parsed
// once, whatever the number of views); the next page is read while the views fold this one, on
// two threads (each view on one of them); then the snapshots are serialized and compressed two at a
// time, one on each thread. Memory is the views' state plus two pages, and then the bytes of at
// most two views. A view whose
// fold throws is reported FAILED with the idx, and its snapshot is left as it was; an unreadable
// snapshot is ignored (that view folds from idx 1).
//
// Call these only while holding the log's writer lock (no coordinator runs on the log): a running
// coordinator keeps its own views. `log` is used by one thread at a time: the calling thread,
// and a second thread only to save snapshots, holding a lock the caller's saves take too.
// Nothing throws.
#ifndef BEL_ACTORS_CHECK_VIEW_REBUILD_H_
#define BEL_ACTORS_CHECK_VIEW_REBUILD_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "actors/read/view_actor.h"
#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"
#include "storage/storage.h"

namespace bel::check {

struct ViewRebuildReport {
  ViewsStatus views;   // one entry per view folded, with last_idx set
  int64_t events = 0;  // events read
  int64_t snapshot_bytes = 0;
};

// (idx folded, log's last idx) after each page; may be empty.
using FoldProgress = std::function<void(int64_t, int64_t)>;

// Folds every event of `log` into fresh views of `kinds` (every view when empty) and saves their
// snapshots.
Result<ViewRebuildReport> rebuild_view_snapshots(storage::Storage& log,
                                                 const std::vector<projections::ViewKind>& kinds,
                                                 const FoldProgress& progress);

// Brings up to date the snapshots that are due under `policy` (its snapshot_every_events and
// snapshot_bytes_per_event; a view without a snapshot is due once the log holds that many
// events). The report lists only the views folded.
Result<ViewRebuildReport> refresh_view_snapshots(storage::Storage& log,
                                                 const actors::ViewActorConfig& policy,
                                                 const FoldProgress& progress);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_VIEW_REBUILD_H_
