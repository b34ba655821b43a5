#include "storage/storage_backend.h"

#include <fmt/format.h>

#include <utility>

#include "storage/checks.h"
#include "storage/snapshot_codec.h"

namespace bel::storage {

Result<std::optional<SnapshotInfo>> Storage::snapshot_info(const std::string& view, int version) {
  auto s = load_stored_snapshot(view, version);
  if (!s.ok()) return s.error();
  if (!s->has_value()) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(
      SnapshotInfo{(*s)->applied_idx, snapshot_plain_size((*s)->data, (*s)->encoded)});
}

StorageBackend::StorageBackend(std::string uri, StorageOptions options)
    : uri_(std::move(uri)), options_(std::move(options)) {}

Result<std::optional<Snapshot>> StorageBackend::load_decoded_snapshot(const std::string& view,
                                                                      int version) {
  auto s = load_stored_snapshot(view, version);
  if (!s.ok() || !s->has_value()) return s;
  auto decoded = decode_snapshot_data(std::move((*s)->data));
  if (!decoded.ok()) {
    return decoded.error().with_context(fmt::format("{}: snapshot {} v{}", uri_, view, version));
  }
  (*s)->data = std::move(*decoded);
  (*s)->encoded = false;
  return s;
}

Status StorageBackend::check_writable(const char* what) const {
  if (options_.read_only) return read_only_error(uri_, what);
  return ok_status();
}

Status StorageBackend::consult_fault_hook(FaultPoint point) const {
  if (!options_.fault_hook) return ok_status();
  return options_.fault_hook(point);
}

Result<std::optional<std::vector<int64_t>>> StorageBackend::append_checked(
    const std::vector<BuildEvent>& events, const AppendCondition* condition) {
  using Idxs = std::optional<std::vector<int64_t>>;
  BEL_RETURN_IF_ERROR(check_writable("append_batch"));
  if (events.empty()) return Idxs(std::vector<int64_t>{});
  auto first_idx = commit_batch(events, condition);
  if (!first_idx.ok()) {
    ++counters_.failed_commits;
    return first_idx.error();
  }
  if (*first_idx == 0) return Idxs();  // the log moved on: nothing stored
  ++counters_.commits;
  counters_.events_appended += static_cast<int64_t>(events.size());
  std::vector<int64_t> idxs(events.size());
  for (size_t i = 0; i < idxs.size(); ++i) idxs[i] = *first_idx + static_cast<int64_t>(i);
  return Idxs(std::move(idxs));
}

Result<std::vector<int64_t>> StorageBackend::append_batch(const std::vector<BuildEvent>& events) {
  auto idxs = append_checked(events, nullptr);
  if (!idxs.ok()) return idxs.error();
  return std::move(**idxs);
}

Result<EventPage> StorageBackend::list_events(int64_t since_idx, const EventFilter& filter,
                                              int limit) {
  BEL_RETURN_IF_ERROR(check_list_args(uri_, since_idx, filter, limit));
  EventPage page;
  BEL_RETURN_IF_ERROR(
      scan(ScanOrder::ascending, since_idx, filter, limit, &page, EventDetail::full));
  return page;
}

Status StorageBackend::list_events_into(int64_t since_idx, const EventFilter& filter, int limit,
                                        EventPage* page, EventDetail detail) {
  BEL_RETURN_IF_ERROR(check_list_args(uri_, since_idx, filter, limit));
  page->Clear();
  return scan(ScanOrder::ascending, since_idx, filter, limit, page, detail);
}

Result<EventPage> StorageBackend::list_events_backward(int64_t before_idx,
                                                       const EventFilter& filter, int limit) {
  BEL_RETURN_IF_ERROR(check_backward_args(uri_, before_idx, filter, limit));
  EventPage page;
  BEL_RETURN_IF_ERROR(
      scan(ScanOrder::descending, before_idx, filter, limit, &page, EventDetail::full));
  return page;
}

Status StorageBackend::set_meta(const std::string& key, const std::string& value) {
  BEL_RETURN_IF_ERROR(check_writable("set_meta"));
  BEL_RETURN_IF_ERROR(check_meta_key(uri_, key));
  return write_meta(key, value);
}

}  // namespace bel::storage
