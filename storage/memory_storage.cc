#include "storage/memory_storage.h"

#include <fmt/format.h>

#include <unordered_set>

#include "messages/filter_match.h"
#include "storage/checks.h"

namespace bel::storage {

MemoryStorage::MemoryStorage(std::string uri, StorageOptions options)
    : uri_(std::move(uri)),
      options_(std::move(options)),
      read_only_(options_.read_only),
      log_(std::make_shared<SharedLog>()) {}

MemoryStorage::MemoryStorage(std::string uri, std::shared_ptr<SharedLog> log)
    : uri_(std::move(uri)), read_only_(true), log_(std::move(log)) {
  options_.read_only = true;
}

MemoryStorage::~MemoryStorage() = default;

Status MemoryStorage::initialize() {
  // A reader (or a read-only log) has nothing to create; the writer records the schema version
  // so every backend answers get_meta("schema_version") alike.
  if (read_only_) return ok_status();
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->meta.emplace(kSchemaVersionKey, std::to_string(kSchemaVersion));
  return ok_status();
}

Status MemoryStorage::check_writable(const char* what) const {
  if (read_only_) return read_only_error(uri_, what);
  return ok_status();
}

Status MemoryStorage::consult_fault_hook(FaultPoint point) const {
  if (!options_.fault_hook) return ok_status();
  return options_.fault_hook(point);
}

Result<std::vector<int64_t>> MemoryStorage::append_batch(const std::vector<BuildEvent>& events) {
  BEL_RETURN_IF_ERROR(check_writable("append_batch"));
  if (events.empty()) return std::vector<int64_t>{};
  auto fail = [this](const Error& error) -> Error {
    ++counters_.failed_commits;
    return error;
  };

  // Only this instance (the writer) ever mutates the shared log, so it may read the log without
  // the lock; readers take the lock, and so does the publish step below.
  if (auto ok = consult_fault_hook(FaultPoint::begin); !ok.ok()) return fail(ok.error());
  const int64_t first_idx = static_cast<int64_t>(log_->events.size()) + 1;
  std::vector<BuildEvent> staged;
  staged.reserve(events.size());
  std::unordered_set<std::string> batch_ids;
  for (size_t i = 0; i < events.size(); ++i) {
    if (auto ok = consult_fault_hook(FaultPoint::insert); !ok.ok()) return fail(ok.error());
    const std::string& id = events[i].event_id();
    if (log_->idx_by_event_id.count(id) != 0 || !batch_ids.insert(id).second) {
      return fail(duplicate_event_id_error(uri_, i, id));
    }
    staged.push_back(events[i]);
    staged.back().set_idx(first_idx + static_cast<int64_t>(i));
  }
  if (auto ok = consult_fault_hook(FaultPoint::commit); !ok.ok()) return fail(ok.error());

  std::vector<int64_t> idxs;
  idxs.reserve(staged.size());
  {
    std::lock_guard<std::mutex> lock(log_->mu);
    for (auto& event : staged) {
      idxs.push_back(event.idx());
      log_->idx_by_event_id.emplace(event.event_id(), event.idx());
      log_->events.push_back(std::move(event));
    }
  }
  ++counters_.commits;
  counters_.events_appended += static_cast<int64_t>(idxs.size());
  return idxs;
}

Result<EventPage> MemoryStorage::list_events(int64_t since_idx, const EventFilter& filter,
                                             int limit) {
  BEL_RETURN_IF_ERROR(check_list_args(uri_, since_idx, filter, limit));
  EventPage page;
  page.set_next_idx(since_idx);
  std::lock_guard<std::mutex> lock(log_->mu);
  const auto& all = log_->events;
  // idx == position + 1, so the first candidate (idx since_idx + 1) sits at position since_idx.
  for (size_t i = static_cast<size_t>(std::min<int64_t>(since_idx, all.size())); i < all.size();
       ++i) {
    if (!event_matches(filter, all[i])) continue;
    if (page.events_size() == limit) {
      page.set_has_more(true);
      break;
    }
    *page.add_events() = all[i];
    page.set_next_idx(all[i].idx());
  }
  return page;
}

Result<EventPage> MemoryStorage::list_events_backward(int64_t before_idx,
                                                      const EventFilter& filter, int limit) {
  BEL_RETURN_IF_ERROR(check_backward_args(uri_, before_idx, filter, limit));
  EventPage page;
  page.set_next_idx(before_idx);
  std::lock_guard<std::mutex> lock(log_->mu);
  const auto& all = log_->events;
  // The candidates are idx before_idx - 1 down to 1, at positions before_idx - 2 down to 0.
  const int64_t size = static_cast<int64_t>(all.size());
  for (int64_t i = (before_idx == 0 ? size : std::min(before_idx - 1, size)) - 1; i >= 0; --i) {
    const auto& event = all[static_cast<size_t>(i)];
    if (!event_matches(filter, event)) continue;
    if (page.events_size() == limit) {
      page.set_has_more(true);
      break;
    }
    *page.add_events() = event;
    page.set_next_idx(event.idx());
  }
  return page;
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

Status MemoryStorage::set_meta(const std::string& key, const std::string& value) {
  BEL_RETURN_IF_ERROR(check_writable("set_meta"));
  BEL_RETURN_IF_ERROR(check_meta_key(uri_, key));
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->meta[key] = value;
  return ok_status();
}

Status MemoryStorage::save_snapshot(const Snapshot& snapshot) {
  BEL_RETURN_IF_ERROR(check_writable("save_snapshot"));
  std::lock_guard<std::mutex> lock(log_->mu);
  log_->snapshots[{snapshot.view, snapshot.version}] = snapshot;
  return ok_status();
}

Result<std::optional<Snapshot>> MemoryStorage::load_snapshot(const std::string& view, int version) {
  std::lock_guard<std::mutex> lock(log_->mu);
  auto it = log_->snapshots.find({view, version});
  if (it == log_->snapshots.end()) return std::optional<Snapshot>();
  return std::optional<Snapshot>(it->second);
}

Result<std::unique_ptr<Storage>> MemoryStorage::open_reader() {
  return std::unique_ptr<Storage>(new MemoryStorage(uri_, log_));
}

}  // namespace bel::storage
