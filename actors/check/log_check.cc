#include "actors/check/log_check.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "actors/component_log.h"

namespace bel::check {

using projections::ViewKind;

std::shared_ptr<spdlog::logger> check_log() {
  static const actors::ComponentLog logger("check");
  return logger.get();
}

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

bool LogCheckReport::ok() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.ok; });
}

Result<LogCheckReport> run_log_check(const actors::ApiClient& client,
                                     const LogCheckOptions& options) {
  auto stats = client.stats();
  if (!stats.ok()) return stats.error();
  LogCheckReport report;
  report.last_idx = stats->last_idx();
  if (options.schema_not_applicable.empty()) {
    report.checks.push_back(check_schema(options.log_uri));
  } else {
    report.checks.push_back({"schema", true, "n/a (" + options.schema_not_applicable + ")"});
  }

  ScanChecker checker;
  FullScanFold fold;
  LogScan scan(client, &checker, &fold);
  const int64_t last_idx = report.last_idx;
  auto started = std::chrono::steady_clock::now();
  auto scanned = scan.advance_to(last_idx, [&](int64_t read) {
    if (options.progress) options.progress("scanning the log", read, last_idx);
  });
  if (!scanned.ok()) {
    CheckResult contiguity = checker.finish(last_idx);
    contiguity.ok = false;
    contiguity.detail = checker.scan_stopped(scanned.error());
    report.scan_stopped = scanned.error();
    report.checks.push_back(std::move(contiguity));
    for (ViewKind kind : projections::kAllViews) {
      report.checks.push_back({std::string("view ") + projections::view_name(kind), false,
                               "not compared: the scan of the log failed"});
    }
    return report;
  }

  check_log()->info("check: scanned events={} last_idx={} ms={}", checker.events(), fold.last_idx(),
                    ms_since(started));
  started = std::chrono::steady_clock::now();
  wait_for_views(client, fold.last_idx(), options.views_ready_wait, options.progress);
  check_log()->info("check: views ready ms={}", ms_since(started));
  started = std::chrono::steady_clock::now();
  ViewCheckOptions view_options = options.views;
  if (!view_options.progress && options.progress) {
    view_options.progress = [&](int64_t done, int64_t total) {
      options.progress("comparing the views", done, total);
    };
  }
  std::string stopped_by;
  auto comparisons = compare_views(client, scan, view_options, &stopped_by);
  auto status = client.views_status();
  int64_t compared = 0;
  for (const auto& c : comparisons) compared += c.compared;
  check_log()->info("check: compared answers={} fold_idx={} ms={}", compared, fold.last_idx(),
                    ms_since(started));

  // The contiguity check covers every event read, including those the view check read on.
  report.checks.push_back(checker.finish(last_idx));
  for (ViewKind kind : projections::kAllViews) {
    const ViewStatus* view_status = nullptr;
    if (status.ok()) {
      for (const auto& v : status->views()) {
        if (v.view() == projections::view_name(kind)) view_status = &v;
      }
    }
    report.checks.push_back(view_check_result(kind, comparisons[projections::view_index(kind)],
                                              view_status, stopped_by));
  }
  return report;
}

}  // namespace bel::check
