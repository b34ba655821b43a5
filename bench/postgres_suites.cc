// The `pg` suite: P1 and P2 on a PostgreSQL log beside the same figures on SQLite, in one run
// (docs/scale-out.md). Each repetition appends to a fresh schema of the --postgres database,
// which PostgresStorage creates; the schemas are left for inspection (DROP SCHEMA to remove).
#include <unistd.h>

#include <fmt/format.h>

#include "bench/acked_appends.h"
#include "bench/append_suites.h"
#include "bench/postgres_suites.h"
#include "messages/event_id.h"

namespace bel::bench {
namespace {

// `base` selecting a schema of its own through libpq's options parameter.
std::string fresh_schema_uri(const std::string& base, int n) {
  const std::string sep = base.find('?') == std::string::npos ? "?" : "&";
  return fmt::format("{}{}options=-csearch_path%3Dbel_bench_{}_{}", base, sep, ::getpid(), n);
}

struct Side {
  std::vector<double> rates;
  std::vector<double> groups;
};

}  // namespace

Result<std::vector<Figure>> measure_postgres(SuiteRun& run) {
  const BenchOptions& o = run.options();
  std::vector<Figure> out;
  struct Spec {
    const char* id;
    int64_t events;
    int window;
  };
  const Spec specs[] = {{"P1 postgres", o.events > 0 ? o.events : 20000, kP1Window},
                        {"P2 postgres", o.events > 0 ? std::min<int64_t>(o.events, 2000) : 1000, 1}};
  static int schemas = 0;
  for (const auto& spec : specs) {
    Figure f;
    f.id = spec.id;
    f.unit = "appends/s";
    f.events = spec.events;
    f.baseline_events = spec.events;
    f.target = "report (beside SQLite)";
    f.what = fmt::format("acked appends/s on PostgreSQL, {} in flight, through a coordinator",
                         spec.window);
    f.baseline_what = "the same appends on an SQLite file in the same run";
    if (o.postgres.empty()) {
      f.pass_note = "not measured: give --postgres URI";
      out.push_back(std::move(f));
      continue;
    }
    std::vector<BuildEvent> events = run.events(spec.events);
    for (auto& e : events) e.set_event_id(new_event_id());
    Side pg, sqlite;
    for (int rep = 0; rep < o.repetitions; ++rep) {
      for (bool on_pg : {true, false}) {
        AckedAppendsOptions a;
        a.window = spec.window;
        a.durability_full = o.durability_full;
        a.path = AppendPath::coordinator;
        std::string path;
        if (on_pg) {
          a.uri = fresh_schema_uri(o.postgres, schemas++);
        } else {
          path = run.fresh_db_path("pg-beside.db");
          a.log_path = path;
        }
        auto m = measure_acked_appends(
            a, events,
            run.progress_of(fmt::format("{} {}, run {}/{}", spec.id, on_pg ? "postgres" : "sqlite",
                                        rep + 1, o.repetitions)));
        if (!path.empty()) run.remove_db(path);
        if (!m.ok()) return m.error();
        Side& side = on_pg ? pg : sqlite;
        side.rates.push_back(m->per_second);
        side.groups.push_back(m->average_group());
      }
    }
    f.values = pg.rates;
    f.baselines = sqlite.rates;
    f.value = median(f.values);
    f.baseline = median(f.baselines);
    f.ratio = f.baseline > 0 ? f.value / f.baseline : 0;
    f.pass_note = "reported";
    f.detail = fmt::format("events per commit: postgres {:.1f}, sqlite {:.1f}", median(pg.groups),
                           median(sqlite.groups));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace bel::bench
