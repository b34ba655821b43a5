// P7, P8, P10, P11 and P12 of bench/log_suites.h: figures of separate `bel` processes, run as
// children of `bel bench` (bench/child_process.h) on the logs of bench/bench_log.h.
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <system_error>
#include <thread>

#include "bench/child_process.h"
#include "bench/coordinator_probe.h"
#include "bench/log_suites.h"
#include "bench/machine.h"
#include "messages/json.h"

namespace bel::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Memory is reported in MiB (2^20 bytes), as ps and top count it; SPEC's "500 MB" and "1 GB" are
// read as 500 MiB and 1 GiB (docs/benchmarks.md, "Units").
constexpr double kMiB = 1024.0 * 1024.0;

std::string bel_binary(const SuiteRun& run) {
  return run.options().bel_binary.empty() ? self_binary() : run.options().bel_binary;
}

// "bel ARGS exited with 1: <its standard error>", for a child that failed.
std::string failure_text(const std::vector<std::string>& args, const ChildRun& child) {
  std::string line;
  for (const auto& a : args) line += " " + a;
  std::string err = child.err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return fmt::format("bel{} exited with {}: {}", line, child.exit_code, err);
}

// Runs `bel ARGS`: the run, whatever its exit code; an error when it cannot start.
Result<ChildRun> run_bel_any(const SuiteRun& run, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {bel_binary(run)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_child(argv);
}

// Runs `bel ARGS`; an error also when it exits non-zero.
Result<ChildRun> run_bel(const SuiteRun& run, const std::vector<std::string>& args) {
  auto child = run_bel_any(run, args);
  if (child.ok() && child->exit_code != 0) {
    return make_error(ErrorCode::internal, failure_text(args, *child));
  }
  return child;
}
std::string key(const std::string& figure, const BenchLog& log) {
  return figure + " " + log.scale.name;
}

// P7's and P8's repetitions on `log`: fresh `bel bench --probe-coordinator` processes, measured
// once per run and log (P7 and P8 share them).
Status probe(SuiteRun& run, const BenchLog& log) {
  if (run.measured.count(key("P7", log)) > 0) return ok_status();
  // A start to the first answer takes milliseconds: one descheduled thread moves a single run by
  // several times, so the median takes at least five.
  const int reps = run.options().quick ? run.options().repetitions
                                       : std::max(run.options().repetitions, 5);
  std::vector<double> first, peak, rss, ready;
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("P7/P8", log, "coordinator start", rep, reps), rep, reps);
    auto child = run_bel(run, {"bench", "--probe-coordinator", log.uri});
    if (!child.ok()) return child.error();
    auto p = parse_probe(child->out);
    if (!p.ok()) return p.error();
    first.push_back(p->first_answer_seconds);
    peak.push_back(static_cast<double>(p->peak_rss_bytes) / kMiB);
    rss.push_back(static_cast<double>(p->rss_bytes) / kMiB);
    ready.push_back(p->views_ready_seconds);
  }
  run.measured[key("P7", log)] = first;
  run.measured[key("P8", log)] = peak;
  run.measured[key("P8 rss", log)] = rss;
  run.measured[key("P7 views ready", log)] = ready;
  return ok_status();
}

// P7 (`memory` false: seconds to the first answer) or P8 (peak RSS) of `log`, from the probes.
Result<Figure> probe_figure(SuiteRun& run, const BenchLog& log, const std::string& id, bool memory,
                            double limit) {
  BEL_RETURN_IF_ERROR(probe(run, log));
  const char* unit = memory ? "MiB" : "s";
  Figure f = log_figure(id, log, unit, fmt::format("<= {:g} {}", limit, unit));
  f.values = run.measured[key(memory ? "P8" : "P7", log)];
  finish_figure(f);
  judge(run, f, f.value <= limit);
  if (memory) {
    f.what = fmt::format(
        "peak RSS (VmHWM) of that coordinator process once every view has applied the {} log "
        "({} partitions), write-side state included",
        log.scale.name, log.scale.partitions);
    f.detail =
        fmt::format("RSS then: {:.0f} MiB (median)", median(run.measured[key("P8 rss", log)]));
  } else {
    f.what = fmt::format(
        "a fresh process starts a coordinator on the {} log (as bel serve does, without the "
        "console endpoint) until its first activity answer at the log's last idx",
        log.scale.name);
    f.detail = fmt::format("every view caught up after {:.2f} s (median)",
                           median(run.measured[key("P7 views ready", log)]));
  }
  return f;
}

