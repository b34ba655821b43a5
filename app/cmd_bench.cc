// bel bench [SUITE] (SPEC sections 6 and 8): runs the suites of bench/suites.h (P1..P3 on fresh
// logs in a temporary directory, P4..P12 on generated logs kept in a cache directory) and prints
// each figure beside its baseline, measured in the same run, with the machine notes. The
// measurements live in bench/ (bel_bench_lib); this file is the command line and the report.
// `bel bench --probe-coordinator URI` (hidden) is the child process P7 and P8 measure.
#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "app/progress.h"
#include "bench/coordinator_probe.h"
#include "bench/machine.h"
#include "bench/suites.h"

namespace bel::app {
namespace {

struct BenchArgs {
  std::string suite = "all";
  int64_t events = 0;
  int repetitions = 3;
  std::string dir;
  std::string via = bench::to_string(bench::AppendPath::coordinator);  // checked when parsed
  std::string client = bench::to_string(bench::AppendClient::appender);  // checked when parsed
  int in_flight = bench::kP1Window;
  bool strict = false;
  bool quick = false;
  std::string scale = "1m";
  std::string log_dir;
  uint64_t seed = 1;
  std::string postgres;  // --postgres: the pg suite's database
  std::string probe;  // --probe-coordinator: be P7/P8's child process
  bool repetitions_given = false;
  bool events_given = false;  // --events 0 is not "the suite's own"
};

// Events per P1..P3 suite at the quick scale.
constexpr int64_t kQuickAppendEvents = 300;

// A fresh directory (mkdtemp) inside `base`, removed with this object whatever happened.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> create(const std::string& base) {
    std::string pattern = (std::filesystem::path(base) / "bel-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return make_error(ErrorCode::storage_unavailable, "bench: cannot create a directory in " +
                                                            base + ": " + std::strerror(errno));
    }
    return std::unique_ptr<ScratchDir>(new ScratchDir(pattern));
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string rate(double per_second) {
  return per_second >= 100 ? fmt::format("{:.0f}/s", per_second)
                           : fmt::format("{:.3g}/s", per_second);
}

// A value in `unit`, for people: "52273/s", "0.42 ms", "1.20 s", "212 MiB", "318 B/event".
std::string in_unit(double value, const std::string& unit) {
  if (unit.size() > 2 && unit.compare(unit.size() - 2, 2, "/s") == 0) return rate(value);
  if (unit == "ms" || unit == "s") {
    return value >= 100 ? fmt::format("{:.0f} {}", value, unit)
                        : fmt::format("{:.3g} {}", value, unit);
  }
  if (unit == "MiB") return fmt::format("{:.0f} MiB", value);
  if (unit == "bytes/event") return fmt::format("{:.0f} B/event", value);
  return fmt::format("{:.4g} {}", value, unit);
}

bool has_baseline(const bench::Figure& f) { return !f.baselines.empty(); }

std::string verdict(const bench::Figure& f) {
  if (!f.pass_note.empty()) return f.pass_note;
  return f.pass ? "pass" : "FAIL";
}

std::string join_values(const std::vector<double>& values) {
  std::string out;
  for (double v : values) {
    out += (out.empty() ? "" : ", ") +
           (v >= 1000 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v));
  }
  return out;
}
std::string gib(int64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

std::string build_note(const bench::MachineNotes& m) {
  return fmt::format("{} ({}, assertions {})", m.build_type.empty() ? "unset" : m.build_type,
                     m.optimized ? "optimized" : "NOT optimized", m.assertions ? "on" : "off");
}

std::string events_note(const std::vector<bench::Figure>& figures) {
  std::string out;
  for (const auto& f : figures) {
    if (f.unit != "appends/s") continue;  // the others name their log (logs: below)
    out += (out.empty() ? "" : ", ") + fmt::format("{} {}", f.id, f.events);
    if (f.baseline_events != f.events) out += fmt::format(" (baseline {})", f.baseline_events);
  }
  return out;
}

std::string log_note(const bench::BenchLog& l) {
  std::string made = "found in the cache";
  if (!l.reused) {
    made = fmt::format(
        "made in {:.1f} s (generate {:.1f} s: CPU {:.2f} s in the generator, {:.2f} s in the "
        "LogWriter; index {:.1f} s)",
        l.generate_seconds + l.index_seconds, l.generate_seconds, l.generator_cpu_seconds,
        l.writer_cpu_seconds, l.index_seconds);
  }
  if (l.snapshot_seconds > 0) {
    made += fmt::format(", views snapshotted in {:.1f} s", l.snapshot_seconds);
  }
  return fmt::format("{}: {} events over {} partitions, {}; hottest partition {} ({} events)",
                     l.scale.name, l.events, l.scale.partitions, made, l.hot_partition,
                     l.hot_partition_events);
}

void print_table(const std::vector<bench::Figure>& figures, const bench::MachineNotes& m,
                 const bench::BenchOptions& options, const std::vector<bench::BenchLog>& logs) {
  Table table({"FIGURE", "VALUE", "BASELINE", "RATIO", "TARGET", "PASS"});
  for (const auto& f : figures) {
    const bool measured = !f.values.empty();
    table.add_row({f.id, measured ? in_unit(f.value, f.unit) : "-",
                   has_baseline(f) ? in_unit(f.baseline, f.unit) : "-",
                   has_baseline(f) && measured ? bench::ratio_text(f.ratio) : "-", f.target,
                   verdict(f)});
  }
  table.print(stdout);
  std::printf("\n");
  for (const auto& f : figures) {
    std::printf("%s  value:    %s\n", f.id.c_str(), f.what.c_str());
    std::printf("    baseline: %s\n", f.baseline_what.c_str());
    if (!f.values.empty()) {
      std::printf("    runs:     value %s; baseline %s (%s; medians above)\n",
                  join_values(f.values).c_str(),
                  f.baselines.empty() ? "-" : join_values(f.baselines).c_str(), f.unit.c_str());
    }
    // One line each of the detail's lines, indented under the figure.
    for (size_t begin = 0; begin < f.detail.size();) {
      const size_t end = std::min(f.detail.find('\n', begin), f.detail.size());
      std::printf("    %.*s\n", static_cast<int>(end - begin), f.detail.data() + begin);
      begin = end + 1;
    }
  }
  std::printf("\nmachine notes\n");
  std::printf("  cpu:         %s, %d cores, %s memory, load average %.1f at start, %.1f at end\n",
              m.cpu_model.c_str(), m.cores, gib(m.memory_bytes).c_str(), m.load_average,
              bench::describe_machine(m.dir).load_average);
  std::printf("  files:       %s on %s (%s)\n", m.dir.c_str(), m.filesystem.c_str(),
              m.device.c_str());
  std::printf("  durability:  %s\n", options.durability_full
                                         ? "full (WAL, synchronous=FULL: one fsync per commit)"
                                         : "normal (WAL, synchronous=NORMAL)");
  const std::string appends = events_note(figures);
  if (!appends.empty()) std::printf("  events:      %s\n", appends.c_str());
  if (!logs.empty()) {
    std::printf("  logs:        %s (seed %llu, scale %s; %s)\n", options.log_dir.c_str(),
                static_cast<unsigned long long>(options.seed),
                options.quick ? "quick" : options.scale.c_str(),
                options.log_dir == options.dir ? "removed afterwards" : "kept between runs");
  }
  for (const auto& l : logs) std::printf("    %s\n", log_note(l).c_str());
  std::printf("  repetitions: %d per figure (medians)\n", options.repetitions);
  std::printf("  appends via: %s, sent by %s\n", bench::to_string(options.path),
              bench::to_string(options.client));
  if (options.in_flight != bench::kP1Window) {
    std::printf("  in flight:   %d appends in P1, P1r and P3 (producers of at most %d each)\n",
                options.in_flight, bench::kP1Window);
  }
  std::printf("  build:       %s\n", build_note(m).c_str());
  std::printf("  software:    SQLite %s, %s, %s\n", m.sqlite_version.c_str(), m.allocator.c_str(),
              m.kernel.c_str());
  for (const auto& w : m.warnings) std::printf("  WARNING:     %s\n", w.c_str());
}

std::string json_numbers(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i > 0 ? ", " : "") + fmt::format("{:.6g}", values[i]);
  }
  return out + "]";
}

