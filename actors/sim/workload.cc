#include "actors/sim/workload.h"

#include <cassert>
#include <cstdio>
#include <utility>

#include "actors/sim/workload_flow.h"
#include "messages/status_names.h"

namespace bel::sim {
namespace {

// A version-4-shaped UUID: 64 pseudo-random bits from (seed, n) followed by n itself, so that
// distinct n give distinct ids.
std::string uuid_like(uint64_t seed, uint64_t n) {
  const uint64_t hi = mix(seed * 0x100000001B3ULL ^ n);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFF),
                static_cast<unsigned long long>(0x8000 | ((n >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(n & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string default_prefix(uint64_t seed) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06llx", static_cast<unsigned long long>(mix(seed) & 0xffffff));
  return buf;
}

}  // namespace

Workload::Flow::Flow(const WorkloadOptions& options)
    : options_(options),
      rng_(mix(options.seed * 0x2545f4914f6cdd1dULL + 1)),
      prefix_(options.id_prefix.empty() ? default_prefix(options.seed) : options.id_prefix),
      clock_rng_(mix(options.seed) ^ 0x5bd1e995ULL),
      time_ns_(options.start_ns) {}

void Workload::Flow::next(BuildEvent& out) {
  while (pending_.empty()) step();
  out = std::move(pending_.front());
  pending_.pop_front();
  fill_status_names(out);
}

BuildEvent& Workload::Flow::emit(BuildEvent e) {
  ++emitted_;
  if (options_.clock) {
    e.set_timestamp(options_.clock());
  } else {
    time_ns_ += 1 + static_cast<int64_t>(clock_rng_.below(2 * kMs));
    e.set_timestamp(time_ns_);
  }
  switch (options_.event_ids) {
    case EventIds::none:
      break;
    case EventIds::sequential:
      e.set_event_id("ev-" + std::to_string(options_.seed) + "-" + std::to_string(emitted_));
      break;
    case EventIds::uuid:
      e.set_event_id(uuid_like(options_.seed, static_cast<uint64_t>(emitted_)));
      break;
  }
  if (options_.set_idx) e.set_idx(emitted_);
  pending_.push_back(std::move(e));
  return pending_.back();
}

Workload::Workload(WorkloadOptions options) : options_(std::move(options)) {
  assert(options_.concurrent_builds >= 1 && options_.partitions >= 1);
  flow_ = options_.mode == WorkloadMode::realistic ? make_realistic_flow(options_)
                                                   : make_adversarial_flow(options_);
}

Workload::~Workload() = default;

const BuildEvent& Workload::next() {
  flow_->next(current_);
  ++produced_;
  return current_;
}

void Workload::next_batch(size_t n, std::vector<BuildEvent>& out) {
  out.reserve(out.size() + n);
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back();
    flow_->next(out.back());
  }
  produced_ += static_cast<int64_t>(n);
}

int64_t Workload::produced() const { return produced_; }

std::string Workload::partition_ref(int64_t n) const { return flow_->partition_ref(n); }

int64_t Workload::partition_count() const { return flow_->partition_count(); }

void generate(const WorkloadOptions& options, int64_t n,
              const std::function<void(const BuildEvent&)>& fn) {
  Workload workload(options);
  for (int64_t i = 0; i < n; ++i) fn(workload.next());
}

std::vector<BuildEvent> generate_events(const WorkloadOptions& options, int64_t n) {
  std::vector<BuildEvent> out;
  if (n <= 0) return out;
  Workload workload(options);
  workload.next_batch(static_cast<size_t>(n), out);
  return out;
}

}  // namespace bel::sim
