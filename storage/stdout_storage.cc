#include "storage/stdout_storage.h"

#include <string>

#include "messages/json.h"

namespace bel::storage {

StdoutStorage::StdoutStorage(StorageOptions options)
    : MemoryStorage("stdout", options),
      sink_(options.stdout_sink != nullptr ? options.stdout_sink : stdout) {}

Result<std::vector<int64_t>> StdoutStorage::append_batch(const std::vector<BuildEvent>& events) {
  auto idxs = MemoryStorage::append_batch(events);
  if (!idxs.ok()) return idxs;
  std::string lines;
  BuildEvent printed;
  for (size_t i = 0; i < events.size(); ++i) {
    printed = events[i];
    printed.set_idx((*idxs)[i]);
    lines += to_json(printed);
    lines += '\n';
  }
  std::fwrite(lines.data(), 1, lines.size(), sink_);
  std::fflush(sink_);
  return idxs;
}

}  // namespace bel::storage
