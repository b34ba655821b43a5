// bel bench [SUITE] (SPEC sections 6 and 8): runs the suites of bench/suites.h on fresh logs in a
// temporary directory and prints each figure beside its baseline, measured in the same run, with
// the machine notes. The measurements live in bench/ (bel_bench_lib); this file is the command
// line and the report.
#include <fmt/format.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "app/progress.h"
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
  bool strict = false;
};

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

std::string rate(double per_second) { return fmt::format("{:.0f}/s", per_second); }

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
    out += (out.empty() ? "" : ", ") + fmt::format("{} {}", f.id, f.events);
    if (f.baseline_events != f.events) out += fmt::format(" (baseline {})", f.baseline_events);
  }
  return out;
}

void print_table(const std::vector<bench::Figure>& figures, const bench::MachineNotes& m,
                 const bench::BenchOptions& options) {
  Table table({"FIGURE", "VALUE", "BASELINE", "RATIO", "TARGET", "RESULT"});
  for (const auto& f : figures) {
    table.add_row({f.id, rate(f.value), rate(f.baseline), fmt::format("{:.2f}x", f.ratio), f.target,
                   f.pass ? "pass" : "FAIL"});
  }
  table.print(stdout);
  std::printf("\n");
  for (const auto& f : figures) {
    std::printf("%s  value:    %s\n", f.id.c_str(), f.what.c_str());
    std::printf("    baseline: %s\n", f.baseline_what.c_str());
    std::printf("    runs:     value %s; baseline %s (%s; medians above)\n",
                bench::join_rounded(f.values).c_str(), bench::join_rounded(f.baselines).c_str(),
                f.unit.c_str());
    if (!f.detail.empty()) std::printf("    %s\n", f.detail.c_str());
  }
  std::printf("\nmachine notes\n");
  std::printf("  cpu:         %s, %d cores, %s memory, load average %.1f at start\n",
              m.cpu_model.c_str(), m.cores, gib(m.memory_bytes).c_str(), m.load_average);
  std::printf("  files:       %s on %s (%s)\n", m.dir.c_str(), m.filesystem.c_str(),
              m.device.c_str());
  std::printf("  durability:  %s\n", options.durability_full
                                         ? "full (WAL, synchronous=FULL: one fsync per commit)"
                                         : "normal (WAL, synchronous=NORMAL)");
  std::printf("  events:      %s\n", events_note(figures).c_str());
  std::printf("  repetitions: %d per figure (medians)\n", options.repetitions);
  std::printf("  appends via: %s\n", bench::to_string(options.path));
  std::printf("  build:       %s\n", build_note(m).c_str());
  std::printf("  software:    SQLite %s, %s\n", m.sqlite_version.c_str(), m.kernel.c_str());
  for (const auto& w : m.warnings) std::printf("  WARNING:     %s\n", w.c_str());
}

std::string json_numbers(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i > 0 ? ", " : "") + fmt::format("{:.1f}", values[i]);
  }
  return out + "]";
}

