// SharedScans: the pages of the log's unfiltered scan, shared by the readers of the views. A
// rebuild of every view, or a start from snapshots of the same idx, has the four views read the
// same pages one after another; each page is then read and parsed once, by whichever reader asks
// first, and handed to the others as it is (an immutable page on an arena of its own).
//
//   auto scans = std::make_shared<SharedScans>(/*sharers=*/4);
//   ReaderOptions options;
//   options.shared_scans = scans;  // every view's reader
//   auto page = scans->page(storage, since_idx, limit);  // what the reader does for scan_atom
//
// Only full pages are kept (has_more: events follow them), since nothing can change them any
// more; a page at the log's end is read by each reader that asks. A kept page goes once every
// sharer has had it, or when newer pages push it out (at most `kept` stay).
//
// Thread-safety: every member may be called from any thread (readers are detached actors).
#ifndef BEL_ACTORS_READ_SHARED_SCANS_H_
#define BEL_ACTORS_READ_SHARED_SCANS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "messages/error.h"
#include "messages/types.h"
#include "storage/storage.h"

namespace bel::actors {

// A page read once and shared, read-only, by every view that asks for it.
using SharedPage = std::shared_ptr<const EventPage>;

class SharedScans {
 public:
  // `sharers`: how many readers ask for the same pages (the views); `kept`: pages kept at most.
  explicit SharedScans(int sharers, size_t kept = 4);

  // The events after `since_idx`, at most `limit` (1..10000), unfiltered: a page another reader
  // read, or is reading now (then it waits for it), else one read from `storage`. Errors are
  // the storage's.
  Result<SharedPage> page(storage::Storage& storage, int64_t since_idx, int limit);

  // Pages read from storage and pages handed out from the kept ones, for tests and stats.
  int64_t reads() const;
  int64_t shares() const;

 private:
  struct Entry {
    int64_t since_idx;
    int limit;
    SharedPage page;     // empty while its reader reads it
    int handed_out = 0;  // to how many readers
  };
  Entry* find(int64_t since_idx, int limit);
  void forget(int64_t since_idx, int limit);

  const int sharers_;
  const size_t kept_;
  mutable std::mutex mu_;
  std::condition_variable read_done_;
  std::deque<Entry> entries_;  // oldest first
  int64_t reads_ = 0;
  int64_t shares_ = 0;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_SHARED_SCANS_H_
