// SharedScans: the pages of the log's unfiltered scan, shared by the readers of the views. A
// rebuild of every view, or a start from snapshots of the same idx, has the four views read the
// same pages one after another; each page is then read and parsed once, by whichever reader asks
// first, and handed to the others as it is (an immutable page on an arena of its own). A reader
// that asks for a page another is reading reads the page after it meanwhile (idx are contiguous:
// it starts at since + limit), so that two pages are parsed at once: the pages, not the folds,
// were what a rebuild's views waited for.
//
//   auto scans = std::make_shared<SharedScans>();
//   SharedScans::Member member(scans);             // one per reader (ReaderOptions::shared_scans)
//   auto page = member.page(storage, since_idx, limit);  // what the reader does for scan_atom
//
// A page is kept only while a member waits for it or is scanning from before it or at it (it may
// still ask for it, or is reading the page after it meanwhile), at most `kept` pages, and only a
// page whose content can no longer change: events follow it (has_more), or it holds `limit`
// events; a shorter page at the log's end is read by each member that asks. A member
// scans from its first request until it gets a page at the log's end (or an error), or leaves. So
// once every view has caught up, nothing is kept.
//
// Thread-safety: every member may be used from its own thread (readers are detached actors).
#ifndef BEL_ACTORS_READ_SHARED_SCANS_H_
#define BEL_ACTORS_READ_SHARED_SCANS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "messages/error.h"
#include "messages/types.h"
#include "storage/storage.h"

namespace bel::actors {

// How many pages a coordinator's views keep between them (SharedScans' `kept`). Pages hold 10 000
// events (ViewActorConfig::catch_up_page), a few MB each. With two pages read at once, 8 let a
// 1M-event rebuild read ~125 pages for its 100, where 4 needed ~160.
inline constexpr size_t kSharedPagesKept = 8;

// A page read once and shared, read-only, by every view that asks for it; its events have
// storage::EventDetail::views (what the views read).
using SharedPage = std::shared_ptr<const EventPage>;

class SharedScans {
 public:
  explicit SharedScans(size_t kept = 4) : kept_(kept) {}

  // One reader's membership: joins on construction, leaves on destruction.
  class Member {
   public:
    explicit Member(std::shared_ptr<SharedScans> scans);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // The events after `since_idx`, at most `limit` (1..10000), unfiltered: a page another
    // member read, or is reading now (then it first reads the page after it, when nobody has
    // that one and fewer than `kept` pages are kept, and then waits), else one read from
    // `storage`. Errors are the storage's (those of reading ahead are dropped: the request for
    // that page reads it again).
    Result<SharedPage> page(storage::Storage& storage, int64_t since_idx, int limit);

   private:
    std::shared_ptr<SharedScans> scans_;
    int id_;
  };

  // Pages read from storage, pages handed out from the kept ones, and pages kept now (for tests
  // and stats).
  int64_t reads() const;
  int64_t shares() const;
  size_t kept() const;
  // Members waiting now for a page another member is reading.
  int waiting() const;

 private:
  struct Entry {
    int64_t since_idx;
    int limit;
    SharedPage page;  // empty while its reader reads it
    int waiters = 0;  // members waiting for its reader
  };
  struct Scanning {
    // The since_idx of the page it asks for, and 1 past it once it has that page: it holds
    // the pages that start at or after this.
    int64_t since_idx = 0;
    bool scanning = false;
  };

  Result<SharedPage> page(int member, storage::Storage& storage, int64_t since_idx, int limit);
  // Reads the page of the entry (since_idx, limit) just added (its page empty), hands it to the
  // members waiting for it, and keeps it unless it is at the log's end or the read failed.
  // `ahead`: a page read ahead of this member's scan, which leaves the scan as it is (and whose
  // exceptions become errors: nobody asked for it).
  Result<SharedPage> fill(int member, storage::Storage& storage, int64_t since_idx, int limit,
                          bool ahead);
  // Pages read and kept. Holds mu_.
  size_t ready_pages() const;
  Entry* find(int64_t since_idx, int limit);
  // Drops the pages no scanning member stands before, then the oldest beyond kept_. Holds mu_.
  void prune();

  const size_t kept_;
  mutable std::mutex mu_;
  std::condition_variable read_done_;
  std::deque<Entry> entries_;  // oldest first
  std::map<int, Scanning> members_;
  int next_member_ = 0;
  int64_t reads_ = 0;
  int64_t shares_ = 0;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_SHARED_SCANS_H_