void print_json(const std::vector<bench::Figure>& figures, const bench::MachineNotes& m,
                const bench::BenchOptions& options) {
  std::string out = "{\"machine\": {";
  out += "\"cpu\": " + json_string(m.cpu_model);
  out += fmt::format(", \"cores\": {}, \"memory_bytes\": {}, \"load_average\": {:.2f}", m.cores,
                     m.memory_bytes, m.load_average);
  out += ", \"dir\": " + json_string(m.dir) + ", \"filesystem\": " + json_string(m.filesystem) +
         ", \"device\": " + json_string(m.device);
  out += ", \"durability\": " + json_string(options.durability_full ? "full" : "normal");
  out += fmt::format(", \"repetitions\": {}", options.repetitions);
  out += ", \"appends_via\": " + json_string(bench::to_string(options.path));
  out += ", \"build_type\": " + json_string(m.build_type);
  out += std::string(", \"optimized\": ") + (m.optimized ? "true" : "false");
  out += std::string(", \"assertions\": ") + (m.assertions ? "true" : "false");
  out +=
      ", \"sqlite\": " + json_string(m.sqlite_version) + ", \"kernel\": " + json_string(m.kernel);
  out += ", \"warnings\": [";
  for (size_t i = 0; i < m.warnings.size(); ++i) {
    out += (i > 0 ? ", " : "") + json_string(m.warnings[i]);
  }
  out += "]}, \"figures\": [";
  for (size_t i = 0; i < figures.size(); ++i) {
    const auto& f = figures[i];
    if (i > 0) out += ", ";
    out += "{\"id\": " + json_string(f.id);
    out += fmt::format(", \"value\": {:.1f}, \"unit\": ", f.value) + json_string(f.unit);
    out += fmt::format(", \"baseline\": {:.1f}, \"ratio\": {:.4f}", f.baseline, f.ratio);
    out += ", \"target\": " + json_string(f.target);
    out += std::string(", \"pass\": ") + (f.pass ? "true" : "false");
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

void run_bench(Context& ctx, const BenchArgs& args) {
  auto format = ctx.output_format();
  if (!format) return;
  auto selected = bench::select_suites(args.suite);
  if (!selected.ok()) return ctx.usage_error(selected.error().message);
  if (args.events < 0) {
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
  options.events = args.events;
  options.repetitions = args.repetitions;
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
  auto figures = bench::run_suites(*selected, options);
  if (progress) progress->finish();
  // Before printing: a reader that stops reading early (| head) must not leave files behind.
  scratch->reset();
  if (!figures.ok()) return ctx.fail(figures.error());

  if (*format == Format::json) {
    print_json(*figures, machine, options);
  } else {
    print_table(*figures, machine, options);
  }
  std::fflush(stdout);
  size_t failed = 0;
  for (const auto& f : *figures) {
    if (f.pass) continue;
    ++failed;
    std::fprintf(
        stderr, "bel: bench: %s missed its target (%s): value %s, baseline %s, ratio %.2fx\n",
        f.id.c_str(), f.target.c_str(), rate(f.value).c_str(), rate(f.baseline).c_str(), f.ratio);
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
      "Measure bel's performance figures (appends per second, durable), each beside a baseline "
      "measured in the same run on the same data; docs/benchmarks.md explains each figure. Exit 0 when the measurements ran, even if a target was "
      "missed (see --strict).");
  cmd->footer(
      "Suites:\n" + suites_help +
      "  all  every suite (the default)\n"
      "Each figure is the median of --repetitions runs; every run writes fresh SQLite files in\n"
      "a new directory under --dir (removed afterwards). Build bel with\n"
      "-DCMAKE_BUILD_TYPE=Release, and keep --dir on the disk whose durability you mean to\n"
      "measure (not tmpfs).");
  cmd->add_option("suite", args->suite, "p1, p1r, p2, p3 or all")->capture_default_str();
  cmd->add_option("--events", args->events,
                  "Events each suite appends (default: the suite's own, see below)");
  cmd->add_option("--repetitions", args->repetitions, "Runs per figure; medians are reported")
      ->capture_default_str();
  cmd->add_option("--dir", args->dir,
                  "Where the temporary logs go (default: $TMPDIR or /tmp); a fresh directory "
                  "is made inside it and removed afterwards");
  cmd->add_option("--via", args->via,
                  "Where bel's appends go: coordinator (its bel_api, views running) or "
                  "storage-actor (the storage actor alone, a diagnostic)")
      ->capture_default_str()
      ->check(CLI::IsMember(via_names));
  cmd->add_flag("--strict", args->strict, "Exit 1 when a figure misses its target");
  cmd->add_option("--format", ctx.format,
                  "Output format: table or json (default: table on a terminal, json otherwise)");
  cmd->callback([&ctx, args] { run_bench(ctx, *args); });
}

}  // namespace bel::app