std::string json_logs(const std::vector<bench::BenchLog>& logs) {
  std::string out = "[";
  for (size_t i = 0; i < logs.size(); ++i) {
    const auto& l = logs[i];
    out += (i > 0 ? ", " : "") + std::string("{\"scale\": ") + json_string(l.scale.name);
    out += fmt::format(", \"events\": {}, \"partitions\": {}, \"reused\": {}", l.events,
                       l.scale.partitions, l.reused ? "true" : "false");
    out += fmt::format(
        ", \"generate_seconds\": {:.3f}, \"generator_cpu_seconds\": {:.3f}, "
        "\"writer_cpu_seconds\": {:.3f}, \"index_seconds\": {:.3f}, "
        "\"snapshot_seconds\": {:.3f}",
        l.generate_seconds, l.generator_cpu_seconds, l.writer_cpu_seconds, l.index_seconds,
        l.snapshot_seconds);
    out += ", \"path\": " + json_string(l.path) +
           ", \"hot_partition\": " + json_string(l.hot_partition);
    out += fmt::format(", \"hot_partition_events\": {}, \"json_bytes_per_event\": {:.1f}}}",
                       l.hot_partition_events, l.json_bytes_per_event);
  }
  return out + "]";
}

void print_json(const std::vector<bench::Figure>& figures, const bench::MachineNotes& m,
                const bench::BenchOptions& options, const std::vector<bench::BenchLog>& logs) {
  std::string out = "{\"machine\": {";
  out += "\"cpu\": " + json_string(m.cpu_model);
  out += fmt::format(
      ", \"cores\": {}, \"memory_bytes\": {}, \"load_average\": {:.2f}, "
      "\"load_average_end\": {:.2f}",
      m.cores, m.memory_bytes, m.load_average, bench::describe_machine(m.dir).load_average);
  out += ", \"dir\": " + json_string(m.dir) + ", \"filesystem\": " + json_string(m.filesystem) +
         ", \"device\": " + json_string(m.device);
  out += ", \"durability\": " + json_string(options.durability_full ? "full" : "normal");
  out += fmt::format(", \"repetitions\": {}, \"quick\": {}, \"scale\": ", options.repetitions,
                     options.quick ? "true" : "false") +
         json_string(options.quick ? "quick" : options.scale);
  out += ", \"log_dir\": " + json_string(options.log_dir);
  out += ", \"appends_via\": " + json_string(bench::to_string(options.path));
  out += ", \"appends_client\": " + json_string(bench::to_string(options.client));
  out += fmt::format(", \"in_flight\": {}", options.in_flight);
  out += ", \"build_type\": " + json_string(m.build_type);
  out += std::string(", \"optimized\": ") + (m.optimized ? "true" : "false");
  out += std::string(", \"assertions\": ") + (m.assertions ? "true" : "false");
  out += ", \"sqlite\": " + json_string(m.sqlite_version) +
         ", \"allocator\": " + json_string(m.allocator) + ", \"kernel\": " + json_string(m.kernel);
  out += ", \"warnings\": [";
  for (size_t i = 0; i < m.warnings.size(); ++i) {
    out += (i > 0 ? ", " : "") + json_string(m.warnings[i]);
  }
  out += "], \"logs\": " + json_logs(logs) + "}, \"figures\": [";
  for (size_t i = 0; i < figures.size(); ++i) {
    const auto& f = figures[i];
    if (i > 0) out += ", ";
    out += "{\"figure\": " + json_string(f.id) + ", \"id\": " + json_string(f.id);
    out += fmt::format(", \"value\": {:.6g}, \"unit\": ", f.value) + json_string(f.unit);
    out += fmt::format(", \"baseline\": {:.6g}, \"ratio\": {:.4f}", f.baseline, f.ratio);
    out += ", \"target\": " + json_string(f.target);
    out += std::string(", \"pass\": ") + (!f.pass_note.empty() ? "null"
                                          : f.pass             ? "true"
                                                               : "false");
    out += ", \"pass_note\": " + json_string(f.pass_note);
    out += fmt::format(", \"events\": {}, \"baseline_events\": {}", f.events, f.baseline_events);
    out +=
        ", \"values\": " + json_numbers(f.values) + ", \"baselines\": " + json_numbers(f.baselines);
    out += ", \"what\": " + json_string(f.what) +
           ", \"baseline_what\": " + json_string(f.baseline_what) +
           ", \"detail\": " + json_string(f.detail) + "}";
  }
  out += "]}";
  std::printf("%s\n", out.c_str());
}

