#include "actors/write/append_metrics.h"

namespace bel::actors {

void AppendMetrics::copy_to(StorageStats* stats) const {
  latency_.copy_to(stats->mutable_append_latency_seconds());
  auto& by_code = *stats->mutable_rejected_by_code();
  by_code.clear();
  for (ErrorCode code : kErrorCodes) {
    const int64_t n = rejected_[static_cast<size_t>(code)];
    if (n > 0) by_code[to_string(code)] = n;
  }
}

}  // namespace bel::actors
