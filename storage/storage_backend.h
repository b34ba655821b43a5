// bel::storage::StorageBackend: what the memory, SQLite and PostgreSQL backends share behind the
// Storage interface, so that each answers the same input the same way: the argument checks of
// list_events and list_events_backward, the read-only refusals, the answer to an empty batch,
// the fault hook and the commit counters of append_batch, the reserved meta keys. A backend
// supplies the steps that touch its store:
//
//   class MyStorage final : public StorageBackend {
//     Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
//                                  const AppendCondition* condition) override;
//     Status scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
//                 EventPage* page, EventDetail detail) override;
//     Status write_meta(const std::string& key, const std::string& value) override;
//     ...  // and the rest of Storage
//   };
//
// Thread-safety: as Storage.
#ifndef BEL_STORAGE_STORAGE_BACKEND_H_
#define BEL_STORAGE_STORAGE_BACKEND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace bel::storage {

// The order of a scan: list_events reads ascending idx, list_events_backward descending.
enum class ScanOrder { ascending, descending };

class StorageBackend : public Storage {
 public:
  const std::string& uri() const override { return uri_; }
  StorageCounters counters() const override { return counters_; }

  // invalid_argument on a read-only handle; an empty batch stores nothing and answers no idx.
  // Otherwise commit_batch, counted in counters().
  Result<std::vector<int64_t>> append_batch(const std::vector<BuildEvent>& events) final;
  // check_list_args (check_backward_args), then scan.
  Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter, int limit) final;
  Result<EventPage> list_events_backward(int64_t before_idx, const EventFilter& filter,
                                         int limit) final;
  // check_list_args, then scan into `page`.
  Status list_events_into(int64_t since_idx, const EventFilter& filter, int limit, EventPage* page,
                          EventDetail detail = EventDetail::full) final;
  // invalid_argument on a read-only handle or for a key check_meta_key refuses; then write_meta.
  Status set_meta(const std::string& key, const std::string& value) final;

 protected:
  StorageBackend(std::string uri, StorageOptions options);

  // Stores the non-empty `events` in one transaction, consulting the fault hook at each
  // FaultPoint, and returns the idx of the first (the others follow it). With a `condition`
  // (backends with other writers): 0, and nothing stored, when it no longer holds.
  // On error nothing is stored.
  virtual Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
                                       const AppendCondition* condition) = 0;
  // The page of list_events (ascending, idx > bound_idx) or list_events_backward (descending,
  // idx < bound_idx, 0: from the newest) into `*page`, which is empty and may live on an arena;
  // the arguments are already checked. Each event with `detail` (the filter applies to the full
  // event).
  virtual Status scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
                      EventPage* page, EventDetail detail) = 0;
  // Sets a meta key; the handle is writable and the key is one callers may set.
  virtual Status write_meta(const std::string& key, const std::string& value) = 0;

  // append_batch, or append_batch_if with `condition`: empty when commit_batch stored nothing
  // because the condition no longer held.
  Result<std::optional<std::vector<int64_t>>> append_checked(const std::vector<BuildEvent>& events,
                                                             const AppendCondition* condition);
  // load_snapshot for a backend that stores snapshots encoded (SQLite, PostgreSQL): its
  // load_stored_snapshot's answer, inflated (decode_snapshot_data); an error names the snapshot.
  Result<std::optional<Snapshot>> load_decoded_snapshot(const std::string& view, int version);
  // read_only_error naming `what` on a read-only handle.
  Status check_writable(const char* what) const;
  // options().fault_hook at `point`, when set.
  Status consult_fault_hook(FaultPoint point) const;
  const StorageOptions& options() const { return options_; }

 private:
  std::string uri_;
  StorageOptions options_;
  StorageCounters counters_;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_STORAGE_BACKEND_H_
