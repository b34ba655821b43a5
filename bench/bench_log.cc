#include "bench/bench_log.h"

#include <fmt/format.h>
#include <time.h>

#include <caf/all.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/sim/workload.h"
#include "actors/write/log_writer.h"
#include "bench/answer_tally.h"
#include "bench/machine.h"
#include "messages/event_keys.h"
#include "messages/json.h"
#include "projections/queries.h"
#include "storage/storage_factory.h"

namespace bel::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Bumped whenever what a cached log holds changes (generator options, what the manifest says).
// 2: "1 requested partition", singular, in job graphs; 3: no durations in job messages.
constexpr int kCacheVersion = 3;
// One event in this many is also turned into JSON to measure its size.
constexpr int64_t kJsonSample = 97;
// How long making every view's snapshot may take (a 10M-event log on a busy machine).
constexpr std::chrono::hours kRebuildWait{2};
// Events the key index catches up per transaction.
constexpr int64_t kIndexChunk = 100000;

// The log's schema version is part of the name: a log cached by an older bel would be migrated
// by the first writer that opens it, and the console commands P10 times open it read-only.
std::string cache_stem(const LogScale& scale, uint64_t seed) {
  return fmt::format("bel-bench-{}-{}e-{}p-seed{}-v{}-s{}", scale.name, scale.events,
                     scale.partitions, seed, kCacheVersion, storage::kSchemaVersion);
}

std::string manifest_path(const std::string& db_path) { return db_path + ".manifest"; }

// What the manifest's "snapshots" says of a log whose views were snapshotted: the views'
// versions, so that a bel whose views moved to another version snapshots them again (they would
// otherwise fold the whole log on P7's start, and the console commands would not find them).
std::string snapshots_mark() {
  return fmt::format("v{}.{}.{}.{}", projections::PartitionStatusView::kVersion,
                     projections::BuildSummaryView::kVersion, projections::JobRunsView::kVersion,
                     projections::ActivityView::kVersion);
}

