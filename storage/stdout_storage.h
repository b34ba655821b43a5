// StdoutStorage: the `stdout` backend. A MemoryStorage that, after each successful append_batch,
// prints every committed event (idx set) as one JSON line (bel::to_json) and flushes, so a
// pipeline can follow the log: `bel run --log stdout | jq .`.
//
//   StorageOptions options;
//   options.stdout_sink = file;  // standard output when null
//   auto log = std::make_unique<bel::storage::StdoutStorage>(options);
//
// Nothing is printed for a failed batch. Readers from open_reader() are plain memory readers and
// print nothing. A failure to print (a full disk, a closed pipe) does not undo the commit (the
// in-process log is the record), but that append fails with storage_unavailable naming the idx
// range and the error, and so does every later one: nothing is acknowledged that was not
// printed.
#ifndef BEL_STORAGE_STDOUT_STORAGE_H_
#define BEL_STORAGE_STDOUT_STORAGE_H_

#include <cstdio>
#include <string>
#include <vector>

#include "storage/memory_storage.h"

namespace bel::storage {

class StdoutStorage final : public MemoryStorage {
 public:
  explicit StdoutStorage(StorageOptions options);

 private:
  // MemoryStorage's commit, then the printing.
  Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
                               const AppendCondition* condition) override;

  std::FILE* sink_;
  std::string print_error_;  // set by the first failure to print
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_STDOUT_STORAGE_H_
