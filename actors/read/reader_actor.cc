#include "actors/read/reader_actor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "actors/component_log.h"
#include "actors/fail_answers.h"
#include "projections/partition_status_fold.h"
#include "projections/queries.h"
#include "projections/stored_answers.h"
#include "storage/checks.h"
#include "storage/event_page_arena.h"
#include "storage/thread_name.h"

namespace bel::actors {
namespace {

std::shared_ptr<spdlog::logger> reader_log() {
  static const ComponentLog logger("reader");
  return logger.get();
}

struct ReaderState {
  std::unique_ptr<storage::Storage> storage;
  ReaderOptions options;
  std::unique_ptr<SharedScans::Member> shared;  // when options.shared_scans is set
  static inline const char* name = "bel.reader";
};

using ReaderPointer = ReaderActor::stateful_pointer<ReaderState>;

ReaderActor::behavior_type reader_actor(ReaderPointer self,
                                        std::shared_ptr<std::unique_ptr<storage::Storage>> storage,
                                        ReaderOptions options) {
  if (options.detached) name_this_thread("bel.reader");  // built on its own thread
  self->state.storage = std::move(*storage);
  self->state.options = std::move(options);
  if (self->state.options.shared_scans) {
    self->state.shared = std::make_unique<SharedScans::Member>(self->state.options.shared_scans);
  }
  // It parks nothing: a throw answers the request being handled (R9).
  answer_on_failure(self, ErrorCode::internal, "a reader actor", [](const caf::error&) {});
  return {
      [=](list_atom, const ListEventsRequest& request) -> caf::result<EventPage> {
        auto page = storage::list_page(*self->state.storage, request);
        if (!page.ok()) return to_caf_error(page.error());
        return std::move(*page);
      },
      [=](scan_atom, int64_t since_idx, int32_t limit) -> caf::result<SharedPage> {
        auto& st = self->state;
        if (st.shared) {
          auto page = st.shared->page(*st.storage, since_idx, limit);
          if (!page.ok()) return to_caf_error(page.error());
          return std::move(*page);
        }
        auto page = storage::new_shared_page();
        if (auto read = st.storage->list_events_into(since_idx, EventFilter(), limit, page.get(),
                                                     storage::EventDetail::views);
            !read.ok()) {
          return to_caf_error(read.error());
        }
        return SharedPage(std::move(page));
      },
      [=](fallback_atom, const Query& query) -> caf::result<QueryResult> {
        auto answer = answer_from_scan(*self->state.storage, query, self->state.options);
        if (!answer.ok()) return to_caf_error(answer.error());
        return std::move(*answer);
      },
      [=](load_atom, const std::string& view, int32_t version) -> caf::result<ViewSnapshot> {
        // As stored: the view inflates it as it restores, never holding it whole.
        auto loaded = self->state.storage->load_stored_snapshot(view, version);
        if (!loaded.ok()) return to_caf_error(loaded.error());
        ViewSnapshot out;
        out.set_view(view);
        out.set_version(version);
        if (loaded->has_value() && (*loaded)->applied_idx > 0) {
          // A snapshot past the log's end (a damaged row, a log restored from an older copy)
          // would never see the events that come next: ignored, the view folds from idx 1.
          auto last = self->state.storage->last_idx();
          if (!last.ok()) return to_caf_error(last.error());
          if ((*loaded)->applied_idx > *last) {
            reader_log()->warn(
                "{}: snapshot of {} ignored: it reflects idx {}, past the log's "
                "last idx {}",
                self->state.storage->uri(), view, (*loaded)->applied_idx, *last);
            return out;
          }
        }
        if (loaded->has_value()) {
          out.set_applied_idx((*loaded)->applied_idx);
          out.set_data(std::move((*loaded)->data));
          out.set_data_encoded((*loaded)->encoded);
        }
        return out;
      },
      [=](last_idx_atom) -> caf::result<int64_t> {
        auto last = self->state.storage->last_idx();
        if (!last.ok()) return to_caf_error(last.error());
        return *last;
      },
  };
}

}  // namespace

ReaderActor spawn_reader_actor(caf::actor_system& system, std::unique_ptr<storage::Storage> storage,
                               ReaderOptions options) {
  auto holder = std::make_shared<std::unique_ptr<storage::Storage>>(std::move(storage));
  auto init = [holder, options](ReaderPointer self) { return reader_actor(self, holder, options); };
  return options.detached ? system.spawn<caf::detached>(init) : system.spawn(init);
}

namespace {

// Hands `fold` the events each of its phases names (fold.filter()) with idx in
// (since_of(fold), last], in idx order.
template <class Fold, class SinceOf>
Status feed_phases(storage::Storage& storage, Fold& fold, SinceOf since_of, int64_t last,
                   const ReaderOptions& options) {
  do {
    int64_t since = since_of(fold);
    bool more = true;
    while (more) {
      auto page = storage.list_events(since, fold.filter(), options.page_size);
      if (!page.ok()) return page.error();
      for (auto& event : *page->mutable_events()) {
        if (event.idx() > last) {
          more = false;
          break;
        }
        fold.add(std::move(event));
      }
      since = page->next_idx();
      more = more && page->has_more();
      if (options.after_page) options.after_page();
    }
  } while (fold.next_phase());
  return ok_status();
}

// Folds `query` over the events its first phase names with idx in (from_idx, last] and the
// events its later phases name with idx up to last.
Result<QueryResult> fold_scan(storage::Storage& storage, const Query& query, int64_t from_idx,
                              int64_t last, const ReaderOptions& options) {
  projections::FallbackFold fold(query);
  BEL_RETURN_IF_ERROR(feed_phases(
      storage, fold,
      [from_idx](const projections::FallbackFold& f) { return f.phase() == 1 ? from_idx : 0; },
      last, options));
  return fold.finish(last);
}

// A partition's active builds from the claim checkpoint that the partition status view stored
// beside its newest snapshot (projections::ActiveBuildsFromCheckpoint): its claim events after
// the checkpoint, then the ends of the requests then in progress. Nothing when the stored answers
// have no checkpoint of the partition at or below `last`, or cannot be read: the caller then
// folds the partition's whole history, which gives the same answer.
Result<std::optional<QueryResult>> active_builds_from_checkpoint(storage::Storage& storage,
                                                                 const Query& query, int64_t last,
                                                                 const ReaderOptions& options) {
  using projections::PartitionStatusView;
  const std::string name = projections::answers_name(PartitionStatusView::kName);
  auto loaded = storage.load_snapshot(name, PartitionStatusView::kVersion);
  if (!loaded.ok() || !loaded->has_value() || (*loaded)->applied_idx > last) {
    if (!loaded.ok()) reader_log()->warn("{}", loaded.error().to_string());
    return std::optional<QueryResult>();
  }
  auto answers = projections::StoredAnswers::parse(PartitionStatusView::kName,
                                                   PartitionStatusView::kVersion, (*loaded)->data);
  if (!answers.ok()) {
    reader_log()->warn("{}: {}", storage.uri(), answers.error().to_string());
    return std::optional<QueryResult>();
  }
  const std::string& ref = query.active_builds().partition_ref();
  const std::vector<std::string>* in_progress = answers->claim_checkpoint(ref);
  if (in_progress == nullptr) return std::optional<QueryResult>();
  projections::ActiveBuildsFromCheckpoint fold(ref, answers->as_of_idx(), *in_progress);
  BEL_RETURN_IF_ERROR(feed_phases(
      storage, fold, [](const auto& f) { return f.since_idx(); }, last, options));
  QueryResult out;
  *out.mutable_active_builds() = fold.finish(last);
  return std::optional<QueryResult>(std::move(out));
}

// The idx of the newest event up to `last` that sets partition `ref`'s status itself
// (projections::sets_partition_status), read newest first; 0 when none does.
Result<int64_t> newest_status_setter(storage::Storage& storage, const std::string& ref,
                                     int64_t last, const ReaderOptions& options) {
  EventFilter filter;  // only the kinds of event that can set it
  filter.add_partition_refs(ref);
  filter.add_event_types("partition_event");
  filter.add_event_types("partition_invalidation_event");
  int64_t before = last + 1;
  // The setter is nearly always among the newest few events.
  int limit = std::min(64, options.page_size);
  while (true) {
    auto page = storage.list_events_backward(before, filter, limit);
    if (!page.ok()) return page.error();
    for (const auto& event : page->events()) {
      if (projections::sets_partition_status(event, ref)) return event.idx();
    }
    if (!page->has_more()) return int64_t{0};
    before = page->next_idx();
    limit = std::min(limit * 4, options.page_size);
    if (options.after_page) options.after_page();
  }
}

}  // namespace

Result<QueryResult> answer_from_scan(storage::Storage& storage, const Query& query,
                                     const ReaderOptions& options) {
  if (auto ok = projections::check_query(query); !ok.ok()) return ok.error();
  // Every phase scans up to the same idx, so the answer is that of one prefix of the log.
  auto last = storage.last_idx();
  if (!last.ok()) return last.error();
  const int64_t min_idx = projections::min_idx_of(query);
  if (*last < min_idx) {
    return make_error(ErrorCode::timeout,
                      storage.uri() + ": " + projections::describe_query(query) + ": min_idx " +
                          std::to_string(min_idx) + " is beyond the last committed idx " +
                          std::to_string(*last));
  }
  if (query.has_partition_status()) {
    // A partition's status is that of the newest event setting it (S) unless the claims rule
    // fired after S, which gives the status the idx of the event that fired it. So the scan from
    // S is the whole answer exactly when its status still carries S's idx; otherwise (the rule
    // fired: it needs every claim standing at S) the whole history is folded. A hot partition's
    // status then costs the events since its last change, not its history.
    auto setter =
        newest_status_setter(storage, query.partition_status().partition_ref(), *last, options);
    if (!setter.ok()) return setter.error();
    if (*setter > 0) {
      auto from_setter = fold_scan(storage, query, *setter - 1, *last, options);
      if (!from_setter.ok()) return from_setter.error();
      if (from_setter->partition_status().last_idx() == *setter) return from_setter;
    }
  }
  if (query.has_active_builds()) {
    // A partition with a long history: from its claim checkpoint, when there is one.
    auto checkpointed = active_builds_from_checkpoint(storage, query, *last, options);
    if (!checkpointed.ok()) return checkpointed.error();
    if (checkpointed->has_value()) return std::move(**checkpointed);
  }
  return fold_scan(storage, query, 0, *last, options);
}

}  // namespace bel::actors
