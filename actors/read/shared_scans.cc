#include "actors/read/shared_scans.h"

#include <algorithm>
#include <utility>

#include "storage/event_page_arena.h"

namespace bel::actors {

SharedScans::SharedScans(int sharers, size_t kept)
    : sharers_(std::max(1, sharers)), kept_(std::max<size_t>(1, kept)) {}

SharedScans::Entry* SharedScans::find(int64_t since_idx, int limit) {
  for (auto& e : entries_) {
    if (e.since_idx == since_idx && e.limit == limit) return &e;
  }
  return nullptr;
}

void SharedScans::forget(int64_t since_idx, int limit) {
  entries_.erase(
      std::remove_if(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.since_idx == since_idx && e.limit == limit; }),
      entries_.end());
}

Result<SharedPage> SharedScans::page(storage::Storage& storage, int64_t since_idx, int limit) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    Entry* entry = find(since_idx, limit);
    // Another reader is reading this page: wait for it. When it is not kept after all (the
    // log's end, or an error), the entry is gone and this reader reads for itself.
    while (entry != nullptr && !entry->page) {
      read_done_.wait(lock);
      entry = find(since_idx, limit);
    }
    if (entry != nullptr) {
      SharedPage page = entry->page;
      ++shares_;
      if (++entry->handed_out >= sharers_) forget(since_idx, limit);
      return page;
    }
    entries_.push_back(Entry{since_idx, limit, nullptr, 1});
  }

  auto page = storage::new_shared_page();
  const EventFilter all;
  Status read = storage.list_events_into(since_idx, all, limit, page.get());
  std::lock_guard<std::mutex> lock(mu_);
  ++reads_;
  Entry* entry = find(since_idx, limit);
  if (!read.ok() || !page->has_more() || sharers_ == 1) {
    forget(since_idx, limit);
  } else if (entry != nullptr) {
    entry->page = page;
    // Beyond `kept`, the oldest pages that are not being read go.
    size_t ready = 0;
    for (const auto& e : entries_) ready += e.page ? 1 : 0;
    for (auto it = entries_.begin(); ready > kept_ && it != entries_.end();) {
      if (it->page) {
        it = entries_.erase(it);
        --ready;
      } else {
        ++it;
      }
    }
  }
  read_done_.notify_all();
  if (!read.ok()) return read.error();
  return SharedPage(std::move(page));
}

int64_t SharedScans::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

int64_t SharedScans::shares() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shares_;
}

}  // namespace bel::actors
