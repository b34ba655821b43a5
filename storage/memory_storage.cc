#include "storage/memory_storage.h"

#include <fmt/format.h>

#include <unordered_set>

#include "messages/event_id.h"
#include "messages/filter_match.h"
#include "storage/checks.h"
#include "storage/snapshot_codec.h"

namespace bel::storage {

MemoryStorage::MemoryStorage(std::string uri, StorageOptions options)
    : StorageBackend(std::move(uri), std::move(options)), log_(std::make_shared<SharedLog>()) {}

MemoryStorage::MemoryStorage(std::string uri, std::shared_ptr<SharedLog> log)
    : StorageBackend(std::move(uri), [] {
        StorageOptions reader;
        reader.read_only = true;
        return reader;
      }()),
      log_(std::move(log)) {}

MemoryStorage::~MemoryStorage() = default;

Status MemoryStorage::initialize() {
  // A reader (or a read-only log) has nothing to create; the writer records the schema version
  // so every backend answers get_meta("schema_version") alike.
  if (options().read_only) return ok_status();
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->meta.emplace(kSchemaVersionKey, std::to_string(kSchemaVersion));
  log_->meta.emplace(kLogIdKey, new_event_id());
  return ok_status();
}

Result<int64_t> MemoryStorage::commit_batch(const std::vector<BuildEvent>& events,
                                            const AppendCondition* /*condition*/) {
  // Only this instance (the writer) ever mutates the shared log, so it may read the log without
  // the lock; readers take the lock, and so does the publish step below.
  BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::begin));
  const int64_t first_idx = static_cast<int64_t>(log_->events.size()) + 1;
  std::vector<BuildEvent> staged;
  staged.reserve(events.size());
  std::unordered_set<std::string> batch_ids;
  for (size_t i = 0; i < events.size(); ++i) {
    BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::insert));
    const std::string& id = events[i].event_id();
    if (log_->idx_by_event_id.count(id) != 0 || !batch_ids.insert(id).second) {
      return duplicate_event_id_error(uri(), i, id);
    }
    staged.push_back(events[i]);
    staged.back().set_idx(first_idx + static_cast<int64_t>(i));
  }
  BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::commit));

  std::lock_guard<std::mutex> lock(log_->mu);
  for (auto& event : staged) {
    log_->idx_by_event_id.emplace(event.event_id(), event.idx());
    log_->events.push_back(std::move(event));
  }
  return first_idx;
}

Status MemoryStorage::scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
                           EventPage* out, EventDetail detail) {
  EventPage& page = *out;
  page.set_next_idx(bound_idx);
  std::lock_guard<std::mutex> lock(log_->mu);
  const auto& all = log_->events;
  const int64_t size = static_cast<int64_t>(all.size());
  // idx == position + 1. Ascending, the first candidate (idx bound_idx + 1) sits at position
  // bound_idx; descending, the candidates are idx bound_idx - 1 down to 1, at positions
  // bound_idx - 2 down to 0.
  const bool ascending = order == ScanOrder::ascending;
  const int64_t step = ascending ? 1 : -1;
  const int64_t end = ascending ? size : -1;
  int64_t i = ascending ? std::min(bound_idx, size)
                        : (bound_idx == 0 ? size : std::min(bound_idx - 1, size)) - 1;
  for (; i != end; i += step) {
    const auto& event = all[static_cast<size_t>(i)];
    if (!event_matches(filter, event)) continue;
    if (page.events_size() == limit) {
      page.set_has_more(true);
      break;
    }
    BuildEvent* added = page.add_events();
    *added = event;
    drop_detail(detail, added);
    page.set_next_idx(event.idx());
  }
  return ok_status();
}

Result<std::vector<StoredEvent>> MemoryStorage::find_by_event_ids(
    const std::vector<std::string>& event_ids) {
  std::vector<StoredEvent> found;
  std::unordered_set<int64_t> seen;
  std::lock_guard<std::mutex> lock(log_->mu);
  for (const auto& id : event_ids) {
    auto it = log_->idx_by_event_id.find(id);
    if (it == log_->idx_by_event_id.end() || !seen.insert(it->second).second) continue;
    found.push_back(StoredEvent{it->second, log_->events[it->second - 1]});
  }
  return found;
}

Result<int64_t> MemoryStorage::last_idx() {
  std::lock_guard<std::mutex> lock(log_->mu);
  return static_cast<int64_t>(log_->events.size());
}

Result<std::optional<std::string>> MemoryStorage::get_meta(const std::string& key) {
  std::lock_guard<std::mutex> lock(log_->mu);
  auto it = log_->meta.find(key);
  if (it == log_->meta.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryStorage::write_meta(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->meta[key] = value;
  return ok_status();
}

Status MemoryStorage::save_snapshot(const Snapshot& snapshot) {
  BEL_RETURN_IF_ERROR(check_writable("save_snapshot"));
  Snapshot plain = snapshot;  // kept uncompressed: a loaded snapshot's data is always plain
  if (plain.encoded) {
    auto data = decode_snapshot_data(std::move(plain.data));
    if (!data.ok()) return data.error().with_context(uri() + ": snapshot " + snapshot.view);
    plain.data = std::move(*data);
    plain.encoded = false;
  }
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->snapshots[{snapshot.view, snapshot.version}] = std::move(plain);
  return ok_status();
}

Status MemoryStorage::drop_older_snapshots(const std::string& view, int version) {
  BEL_RETURN_IF_ERROR(check_writable("drop_older_snapshots"));
  std::lock_guard<std::mutex> lock(log_->mu);
  for (auto it = log_->snapshots.begin(); it != log_->snapshots.end();) {
    const bool older = it->first.first == view && it->first.second < version;
    it = older ? log_->snapshots.erase(it) : std::next(it);
  }
  return ok_status();
}

Result<std::optional<Snapshot>> MemoryStorage::load_snapshot(const std::string& view, int version) {
  std::lock_guard<std::mutex> lock(log_->mu);
  auto it = log_->snapshots.find({view, version});
  if (it == log_->snapshots.end()) return std::optional<Snapshot>();
  return std::optional<Snapshot>(it->second);
}

Result<std::unique_ptr<Storage>> MemoryStorage::open_reader() {
  return std::unique_ptr<Storage>(new MemoryStorage(uri(), log_));
}

}  // namespace bel::storage
