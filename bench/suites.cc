#include "bench/suites.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "bench/append_suites.h"

namespace bel::bench {

const std::vector<Suite>& suites() {
  // P4..P9 (queries, rebuild, list_events, start-up, memory, disk) get a row each here.
  static const std::vector<Suite> table = {
      {"p1", "P1",
       "acked appends/s, 1000 in flight, durability full, vs the raw SQLite batch-insert ceiling",
       kP1DefaultEvents, measure_p1},
      {"p1r", "P1r",
       "P1 with random v4 event_ids from the producers, vs raw SQLite with the same ids",
       kP1DefaultEvents, measure_p1r},
      {"p2", "P2", "acked appends/s, one at a time, durability full, vs raw one-commit-per-row",
       kP2DefaultEvents, measure_p2},
      {"p3", "P3", "P1 vs the naive design (a transaction per event, JSON text, no actors)",
       kP3DefaultEvents, measure_p3},
  };
  return table;
}

Result<std::vector<const Suite*>> select_suites(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<const Suite*> out;
  std::string names;
  for (const auto& s : suites()) {
    if (lower.empty() || lower == "all" || lower == s.name) out.push_back(&s);
    names += s.name + ", ";
  }
  if (out.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "unknown suite \"" + name + "\" (suites: " + names + "all)");
  }
  return out;
}

int64_t events_for(const BenchOptions& options, int64_t suite_default) {
  return options.events > 0 ? options.events : suite_default;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string join_rounded(const std::vector<double>& values) {
  return fmt::format("{:.0f}", fmt::join(values, ", "));
}

sim::WorkloadOptions default_workload() {
  sim::WorkloadOptions options;
  options.seed = 1;
  options.partitions = 100000;
  options.event_ids = sim::EventIds::uuid;
  return options;
}

const std::vector<BuildEvent>& SuiteRun::events(int64_t n) {
  for (const auto& [size, workload] : workloads_) {
    if (size == n) return workload;
  }
  workloads_.emplace_back(n, sim::generate_events(default_workload(), n));
  return workloads_.back().second;
}

std::string SuiteRun::fresh_db_path(const std::string& name) {
  const std::string path = (std::filesystem::path(options_.dir) / name).string();
  remove_db(path);
  // Let the filesystem settle what earlier phases left (deleted logs, checkpoints), so that it is
  // not written back during, and charged to, the phase about to start.
  const int fd = open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  return path;
}

void SuiteRun::remove_db(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

void SuiteRun::progress(const std::string& phase, int64_t done, int64_t total) const {
  if (options_.progress) options_.progress(phase, done, total);
}

ProgressFn SuiteRun::progress_of(const std::string& phase) const {
  if (!options_.progress) return {};
  return [this, phase](int64_t done, int64_t total) { progress(phase, done, total); };
}

Result<std::vector<Figure>> run_suites(const std::vector<const Suite*>& selected,
                                       const BenchOptions& options) {
  SuiteRun run(options);
  std::vector<Figure> figures;
  for (const Suite* suite : selected) {
    auto figure = suite->measure(run);
    if (!figure.ok()) return figure.error().with_context("bench " + suite->name);
    figures.push_back(std::move(*figure));
  }
  return figures;
}

}  // namespace bel::bench
