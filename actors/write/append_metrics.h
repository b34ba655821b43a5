// AppendMetrics: what the coordinator measures about the appends it answers, for /metrics: the
// acknowledgement latency histogram and the errors by SPEC code.
//
//   const auto admitted = self->clock().now();   // when the append is admitted
//   ...
//   metrics.acked(self->clock().now() - admitted); // on its acknowledgement
//   metrics.rejected(error.code);                   // or on its error
//   metrics.copy_to(&stats);                        // StorageStats for export
//
// Not thread-safe: one owner (the supervisor's state). Recording costs no allocation.
#ifndef BEL_ACTORS_WRITE_APPEND_METRICS_H_
#define BEL_ACTORS_WRITE_APPEND_METRICS_H_

#include <array>
#include <chrono>
#include <cstdint>

#include "actors/fixed_histogram.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

class AppendMetrics {
 public:
  // One append (a batch counts once) acknowledged `latency` after it was admitted.
  void acked(std::chrono::steady_clock::duration latency) {
    latency_.observe(std::chrono::duration<double>(latency).count());
  }

  // One append (a batch counts once) answered with an error of `code`.
  void rejected(ErrorCode code) {
    const auto k = static_cast<size_t>(code);
    if (k < rejected_.size()) ++rejected_[k];
  }

  // Writes the latency histogram and the nonzero error counts (by code name) into `stats`.
  void copy_to(StorageStats* stats) const;

 private:
  FixedHistogram<kAppendLatencyBounds.size()> latency_{kAppendLatencyBounds};
  std::array<int64_t, kErrorCodeLimit> rejected_{};
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_APPEND_METRICS_H_
