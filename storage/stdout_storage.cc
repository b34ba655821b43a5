#include "storage/stdout_storage.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "messages/json.h"

namespace bel::storage {

StdoutStorage::StdoutStorage(StorageOptions options)
    : MemoryStorage("stdout", options),
      sink_(options.stdout_sink != nullptr ? options.stdout_sink : stdout) {}

Result<int64_t> StdoutStorage::commit_batch(const std::vector<BuildEvent>& events,
                                            const AppendCondition* condition) {
  if (!print_error_.empty()) return make_error(ErrorCode::storage_unavailable, print_error_);
  auto first_idx = MemoryStorage::commit_batch(events, condition);
  if (!first_idx.ok()) return first_idx;
  std::string lines;
  BuildEvent printed;
  for (size_t i = 0; i < events.size(); ++i) {
    printed = events[i];
    printed.set_idx(*first_idx + static_cast<int64_t>(i));
    lines += to_json(printed);
    lines += '\n';
  }
  errno = 0;
  const size_t written = std::fwrite(lines.data(), 1, lines.size(), sink_);
  const bool flushed = std::fflush(sink_) == 0;
  if (written != lines.size() || !flushed || std::ferror(sink_) != 0) {
    // The events are in the in-process log, but whoever reads the output lost them: this
    // append and every later one fail, rather than being acknowledged unseen.
    const int err = errno;
    const int64_t last = *first_idx + static_cast<int64_t>(events.size()) - 1;
    print_error_ = fmt::format(
        "{}: printing the events failed at idx {}..{} ({}); they are in the in-process log "
        "only, and this log takes no more appends",
        uri(), *first_idx, last, err != 0 ? std::strerror(err) : "short write");
    return make_error(ErrorCode::storage_unavailable, print_error_);
  }
  return first_idx;
}

}  // namespace bel::storage