struct ConsoleCommand {
  const char* name;
  bool show;  // a question about one key (else a whole-log question)
  std::function<std::vector<std::string>(const BenchLog&)> args;
};

const std::vector<ConsoleCommand>& console_commands() {
  static const std::vector<ConsoleCommand> commands = {
      {"partitions show", true,
       [](const BenchLog& l) {
         return std::vector<std::string>{"partitions", "show", l.hot_partition};
       }},
      {"builds show", true,
       [](const BenchLog& l) {
         return std::vector<std::string>{"builds", "show", l.build_request_id};
       }},
      {"job-runs show", true,
       [](const BenchLog& l) {
         return std::vector<std::string>{"job-runs", "show", l.job_run_id};
       }},
      {"events list --partition", true,
       [](const BenchLog& l) {
         return std::vector<std::string>{"events",        "list",    "--partition",
                                         l.hot_partition, "--limit", "10"};
       }},
      {"activity", false, [](const BenchLog&) { return std::vector<std::string>{"activity"}; }},
      {"partitions list", false,
       [](const BenchLog&) {
         return std::vector<std::string>{"partitions", "list"};
       }},
      {"builds list", false,
       [](const BenchLog&) {
         return std::vector<std::string>{"builds", "list"};
       }},
      {"jobs list", false,
       [](const BenchLog&) {
         return std::vector<std::string>{"jobs", "list"};
       }},
  };
  return commands;
}

// Milliseconds per run of `command` on `log` as a `bel` child with no coordinator, once per
// run and log. A first run, not timed, reads what the command reads into the page cache: the
// figure is the command on a warm cache (docs/benchmarks.md), not whatever the runs before it
// left there (a hot partition's history is thousands of scattered pages of a 3.6 GB file at
// 10M events).
Result<std::vector<double>> command_ms(SuiteRun& run, const BenchLog& log,
                                       const ConsoleCommand& command) {
  const std::string k = key(std::string("P10 ") + command.name, log);
  if (auto it = run.measured.find(k); it != run.measured.end()) return it->second;
  std::vector<std::string> args = command.args(log);
  args.insert(args.end(), {"--log", log.uri, "--format", "json"});
  const int reps = run.options().repetitions;
  if (auto warm = run_bel_any(run, args); !warm.ok()) return warm.error();
  std::vector<double> ms;
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("P10", log, command.name, rep, reps), rep, reps);
    auto child = run_bel_any(run, args);
    if (!child.ok()) return child.error();
    ms.push_back(child->seconds * 1000);
    // A command that fails (a timeout on a slow machine) is a measured miss, not a lost suite.
    if (child->exit_code != 0) run.failures[k] = failure_text(args, *child);
  }
  run.measured[k] = ms;
  return ms;
}

// Fills f's values from `measure` on `log`, its baselines from the same on `reference`, and its
// ratio; returns what failed in either, as recorded under `failure_key` ("" when nothing did).
Result<std::string> measure_beside(
    SuiteRun& run, Figure& f, const BenchLog& log, const BenchLog& reference,
    const std::string& failure_key,
    const std::function<Result<std::vector<double>>(const BenchLog&)>& measure) {
  f.events = log.events;
  f.baseline_events = reference.events;
  auto values = measure(log);
  if (!values.ok()) return values.error();
  auto baselines = measure(reference);
  if (!baselines.ok()) return baselines.error();
  f.values = *values;
  f.baselines = *baselines;
  finish_figure(f);
  std::string failed;
  for (const BenchLog* l : {&log, &reference}) {
    auto it = run.failures.find(key(failure_key, *l));
    if (it != run.failures.end()) failed += (failed.empty() ? "" : "; ") + it->second;
  }
  return failed;
}

