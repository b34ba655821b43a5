// What the query views (SPEC section 4) share: paging rules, status classes, count maps, the
// snapshot error and the snapshot header check. The views themselves are in
// partition_status_view.h, build_summary_view.h, job_runs_view.h and activity_view.h.
//
//   auto page = bel::projections::check_page(request.limit(), request.offset());
//   if (!page.ok()) return page.error();          // invalid_argument, not clamped
//   for (... skip page->offset matches, take page->limit ...)
//
// Pure code: no I/O, no clock, no CAF, no logging.
#ifndef BEL_PROJECTIONS_VIEWS_H_
#define BEL_PROJECTIONS_VIEWS_H_

#include <google/protobuf/map.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "messages/error.h"
#include "messages/status_names.h"
#include "messages/types.h"

namespace bel::projections {

inline constexpr int kDefaultLimit = 50;  // a list request with limit 0
inline constexpr int kMaxLimit = 1000;
inline constexpr int kRecentCount = 10;  // ActivityResponse.recent_builds / recent_partitions

// A validated list window: limit in 1..kMaxLimit, offset >= 0.
struct Page {
  int limit = kDefaultLimit;
  int offset = 0;
};

// limit 0 means kDefaultLimit; a limit below 0 or above kMaxLimit, or a negative offset, is
// invalid_argument naming the value (never clamped).
Result<Page> check_page(int32_t limit, int32_t offset);

// Ends a list answer (BuildsListResponse, ...): its total_count, and has_more when rows that match
// lie past this page, which returned `returned` of them.
template <class ListResponse>
void set_page_totals(ListResponse* out, const Page& page, int returned, int64_t total) {
  out->set_total_count(total);
  out->set_has_more(static_cast<int64_t>(page.offset) + returned < total);
}

// Sets an answer's status_code and status_name (the names of SPEC section 4) to `status`.
template <class Answer, class Enum>
void fill_status(Answer* out, Enum status) {
  out->set_status_code(status);
  out->set_status_name(response_status_name(status));
}

// Counts keyed by an enum's numeric value; a key is erased when its count drops to 0, so a
// response map built from it never lists zero counts.
class StatusCounts {
 public:
  void add(int status, int64_t delta);
  int64_t get(int status) const;
  // How many are counted under the statuses of a list's status filter; `all` when it is empty.
  int64_t matching(const std::set<int>& filter, int64_t all) const;
  const std::map<int, int64_t>& counts() const { return counts_; }
  // Fills `out` with enum value name -> count (the names of SPEC section 4).
  template <class Enum>
  void fill(google::protobuf::Map<std::string, int64_t>* out) const;

 private:
  std::map<int, int64_t> counts_;
};

// "build br-7 was cancelled" / "failed" / "completed": how a build request that reached the
// terminal `status` ended, the start of the claims rule's messages (SPEC section 4).
std::string build_ended_text(const std::string& build_request_id, BuildRequestStatus status);

// SPEC section 2: a PartitionInvalidationEvent by an id with no build status yet (no
// BuildRequestEvent or BuildCancelEvent before it) is an operator's action ("operator:<user>"),
// part of no build summary, build list or build count. `status_so_far`: that id's build status
// before `event`, BUILD_REQUEST_UNKNOWN when it has none.
bool is_operator_action(const BuildEvent& event, BuildRequestStatus status_so_far);

class SnapshotWriter;  // snapshot_reader.h
class SnapshotInput;   // snapshot_reader.h

// A snapshot's bytes as they are made, in order, a chunk at a time (each valid during the call).
using SnapshotChunks = std::function<void(std::string_view)>;

// Where a view's serialize() puts the snapshot: the string it returns, `reserve` bytes taken up
// front (the size expected, the last snapshot's say; the bytes do not depend on it); or, given
// `chunks`, that function, the string returned then empty. A caller that compresses or writes
// the bytes as they come thus never holds them whole (a view's snapshot on a 10M-event log is
// hundreds of megabytes).
//
//   std::string bytes = view.serialize(hint);
//   view.serialize(SnapshotTarget([&](std::string_view chunk) { encoder.add(chunk); }));
struct SnapshotTarget {
  SnapshotTarget(size_t reserve = 0) : reserve(reserve) {}              // NOLINT: a size converts
  SnapshotTarget(SnapshotChunks chunks) : chunks(std::move(chunks)) {}  // NOLINT: as does this
  size_t reserve = 0;
  SnapshotChunks chunks;
};

// How far a view has read the log. Every view derives from it, so that as_of_idx and advance_to
// mean the same in each.
class ViewPosition {
 public:
  // The idx of the last event applied (0 for none). Every answer carries it as as_of_idx.
  int64_t as_of_idx() const { return as_of_idx_; }

