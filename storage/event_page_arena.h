// Pages of events on a protobuf arena. A scan of the whole log reads a million events; parsed
// onto the heap, every string of every event is one malloc and one free, and with glibc the
// freeing of each page (malloc_consolidate) cost about as much as the parsing. On an arena a
// page's events take a few large blocks, freed at once.
//
//   PageArena arena;
//   for (int64_t since = 0; ...) {
//     EventPage* page = arena.fresh();  // the previous page is gone
//     if (auto read = log.list_events_into(since, filter, limit, page); !read.ok()) ...
//   }
//   std::shared_ptr<EventPage> shared = new_shared_page();  // freed with its last reference
//
// Thread-safety: a PageArena has one owner. A shared page may be read from any thread once
// filled; only its filler writes to it.
#ifndef BEL_STORAGE_EVENT_PAGE_ARENA_H_
#define BEL_STORAGE_EVENT_PAGE_ARENA_H_

#include <google/protobuf/arena.h>

#include <memory>

#include "messages/types.h"

namespace bel::storage {

class PageArena {
 public:
  PageArena();

  // An empty page on the arena, after freeing every page fresh() returned before.
  EventPage* fresh();

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;
};

// An empty page on an arena of its own, which goes with the last reference to the page.
std::shared_ptr<EventPage> new_shared_page();

}  // namespace bel::storage

#endif  // BEL_STORAGE_EVENT_PAGE_ARENA_H_
