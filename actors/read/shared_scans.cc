#include "actors/read/shared_scans.h"

#include <algorithm>
#include <utility>

#include "storage/event_page_arena.h"

namespace bel::actors {

SharedScans::Member::Member(std::shared_ptr<SharedScans> scans) : scans_(std::move(scans)) {
  std::lock_guard<std::mutex> lock(scans_->mu_);
  id_ = scans_->next_member_++;
  scans_->members_[id_] = Scanning{};
}

SharedScans::Member::~Member() {
  std::lock_guard<std::mutex> lock(scans_->mu_);
  scans_->members_.erase(id_);
  scans_->prune();
}

Result<SharedPage> SharedScans::Member::page(storage::Storage& storage, int64_t since_idx,
                                             int limit) {
  return scans_->page(id_, storage, since_idx, limit);
}

SharedScans::Entry* SharedScans::find(int64_t since_idx, int limit) {
  for (auto& e : entries_) {
    if (e.since_idx == since_idx && e.limit == limit) return &e;
  }
  return nullptr;
}

void SharedScans::prune() {
  auto wanted = [this](const Entry& e) {
    if (!e.page || e.waiters > 0) return true;  // being read, or waited for
    for (const auto& [id, m] : members_) {
      if (m.scanning && m.since_idx <= e.since_idx) return true;
    }
    return false;
  };
  entries_.erase(
      std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return !wanted(e); }),
      entries_.end());
  size_t ready = 0;
  for (const auto& e : entries_) ready += e.page ? 1 : 0;
  for (auto it = entries_.begin(); ready > kept_ && it != entries_.end();) {
    if (it->page && it->waiters == 0) {
      it = entries_.erase(it);
      --ready;
    } else {
      ++it;
    }
  }
}

Result<SharedPage> SharedScans::page(int member, storage::Storage& storage, int64_t since_idx,
                                     int limit) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    members_[member] = Scanning{since_idx, true};
    Entry* entry = find(since_idx, limit);
    // Another member is reading this page: read the one after it meanwhile, so that two pages
    // are read at once. idx are contiguous, so it starts at since_idx + limit (a guess that
    // misses leaves a page nobody asks for, which prune() drops).
    if (entry != nullptr && !entry->page && find(since_idx + limit, limit) == nullptr &&
        ready_pages() < kept_) {
      entries_.push_back(Entry{since_idx + limit, limit, nullptr, 0});
      lock.unlock();
      (void)fill(member, storage, since_idx + limit, limit, /*ahead=*/true);
      lock.lock();
      entry = find(since_idx, limit);
    }
    // Another member is reading this page: wait for it. When it is not kept after all (the
    // log's end, or an error), the entry is gone and this member reads for itself.
    if (entry != nullptr && !entry->page) {
      // The waiters count keeps the page once read, until each waiter has taken it.
      ++entry->waiters;
      read_done_.wait(lock, [&] {
        entry = find(since_idx, limit);
        return entry == nullptr || entry->page != nullptr;
      });
      if (entry != nullptr) --entry->waiters;
    }
    if (entry != nullptr) {
      SharedPage page = entry->page;
      ++shares_;
      members_[member].since_idx = since_idx + 1;  // past this page: it no longer holds it
      prune();
      return page;
    }
    entries_.push_back(Entry{since_idx, limit, nullptr, 0});
  }
  return fill(member, storage, since_idx, limit, /*ahead=*/false);
}

size_t SharedScans::ready_pages() const {
  size_t ready = 0;
  for (const auto& e : entries_) ready += e.page ? 1 : 0;
  return ready;
}

Result<SharedPage> SharedScans::fill(int member, storage::Storage& storage, int64_t since_idx,
                                     int limit, bool ahead) {
  auto page = storage::new_shared_page();
  Status read = ok_status();
  try {
    read = storage.list_events_into(since_idx, EventFilter(), limit, page.get(),
                                    storage::EventDetail::views);
  } catch (...) {  // the entry must not stay "being read": the others would wait forever
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) {
                                    return e.since_idx == since_idx && e.limit == limit;
                                  }),
                   entries_.end());
    read_done_.notify_all();
    if (ahead) return make_error(ErrorCode::internal, "reading ahead failed");
    throw;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++reads_;
  const bool at_end = !read.ok() || !page->has_more();
  if (!ahead) {
    if (at_end) members_[member].scanning = false;
    members_[member].since_idx = since_idx + 1;  // past this page: it no longer holds it
  }
  for (auto& e : entries_) {
    if (e.since_idx == since_idx && e.limit == limit && !e.page) e.page = page;
  }
  // A page at the log's end is not kept, as later commits may extend it; unless it holds
  // `limit` events: those are the ones any later read of it returns.
  if (!read.ok() || (at_end && page->events_size() < limit)) {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.page == page; }),
                   entries_.end());
  }
  prune();
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

size_t SharedScans::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& e : entries_) n += e.page ? 1 : 0;
  return n;
}

int SharedScans::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& e : entries_) n += e.waiters;
  return n;
}

}  // namespace bel::actors