// One row per console command: `log` beside `reference`, within `show_ratio` / `list_ratio`.
Result<std::vector<Figure>> command_rows(SuiteRun& run, const std::string& prefix,
                                         const BenchLog& log, const BenchLog& reference,
                                         bool absolute_limits, double show_ratio,
                                         double list_ratio) {
  std::vector<Figure> out;
  for (const auto& c : console_commands()) {
    Figure f;
    f.id = prefix + c.name;
    f.unit = "ms";
    const double limit_ms = c.show ? 100 : 500;
    const double ratio = c.show ? show_ratio : list_ratio;
    f.target = absolute_limits ? fmt::format("<= {:g} ms and <= {:g}x", limit_ms, ratio)
                               : fmt::format("<= {:g}x", ratio);
    auto measured = measure_beside(run, f, log, reference, std::string("P10 ") + c.name,
                                   [&](const BenchLog& l) { return command_ms(run, l, c); });
    if (!measured.ok()) return measured.error();
    const std::string& failed = *measured;
    judge(run, f, failed.empty() && f.ratio <= ratio && (!absolute_limits || f.value <= limit_ms));
    if (!failed.empty()) f.detail = "FAILED: " + failed;
    f.what = fmt::format("`bel {}` on the {} log, no coordinator running: wall ms of the process",
                         c.name, log.scale.name);
    f.baseline_what = fmt::format("the same command on the {} log", reference.scale.name);
    out.push_back(std::move(f));
  }
  return out;
}

// Writes a file's dirty pages to disk, as a log that has been in use for a while has them.
std::error_code sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::error_code ec;
  if (fd < 0 || ::fsync(fd) != 0) ec = std::error_code(errno, std::generic_category());
  if (fd >= 0) ::close(fd);
  return ec;
}

// Milliseconds per `bel append` of the events that follow `log`'s (bench_log.h) onto a copy of
// it, once per repetition and each on a fresh copy in the run's directory: a writer opening a log
// with a long history (its checkpoint and the tail after it), validating and committing 1k events
// in one batch, and refreshing the view snapshots that fell due. The copy, just written, is in the
// page cache, as the logs of the console commands are after their first run, and synced to disk
// before the command starts: unsynced, the command's first checkpoint would write out the whole
// copy (0.2 s for the 1M log on the 2-core VM), a cost of the copy, not of bel.
// What cannot be made or copied (a full disk) is a measured miss, as a failing command is: the
// row says so and the other rows still run.
Result<std::vector<double>> append_ms(SuiteRun& run, const BenchLog& log) {
  const std::string k = key("append", log);
  std::vector<double> ms;
  auto next = ensure_next_events(log, run.options().progress);
  if (!next.ok()) {
    run.failures[k] = next.error().to_string();
    return ms;
  }
  const int reps = run.options().repetitions;
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("history", log, "append of 1k events", rep, reps), rep, reps);
    const std::string copy = run.fresh_db_path("append-" + log.scale.name + ".db");
    std::error_code ec;
    for (const char* suffix : {"", "-wal"}) {
      if (!std::filesystem::exists(log.path + suffix, ec)) continue;
      std::filesystem::copy_file(log.path + suffix, copy + suffix, ec);
      if (!ec) ec = sync_file(copy + suffix);
      if (ec) {
        run.remove_db(copy);
        run.failures[k] = "bench: cannot copy " + log.path + suffix + ": " + ec.message();
        return ms;
      }
    }
    const std::vector<std::string> args = {"append",           *next,      "--log",
                                           "sqlite://" + copy, "--format", "json"};
    auto child = run_bel_any(run, args);
    run.remove_db(copy);
    for (const char* suffix : {".lock", ".token"}) std::filesystem::remove(copy + suffix, ec);
    if (!child.ok()) return child.error();
    ms.push_back(child->seconds * 1000);
    if (child->exit_code != 0) run.failures[k] = failure_text(args, *child);
  }
  return ms;
}

