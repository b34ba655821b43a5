// bel check (SPEC section 6): every view equals a full scan; schema and idx contiguity; for an
// sqlite:// file on this host, SQLite's integrity check and the derived rows, which --repair
// rebuilds (R8); for a postgresql:// log, its derived rows. The checks themselves live in
// actors/check/log_check.h, derived_check.h and postgres_check.h; this file is the command line
// and the report.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "actors/check/derived_check.h"
#include "actors/check/local_check.h"
#include "actors/check/log_check.h"
#include "actors/check/postgres_check.h"
#include "app/commands.h"
#include "app/progress.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::app {
namespace {

void print_report_json(const check::LogCheckReport& report) {
  std::string out = std::string("{\"ok\": ") + (report.ok() ? "true" : "false") +
                    ", \"last_idx\": \"" + std::to_string(report.last_idx) + "\", \"checks\": [";
  for (size_t i = 0; i < report.checks.size(); ++i) {
    const auto& c = report.checks[i];
    if (i > 0) out += ", ";
    out += "{\"name\": " + json_string(c.name) + ", \"ok\": " + (c.ok ? "true" : "false") +
           ", \"detail\": " + json_string(c.detail) + "}";
  }
  out += "]}";
  std::printf("%s\n", out.c_str());
}

void print_report_table(const check::LogCheckReport& report) {
  Table table({"CHECK", "RESULT", "DETAIL"});
  table.keep_last_column_whole();  // a failed check's detail says what is wrong and what to do
  for (const auto& c : report.checks) table.add_row({c.name, c.ok ? "ok" : "FAILED", c.detail});
  table.print(stdout);
}

// With --connect the coordinator may keep its log anywhere: check the schema only when --log
// names a file that exists here.
std::string schema_not_applicable(const Context& ctx) {
  if (ctx.connect.empty()) return "";
  if (!ctx.log_named) return "the coordinator's log is not named here; pass its --log to check it";
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return "";
  std::error_code ec;
  if (std::filesystem::exists(parsed->path, ec)) return "";
  return "no log at " + parsed->path + " on this host; pass the coordinator's --log to check it";
}

// The file of an sqlite:// log on this host, for the file-level checks and --repair.
std::optional<std::string> local_sqlite_file(const Context& ctx) {
  // --connect alone: the coordinator's log, wherever it is, not the default file here.
  if (!ctx.connect.empty() && !ctx.log_named) return std::nullopt;
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::exists(parsed->path, ec)) return std::nullopt;
  return parsed->path;
}

// --repair: rebuilds the derived data under the writer lock, before anything opens the log.
bool repair(Context& ctx, const std::optional<std::string>& file) {
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  if (!parsed.ok() || parsed->scheme != storage::UriScheme::sqlite) {
    ctx.usage_error("--repair: needs an sqlite:// log file on this host (--log)");
    return false;
  }
  if (ctx.shared_session) {  // this console's session holds the log's writer lock
    ctx.usage_error(
        "--repair: not inside the console, whose session holds the log; run `bel check --repair` "
        "from a shell with no coordinator on the log");
    return false;
  }
  if (!file) {
    ctx.fail(make_error(ErrorCode::storage_unavailable,
                        storage::shown_uri(ctx.log_uri) + ": no log at " + parsed->path));
    return false;
  }
  // As every writing command, it waits a while for another one to finish.
  auto lock = storage::WriterLock::acquire_file(ctx.log_uri, *file, std::chrono::seconds(10));
  if (!lock.ok()) {
    ctx.fail(lock.error());
    return false;
  }
  auto repaired = check::repair_sqlite_file(ctx.log_uri, *file);
  if (!repaired.ok()) {
    ctx.fail(repaired.error());
    return false;
  }
  std::fprintf(
      stderr,
      "bel: check --repair: rebuilt the derived data from %lld events (%lld key rows; "
      "%s)\n",
      static_cast<long long>(repaired->events), static_cast<long long>(repaired->key_rows),
      repaired->snapshots_dropped.empty()
          ? (std::to_string(repaired->snapshots) + " snapshots kept").c_str()
          : ("no snapshot kept: the snapshots table is unreadable (" + repaired->snapshots_dropped +
             "); the views fold from idx 1 at the next start, or run bel views rebuild")
                .c_str());
  return true;
}

