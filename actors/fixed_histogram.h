// FixedHistogram: a Prometheus-style histogram over fixed upper bounds, cheap enough for the write
// path (an observation is a search over a constant array and three additions; no allocation), and
// the bounds bel exports.
//
//   FixedHistogram<kAppendLatencyBounds.size()> latency(kAppendLatencyBounds);
//   latency.observe(0.0012);              // seconds
//   latency.copy_to(stats.mutable_append_latency_seconds());
//
// Not thread-safe: one owner (an actor's state).
#ifndef BEL_ACTORS_FIXED_HISTOGRAM_H_
#define BEL_ACTORS_FIXED_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "messages/types.h"

namespace bel::actors {

// Append acknowledgement latency, seconds: 50us (a commit without fsync) to 10 s (a stalled disk
// or the pending limit's worth of queueing), about three buckets per decade.
inline constexpr std::array<double, 17> kAppendLatencyBounds = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};

// Events per committed transaction: powers of two up to the default group cap (8192).
inline constexpr std::array<double, 14> kCommitGroupBounds = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};

template <size_t N>
class FixedHistogram {
 public:
  // `bounds`: ascending upper bounds that outlive the histogram (the constants above).
  explicit FixedHistogram(const std::array<double, N>& bounds) : bounds_(&bounds) {}

  // Counts `value` in the first bucket whose bound is >= value (Prometheus `le`), or in +Inf.
  void observe(double value) {
    const auto bucket =
        std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
    ++counts_[static_cast<size_t>(bucket)];
    sum_ += value;
    ++count_;
  }

  // Replaces `out` with the bounds and the per-bucket counts (not cumulative) so far.
  void copy_to(v1::Histogram* out) const {
    out->Clear();
    for (double b : *bounds_) out->add_bounds(b);
    for (int64_t c : counts_) out->add_counts(c);
    out->set_sum(sum_);
    out->set_count(count_);
  }

 private:
  const std::array<double, N>* bounds_;
  std::array<int64_t, N + 1> counts_{};
  double sum_ = 0;
  int64_t count_ = 0;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_FIXED_HISTOGRAM_H_