// The history row beside P10's: `bel append` of 1k events on the main log within 3x of the same
// on the small one (no absolute target: SPEC section 8 sets none for it).
Result<Figure> append_row(SuiteRun& run, const BenchLog& log, const BenchLog& reference) {
  Figure f;
  f.id = "history: append 1k";
  f.unit = "ms";
  f.target = "<= 3x";
  auto measured = measure_beside(run, f, log, reference, "append",
                                 [&](const BenchLog& l) { return append_ms(run, l); });
  if (!measured.ok()) return measured.error();
  const std::string& failed = *measured;
  judge(run, f, failed.empty() && f.ratio <= 3);
  if (!failed.empty()) f.detail = "FAILED: " + failed;
  f.what = fmt::format(
      "`bel append` of the {} events that follow the {} log's in its generator's stream, in "
      "process (no coordinator), onto a fresh copy of the log: wall ms of the process",
      kNextEvents, log.scale.name);
  f.baseline_what = fmt::format("the same on a copy of the {} log", reference.scale.name);
  return f;
}

// SQLite's own integrity check of the log, in this process: seconds.
Result<double> integrity_check_seconds(const BenchLog& log) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(log.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return make_error(ErrorCode::storage_unavailable, "bench: cannot open " + log.path);
  }
  const auto start = Clock::now();
  sqlite3_stmt* stmt = nullptr;
  std::string verdict;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    verdict = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (verdict != "ok") {
    return make_error(ErrorCode::storage_corrupt,
                      "bench: integrity_check of " + log.path + ": " + verdict);
  }
  return seconds;
}

// `bel ARGS` on `log`: an events/s row beside `ceiling` (the raw scan+parse rates of `log`, per
// repetition) and a peak-RSS row.
Result<std::vector<Figure>> command_rate_rows(SuiteRun& run, const BenchLog& log,
                                              const std::string& name,
                                              const std::vector<std::string>& args,
                                              const std::vector<double>& ceiling) {
  Figure rate = log_figure("P11 " + name, log, "events/s", ">= 1000000/s");
  rate.baselines = ceiling;
  rate.baseline_what = kRawScanParseWhat;
  Figure rss = log_figure("P11 " + name + " peak RSS", log, "MiB", "<= 500 MiB");
  const int reps = run.options().repetitions;
  std::vector<double> cpu_per_event, cores_busy;
  bool failed = false;  // a run exited with an error: rate.detail says which
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("P11", log, name, rep, reps), rep, reps);
    auto child = run_bel_any(run, args);
    if (!child.ok()) return child.error();
    if (child->exit_code != 0) {
      failed = true;
      rate.detail = "FAILED: " + failure_text(args, *child);
    }
    rate.values.push_back(child->seconds > 0 ? static_cast<double>(log.events) / child->seconds
                                             : 0);
    rss.values.push_back(static_cast<double>(child->peak_rss_bytes) / kMiB);
    if (log.events > 0 && child->seconds > 0) {
      cpu_per_event.push_back(child->cpu_seconds / static_cast<double>(log.events));
      cores_busy.push_back(child->cpu_seconds / child->seconds);
    }
  }
  finish_figure(rate);
  finish_figure(rss);
  // Whether the cores bound it: the CPU an event cost, and what the target would ask of them.
  if (!failed && !cpu_per_event.empty()) {
    const double cpu = median(cpu_per_event);
    rate.detail = fmt::format(
        "process CPU per event {:.2f} us (user and system, all threads; median), {:.2f} cores "
        "busy on average",
        cpu * 1e6, median(cores_busy));
    if (auto note = cores_at_target(cpu, 1000000, online_cores(), "event"); !note.empty()) {
      rate.detail += "; " + note;
    }
  }
  judge(run, rate, rate.value >= 1000000 && !failed);
  judge(run, rss, rss.value <= 500);
  rate.what = fmt::format("events of the {} log per second of `bel {}` (the whole process)",
                          log.scale.name, name);
  note_ceiling_below(rate, 1000000);
  rss.what = fmt::format("peak RSS of that `bel {}` process", name);
  return std::vector<Figure>{rate, rss};
}

// The views of `status` all healthy at its last idx.
bool views_caught_up(const ViewsStatus& status) {
  for (const auto& v : status.views()) {
    if (v.state() != v1::VIEW_HEALTHY || v.applied_idx() < status.last_idx()) return false;
  }
  return status.views_size() > 0;
}

