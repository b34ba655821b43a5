#include "storage/stdout_storage.h"

#include <string>

#include "messages/json.h"

namespace bel::storage {

StdoutStorage::StdoutStorage(StorageOptions options)
    : MemoryStorage("stdout", options),
      sink_(options.stdout_sink != nullptr ? options.stdout_sink : stdout) {}

Result<int64_t> StdoutStorage::commit_batch(const std::vector<BuildEvent>& events,
                                            std::optional<int64_t> expected_last_idx) {
  auto first_idx = MemoryStorage::commit_batch(events, expected_last_idx);
  if (!first_idx.ok()) return first_idx;
  std::string lines;
  BuildEvent printed;
  for (size_t i = 0; i < events.size(); ++i) {
    printed = events[i];
    printed.set_idx(*first_idx + static_cast<int64_t>(i));
    lines += to_json(printed);
    lines += '\n';
  }
  std::fwrite(lines.data(), 1, lines.size(), sink_);
  std::fflush(sink_);
  return first_idx;
}

}  // namespace bel::storage
