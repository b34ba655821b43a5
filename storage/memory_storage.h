// MemoryStorage: the in-process backend behind memory:// (and stdout). Events live in a vector
// in a state shared by the writer and every handle from open_reader(), so readers on other
// threads see the same log. Filters are evaluated with bel::event_matches.
//
//   auto log = std::make_unique<bel::storage::MemoryStorage>("memory://", options);
//   BEL_RETURN_IF_ERROR(log->initialize());
//
// Thread-safety: as Storage (one owner per instance); instances sharing one log may be used on
// different threads. Only the writer appends, so a batch is staged without the lock and
// published under it in one step: a reader sees all of a batch or none of it.
#ifndef BEL_STORAGE_MEMORY_STORAGE_H_
#define BEL_STORAGE_MEMORY_STORAGE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/storage_backend.h"

namespace bel::storage {

class MemoryStorage : public StorageBackend {
 public:
  // A fresh, empty log. `options.read_only` gives a log that refuses writes (and stays empty).
  MemoryStorage(std::string uri, StorageOptions options);
  ~MemoryStorage() override;

  // Records the schema version (as the other backends do), so a writer answers get_meta alike.
  Status initialize() override;
  Result<std::optional<std::string>> get_meta(const std::string& key) override;
  Status save_snapshot(const Snapshot& snapshot) override;
  Status drop_older_snapshots(const std::string& view, int version) override;
  Result<std::optional<Snapshot>> load_snapshot(const std::string& view, int version) override;

  Result<std::vector<StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) override;
  Result<int64_t> last_idx() override;
  Result<std::unique_ptr<Storage>> open_reader() override;

 protected:
  // Stages the batch without the lock (only the writer appends) and publishes it under it.
  Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
                               const AppendCondition* condition) override;

 private:
  Status scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
              EventPage* page, EventDetail detail) override;
  Status write_meta(const std::string& key, const std::string& value) override;

  // The log shared by a writer and its readers.
  struct SharedLog {
    std::mutex mu;
    std::vector<BuildEvent> events;  // events[i].idx() == i + 1
    std::unordered_map<std::string, int64_t> idx_by_event_id;
    std::map<std::string, std::string> meta;
    std::map<std::pair<std::string, int>, Snapshot> snapshots;
  };

  MemoryStorage(std::string uri, std::shared_ptr<SharedLog> log);  // a reader

  std::shared_ptr<SharedLog> log_;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_MEMORY_STORAGE_H_