// The child process of P7 and P8: prints what bench/coordinator_probe.h measured.
void run_probe(Context& ctx, const std::string& uri) {
  cap_malloc_arenas();  // as `bel serve` does: P8 is that process's memory
  auto probe = bench::probe_coordinator(uri);
  if (!probe.ok()) return ctx.fail(probe.error());
  std::printf("%s", bench::probe_text(*probe).c_str());
}

// Where P4..P12's logs are kept: --log-dir, else bel-bench-logs in `base` (created).
Result<std::string> log_dir(const BenchArgs& args, const std::string& base) {
  std::string dir = args.log_dir;
  if (dir.empty()) dir = (std::filesystem::path(base) / "bel-bench-logs").string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::invalid_argument, "--log-dir: " + dir + " is not a directory");
  }
  return dir;
}

void run_bench(Context& ctx, const BenchArgs& args) {
  if (!args.probe.empty()) return run_probe(ctx, args.probe);
  auto format = ctx.output_format();
  if (!format) return;
  if (args.scale != "1m" && args.scale != "10m") {
    return ctx.usage_error("--scale: must be 1m or 10m, got " + args.scale);
  }
  auto selected = bench::select_suites(args.suite);
  if (!selected.ok()) return ctx.usage_error(selected.error().message);
  if (args.events < 0 || (args.events_given && args.events == 0)) {
    return ctx.usage_error("--events: must be at least 1, got " + std::to_string(args.events));
  }
  if (args.repetitions < 1 || args.repetitions > 100) {
    return ctx.usage_error("--repetitions: must be between 1 and 100, got " +
                           std::to_string(args.repetitions));
  }
  bench::BenchOptions options;
  for (auto path : bench::kAppendPaths) {
    if (args.via == bench::to_string(path)) options.path = path;  // --via is one of them
  }
  options.client = args.client == bench::to_string(bench::AppendClient::requests)
                       ? bench::AppendClient::requests
                       : bench::AppendClient::appender;
  // The storage actor alone takes one request per append only; the notes say what was sent.
  if (options.path == bench::AppendPath::storage_actor) {
    options.client = bench::AppendClient::requests;
  }
  std::string base = args.dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(base, ec)) {
    return ctx.usage_error("--dir: " + base + " is not a directory");
  }
  auto scratch = ScratchDir::create(base);
  if (!scratch.ok()) return ctx.fail(scratch.error());

  options.dir = (*scratch)->path();
  if (args.in_flight < 1 || args.in_flight > 50000) {
    return ctx.usage_error("--in-flight: must be 1 .. 50000, got " +
                           std::to_string(args.in_flight));
  }
  options.in_flight = args.in_flight;
  options.events = args.events;
  options.repetitions = args.repetitions;
  options.quick = args.quick;
  options.scale = args.scale;
  options.seed = args.seed;
  options.postgres = args.postgres;
  if (args.quick) {
    if (args.events == 0) options.events = kQuickAppendEvents;
    if (!args.repetitions_given) options.repetitions = 1;
  }
  // The quick scale's logs are made in seconds: they go with the scratch directory unless
  // --log-dir keeps them.
  auto kept =
      args.quick && args.log_dir.empty() ? Result<std::string>(options.dir) : log_dir(args, base);
  if (!kept.ok()) return ctx.usage_error(kept.error().message);
  options.log_dir = *kept;
  const bench::MachineNotes machine = bench::describe_machine(options.dir);
  for (const auto& w : machine.warnings) std::fprintf(stderr, "bel: warning: %s\n", w.c_str());

  // One bar per phase ("P1 bel (run 1/3)", ...), on a terminal only.
  std::unique_ptr<Progress> progress;
  std::string phase;
  options.progress = [&](const std::string& name, int64_t done, int64_t total) {
    if (phase != name) {
      if (progress) progress->finish();
      phase = name;
      progress = std::make_unique<Progress>(phase);
    }
    progress->update(done, total);
  };
  std::vector<bench::BenchLog> logs;
  auto figures = bench::run_suites(*selected, options, &logs);
  if (progress) progress->finish();
  // Before printing: a reader that stops reading early (| head) must not leave files behind.
  scratch->reset();
  if (!figures.ok()) return ctx.fail(figures.error());

  if (*format == Format::json) {
    print_json(*figures, machine, options, logs);
  } else {
    print_table(*figures, machine, options, logs);
  }
  std::fflush(stdout);
  size_t failed = 0;
  for (const auto& f : *figures) {
    if (f.pass || !f.pass_note.empty()) continue;
    ++failed;
    std::fprintf(stderr, "bel: bench: %s missed its target (%s): value %s, baseline %s, ratio %s\n",
                 f.id.c_str(), f.target.c_str(), in_unit(f.value, f.unit).c_str(),
                 has_baseline(f) ? in_unit(f.baseline, f.unit).c_str() : "-",
                 bench::ratio_text(f.ratio).c_str());
  }
  if (failed > 0 && args.strict) ctx.exit_code = kExitFailed;
}

}  // namespace

