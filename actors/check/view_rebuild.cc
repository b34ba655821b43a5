#include "actors/check/view_rebuild.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>

#include "projections/stored_answers.h"

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
};

// Restores view `kind` of `views` from its snapshot in `log` when that snapshot is due under
// `policy`: the snapshot's idx (0 when there is none or it cannot be used). Nothing when it is
// not due (the snapshot is read, not parsed).
Result<std::optional<int64_t>> restore_if_due(storage::Storage& log, ViewKind kind,
                                              const actors::ViewActorConfig& policy,
                                              int64_t last_idx, AllViews& views) {
  return AllViews::with_view(views, kind, [&](auto& view) -> Result<std::optional<int64_t>> {
    using View = std::decay_t<decltype(view)>;
    auto snapshot = log.load_snapshot(View::kName, View::kVersion);
    if (!snapshot.ok()) return snapshot.error();
    const int64_t at = *snapshot ? std::max<int64_t>(0, (*snapshot)->applied_idx) : 0;
    const int64_t bytes = *snapshot ? static_cast<int64_t>((*snapshot)->data.size()) : 0;
    if (last_idx - at < actors::snapshot_due_after(policy, bytes)) return std::optional<int64_t>();
    if (at == 0) return std::optional<int64_t>(0);
    auto restored = View::restore((*snapshot)->data);
    if (!restored.ok()) return std::optional<int64_t>(0);  // unreadable: fold from idx 1
    view = std::move(*restored);
    return std::optional<int64_t>(at);
  });
}

// Reads the log from the lowest from_idx, applies each event to the views behind it, and saves
// the snapshot of every view that did not fail.
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
  const EventFilter all;
  for (bool more = since < *last; more;) {
    auto page = log.list_events(since, all, storage::kMaxListLimit);
    if (!page.ok()) return page.error().with_context("folding the views");
    for (const auto& event : page->events()) {
      for (auto& f : folded) {
        if (f.failed_at != 0 || event.idx() <= f.from_idx) continue;
        try {
          views.apply(f.kind, event);
        } catch (const std::exception& ex) {
          f.failed_at = event.idx();
          f.error = ex.what();
        }
      }
    }
    report.events += page->events_size();
    since = page->next_idx();
    more = page->has_more();
    if (progress) progress(since, *last);
  }

  report.views.set_last_idx(since);
  for (const auto& f : folded) {
    ViewStatus* status = report.views.add_views();
    status->set_view(projections::view_name(f.kind));
    if (f.failed_at != 0) {
      status->set_state(v1::VIEW_FAILED);
      status->set_failed_idx(f.failed_at);
      status->set_last_error("idx " + std::to_string(f.failed_at) + ": " + f.error);
      continue;
    }
    storage::Snapshot snapshot;
    storage::Snapshot answers;  // projections/stored_answers.h: saved after the snapshot
    AllViews::with_view(views, f.kind, [&](const auto& view) {
      using View = std::decay_t<decltype(view)>;
      snapshot = {View::kName, View::kVersion, since, view.serialize()};
      answers = {projections::answers_name(View::kName), View::kVersion, since,
                 projections::serialize_answers(view, since)};
    });
    report.snapshot_bytes += static_cast<int64_t>(snapshot.data.size());
    if (since > 0) {
      for (const auto* s : {&snapshot, &answers}) {
        if (auto saved = log.save_snapshot(*s); !saved.ok()) {
          return saved.error().with_context("saving the " + s->view + " snapshot");
        }
      }
      status->set_snapshots_written(1);
    }
    status->set_version(snapshot.version);
    status->set_state(v1::VIEW_HEALTHY);
    status->set_applied_idx(since);
    status->set_snapshot_idx(since);
    status->set_applies(since - f.from_idx);
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
    auto at = restore_if_due(log, kind, policy, *last, views);
    if (!at.ok()) return at.error();
    if (*at) due.emplace_back(kind, **at);
  }
  return fold_and_save(log, views, std::move(due), progress);
}

}  // namespace bel::check
