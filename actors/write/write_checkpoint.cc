#include "actors/write/write_checkpoint.h"

#include "actors/write/transition_checkpoint.h"

namespace bel::actors {

Status LogSource::events_of_build_request(const std::string& id, std::vector<BuildEvent>& out) {
  EventFilter filter;
  filter.add_build_request_ids(id);
  return read(filter, out);
}

Status LogSource::events_of_job_run(const std::string& id, std::vector<BuildEvent>& out) {
  EventFilter filter;
  filter.add_job_run_ids(id);
  return read(filter, out);
}

void LogSource::shorten_unindexed_tail() {
  if (storage_->unindexed_events() <= kMaxScannedTail) return;
  while (storage_->unindexed_events() > 0) {
    auto done = storage_->catch_up_indexes(storage_->unindexed_events());
    // A failed catch-up leaves the read exact, only slower: the tail is scanned.
    if (!done.ok() || *done == 0) return;
  }
}

Status LogSource::read(const EventFilter& filter, std::vector<BuildEvent>& out) {
  shorten_unindexed_tail();
  int64_t since = 0;
  for (;;) {
    auto page = storage_->list_events(since, filter, storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (const auto& event : page->events()) {
      if (event.idx() > through_) return ok_status();
      out.push_back(event);
    }
    if (!page->has_more()) return ok_status();
    since = page->next_idx();
  }
}

CheckpointLoad load_checkpoint(storage::Storage& storage, int64_t last_idx,
                               write::TransitionState& state) {
  using write::TransitionCheckpoint;
  CheckpointLoad out;
  auto stored = storage.load_snapshot(TransitionCheckpoint::kName, TransitionCheckpoint::kVersion);
  if (!stored.ok()) {
    out.fallback_reason = "reading the write-side checkpoint failed: " + stored.error().message;
    out.unusable = true;
    return out;
  }
  if (!stored->has_value()) {
    out.fallback_reason =
        "no write-side checkpoint of version " + std::to_string(TransitionCheckpoint::kVersion);
    return out;
  }
  const storage::Snapshot& snapshot = **stored;
  out.unusable = true;
  if (snapshot.applied_idx < 0 || snapshot.applied_idx > last_idx) {
    out.fallback_reason = "the write-side checkpoint reflects idx " +
                          std::to_string(snapshot.applied_idx) + ", past the log's last idx " +
                          std::to_string(last_idx);
    return out;
  }
  if (auto ok = TransitionCheckpoint::decode(snapshot.data, state); !ok.ok()) {
    out.fallback_reason = ok.error().message;
    return out;
  }
  out.unusable = false;
  out.idx = snapshot.applied_idx;
  out.bytes = snapshot.data.size();
  return out;
}

Result<size_t> save_checkpoint(storage::Storage& storage, int64_t idx,
                               const write::TransitionState& state) {
  using write::TransitionCheckpoint;
  storage::Snapshot snapshot;
  snapshot.view = TransitionCheckpoint::kName;
  snapshot.version = TransitionCheckpoint::kVersion;
  snapshot.applied_idx = idx;
  snapshot.data = TransitionCheckpoint::encode(state);
  BEL_RETURN_IF_ERROR(storage.save_snapshot(snapshot));
  return snapshot.data.size();
}

}  // namespace bel::actors