void add_bench_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<BenchArgs>();
  std::vector<std::string> via_names;
  for (auto path : bench::kAppendPaths) via_names.emplace_back(bench::to_string(path));
  std::string suites_help;
  for (const auto& s : bench::suites()) {
    suites_help +=
        fmt::format("  {}  {} (default {} events)\n", s.name, s.summary, s.default_events);
  }
  auto* cmd = app.add_subcommand(
      "bench",
      "Measure bel's performance figures (appends, queries, rebuild, start, memory, disk, "
      "console commands, check), each beside a baseline measured in the same run "
      "or absolute with the machine noted; docs/benchmarks.md explains each figure. Exit 0 when "
      "the measurements ran, even if a target was missed (see --strict).");
  cmd->footer(
      "Suites:\n" + suites_help +
      "  all  every suite (the default)\n"
      "Each figure is the median of --repetitions runs. P1..P3 write fresh SQLite files in a\n"
      "new directory under --dir (removed afterwards); P4..P12 generate their logs once into\n"
      "--log-dir and reuse them in later runs. Build bel with\n"
      "-DCMAKE_BUILD_TYPE=Release, and keep --dir on the disk whose durability you mean to\n"
      "measure (not tmpfs).");
  cmd->add_option("suite", args->suite, "p1, p1r, p2 .. p12, pg or all")->capture_default_str();
  cmd->add_option("--events", args->events,
                  "Events P1..P3 append (default: the suite's own, see below)")
      ->each([args](const std::string&) { args->events_given = true; });
  cmd->add_option("--repetitions", args->repetitions,
                  "Runs per figure; medians are reported (default 3; 1 with --quick)")
      ->each([args](const std::string&) { args->repetitions_given = true; });
  cmd->add_flag("--quick", args->quick,
                "Every figure at a small scale, in seconds (a smoke test: absolute targets are "
                "not judged)");
  cmd->add_option("--scale", args->scale,
                  "1m: P4..P11 on the 1M-event log; 10m: also P12 on a 10M-event log (slow)")
      ->capture_default_str();
  cmd->add_option("--log-dir", args->log_dir,
                  "Where the generated logs of P4..P12 are kept between runs, by scale and seed "
                  "(default: bel-bench-logs inside --dir's base; with --quick, the scratch "
                  "directory)");
  not_negative(cmd->add_option("--seed", args->seed, "Seed of the generated logs"))
      ->capture_default_str();
  cmd->add_option("--postgres", args->postgres,
                  "A PostgreSQL database (libpq URI) for the pg suite: P1 and P2 there beside "
                  "SQLite, each run on a fresh schema");
  cmd->add_option("--probe-coordinator", args->probe)->group("");
  cmd->add_option("--dir", args->dir,
                  "Where the temporary logs go (default: $TMPDIR or /tmp); a fresh directory "
                  "is made inside it and removed afterwards");
  cmd->add_option("--via", args->via,
                  "Where bel's appends go: coordinator (its bel_api, views running), "
                  "storage-actor (the storage actor alone, a diagnostic), pure-actor (not bel: "
                  "an actor that only writes each append as one row and answers after COMMIT, "
                  "what actor-fed appends reach on this machine) or ids-actor (the same, each "
                  "row with its id under a unique index)")
      ->capture_default_str()
      ->check(CLI::IsMember(via_names));
  cmd->add_option("--client", args->client,
                  "How appends reach a coordinator or a bare actor (P1's actor-fed ceilings "
                  "included): appender (the client library's Appender, which carries the "
                  "appends made while earlier ones are answered in one message, each its own "
                  "append) or requests (one request per append; the storage actor alone takes "
                  "only these)")
      ->capture_default_str()
      ->check(CLI::IsMember({bench::to_string(bench::AppendClient::appender),
                             bench::to_string(bench::AppendClient::requests)}));
  cmd->add_option("--in-flight", args->in_flight,
                  "Appends in flight in P1, P1r and P3; their targets are judged at 1000 only. "
                  "More are kept by several producers of at most 1000 each: how bel's cost per "
                  "append grows with the appends waiting")
      ->capture_default_str();
  cmd->add_flag("--strict", args->strict, "Exit 1 when a figure misses its target");
  set_choices(cmd->add_option("--format", ctx.format,
                              "Output format: table or json (default: table on a terminal, json "
                              "otherwise)"),
              {"table", "json"});
  cmd->callback([&ctx, args] { run_bench(ctx, *args); });
}

}  // namespace bel::app