void remove_log_files(const std::string& path) {
  std::error_code ec;
  for (const char* suffix :
       {"", "-wal", "-shm", "-journal", ".manifest", ".lock", ".token", ".next.jsonl"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

// The manifest: one "key value" line per field, so a person can read it too.
Status write_manifest(const BenchLog& log) {
  const std::string path = manifest_path(log.path);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "events " << log.events << "\n"
        << "hot_partition " << log.hot_partition << "\n"
        << "hot_partition_events " << log.hot_partition_events << "\n"
        << "build_request_id " << log.build_request_id << "\n"
        << "job_run_id " << log.job_run_id << "\n"
        << "json_bytes_per_event " << log.json_bytes_per_event << "\n"
        << "payload_bytes_per_event " << log.payload_bytes_per_event << "\n"
        << "snapshots " << (log.snapshotted ? snapshots_mark() : "0") << "\n";
    if (!out) {
      return make_error(ErrorCode::storage_unavailable, "bench: cannot write " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::storage_unavailable, "bench: cannot write " + path);
  return ok_status();
}

// Fills `log` from its manifest; false when there is none or it lacks a field.
bool read_manifest(BenchLog& log) {
  std::ifstream in(manifest_path(log.path));
  if (!in) return false;
  std::map<std::string, std::string> fields;
  std::string key, value;
  while (in >> key >> value) fields[key] = value;
  for (const char* k :
       {"events", "hot_partition", "hot_partition_events", "build_request_id", "job_run_id",
        "json_bytes_per_event", "payload_bytes_per_event", "snapshots"}) {
    if (fields.count(k) == 0) return false;
  }
  log.events = std::stoll(fields["events"]);
  log.hot_partition = fields["hot_partition"];
  log.hot_partition_events = std::stoll(fields["hot_partition_events"]);
  log.build_request_id = fields["build_request_id"];
  log.job_run_id = fields["job_run_id"];
  log.json_bytes_per_event = std::stod(fields["json_bytes_per_event"]);
  log.payload_bytes_per_event = std::stod(fields["payload_bytes_per_event"]);
  log.snapshotted = fields["snapshots"] == snapshots_mark();
  return log.events == log.scale.events;
}

// What generation learns about the events on their way into the log.
class EventSurvey {
 public:
  explicit EventSurvey(int64_t total) : middle_(total / 2) {}

  void add(const BuildEvent& e) {
    const EventKeys keys = keys_of(e);
    for (const auto& ref : keys.partitions) ++per_partition_[ref];
    if (seen_ >= middle_ && job_run_id_.empty() && !keys.job_run_ids.empty() &&
        !e.build_request_id().empty()) {
      job_run_id_ = keys.job_run_ids.front();
      build_request_id_ = e.build_request_id();
    }
    payload_bytes_ += static_cast<int64_t>(e.ByteSizeLong());
    if (seen_ % kJsonSample == 0) {
      json_bytes_ += static_cast<int64_t>(to_json(e).size());
      ++json_samples_;
    }
    ++seen_;
  }

  void fill(BenchLog& log) const {
    for (const auto& [ref, count] : per_partition_) {
      if (count > log.hot_partition_events ||
          (count == log.hot_partition_events && ref < log.hot_partition)) {
        log.hot_partition = ref;
        log.hot_partition_events = count;
      }
    }
    log.build_request_id = build_request_id_;
    log.job_run_id = job_run_id_;
    log.payload_bytes_per_event = seen_ > 0 ? static_cast<double>(payload_bytes_) / seen_ : 0;
    log.json_bytes_per_event =
        json_samples_ > 0 ? static_cast<double>(json_bytes_) / json_samples_ : 0;
  }

 private:
  int64_t middle_;
  int64_t seen_ = 0;
  std::unordered_map<std::string, int64_t> per_partition_;
  std::string build_request_id_, job_run_id_;
  int64_t payload_bytes_ = 0, json_bytes_ = 0, json_samples_ = 0;
};

// The generator of the log's events.
sim::WorkloadOptions workload_options(const BenchLog& log) {
  sim::WorkloadOptions options;
  options.seed = log.seed;
  options.partitions = log.scale.partitions;
  options.event_ids = sim::EventIds::none;  // the log assigns time-ordered ids
  return options;
}

// Generates log.scale.events events into a fresh log at log.path through the LogWriter.
Status generate(BenchLog& log, const PhaseProgress& progress) {
  const auto start = Clock::now();
  auto storage = storage::open_storage(log.uri, {});
  if (!storage.ok()) return storage.error();
  auto writer = actors::LogWriter::open(std::move(*storage), {});
  if (!writer.ok()) return writer.error();

  sim::Workload workload(workload_options(log));
  EventSurvey survey(log.scale.events);
  const std::string phase = "generating the " + log.scale.name + " log";
  std::vector<BuildEvent> batch;
  for (int64_t done = 0; done < log.scale.events;) {
    const int64_t n = std::min(kGenerateBatch, log.scale.events - done);
    const double cpu_start = thread_cpu_seconds();
    batch.clear();
    workload.next_batch(static_cast<size_t>(n), batch);
    for (const auto& e : batch) survey.add(e);
    const double cpu_generated = thread_cpu_seconds();
    log.generator_cpu_seconds += cpu_generated - cpu_start;
    auto ticket = (*writer)->stage(std::move(batch));
    batch = {};
    if (!ticket.ok()) return ticket.error().with_context(log.path);
    auto committed = (*writer)->commit();
    for (const auto& [t, acks] : committed.tickets) {
      if (!acks.ok()) return acks.error().with_context(log.path);
    }
    log.writer_cpu_seconds += thread_cpu_seconds() - cpu_generated;
    done += n;
    if (progress) progress(phase, done, log.scale.events);
  }
  survey.fill(log);
  log.events = log.scale.events;
  log.generate_seconds = seconds_since(start);

  const auto index_start = Clock::now();
  auto& store = (*writer)->storage();
  const int64_t backlog = store.unindexed_events();
  while (store.unindexed_events() > 0) {
    auto n = store.catch_up_indexes(kIndexChunk);
    if (!n.ok()) return n.error().with_context(log.path);
    if (*n == 0) break;
    if (progress)
      progress("indexing the " + log.scale.name + " log", backlog - store.unindexed_events(),
               backlog);
  }
  log.index_seconds = seconds_since(index_start);
  return ok_status();
}

// Rebuilds every view on a coordinator started on the log, which snapshots each.
Status snapshot_views(BenchLog& log, const PhaseProgress& progress) {
  const auto start = Clock::now();
  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};
  auto api = actors::start_coordinator(system, log.uri);
  if (!api.ok()) return api.error();
  const std::string phase = "snapshotting the " + log.scale.name + " log's views";
  actors::ApiClient client(system, *api);
  auto rebuilding =
      std::async(std::launch::async, [&] { return client.rebuild("", kRebuildWait); });
  // The bar follows the slowest view's applied idx until the rebuild answers.
  while (rebuilding.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (!progress) continue;
    auto views = client.views_status();
    if (!views.ok() || views->views().empty()) continue;
    int64_t slowest = views->last_idx();
    for (const auto& v : views->views()) slowest = std::min(slowest, v.applied_idx());
    progress(phase, slowest, views->last_idx());
  }
  auto rebuilt = rebuilding.get();
  actors::stop_coordinator(*api);
  system.await_all_actors_done();
  if (!rebuilt.ok()) return rebuilt.error().with_context(log.path);
  for (const auto& v : rebuilt->views()) {
    if (v.state() != v1::VIEW_HEALTHY) {
      return make_error(ErrorCode::internal,
                        log.path + ": view " + v.view() + " did not rebuild: " + v.last_error());
    }
  }
  log.snapshot_seconds = seconds_since(start);
  log.snapshotted = true;
  return ok_status();
}

}  // namespace

Result<std::string> ensure_next_events(const BenchLog& log, const PhaseProgress& progress) {
  const std::string path = log.path + ".next.jsonl";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  sim::Workload workload(workload_options(log));
  const std::string phase = "generating the events after the " + log.scale.name + " log's";
  for (int64_t n = 0; n < log.events; ++n) {
    workload.next();
    if (progress && (n + 1) % 100000 == 0) progress(phase, n + 1, log.events);
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (int64_t n = 0; n < kNextEvents && out; ++n) out << to_json(workload.next()) << "\n";
    if (!out) {
      std::filesystem::remove(tmp, ec);
      return make_error(ErrorCode::storage_unavailable, "bench: cannot write " + tmp);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::storage_unavailable, "bench: cannot write " + path);
  return path;
}

LogScale scale_1m() { return {"1m", 1000000, 100000}; }
LogScale scale_10m() { return {"10m", 10000000, 1000000}; }
LogScale scale_10k() { return {"10k", 10000, 1000}; }
LogScale scale_quick() { return {"quick", 20000, 2000}; }
LogScale scale_quick_small() { return {"quick-small", 2000, 200}; }
LogScale scale_quick_growth() { return {"quick-growth", 60000, 6000}; }

int64_t log_bytes_on_disk(const std::string& path) {
  int64_t total = 0;
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

Result<BenchLog> ensure_log(const std::string& cache_dir, const LogScale& scale, uint64_t seed,
                            const PhaseProgress& progress) {
  BenchLog log;
  log.scale = scale;
  log.seed = seed;
  log.path = (std::filesystem::path(cache_dir) / (cache_stem(scale, seed) + ".db")).string();
  log.uri = "sqlite://" + log.path;
  std::error_code ec;
  const bool found = std::filesystem::exists(log.path, ec) && read_manifest(log);
  if (found && log.snapshotted) {
    log.reused = true;
    return log;
  }
  if (!found) {
    // The events and the key index: kept, with a manifest, even if snapshotting fails below.
    remove_log_files(log.path);
    Status made = generate(log, progress);
    if (made.ok()) made = write_manifest(log);
    if (!made.ok()) {
      remove_log_files(log.path);
      return made.error();
    }
  }
  BEL_RETURN_IF_ERROR(snapshot_views(log, progress));
  BEL_RETURN_IF_ERROR(write_manifest(log));
  log.reused = found;
  return log;
}

}  // namespace bel::bench
