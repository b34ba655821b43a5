// A Storage that hands every call to another one: tests derive from it and override the calls
// they want to fail, count or hold.
//
//   class FailingReads final : public testing::ForwardingStorage {
//     using ForwardingStorage::ForwardingStorage;
//     Result<EventPage> list_events(int64_t since, const EventFilter& f, int limit) override {...}
//   };
#ifndef BEL_TESTS_SUPPORT_FORWARDING_STORAGE_H_
#define BEL_TESTS_SUPPORT_FORWARDING_STORAGE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace bel::testing {

class ForwardingStorage : public storage::Storage {
 public:
  explicit ForwardingStorage(storage::Storage& inner) : inner_(inner) {}

  const std::string& uri() const override { return inner_.uri(); }
  Status initialize() override { return inner_.initialize(); }
  Result<std::vector<int64_t>> append_batch(const std::vector<BuildEvent>& events) override {
    return inner_.append_batch(events);
  }
  Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter, int limit) override {
    return inner_.list_events(since_idx, filter, limit);
  }
  Result<EventPage> list_events_backward(int64_t before_idx, const EventFilter& filter,
                                         int limit) override {
    return inner_.list_events_backward(before_idx, filter, limit);
  }
  Result<std::vector<storage::StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) override {
    return inner_.find_by_event_ids(event_ids);
  }
  Result<int64_t> last_idx() override { return inner_.last_idx(); }
  Result<std::optional<std::string>> get_meta(const std::string& key) override {
    return inner_.get_meta(key);
  }
  Status set_meta(const std::string& key, const std::string& value) override {
    return inner_.set_meta(key, value);
  }
  Status drop_older_snapshots(const std::string& view, int version) override {
    return inner_.drop_older_snapshots(view, version);
  }
  Status save_snapshot(const storage::Snapshot& snapshot) override {
    return inner_.save_snapshot(snapshot);
  }
  Result<std::optional<storage::Snapshot>> load_snapshot(const std::string& view,
                                                         int version) override {
    return inner_.load_snapshot(view, version);
  }
  storage::StorageCounters counters() const override { return inner_.counters(); }
  Result<std::unique_ptr<storage::Storage>> open_reader() override { return inner_.open_reader(); }

 protected:
  storage::Storage& inner() { return inner_; }

 private:
  storage::Storage& inner_;
};

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_FORWARDING_STORAGE_H_