void run_check(Context& ctx, bool repair_first, bool integrity) {
  auto format = ctx.output_format();
  if (!format) return;
  const auto file = local_sqlite_file(ctx);
  if (repair_first && !repair(ctx, file)) return;
  // A session that starts no views: it finds the running coordinator, if any, and costs little
  // otherwise. A PostgreSQL log named with --connect is read here (its schema, its derived rows):
  // it must be the coordinator's, or one report would describe two logs.
  ctx.compare_postgres_log = true;
  auto session = ctx.session(/*write=*/false, /*create_log=*/false, /*one_key=*/true);
  ctx.compare_postgres_log = false;
  if (!session) return;
  // No coordinator runs on the log (this process's console session is one): compare the views
  // in this process, view by view, rather than through views an in-process coordinator would
  // load for the purpose (docs/query-tier.md, "Checking the views").
  std::unique_ptr<storage::Storage> log;
  if (!session->remote() && !ctx.shared_session) {
    session.reset();
    storage::StorageOptions read_only;
    read_only.read_only = true;
    auto opened = storage::open_storage(ctx.log_uri, read_only);
    if (!opened.ok()) return ctx.fail(opened.error());
    log = std::move(*opened);
  }

  check::LogCheckOptions options;
  options.log_uri = ctx.log_uri;
  options.schema_not_applicable = schema_not_applicable(ctx);
  // One bar per phase (scanning, waiting for the views, comparing; with no coordinator, each
  // view's scan), on a terminal only.
  std::unique_ptr<Progress> progress;
  std::string phase;
  options.progress = [&](const char* name, int64_t done, int64_t total) {
    if (phase != name) {
      if (progress) progress->finish();
      phase = name;
      progress = std::make_unique<Progress>(phase);
    }
    progress->update(done, total);
  };
  // SQLite's integrity check opens the file on a connection of its own, and runs beside the view
  // checks (a third of the command's time on a 1M-event log otherwise). The derived-rows check
  // has its own too: a check in this process reads its events through it, once for both.
  std::future<check::CheckResult> integrity_check;
  std::unique_ptr<check::DerivedRowsPass> derived;
  std::vector<check::CheckResult> storage_checks;
  if (file) {
    auto opened = check::DerivedRowsPass::open(ctx.log_uri, *file);
    if (opened.ok()) {
      derived = std::move(*opened);
    } else {
      storage_checks.push_back({"derived rows", false, opened.error().message});
    }
  }
  std::future<check::CheckResult> derived_check;
  auto parsed = storage::parse_storage_uri(ctx.log_uri);
  const bool postgres = parsed.ok() && parsed->scheme == storage::UriScheme::postgres;
  try {
    // A PostgreSQL log's derived rows, on a connection of its own beside the view checks.
    if (postgres) {
      derived_check =
          std::async(std::launch::async, check::check_postgres_derived_rows, ctx.log_uri);
    }
    if (file && integrity) {
      integrity_check =
          std::async(std::launch::async, check::check_sqlite_integrity, ctx.log_uri, *file);
    }
    // Through a coordinator, nothing here reads the events: the check reads them itself.
    if (derived && !log) {
      derived_check = std::async(std::launch::async, [&] { return derived->result(); });
    }
  } catch (const std::system_error&) {
    // No thread to be had: they run after the view checks.
  }
  auto report = log ? check::run_local_log_check(*log, options, derived.get())
                    : check::run_log_check(session->client(), options);
  log.reset();
  if (progress) progress->finish();
  if (file && integrity) {
    storage_checks.insert(storage_checks.begin(),
                         integrity_check.valid()
                             ? integrity_check.get()
                             : check::check_sqlite_integrity(ctx.log_uri, *file));
  }
  if (derived) {
    storage_checks.push_back(derived_check.valid() ? derived_check.get() : derived->result());
  } else if (postgres) {
    storage_checks.push_back(derived_check.valid()
                                ? derived_check.get()
                                : check::check_postgres_derived_rows(ctx.log_uri));
  }
  if (!report.ok()) return ctx.fail(report.error());
  for (auto& c : storage_checks) report->checks.push_back(std::move(c));
  if (!derived && !postgres && !options.schema_not_applicable.empty()) {
    // Not run, and said so, as the schema's row says (not left out).
    report->checks.push_back({"derived rows", true, "n/a (" + options.schema_not_applicable + ")"});
  }

  if (*format == Format::json) {
    print_report_json(*report);
  } else {
    print_report_table(*report);
  }
  std::fflush(stdout);
  if (!report->ok()) {
    size_t failed = 0;
    for (const auto& c : report->checks) failed += c.ok ? 0 : 1;
    const auto& stopped = report->scan_stopped;
    if (stopped &&
        (stopped->code == ErrorCode::timeout || stopped->code == ErrorCode::storage_unavailable)) {
      // Not a finding about the log: the scan could not go on (a coordinator stopped or stuck, a
      // storage out of reach), and the checks it left undone say nothing of damage.
      print_error(Error{stopped->code,
                        fmt::format("check: not finished: the scan of the log stopped ({}): {} of "
                                    "{} checks could not be made, which says nothing of damage; "
                                    "run bel check again once the log can be read",
                                    stopped->message, failed, report->checks.size())});
    } else {
      std::fprintf(stderr, "bel: check: %zu of %zu checks failed\n", failed, report->checks.size());
    }
    ctx.exit_code = kExitFailed;
  }
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
  auto* cmd = add_log_command(
      app, ctx, "check",
      "Check the log: every view equals a full scan; schema and idx contiguity; SQLite integrity "
      "and derived rows. Exit 0 when every check passes, 1 when any fails.");
  cmd->footer(
      "Checks, each reported with ok or FAILED and a detail:\n"
      "  schema          the log's schema_version is this bel's (n/a for in-process logs, and\n"
      "                  through --connect unless --log names the coordinator's log)\n"
      "  idx contiguity  a scan of every event finds idx 1, 2, 3, ... up to the log's last idx,\n"
      "                  without gaps or repeats; every event is valid (the append checks) and\n"
      "                  no event_id occurs twice\n"
      "  view NAME       for each view (partition_status, build_summary, job_runs, activity):\n"
      "                  the coordinator's answers equal those of folding the scanned events\n"
      "                  afresh, for activity, every page of every list, and the status, active\n"
      "                  builds, summary, job run or job metrics of every partition, build\n"
      "                  request, job run and job label in the log; also the view's state (a\n"
      "                  failed view answers from the fallback scan, which must agree too)\n"
      "  integrity       an sqlite:// file on this host: SQLite's integrity_check\n"
      "  derived rows    an sqlite:// file on this host or a postgresql:// log (named by --log\n"
      "                  when going through --connect): the key index,\n"
      "                  the event_id index and the event columns agree with the payloads\n"
      "Goes through the running coordinator when there is one: appends may go on meanwhile, and\n"
      "answers that reflect later events are compared with the fold read up to the same idx.\n"
      "Else opens the log read-only in this process and checks view by view, without a\n"
      "coordinator: what a coordinator would restore (the view's snapshot and the events after\n"
      "it) against the view folded from idx 1, up to the last idx when the check started; a\n"
      "snapshot that does not load fails its view's check. Two views in the same state (their\n"
      "snapshots would be the same bytes) give every answer alike: their questions are then\n"
      "counted, not asked of both.");
  auto repair_first = std::make_shared<bool>(false);
  cmd->add_flag("--repair", *repair_first,
                "Rebuild the derived data (indexes) from the events first; needs the writer lock");
  auto skip_integrity = std::make_shared<bool>(false);
  cmd->add_flag("--skip-integrity", *skip_integrity,
                "Leave out SQLite's integrity check (it reads every page of the file; the "
                "derived-rows check still runs)");
  cmd->callback([&ctx, repair_first, skip_integrity] {
    run_check(ctx, *repair_first, /*integrity=*/!*skip_integrity);
  });
}

}  // namespace bel::app