// `bel check` through a running coordinator, which SPEC's P11 does not time (it times the check
// with none running), though an operator checks a log whose coordinator runs: `bel serve` on a
// copy of `log` (it writes snapshots and its endpoint into the log it serves), its views caught
// up, then `bel check` of the copy, which asks that coordinator every question. Reported.
Result<Figure> check_through_coordinator(SuiteRun& run, const BenchLog& log) {
  Figure f = log_figure("P11 check through a coordinator", log, "events/s", "reported (no target)");
  const std::string copy = run.fresh_db_path("check-through-coordinator.db");
  struct Cleanup {
    SuiteRun& run;
    std::string copy;
    ~Cleanup() {
      run.remove_db(copy);
      std::error_code ec;
      for (const char* suffix : {".token", ".lock", ".out"})
        std::filesystem::remove(copy + suffix, ec);
    }
  } cleanup{run, copy};
  std::error_code ec;
  std::filesystem::copy_file(log.path, copy, ec);
  if (!ec && std::filesystem::exists(log.path + "-wal")) {
    std::filesystem::copy_file(log.path + "-wal", copy + "-wal", ec);
  }
  if (ec) {
    return make_error(ErrorCode::storage_unavailable,
                      "bench: copying " + log.path + ": " + ec.message());
  }
  const std::string uri = "sqlite://" + copy;
  run.progress(log_phase("P11", log, "starting a coordinator", 0, 1), 0, 1);
  auto serve = BackgroundChild::start({bel_binary(run), "serve", "--log", uri}, "running",
                                      copy + ".out", std::chrono::minutes(10));
  if (!serve.ok()) return serve.error();
  // The check compares the views' answers, not those of a fallback scan while they load.
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (true) {
    auto status = run_bel_any(run, {"views", "status", "--log", uri, "--format", "json"});
    if (!status.ok()) return status.error();
    ViewsStatus views;
    if (from_json(status->out, &views).ok() && views_caught_up(views)) break;
    if (Clock::now() > deadline) {
      return make_error(ErrorCode::timeout, "bench: the coordinator's views on " + copy +
                                                " did not catch up within 10 minutes");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int reps = run.options().repetitions;
  const std::vector<std::string> args = {"check", "--skip-integrity", "--log",
                                         uri,     "--format",         "json"};
  std::vector<double> cpu, rss;
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("P11", log, "check through a coordinator", rep, reps), rep, reps);
    auto child = run_bel_any(run, args);
    if (!child.ok()) return child.error();
    if (child->exit_code != 0) f.detail = "FAILED: " + failure_text(args, *child);
    f.values.push_back(child->seconds > 0 ? static_cast<double>(log.events) / child->seconds : 0);
    cpu.push_back(child->cpu_seconds);
    rss.push_back(static_cast<double>(child->peak_rss_bytes) / kMiB);
  }
  (*serve)->stop();
  finish_figure(f);
  f.pass_note = "reported";
  f.what = fmt::format(
      "events of the {} log per second of `bel check` asking a running coordinator (`bel serve` "
      "on a copy of the log, its views caught up) every question",
      log.scale.name);
  if (f.detail.empty()) {
    f.detail = fmt::format("the check's CPU {:.2f} s, its peak RSS {:.0f} MiB (medians)",
                           median(cpu), median(rss));
  }
  return f;
}

}  // namespace

Result<Figure> measure_p7(SuiteRun& run) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  auto small = run.small_log();
  if (!small.ok()) return small.error();
  auto f = probe_figure(run, **log, "P7", /*memory=*/false, 0.5);
  if (!f.ok()) return f;
  // Beside it, the same start on the small log: the start should not grow with the history.
  BEL_RETURN_IF_ERROR(probe(run, **small));
  f->baselines = run.measured[key("P7", **small)];
  f->baseline_what = fmt::format("the same start on the {} log", (*small)->scale.name);
  finish_figure(*f);
  f->target = "<= 0.5 s and <= 3x";
  judge(run, *f, f->value <= 0.5 && f->ratio <= 3);
  return f;
}

Result<Figure> measure_p8(SuiteRun& run) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  return probe_figure(run, **log, "P8", /*memory=*/true, 500);
}

