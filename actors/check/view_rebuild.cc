#include "actors/check/view_rebuild.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include "actors/read/view_restore.h"
#include "projections/stored_answers.h"
#include "storage/event_page_arena.h"
#include "storage/snapshot_codec.h"

namespace bel::check {
namespace {

using projections::AllViews;
using projections::ViewKind;

// One view of a fold: where it starts and how it ended.
struct Folded {
  Folded(ViewKind k, int64_t from) : kind(k), from_idx(from) {}
  ViewKind kind;
  int64_t from_idx;  // its state reflects every event up to here
  int64_t failed_at = 0;
  std::string error;
  // The plain size of its last snapshot (0 when there is none): room to reserve for the next;
  // -1 until it is looked up.
  int64_t last_snapshot_bytes = -1;
  // The partition status view's: the activity view that shares its fold (ActivityView::
  // share_fold), folded with it event by event rather than on its own.
  Folded* sharer = nullptr;
};

// The plain size of view `kind`'s snapshot in `log`; 0 when there is none or it cannot be read
// (only a hint for the room to reserve).
int64_t stored_plain_size(storage::Storage& log, ViewKind kind) {
  static const AllViews kTypes;  // for the view's type only
  return AllViews::with_view(kTypes, kind, [&](const auto& type) -> int64_t {
    using View = std::decay_t<decltype(type)>;
    auto info = log.snapshot_info(View::kName, View::kVersion);
    return info.ok() && *info ? (*info)->plain_size : 0;
  });
}

// Restores view `kind` of `views` from its snapshot in `log` when that snapshot is due under
// `policy`: the snapshot's idx (0 when there is none or it cannot be used), and its plain size in
// `*bytes`. Nothing when it is not due (then only its idx and size are read: snapshot_info).
Result<std::optional<int64_t>> restore_if_due(storage::Storage& log, ViewKind kind,
                                              const actors::ViewActorConfig& policy,
                                              int64_t last_idx, AllViews& views, int64_t* bytes) {
  return AllViews::with_view(views, kind, [&](auto& view) -> Result<std::optional<int64_t>> {
    using View = std::decay_t<decltype(view)>;
    // Whether it is due, from the snapshot's idx and plain size alone: an append that makes none
    // due reads no blob.
    auto info = log.snapshot_info(View::kName, View::kVersion);
    if (!info.ok()) return info.error();
    const int64_t at = *info ? std::max<int64_t>(0, (*info)->applied_idx) : 0;
    *bytes = *info ? (*info)->plain_size : 0;
    // Past the log's end (a damaged row): it would never see what follows; written again.
    if (at > last_idx) return std::optional<int64_t>(0);
    if (last_idx - at < actors::snapshot_due_after(policy, *bytes)) return std::optional<int64_t>();
    if (at == 0) return std::optional<int64_t>(0);
    // As stored: decompressed only as the restore reads it (actors/read/view_restore.h).
    auto snapshot = log.load_stored_snapshot(View::kName, View::kVersion);
    if (!snapshot.ok()) return snapshot.error();
    if (!*snapshot || (*snapshot)->applied_idx <= 0) return std::optional<int64_t>(0);
    const int64_t loaded_at = (*snapshot)->applied_idx;
    auto restored = actors::restore_view<View>(std::move((*snapshot)->data), (*snapshot)->encoded);
    if (!restored.ok()) return std::optional<int64_t>(0);  // unreadable: fold from idx 1
    view = std::move(*restored);
    return std::optional<int64_t>(loaded_at);
  });
}

// A second thread for the fold: start() hands it a task, wait() returns once the task is done.
// One task at a time. Without a thread to be had, start() runs the task itself.
class Worker {
 public:
  Worker() {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      // No thread: start() runs each task on the caller's thread.
    }
  }
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start(std::function<void()> task) {
    if (!thread_.joinable()) {
      task();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_ = std::move(task);
    }
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return !task_; });
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      changed_.wait(lock, [this] { return stopping_ || task_; });
      if (!task_) return;  // stopping, nothing left to do
      lock.unlock();
      task_();  // task_ is only replaced once wait() has seen it empty
      lock.lock();
      task_ = nullptr;
      changed_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable changed_;
  std::function<void()> task_;  // the task under way; empty when idle
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

// Applies `event` to view `f` unless it failed: whether it did.
bool fold_event(AllViews& views, const BuildEvent& event, Folded& f) {
  if (f.failed_at != 0) return false;
  try {
    views.apply(f.kind, event);
    return true;
  } catch (const std::exception& ex) {
    f.failed_at = event.idx();
    f.error = ex.what();
    return false;
  }
}

// Applies the events of `page` to view `f`, unless it failed, from the first event it is behind,
// and each right after to the view sharing its fold (Folded::sharer). When `f` fails, so does
// that view: the fold it reads may be half applied.
void fold_page(AllViews& views, const EventPage& page, Folded& f) {
  for (const auto& event : page.events()) {
    if (f.failed_at != 0) return;
    if (event.idx() <= f.from_idx) continue;
    if (fold_event(views, event, f)) {
      if (f.sharer != nullptr) fold_event(views, event, *f.sharer);
    } else if (f.sharer != nullptr && f.sharer->failed_at == 0) {
      f.sharer->failed_at = f.failed_at;
      f.sharer->error = "the " + std::string(projections::view_name(f.kind)) +
                        " view whose fold it shares failed: " + f.error;
    }
  }
}

// Folds `page` into the views of `group` not yet taken, taking one at a time from `*next`: the two
// threads share a page's views this way, each folding the next one as soon as it is free.
void fold_taken(AllViews& views, const EventPage& page, const std::vector<Folded*>& group,
                std::atomic<size_t>* next) {
  for (size_t i = next->fetch_add(1); i < group.size(); i = next->fetch_add(1)) {
    fold_page(views, page, *group[i]);
  }
}

// A view's snapshot and stored answers (projections/stored_answers.h), made and not yet saved.
struct MadeSnapshots {
  storage::Snapshot snapshot;
  storage::Snapshot answers;  // saved after the snapshot
};

// The snapshot and stored answers of view `f.kind` as of `idx`, compressed on the calling thread
// (Snapshot::encoded, so that saving them only writes): the snapshot as it is serialized, never
// whole. The view's state is released once they are made, unless another view reads its fold
// (Folded::sharer: released by the caller once both are saved). `plain_bytes` grows by the
// snapshot's size before compression. As of idx 0 nothing is saved, and nothing compressed.
Result<MadeSnapshots> make_and_release(AllViews& views, const Folded& f, int64_t idx,
                                       int64_t* plain_bytes) {
  MadeSnapshots made;
  // Room for the last snapshot's size and an eighth more, as a coordinator's view reserves
  // (actors/read/projection_state.h), a fifth of it for the compressed bytes (a snapshot
  // compresses to a fourth to a seventh): the bytes are not copied each time they outgrow a buffer.
  const int64_t last = std::max<int64_t>(0, f.last_snapshot_bytes);
  const auto hint = static_cast<size_t>(last + last / 8);
  Status encoded = ok_status();
  AllViews::with_view(views, f.kind, [&](auto& view) {
    using View = std::decay_t<decltype(view)>;
    if (idx == 0) {
      made.snapshot = {View::kName, View::kVersion, idx, view.serialize(hint)};
      *plain_bytes += static_cast<int64_t>(made.snapshot.data.size());
    } else {
      int64_t plain = 0;
      auto stored = actors::compressed_snapshot(view, hint / 5, &plain);
      *plain_bytes += plain;
      if (stored.ok()) {
        made.snapshot = {View::kName, View::kVersion, idx, std::move(*stored)};
        made.snapshot.encoded = true;
      } else {
        encoded = stored.error();
      }
    }
    made.answers = {projections::answers_name(View::kName), View::kVersion, idx,
                    projections::serialize_answers(view, idx)};
    if (f.sharer == nullptr) view = View();
  });
  if (!encoded.ok()) {
    return encoded.error().with_context(
        fmt::format("compressing the {} snapshot", projections::view_name(f.kind)));
  }
  if (idx == 0) return made;
  auto stored = storage::encode_snapshot_data(made.answers.data);
  if (!stored.ok()) {
    return stored.error().with_context("compressing the " + made.answers.view + " snapshot");
  }
  made.answers.data = std::move(*stored);
  made.answers.encoded = true;
  return made;
}

// Saves `made` (nothing as of idx 0).
Status save(storage::Storage& log, MadeSnapshots& made) {
  if (made.snapshot.applied_idx == 0) return ok_status();
  for (auto* s : {&made.snapshot, &made.answers}) {
    if (auto saved = log.save_snapshot(*s); !saved.ok()) {
      return saved.error().with_context("saving the " + s->view + " snapshot");
    }
    s->data = std::string();  // freed as soon as it is saved
    // What an older bel's view left, superseded now (a failure leaves it: harmless).
    (void)log.drop_older_snapshots(s->view, s->version);
  }
  return ok_status();
}

// Reads the log from the lowest from_idx, applies each event to the views behind it, and saves
// the snapshot of every view that did not fail.
//  - The fold: two pages in turn, the next read (and parsed) on this thread while the worker folds
//    this one's views, one view at a time, the costliest first; this thread, once it has read,
//    folds the views the worker has not yet taken (each view folds a page on one thread:
//    projections/ is single-threaded per object). Reading a page costs about as much as folding
//    it into every view, so neither thread waits long for the other. The activity view reads the
//    partition status view's fold rather than folding the statuses again when both start from
//    idx 1, so the two fold on one thread, event by event.
//  - The saves: two views at a time, one on each thread, each serialized (and released) and
//    compressed there, then saved while holding the log (see below): memory holds the views
//    plus the bytes of at most two.
Result<ViewRebuildReport> fold_and_save(storage::Storage& log, AllViews& views,
                                        std::vector<Folded> folded, const FoldProgress& progress) {
  ViewRebuildReport report;
  auto last = log.last_idx();
  if (!last.ok()) return last.error();
  if (folded.empty()) {
    report.views.set_last_idx(*last);
    return report;
  }
  int64_t since = folded.front().from_idx;
  for (const auto& f : folded) since = std::min(since, f.from_idx);
  // The costliest views to fold first (measured on a 1M-event log: activity, partition status,
  // then job runs and build summaries), so that the last view taken is a short one.
  std::vector<Folded*> order;
  for (auto& f : folded) order.push_back(&f);
  const auto rank = [](ViewKind kind) {
    switch (kind) {
      case ViewKind::activity:
        return 0;
      case ViewKind::partition_status:
        return 1;
      case ViewKind::job_runs:
        return 2;
      case ViewKind::build_summary:
        break;
    }
    return 3;
  };
  std::sort(order.begin(), order.end(),
            [&](const Folded* a, const Folded* b) { return rank(a->kind) < rank(b->kind); });
  // The activity view shares the partition status view's fold when both fold from idx 1: the
  // statuses are folded once, on one thread, the activity view's part right after each event.
  Folded* partitions = nullptr;
  Folded* activity = nullptr;
  for (auto& f : folded) {
    if (f.kind == ViewKind::partition_status) partitions = &f;
    if (f.kind == ViewKind::activity) activity = &f;
  }
  if (partitions != nullptr && activity != nullptr && partitions->from_idx == 0 &&
      activity->from_idx == 0 && views.activity.share_fold(&views.partitions)) {
    partitions->sharer = activity;
    order.erase(std::find(order.begin(), order.end(), activity));
  }

  Worker worker;
  const EventFilter all;
  constexpr auto kDetail = storage::EventDetail::views;  // what the views read
  std::array<storage::PageArena, 2> arenas;
  EventPage* page = nullptr;
  if (since < *last) {
    // A short first page: nothing folds while it is read.
    page = arenas[0].fresh();
    if (auto read = log.list_events_into(since, all, storage::kDefaultListLimit, page, kDetail);
        !read.ok()) {
      return read.error().with_context("folding the views");
    }
  }
  for (size_t turn = 1; page != nullptr; ++turn) {
    if (page->next_idx() <= since && page->has_more()) {  // a storage that does not move on
      return make_error(ErrorCode::storage_corrupt,
                        "list_events since idx " + std::to_string(since) + " answered next_idx " +
                            std::to_string(page->next_idx()));
    }
    std::atomic<size_t> next_view{0};
    worker.start(
        [&views, page, &order, &next_view] { fold_taken(views, *page, order, &next_view); });
    report.events += page->events_size();
    since = page->next_idx();
    EventPage* next = nullptr;
    Status read = ok_status();
    if (page->has_more()) {
      next = arenas[turn % 2].fresh();
      read = log.list_events_into(since, all, storage::kMaxListLimit, next, kDetail);
    }
    fold_taken(views, *page, order, &next_view);
    worker.wait();
    if (!read.ok()) return read.error().with_context("folding the views");
    page = next;
    if (progress) progress(since, *last);
  }

  // The views that did not fail, one at a time (memory holds the views and one view's bytes).
  report.views.set_last_idx(since);
  std::vector<Folded*> healthy;
  for (auto& f : folded) {
    ViewStatus* status = report.views.add_views();
    status->set_view(projections::view_name(f.kind));
    if (f.failed_at != 0) {
      status->set_state(v1::VIEW_FAILED);
      status->set_failed_idx(f.failed_at);
      status->set_last_error("idx " + std::to_string(f.failed_at) + ": " + f.error);
      continue;
    }
    AllViews::with_view(views, f.kind, [&](const auto& view) {
      status->set_version(std::decay_t<decltype(view)>::kVersion);
    });
    status->set_state(v1::VIEW_HEALTHY);
    status->set_applied_idx(since);
    status->set_snapshot_idx(since);
    status->set_applies(since - f.from_idx);
    if (since > 0) status->set_snapshots_written(1);
    healthy.push_back(&f);
  }
  // Two views at a time, one on each thread, each serialized, compressed and released there and
  // saved in turn (the log is used by one thread at a time): partition status then job runs here,
  // build summaries then activity on the worker, a large view (job runs, build summaries) on each,
  // so that the bytes of two views are held at once, never more. A partition status view whose
  // fold the activity view shares is released last, once both threads are done (both only read
  // it meanwhile). A thread whose view fails to save saves no more; the other's views are saved.
  std::vector<Folded*> mine, theirs;
  for (Folded* f : healthy) {
    (f->kind == ViewKind::job_runs || f->kind == ViewKind::partition_status ? mine : theirs)
        .push_back(f);
  }
  std::mutex log_mu;
  int64_t plain_bytes[2] = {0, 0};
  Status saved[2] = {ok_status(), ok_status()};
  auto save_all = [&](const std::vector<Folded*>& group, int side) {
    for (Folded* f : group) {
      try {
        if (f->last_snapshot_bytes < 0) {  // read here, each thread its views', not before the fold
          std::lock_guard<std::mutex> using_log(log_mu);
          f->last_snapshot_bytes = stored_plain_size(log, f->kind);
        }
        auto made = make_and_release(views, *f, since, &plain_bytes[side]);
        if (!made.ok()) {
          saved[side] = made.error();
        } else {
          std::lock_guard<std::mutex> using_log(log_mu);
          saved[side] = save(log, *made);
        }
      } catch (const std::exception& ex) {  // on either thread: handed back as an error
        saved[side] = make_error(ErrorCode::internal, ex.what());
      }
      if (!saved[side].ok()) return;
    }
  };
  worker.start([&] { save_all(theirs, 1); });
  save_all(mine, 0);
  worker.wait();
  views.activity = projections::ActivityView();  // before the fold it may share
  views.partitions = projections::PartitionStatusView();
  report.snapshot_bytes += plain_bytes[0] + plain_bytes[1];
  for (const Status& s : saved) {
    if (!s.ok()) return s.error();
  }
  return report;
}

}  // namespace

Result<ViewRebuildReport> rebuild_view_snapshots(storage::Storage& log,
                                                 const std::vector<ViewKind>& kinds,
                                                 const FoldProgress& progress) {
  std::vector<Folded> folded;
  for (ViewKind kind : projections::kAllViews) {
    if (kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
      folded.emplace_back(kind, 0);
    }
  }
  AllViews views;
  return fold_and_save(log, views, std::move(folded), progress);
}

Result<ViewRebuildReport> refresh_view_snapshots(storage::Storage& log,
                                                 const actors::ViewActorConfig& policy,
                                                 const FoldProgress& progress) {
  auto last = log.last_idx();
  if (!last.ok()) return last.error();
  AllViews views;
  std::vector<Folded> due;
  for (ViewKind kind : projections::kAllViews) {
    int64_t bytes = 0;
    auto at = restore_if_due(log, kind, policy, *last, views, &bytes);
    if (!at.ok()) return at.error();
    if (*at) {
      due.emplace_back(kind, **at);
      due.back().last_snapshot_bytes = bytes;
    }
  }
  return fold_and_save(log, views, std::move(due), progress);
}

}  // namespace bel::check
