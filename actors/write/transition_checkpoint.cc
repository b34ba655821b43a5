#include "actors/write/transition_checkpoint.h"

#include <cassert>
#include <cstdint>

namespace bel::write {
namespace {

constexpr std::string_view kMagic = "belTS";

Error corrupt(std::string_view what) {
  return make_error(ErrorCode::storage_corrupt,
                    std::string("write-side checkpoint ") + std::string(what));
}

void put_u64(std::string& out, uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int b = 0; b < 8; ++b) v |= uint64_t{static_cast<unsigned char>(in[b])} << (8 * b);
  return v;
}

}  // namespace

std::string TransitionCheckpoint::encode(const TransitionState& state) {
  return encode_as_version(state, kFormat);
}

std::string TransitionCheckpoint::encode_as_version(const TransitionState& state, int version) {
  assert(state.journal_.empty() && "checkpoint of uncommitted applies");
  std::string body;
  put_varint(body, state.build_requests_.size());
  for (const auto& [id, status] : state.build_requests_) {
    put_bytes(body, id);
    put_varint(body, static_cast<uint64_t>(status));
  }
  put_varint(body, state.job_runs_.size());
  for (const auto& [id, run] : state.job_runs_) {
    put_bytes(body, id);
    put_varint(body, static_cast<uint64_t>(run.status));
    put_bytes(body, run.build_request_id);
    put_bytes(body, run.job_label);
  }
  put_varint(body, state.partitions_.size());
  for (const auto& [key, p] : state.partitions_) {
    put_bytes(body, key);
    put_varint(body, static_cast<uint64_t>(p.status));
    put_varint(body,
               (p.delegation_event_seen ? 1u : 0u) | (p.delegated_partition_event_seen ? 2u : 0u));
  }
  state.evicted_.encode(body);

  std::string out(kMagic);
  put_varint(out, static_cast<uint64_t>(version));
  put_u64(out, stable_hash(body));
  out += body;
  return out;
}

Status TransitionCheckpoint::decode(std::string_view data, TransitionState& state) {
  if (data.substr(0, kMagic.size()) != kMagic) return corrupt("does not start with belTS");
  data.remove_prefix(kMagic.size());
  uint64_t version = 0;
  if (!get_varint(data, version)) return corrupt("has no format version");
  if (version < kFirstFormat || version > kFormat) {
    return corrupt("has format version " + std::to_string(version) + ", this bel reads " +
                   std::to_string(kFirstFormat) + " to " + std::to_string(kFormat));
  }
  if (data.size() < 8) return corrupt("has no checksum");
  if (get_u64(data) != stable_hash(data.substr(8))) return corrupt("fails its checksum");
  data.remove_prefix(8);

  // Decode into a fresh state, then move its parts over: a bad body leaves `state` untouched.
  TransitionState fresh(state.mode());
  uint64_t n = 0, status = 0, flags = 0;
  std::string id;
  if (!get_varint(data, n)) return corrupt("is truncated in its build requests");
  for (uint64_t i = 0; i < n; ++i) {
    if (!get_bytes(data, id) || !get_varint(data, status) ||
        !v1::BuildRequestStatus_IsValid(static_cast<int>(status))) {
      return corrupt("has a malformed build request entry");
    }
    fresh.build_requests_.emplace(id, static_cast<BuildRequestStatus>(status));
  }
  if (!get_varint(data, n)) return corrupt("is truncated in its job runs");
  for (uint64_t i = 0; i < n; ++i) {
    TransitionState::JobRun run;
    if (!get_bytes(data, id) || !get_varint(data, status) ||
        !v1::JobStatus_IsValid(static_cast<int>(status)) ||
        !get_bytes(data, run.build_request_id) || !get_bytes(data, run.job_label)) {
      return corrupt("has a malformed job run entry");
    }
    run.status = static_cast<JobStatus>(status);
    fresh.job_runs_.emplace(id, std::move(run));
  }
  if (!get_varint(data, n)) return corrupt("is truncated in its partitions");
  for (uint64_t i = 0; i < n; ++i) {
    TransitionState::RequestPartition p;
    if (!get_bytes(data, id) || !get_varint(data, status) ||
        !v1::PartitionStatus_IsValid(static_cast<int>(status)) || !get_varint(data, flags) ||
        flags > 3) {
      return corrupt("has a malformed partition entry");
    }
    p.status = static_cast<PartitionStatus>(status);
    p.delegation_event_seen = (flags & 1) != 0;
    p.delegated_partition_event_seen = (flags & 2) != 0;
    fresh.partitions_.emplace(id, p);
  }
  // Format 1 differs only in its filter (EvictedKeys' format 1).
  if (!fresh.evicted_.decode(data, version == 1 ? 1 : EvictedKeys::kFormat)) {
    return corrupt("has a malformed evicted-keys filter");
  }
  if (!data.empty()) return corrupt("has bytes after its end");

  state.build_requests_ = std::move(fresh.build_requests_);
  state.job_runs_ = std::move(fresh.job_runs_);
  state.partitions_ = std::move(fresh.partitions_);
  state.evicted_ = std::move(fresh.evicted_);
  state.journal_.clear();
  state.kept_by_last_sweep_ = state.resident();
  return ok_status();
}

}  // namespace bel::write
