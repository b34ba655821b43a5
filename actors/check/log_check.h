// The checks of `bel check` (SPEC section 6: "every view equals a full scan; schema and idx
// contiguity"), apart from the command line so that each piece can be tested on its own against
// an in-process coordinator.
//
//   LogCheckOptions options;
//   options.log_uri = "sqlite://bel.db";                  // only for the schema check
//   auto report = run_log_check(session->client(), options);
//   if (!report.ok()) return fail(report.error());        // the log could not be asked at all
//   for (const auto& c : report->checks) show(c.name, c.ok, c.detail);
//   exit(report->ok() ? 0 : 1);
//
// The pieces are in scan_check.h (schema, idx contiguity, the full-scan fold) and view_check.h
// (the comparison of the coordinator's answers); this file runs them in order. With no
// coordinator running, `bel check` runs local_check.h instead: the same checks and report, the
// views compared in this process view by view.
//
// What is checked, each reported as one CheckResult:
//  - "schema": an sqlite:// log's meta.schema_version equals storage::kSchemaVersion (opening
//    it read-only already refuses newer and older ones; the detail names the version found).
//    Other URIs: ok, "n/a (in-process log)".
//  - "idx contiguity": every event read, in scan order, has idx 1, 2, 3, ... without gaps or
//    repeats up to the log's last idx when the check started (and on, over whatever later events
//    the view check reads); each passes write::check_structure once its idx is cleared;
//    no event_id occurs twice. The detail names the first missing idx ranges, repeats, invalid
//    events and repeated event ids.
//  - "view <name>", one per view: the coordinator's answers (ApiClient::query, min_idx = what the
//    local fold has reached) equal those of a FullScanFold of the scanned events, for activity,
//    every page of each list (limit 1000), job_metrics_list, and the per-item questions
//    (partition_status and active_builds, build_summary, job_run, job_metrics) of every partition
//    ref, build request, job run and job label named by the events up to the log's last idx when
//    the check started. When appends continue meanwhile, an answer may reflect a later idx than
//    the fold: the fold then reads up to exactly that idx before comparing, so both describe the
//    same prefix of the log (items first named by those later events are not asked about one by
//    one: the lists and activity cover them, and the check ends while appends go on). The detail
//    gives the view's state (views_status(); a FAILED or REBUILDING view's answers came from the
//    fallback scan, which must give the same answers), how many answers were compared and the
//    first few differences.
//
// Thread-safety: run_log_check asks the client from the calling thread only (many questions to a
// message, ApiClient::query_each); everything else here is single-threaded, one owner per object.
// Nothing throws; failures to reach the log become failed checks, except the first question
// (stats), whose error run_log_check returns.
#ifndef BEL_ACTORS_CHECK_LOG_CHECK_H_
#define BEL_ACTORS_CHECK_LOG_CHECK_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/check/scan_check.h"
#include "actors/check/view_check.h"
#include "actors/client/api_client.h"
#include "messages/error.h"

namespace spdlog {
class logger;
}

namespace bel::check {

struct LogCheckOptions {
  std::string log_uri;  // for the schema check
  // When set, the schema check is not run and reports ok with "n/a (<this>)" (e.g. the
  // coordinator of --connect has its log elsewhere).
  std::string schema_not_applicable;
  ViewCheckOptions views;
  // How long to wait for the views to finish loading before comparing (they may still be
  // loading in a freshly started in-process coordinator); their answers then come from the
  // fallback, which the detail says.
  std::chrono::milliseconds views_ready_wait{60000};
  // Without a coordinator (local_check.h): the longest log whose views are checked from one scan
  // of the log; a longer one is read once per view. At the reference workload's density the four
  // views take ~120 bytes per event together (docs/performance.md, P8), so 1.5M events hold
  // ~180 MB of views folded from idx 1 beside one restored view, within P11's 500 MB; past it, a
  // scan per view keeps memory to two copies of one view at any length.
  int64_t one_scan_events = 1500000;
  // (phase, done, total) while scanning ("scanning") and comparing ("comparing"); may be empty.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

struct LogCheckReport {
  int64_t last_idx = 0;  // the log's last idx when the check started
  std::vector<CheckResult> checks;
  // What stopped the scan of the log, when something did: the checks it left undone failed
  // without saying anything of the log when that is the storage or the coordinator being out of
  // reach (timeout, storage_unavailable), rather than a damaged row (storage_corrupt).
  std::optional<Error> scan_stopped;
  bool ok() const;
};

// Runs every check through `client`. An error only when the log's last idx cannot be asked.
Result<LogCheckReport> run_log_check(const actors::ApiClient& client,
                                     const LogCheckOptions& options);

// The checks' own log lines (component "check"), with the milliseconds since `start`.
std::shared_ptr<spdlog::logger> check_log();
int64_t ms_since(std::chrono::steady_clock::time_point start);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_LOG_CHECK_H_