  // Records that every event up to `idx` has been seen, the ones not applied being of no concern
  // to the answers asked of this view (a fold over a filtered scan): as_of_idx becomes
  // max(as_of_idx, idx). Nothing else changes.
  void advance_to(int64_t idx) { as_of_idx_ = idx > as_of_idx_ ? idx : as_of_idx_; }

 protected:
  // The header every snapshot starts with: `header` (any other header fields already set) with
  // the view's name and version and as_of_idx, written as the start of the snapshot's bytes,
  // for `target`. Defined in snapshot_reader.h, which every serialize() includes.
  template <class Snapshot>
  SnapshotWriter start_snapshot(const char* name, int version, Snapshot header,
                                SnapshotTarget target) const;

  // Reads the header fields of `in` into `snapshot` (SnapshotInput::read_header: the entries
  // follow) and takes its as_of_idx. Defined in snapshot_reader.h, which every restore() includes.
  template <class Snapshot>
  Status read_header(const char* name, int version, SnapshotInput& in, Snapshot* snapshot);

  // restore() of a view kept as a list of entries in first_idx order with an index by id: reads
  // the header (a Snapshot with an entry_count), sizes `list` and `index` for the entries of field
  // `number` and calls visit(entry, order) -> Status for each, `order` the SnapshotEntryOrder the
  // entries must pass. Defined in snapshot_reader.h.
  template <class Snapshot, class Entry, class List, class Index, class Visit>
  Status restore_entry_list(const char* name, int version, SnapshotInput& in, int number,
                            List* list, Index* index, Visit visit);

  int64_t as_of_idx_ = 0;
};

// storage_corrupt: "<view> snapshot: <what>".
Error snapshot_error(std::string_view view, std::string_view what);

// What restore() checks of each entry of a snapshot kept in first_idx order, one entry after
// another: check() wants its first_idx above the previous entry's and nothing it reflects
// (`last_idx`) past the snapshot's `as_of_idx`, else a snapshot_error
// "<entry> has first_idx N out of order", the entry named by its kind and key (e.g. "job run"
// and "jr-1"); and no earlier entry to have had its key (`seen`), else "<entry> appears twice".
// The name is made only for an error: restoring a large view checks every entry.
class SnapshotEntryOrder {
 public:
  SnapshotEntryOrder(std::string_view view, int64_t as_of_idx)
      : view_(view), as_of_idx_(as_of_idx) {}
  Status check(std::string_view kind, std::string_view key, int64_t first_idx, int64_t last_idx,
               bool seen);

 private:
  std::string_view view_;
  int64_t as_of_idx_;
  int64_t previous_idx_ = 0;
};

// Parses `bytes` into `snapshot` (a view's snapshot message, with view and version fields) and
// checks that it is a snapshot of view `name` at `version`: what every restore() does first.
// A snapshot_error when the bytes do not parse or the header names another view or version.
//
//   snap::JobRunsSnapshot s;
//   BEL_RETURN_IF_ERROR(parse_snapshot(kName, kVersion, bytes, &s));
template <class Snapshot>
Status parse_snapshot(std::string_view name, int32_t version, const std::string& bytes,
                      Snapshot* snapshot) {
  if (!snapshot->ParseFromString(bytes)) return snapshot_error(name, "bytes do not parse");
  if (snapshot->view() != name || snapshot->version() != version) {
    return snapshot_error(name, "snapshot is of view \"" + snapshot->view() + "\" version " +
                                    std::to_string(snapshot->version()) + ", expected version " +
                                    std::to_string(version));
  }
  return ok_status();
}


template <class Enum>
void StatusCounts::fill(google::protobuf::Map<std::string, int64_t>* out) const {
  for (const auto& [status, count] : counts_) {
    (*out)[response_status_name(static_cast<Enum>(status))] = count;
  }
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_VIEWS_H_