Result<std::vector<Figure>> measure_p10(SuiteRun& run) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  auto small = run.small_log();
  if (!small.ok()) return small.error();
  auto rows = command_rows(run, "P10 ", **log, **small, /*absolute_limits=*/true, 2, 3);
  if (!rows.ok()) return rows;
  auto append = append_row(run, **log, **small);
  if (!append.ok()) return append.error();
  rows->push_back(std::move(*append));
  return rows;
}

Result<std::vector<Figure>> measure_p11(SuiteRun& run) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  const BenchLog& l = **log;
  // Both commands read and parse every event at least once: beside the ceiling of doing only that.
  auto ceiling = raw_scan_parse_rates(run, l, "P11");
  if (!ceiling.ok()) return ceiling.error();
  // SPEC's P11 times bel's own checks (views, idx, derived rows); SQLite's integrity check is
  // timed apart, in the row below.
  auto out = command_rate_rows(
      run, l, "check", {"check", "--skip-integrity", "--log", l.uri, "--format", "json"}, *ceiling);
  if (!out.ok()) return out.error();
  Figure integrity = log_figure("P11 integrity_check", l, "events/s", "reported (no target)");
  for (int rep = 0; rep < run.options().repetitions; ++rep) {
    auto seconds = integrity_check_seconds(l);
    if (!seconds.ok()) return seconds.error();
    integrity.values.push_back(*seconds > 0 ? static_cast<double>(l.events) / *seconds : 0);
  }
  finish_figure(integrity);
  integrity.pass_note = "reported";
  integrity.what =
      "SQLite's PRAGMA integrity_check of the log (timed apart from bel check): "
      "events of the log per second";
  out->push_back(std::move(integrity));
  auto through = check_through_coordinator(run, l);
  if (!through.ok()) return through.error();
  out->push_back(std::move(*through));
  auto rebuild = command_rate_rows(
      run, l, "views rebuild", {"views", "rebuild", "--log", l.uri, "--format", "json"}, *ceiling);
  if (!rebuild.ok()) return rebuild.error();
  for (auto& f : *rebuild) out->push_back(std::move(f));
  return out;
}

Result<std::vector<Figure>> measure_p12(SuiteRun& run) {
  if (!run.growth_enabled()) {
    Figure f;
    f.id = "P12";
    f.target = "P7 <= 1 s, P8 <= 1 GiB, P10 within 2x of 1M, P9 unchanged";
    f.pass_note = "not measured: run with --scale 10m (never in CI)";
    f.what = "growth to a 10M-event log over ~1M partitions";
    f.baseline_what = "the 1M-event log's figures";
    return std::vector<Figure>{f};
  }
  auto main_log = run.main_log();
  if (!main_log.ok()) return main_log.error();
  auto growth = run.growth_log();
  if (!growth.ok()) return growth.error();
  const BenchLog& m = **main_log;
  const BenchLog& g = **growth;
  std::vector<Figure> out;
  auto p7 = probe_figure(run, g, "P12 P7", /*memory=*/false, 1.0);
  if (!p7.ok()) return p7.error();
  out.push_back(std::move(*p7));
  auto p8 = probe_figure(run, g, "P12 P8", /*memory=*/true, 1024);
  if (!p8.ok()) return p8.error();
  out.push_back(std::move(*p8));
  Figure p9 = log_figure("P12 P9", g, "bytes/event", "unchanged (<= 1.1x)");
  p9.values = {static_cast<double>(log_bytes_on_disk(g.path)) / static_cast<double>(g.events)};
  p9.baselines = {static_cast<double>(log_bytes_on_disk(m.path)) / static_cast<double>(m.events)};
  p9.baseline_events = m.events;
  finish_figure(p9);
  judge(run, p9, p9.ratio <= 1.1);
  p9.what = fmt::format("bytes on disk per event of the {} log", g.scale.name);
  p9.baseline_what = fmt::format("the same of the {} log", m.scale.name);
  out.push_back(std::move(p9));
  auto p10 = command_rows(run, "P12 P10 ", g, m, /*absolute_limits=*/false, 2, 2);
  if (!p10.ok()) return p10.error();
  for (auto& f : *p10) out.push_back(std::move(f));
  return out;
}

}  // namespace bel::bench
