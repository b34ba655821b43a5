// The threads of a local `bel check` (local_check.h): a reader that parses the next page of
// events on a thread of its own while its caller handles the last (PageReader, scan_log), and
// run_both, which runs two pieces of work on two threads.
//
//   auto scanned = scan_log(log, 0, last_idx, storage::EventDetail::full,
//                           [&](BuildEvent* event) { fold.apply(*event); }, progress);
//   run_both([&] { check(job_runs); }, [&] { check(the_others); });
//
// Internal to actors/check. Thread-safety: as each piece says.
#ifndef BEL_ACTORS_CHECK_PAGE_READER_H_
#define BEL_ACTORS_CHECK_PAGE_READER_H_

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "actors/check/local_check.h"
#include "messages/error.h"
#include "storage/event_page_arena.h"
#include "storage/storage.h"

namespace bel::check {

// `*mu` held until the lock returned goes, or nothing held when `mu` is null.
inline std::unique_lock<std::mutex> hold(std::mutex* mu) {
  return mu != nullptr ? std::unique_lock<std::mutex>(*mu) : std::unique_lock<std::mutex>();
}

// What the reading thread does with each page it has read, before the caller gets it.
using PageHook = std::function<void(const EventPage&)>;

// Reads the events of `log` after `since_idx` up to `last_idx`, a page at a time (list_events_into
// an arena page), on a thread of its own: it reads (SQLite and parsing) the next page while the
// caller folds this one, and frees the pages the caller hands back. At most kAhead pages wait.
// `on_read` (may be empty) sees each page on the reading thread, before the caller does.
// Without a thread to be had, the caller reads.
class PageReader {
 public:
  static constexpr size_t kAhead = 2;
  // Events per page, each page parsed onto an arena of its own (storage/event_page_arena.h) and
  // freed at once. Pages of the storage's maximum, 10 000, measured slower than 1 000 on a
  // 1M-event log (and take more memory).
  static constexpr int kPageLimit = storage::kDefaultListLimit;

  // `source` (may be null), read instead of `log` from idx 1, when its reads are every field.
  PageReader(storage::Storage& log, ScanSource* source, int64_t since_idx, int64_t last_idx,
             storage::EventDetail detail, PageHook on_read = {})
      : log_(log),
        source_(since_idx == 0 && detail == storage::EventDetail::full ? source : nullptr),
        last_idx_(last_idx),
        detail_(detail),
        on_read_(std::move(on_read)),
        since_(since_idx) {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      // No thread: next() reads.
    }
  }
  ~PageReader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;

  // The next page; nullptr after the last; the error that stopped the reading.
  Result<std::shared_ptr<EventPage>> next() {
    if (!thread_.joinable()) return read();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty(); });
    Result<std::shared_ptr<EventPage>> out = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    cv_.notify_all();
    return out;
  }

  // Hands back a page the caller is done with, to be freed on the reading thread.
  void done(std::shared_ptr<EventPage> page) {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      returned_.push_back(std::move(page));
    }
    cv_.notify_all();
  }

 private:
  // Reads the page after since_ (nullptr at the end), on whichever thread reads.
  Result<std::shared_ptr<EventPage>> read() {
    if (ended_ || since_ >= last_idx_) return std::shared_ptr<EventPage>();
    std::shared_ptr<EventPage> page = storage::new_shared_page();
    auto read = [&] {
      if (source_ != nullptr) return source_->read_page(since_, kPageLimit, page.get());
      return log_.list_events_into(since_, EventFilter(), kPageLimit, page.get(), detail_);
    };
    if (auto got = read(); !got.ok()) {
      ended_ = true;
      return got.error();
    }
    if (!page->has_more() || page->events().empty()) {
      ended_ = true;
    } else if (page->next_idx() <= since_) {
      ended_ = true;
      return make_error(ErrorCode::storage_corrupt,
                        "list_events since idx " + std::to_string(since_) + " answered next_idx " +
                            std::to_string(page->next_idx()));
    }
    since_ = page->next_idx();
    if (on_read_) on_read_(*page);
    return page;
  }

  void run() {
    bool reading = true;
    while (true) {
      std::vector<std::shared_ptr<EventPage>> to_free;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          return stop_ || !returned_.empty() || (reading && ready_.size() < kAhead);
        });
        if (stop_) return;
        to_free.swap(returned_);
        if (!reading || ready_.size() >= kAhead) continue;  // frees `to_free` first
      }
      to_free.clear();
      auto page = read();
      reading = page.ok() && *page != nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_.push_back(std::move(page));
      }
      cv_.notify_all();
    }
  }

  storage::Storage& log_;
  ScanSource* const source_;
  const int64_t last_idx_;
  const storage::EventDetail detail_;
  const PageHook on_read_;
  int64_t since_;  // the reading thread's alone once it runs
  bool ended_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Result<std::shared_ptr<EventPage>>> ready_;
  std::vector<std::shared_ptr<EventPage>> returned_;
  bool stop_ = false;
  std::thread thread_;
};

// Hands every event of `log` with idx in `since_idx` + 1..`last_idx`, with `detail`, to `f` (as a
// BuildEvent*, which f may change), in scan order; `progress` (may be empty) gets the idx reached
// after each page. `source` (may be null) and `on_read`: see PageReader; a scan that reads the
// source ends at or before its last idx.
template <class F>
Status scan_log(storage::Storage& log, int64_t since_idx, int64_t last_idx,
                storage::EventDetail detail, F f, const std::function<void(int64_t)>& progress,
                ScanSource* source = nullptr, PageHook on_read = {}) {
  if (since_idx >= last_idx) return ok_status();
  PageReader reader(log, source, since_idx, last_idx, detail, std::move(on_read));
  while (true) {
    auto page = reader.next();
    if (!page.ok()) return page.error();
    if (*page == nullptr) return ok_status();
    for (BuildEvent& event : *(*page)->mutable_events()) {
      if (event.idx() > last_idx) break;
      f(&event);
    }
    if (progress) progress(std::min((*page)->next_idx(), last_idx));
    reader.done(std::move(*page));
  }
}

// Runs `other` on a thread of its own and `here` on this one, and returns once both are done;
// without a thread to be had, this one runs both. An exception from either is rethrown here,
// after the thread has joined (never leaving a joinable thread behind).
template <class Other, class Here>
void run_both(Other other, Here here) {
  std::exception_ptr failed;  // of the other thread
  std::thread thread;
  try {
    thread = std::thread([&] {
      try {
        other();
      } catch (...) {
        failed = std::current_exception();
      }
    });
  } catch (const std::system_error&) {
    // No thread: this one runs both.
  }
  try {
    here();
  } catch (...) {
    if (thread.joinable()) thread.join();
    throw;
  }
  if (thread.joinable()) {
    thread.join();
  } else {
    other();
  }
  if (failed) std::rethrow_exception(failed);
}

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_PAGE_READER_H_
