#include "actors/sim/simulator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <utility>

#include "actors/component_log.h"

namespace bel::sim {
namespace {

using actors::append_atom;
using actors::query_atom;

using next_atom = caf::atom_constant<caf::atom("simnext")>;
using retry_atom = caf::atom_constant<caf::atom("simretry")>;

constexpr int64_t kMs = 1000000;  // nanoseconds
constexpr int64_t kSecond = 1000 * kMs;
constexpr int64_t kEventGap = 2 * kMs;   // between the events of one step
constexpr int64_t kStepGap = 40 * kMs;   // between the steps of one partition
constexpr int64_t kWaveGap = 300 * kMs;  // between two waves of jobs
constexpr auto kMaxRetryDelay = std::chrono::milliseconds(1000);
constexpr auto kStopGrace = std::chrono::seconds(5);

std::shared_ptr<spdlog::logger> sim_log() {
  static const auto logger = actors::component_log("simulator");
  return logger;
}

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- The catalogue ---------------------------------------------------------------------------

struct Dataset {
  const char* name;                   // "sales/daily"
  const char* job_label;              // "//sales:daily"
  const char* source;                 // --source argument of raw ingests, else ""
  std::vector<int> deps;              // upstream datasets, same date
  int run_min_s, run_max_s;           // job duration
  int weight;                         // how often a request wants it
  std::vector<const char*> failures;  // "%s" is the partition's date
};

// The datasets in dependency order (every dep comes first), so a request's partitions of one
// date, listed in this order, are upstream first.
const std::vector<Dataset>& catalogue() {
  // clang-format off
  static const std::vector<Dataset> kCatalogue = {
      // name, job label, source, deps, run seconds min/max, weight, failures
      {"raw/orders", "//raw:ingest", "orders", {}, 60, 300, 1,
       {"exit code 1: upstream file missing: s3://landing/orders/%s/_SUCCESS",
        "exit code 137: killed (out of memory)"}},
      {"raw/customers", "//raw:ingest", "customers", {}, 30, 120, 0,
       {"exit code 1: upstream file missing: s3://landing/crm/customers/%s.csv.gz",
        "exit code 75: source database busy, gave up after 5 attempts"}},
      {"raw/clicks", "//raw:ingest", "clicks", {}, 120, 600, 0,
       {"exit code 1: upstream file missing: s3://landing/clickstream/%s/part-0003.parquet",
        "exit code 137: killed (out of memory)"}},
      {"clean/orders", "//clean:orders", "", {0}, 30, 180, 1,
       {"exit code 1: 312 rows failed validation for %s (null order_id)",
        "exit code 1: duplicate order_id 88412907 in raw/orders/%s"}},
      {"sales/daily", "//sales:daily", "", {3, 1}, 120, 600, 3,
       {"exit code 1: schema mismatch: column 'currency' not found in clean/orders/%s",
        "exit code 2: join on customer_id matched 0 rows for %s"}},
      {"marketing/sessions", "//marketing:sessions", "", {2}, 60, 420, 2,
       {"exit code 2: session window overflow: 1.2M events for one visitor on %s",
        "exit code 137: killed (out of memory)"}},
      {"reports/revenue", "//reports:revenue", "", {4}, 20, 120, 4,
       {"exit code 1: query timed out after 900s (revenue for %s)",
        "exit code 1: revenue for %s differs from finance ledger by 3.2% (threshold 1%)"}},
      {"reports/funnel", "//reports:funnel", "", {5, 4}, 30, 180, 3,
       {"exit code 1: query timed out after 900s (funnel for %s)",
        "exit code 3: conversion rate 142% for %s is impossible: upstream sessions incomplete"}},
  };
  // clang-format on
  return kCatalogue;
}

const std::vector<const char*>& requesters() {
  static const std::vector<const char*> kRequesters = {
      "requested by the scheduler: daily refresh",
      "requested by the scheduler: daily refresh",
      "requested by alice@analytics: dashboard refresh",
      "requested by bob@finance: month-end close",
      "requested by airflow dag reports_hourly",
      "requested by carol@growth: ad-hoc analysis",
  };
  return kRequesters;
}

const std::vector<const char*>& cancel_reasons() {
  static const std::vector<const char*> kReasons = {
      "cancelled by alice@analytics: wrong date range",
      "cancelled by the scheduler: superseded by a newer request",
      "cancelled by bob@finance: numbers not needed any more",
      "cancelled by on-call: cluster maintenance window",
  };
  return kReasons;
}

// splitmix64: mixes seed and build number into independent streams.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// std::mt19937_64 with our own reductions (std:: distributions differ between libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  int64_t between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

// "2026-11-21" plus `days` (Howard Hinnant's civil_from_days).
std::string date_after_base(int days) {
  // Days since 1970-01-01 of 2026-11-21.
  constexpr int64_t kBase = 20778;
  int64_t z = kBase + days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

std::string format_text(const char* pattern, const std::string& arg) {
  std::string out;
  for (const char* p = pattern; *p != 0; ++p) {
    if (p[0] == '%' && p[1] == 's') {
      out += arg;
      ++p;
    } else {
      out += *p;
    }
  }
  return out;
}

// "4m07s", "52s", "1h02m".
std::string format_duration(int64_t ns) {
  int64_t s = ns / kSecond;
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

// "1 partition", "3 partitions"
std::string plural(int64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// "1,234,567"
std::string format_count(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string make_run_id(uint64_t seed) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06llx",
                static_cast<unsigned long long>(mix(seed ^ static_cast<uint64_t>(wall_clock_ns())) &
                                                0xffffffULL));
  return buf;
}

Status check_options(const SimulationOptions& o) {
  auto bad = [](std::string m) {
    return make_error(ErrorCode::invalid_argument, "simulation: " + m);
  };
  if (o.workers < 1) return bad("workers must be at least 1, got " + std::to_string(o.workers));
  if (o.window < 1) return bad("window must be at least 1, got " + std::to_string(o.window));
  if (o.builds < 0) return bad("builds must not be negative, got " + std::to_string(o.builds));
  if (o.days < 1) return bad("days must be at least 1, got " + std::to_string(o.days));
  if (o.builds_per_day < 1) {
    return bad("builds_per_day must be at least 1, got " + std::to_string(o.builds_per_day));
  }
  for (auto [name, rate] : {std::pair<const char*, double>{"failure_rate", o.failure_rate},
                            {"cancel_rate", o.cancel_rate},
                            {"invalidate_rate", o.invalidate_rate}}) {
    if (!(rate >= 0.0 && rate <= 1.0)) {
      return bad(std::string(name) + " must be within [0, 1], got " + std::to_string(rate));
    }
  }
  if (o.request_timeout.count() <= 0) return bad("request_timeout must be positive");
  if (o.max_retries < 0) return bad("max_retries must not be negative");
  if (o.retry_delay.count() <= 0) return bad("retry_delay must be positive");
  if (o.max_errors < 1) return bad("max_errors must be at least 1");
  if (o.run_id.size() > 32) return bad("run_id is longer than 32 characters");
  for (char c : o.run_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return bad("run_id \"" + o.run_id + "\" may only hold letters, digits, '-' and '_'");
    }
  }
  return ok_status();
}

// The simulated duration of `plan` when every partition is built: the time its timeline is laid
// out over (delegations only make it shorter).
int64_t simulated_span(const PlannedBuild& plan) {
  int64_t total = plan.planning_ns + 10 * kEventGap;
  int max_wave = 0;
  for (const auto& p : plan.partitions) max_wave = std::max(max_wave, p.wave);
  for (int w = 0; w <= max_wave; ++w) {
    int64_t longest = 0;
    for (const auto& p : plan.partitions) {
      if (p.wave == w) longest = std::max(longest, p.queue_ns + p.run_ns + 4 * kStepGap);
    }
    total += longest + kWaveGap;
  }
  return total;
}

// ---- Events ----------------------------------------------------------------------------------

BuildEvent base_event(const std::string& build) {
  BuildEvent e;
  e.set_build_request_id(build);
  return e;
}

BuildEvent request_event(const std::string& build, BuildRequestStatus status,
                         const std::string& message,
                         const std::vector<std::string>& requested = {}) {
  BuildEvent e = base_event(build);
  auto* r = e.mutable_build_request_event();
  r->set_status_code(status);
  for (const auto& ref : requested) r->add_requested_partitions()->set_str(ref);
  r->set_message(message);
  return e;
}

BuildEvent partition_event(const std::string& build, const std::string& ref, PartitionStatus status,
                           const std::string& job_run, const std::string& message) {
  BuildEvent e = base_event(build);
  auto* p = e.mutable_partition_event();
  p->mutable_partition_ref()->set_str(ref);
  p->set_status_code(status);
  p->set_job_run_id(job_run);
  p->set_message(message);
  return e;
}

BuildEvent job_event(const std::string& build, const std::string& job_run,
                     const PlannedPartition& part, JobStatus status, const std::string& message) {
  BuildEvent e = base_event(build);
  auto* j = e.mutable_job_event();
  j->set_job_run_id(job_run);
  j->mutable_job_label()->set_label(part.job_label);
  j->add_target_partitions()->set_str(part.ref);
  j->set_status_code(status);
  j->set_message(message);
  return e;
}

BuildEvent delegation_event(const std::string& build, const std::string& ref, const std::string& to,
                            const std::string& message) {
  BuildEvent e = base_event(build);
  auto* d = e.mutable_delegation_event();
  d->mutable_partition_ref()->set_str(ref);
  d->set_delegated_to_build_request_id(to);
  d->set_message(message);
  return e;
}

std::string date_of(const std::string& ref) { return ref.substr(ref.rfind('/') + 1); }

JobConfig job_config(const PlannedBuild& plan, const PlannedPartition& part,
                     const std::string& run_id) {
  JobConfig config;
  config.add_outputs()->set_str(part.ref);
  for (size_t u : part.upstream) {
    auto* dep = config.add_inputs();
    dep->set_dep_type_code(v1::MATERIALIZE);
    dep->mutable_partition_ref()->set_str(plan.partitions[u].ref);
  }
  config.add_args("--date=" + date_of(part.ref));
  const std::string dataset = part.ref.substr(0, part.ref.rfind('/'));
  for (const auto& d : catalogue()) {
    if (dataset == d.name && *d.source != 0) config.add_args(std::string("--source=") + d.source);
  }
  (*config.mutable_env())["BEL_SIM_RUN"] = run_id;
  return config;
}

// The events of one delegation, in the order `style` says (see PlannedPartition).
void add_delegation(std::vector<BuildEvent>& batch, const std::string& build,
                    const std::string& ref, const std::string& to, int style,
                    const std::string& message) {
  auto delegation = delegation_event(build, ref, to, message);
  auto delegated = partition_event(build, ref, v1::PARTITION_DELEGATED, "", "delegated to " + to);
  switch (style) {
    case 1:
      batch.push_back(std::move(delegation));
      batch.push_back(std::move(delegated));
      break;
    case 2:
      batch.push_back(std::move(delegated));
      batch.push_back(std::move(delegation));
      break;
    case 3:
      delegated.mutable_partition_event()->set_message(message);
      batch.push_back(std::move(delegated));
      break;
    default:
      batch.push_back(std::move(delegation));
      break;
  }
}

// ---- Workers ---------------------------------------------------------------------------------

struct PartRun {
  enum Outcome { open, historical, available, failed, delegated, running };
  Outcome outcome = open;
  PartitionStatusResponse status;  // as the request found it while planning
  bool invalidated = false;
  std::string job_run_id;
  int64_t t = 0;  // this partition's simulated clock
};

// The build request a worker drives.
struct BuildRun {
  PlannedBuild plan;
  std::vector<PartRun> parts;
  SimulationReport outcome;  // this request's share of the report
  int64_t t = 0;             // simulated clock: where the next step starts (0: the log's clock)
  int64_t wave_end = 0;
  int max_wave = 0;
  int wave = -1;
  size_t wave_open = 0;      // partitions of the current wave not resolved yet
  size_t statuses_open = 0;  // partition_status answers still to come
  bool acked_any = false;    // some event of this request is in the log
  bool ending = false;       // an error: no new steps; FAILED once quiet
  std::string first_error;
};

struct WorkerState {
  SimulationOptions options;
  std::string run_id;
  actors::BelApi api;
  caf::actor controller;
  int in_flight = 0;                                  // requests to api awaiting an answer
  std::deque<std::function<void()>> waiting;          // requests held back by the window
  std::map<uint64_t, std::function<void()>> retries;  // `overloaded` steps waiting to retry
  uint64_t next_token = 0;
  int64_t known_idx = 0;  // the highest idx this worker knows committed
  std::unique_ptr<BuildRun> build;
  static inline const char* name = "bel.sim.worker";
};

using WorkerPtr = caf::stateful_actor<WorkerState>*;

void ask_next(WorkerPtr self, SimulationReport outcome);
void start_wave(WorkerPtr self, int wave);
void end_with_error(WorkerPtr self, const Error& error);
void finish_if_ending(WorkerPtr self);

bool quiet(WorkerPtr self) {
  auto& st = self->state;
  return st.in_flight == 0 && st.waiting.empty() && st.retries.empty();
}

// Runs `fire` (which sends one request) now, or once the window has room.
void submit(WorkerPtr self, std::function<void()> fire) {
  auto& st = self->state;
  if (st.in_flight < st.options.window) {
    ++st.in_flight;
    fire();
  } else {
    st.waiting.push_back(std::move(fire));
  }
}

// A request was answered: lets the next waiting one go. Waiting requests of a request that is
// ending are dropped.
void release(WorkerPtr self) {
  auto& st = self->state;
  --st.in_flight;
  while (st.in_flight < st.options.window && !st.waiting.empty()) {
    auto fire = std::move(st.waiting.front());
    st.waiting.pop_front();
    if (st.build && st.build->ending) continue;
    ++st.in_flight;
    fire();
  }
}

void record_error(SimulationReport& report, const std::string& message) {
  ++report.errors;
  if (report.error_messages.size() < kMaxReportedErrors) report.error_messages.push_back(message);
  sim_log()->warn("error {}", message);
}

// Handles a failed request: `overloaded` runs `retry` later (up to max_retries), anything else
// ends the build request.
void on_request_error(WorkerPtr self, const caf::error& err, int attempt, const std::string& what,
                      std::function<void()> retry) {
  auto& st = self->state;
  Error error = actors::from_caf_error(err);
  if (error.code == ErrorCode::overloaded && attempt < st.options.max_retries) {
    auto delay = st.options.retry_delay * (int64_t{1} << std::min(attempt, 16));
    delay = std::min<std::chrono::milliseconds>(delay, kMaxRetryDelay);
    const uint64_t token = ++st.next_token;
    st.retries.emplace(token, std::move(retry));
    self->delayed_send(self, delay, retry_atom::value, token);
    return;
  }
  if (error.code == ErrorCode::overloaded) {
    error.message += " (gave up after " + std::to_string(attempt) + " retries)";
  }
  end_with_error(self, error.with_context(what));
}

// Appends `batch` atomically; calls `on_ok` after its COMMIT unless the request is ending.
void append(WorkerPtr self, std::shared_ptr<std::vector<BuildEvent>> batch,
            std::function<void()> on_ok, int attempt = 0) {
  submit(self, [=] {
    auto& st = self->state;
    self->request(st.api, st.options.request_timeout, append_atom::value, *batch)
        .then(
            [=](const AppendAcks& acks) {
              auto& st = self->state;
              release(self);
              BuildRun& b = *st.build;
              b.acked_any = true;
              for (const auto& ack : acks.acks()) {
                if (!ack.duplicate()) ++b.outcome.events_appended;
                b.outcome.last_idx = std::max(b.outcome.last_idx, ack.idx());
              }
              st.known_idx = std::max(st.known_idx, b.outcome.last_idx);
              if (b.ending) {
                finish_if_ending(self);
                return;
              }
              on_ok();
            },
            [=](const caf::error& err) {
              release(self);
              on_request_error(self, err, attempt,
                               self->state.build->plan.build_request_id + ": append of " +
                                   std::to_string(batch->size()) + " events",
                               [=] { append(self, batch, on_ok, attempt + 1); });
            });
  });
}

std::shared_ptr<std::vector<BuildEvent>> stamped(WorkerPtr self, std::vector<BuildEvent> batch,
                                                 int64_t& clock) {
  for (auto& e : batch) {
    if (self->state.options.simulated_time) {
      e.set_timestamp(clock);
      clock += kEventGap;
    }
  }
  return std::make_shared<std::vector<BuildEvent>>(std::move(batch));
}

// Asks `query` with min_idx = what this worker knows; `on_ok` gets the answer.
void ask(WorkerPtr self, Query query, std::function<void(const QueryResult&)> on_ok,
         int attempt = 0) {
  submit(self, [=] {
    auto& st = self->state;
    Query q = query;
    q.set_min_idx(std::max(q.min_idx(), st.known_idx));
    self->request(st.api, st.options.request_timeout, query_atom::value, q)
        .then(
            [=](const QueryResult& result) {
              release(self);
              if (self->state.build->ending) {
                finish_if_ending(self);
                return;
              }
              on_ok(result);
            },
            [=](const caf::error& err) {
              release(self);
              on_request_error(self, err, attempt,
                               self->state.build->plan.build_request_id + ": query",
                               [=] { ask(self, query, on_ok, attempt + 1); });
            });
  });
}

// The request is over (its last event acknowledged): report it and take the next.
void finish_build(WorkerPtr self) {
  auto& st = self->state;
  SimulationReport outcome = std::move(st.build->outcome);
  st.build.reset();
  ask_next(self, std::move(outcome));
}

// Ends the current request after an error: no new steps; once nothing is in flight, FAILED is
// appended (best effort) and the worker moves on.
void end_with_error(WorkerPtr self, const Error& error) {
  BuildRun& b = *self->state.build;
  record_error(b.outcome, error.to_string());
  if (!b.ending) {
    b.ending = true;
    b.first_error = error.to_string();
  }
  finish_if_ending(self);
}

void finish_if_ending(WorkerPtr self) {
  auto& st = self->state;
  BuildRun& b = *st.build;
  if (!b.ending || !quiet(self)) return;
  ++b.outcome.builds_failed;
  if (!b.acked_any) {
    finish_build(self);  // nothing of it is in the log: nothing to end
    return;
  }
  auto event = request_event(b.plan.build_request_id, v1::BUILD_REQUEST_FAILED,
                             "simulation error: " + b.first_error);
  if (st.options.simulated_time) event.set_timestamp(b.t);
  // Outside the window and without retries: the request has failed already. Counting it in
  // in_flight keeps the request from looking quiet meanwhile.
  ++st.in_flight;
  self->request(st.api, st.options.request_timeout, append_atom::value, event)
      .then(
          [=](const AppendAck& ack) {
            auto& st = self->state;
            --st.in_flight;
            if (!ack.duplicate()) ++st.build->outcome.events_appended;
            st.build->outcome.last_idx = std::max(st.build->outcome.last_idx, ack.idx());
            st.known_idx = std::max(st.known_idx, ack.idx());
            finish_build(self);
          },
          [=](const caf::error& err) {
            auto& st = self->state;
            --st.in_flight;
            record_error(st.build->outcome,
                         actors::from_caf_error(err)
                             .with_context(st.build->plan.build_request_id + ": final FAILED")
                             .to_string());
            finish_build(self);
          });
}

// ---- One build request, step by step ----

void cancel_build(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  const std::string& id = b.plan.build_request_id;
  std::vector<BuildEvent> batch;
  for (const auto& part : b.parts) {
    if (part.outcome != PartRun::running) continue;
    BuildEvent e = base_event(id);
    e.mutable_job_run_cancel_event()->set_job_run_id(part.job_run_id);
    e.mutable_job_run_cancel_event()->set_reason("build request " + id + " " +
                                                 b.plan.cancel_reason);
    batch.push_back(std::move(e));
  }
  BuildEvent e = base_event(id);
  e.mutable_build_cancel_event()->set_reason(b.plan.cancel_reason);
  batch.push_back(std::move(e));
  append(self, stamped(self, std::move(batch), b.t), [=] {
    ++self->state.build->outcome.builds_cancelled;
    finish_build(self);
  });
}

void complete_build(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  std::vector<std::string> failed;
  int built = 0, delegated = 0;
  for (size_t i = 0; i < b.parts.size(); ++i) {
    switch (b.parts[i].outcome) {
      case PartRun::failed:
        failed.push_back(b.plan.partitions[i].ref);
        break;
      case PartRun::available:
        ++built;
        break;
      case PartRun::historical:
      case PartRun::delegated:
        ++delegated;
        break;
      default:
        break;
    }
  }
  BuildEvent e;
  const bool ok = failed.empty();
  if (ok) {
    std::string message = "built " + plural(built, "partition");
    if (delegated > 0) message += ", " + std::to_string(delegated) + " delegated";
    e = request_event(b.plan.build_request_id, v1::BUILD_REQUEST_COMPLETED, message);
  } else {
    std::string message = std::to_string(failed.size()) + " of " +
                          plural(static_cast<int64_t>(b.parts.size()), "partition") + " failed: ";
    for (size_t i = 0; i < failed.size(); ++i) {
      if (i == 3) {
        message += ", ...";
        break;
      }
      message += (i == 0 ? "" : ", ") + failed[i];
    }
    e = request_event(b.plan.build_request_id, v1::BUILD_REQUEST_FAILED, message);
  }
  append(self, stamped(self, {std::move(e)}, b.t), [=] {
    auto& outcome = self->state.build->outcome;
    ++(ok ? outcome.builds_completed : outcome.builds_failed);
    finish_build(self);
  });
}

// Every partition of the current wave is resolved (or parked, in the wave that is cancelled).
void wave_done(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  b.t = std::max(b.t, b.wave_end) + kWaveGap;
  if (b.wave == b.plan.cancel_wave) {
    cancel_build(self);
  } else {
    start_wave(self, b.wave + 1);
  }
}

void part_done(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  b.wave_end = std::max(b.wave_end, b.parts[i].t);
  if (--b.wave_open == 0) wave_done(self);
}

void end_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  PartRun& part = b.parts[i];
  const std::string& id = b.plan.build_request_id;
  const int64_t started = part.t;
  part.t += p.run_ns;
  std::vector<BuildEvent> batch;
  if (p.job_fails) {
    batch.push_back(job_event(id, part.job_run_id, p, v1::JOB_FAILED,
                              p.failure_message + " (after " + format_duration(p.run_ns) + ")"));
    batch.push_back(
        partition_event(id, p.ref, v1::PARTITION_FAILED, part.job_run_id,
                        "job run " + part.job_run_id + " failed: " + p.failure_message));
  } else {
    BuildEvent done =
        job_event(id, part.job_run_id, p, v1::JOB_COMPLETED,
                  "wrote " + format_count(p.rows) + " rows in " + format_duration(p.run_ns));
    auto* manifest = done.mutable_job_event()->add_manifests();
    manifest->add_outputs()->set_str(p.ref);
    if (self->state.options.simulated_time) {
      manifest->set_start_time(started);
      manifest->set_end_time(part.t);
    }
    (*manifest->mutable_metadata())["rows"] = std::to_string(p.rows);
    (*manifest->mutable_metadata())["bytes"] = std::to_string(p.rows * 118);
    batch.push_back(std::move(done));
    batch.push_back(partition_event(id, p.ref, v1::PARTITION_AVAILABLE, part.job_run_id,
                                    "wrote " + format_count(p.rows) + " rows"));
  }
  append(self, stamped(self, std::move(batch), part.t), [=] {
    BuildRun& b = *self->state.build;
    const PlannedPartition& p = b.plan.partitions[i];
    if (p.job_fails) {
      b.parts[i].outcome = PartRun::failed;
      ++b.outcome.jobs_failed;
    } else {
      b.parts[i].outcome = PartRun::available;
    }
    part_done(self, i);
  });
}

void run_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  PartRun& part = b.parts[i];
  const std::string& id = b.plan.build_request_id;
  part.t += p.queue_ns;
  const uint64_t n = static_cast<uint64_t>(b.plan.number) * 31 + i;
  char worker[64];
  std::snprintf(worker, sizeof worker, "started on worker-%llu (pod batch-%04llx)",
                static_cast<unsigned long long>(1 + n % 12),
                static_cast<unsigned long long>(mix(n) & 0xffff));
  std::vector<BuildEvent> batch;
  batch.push_back(
      job_event(id, part.job_run_id, p, v1::JOB_RUNNING,
                std::string(worker) + " after " + format_duration(p.queue_ns) + " in the queue"));
  batch.push_back(partition_event(id, p.ref, v1::PARTITION_BUILDING, part.job_run_id,
                                  "job run " + part.job_run_id + " running"));
  append(self, stamped(self, std::move(batch), part.t), [=] {
    BuildRun& b = *self->state.build;
    if (b.wave == b.plan.cancel_wave) {
      // Cancelled once every job of this wave runs: park it.
      b.parts[i].outcome = PartRun::running;
      part_done(self, i);
    } else {
      end_job(self, i);
    }
  });
}

void schedule_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  PartRun& part = b.parts[i];
  const std::string& id = b.plan.build_request_id;
  part.job_run_id =
      "jr-" + self->state.run_id + "-" + id.substr(id.rfind('-') + 1) + "-" + std::to_string(i + 1);
  part.t += kStepGap;
  BuildEvent scheduled = job_event(
      id, part.job_run_id, p, v1::JOB_SCHEDULED,
      "queued on pool batch-" + std::string(p.run_ns > 300 * kSecond ? "large" : "small"));
  *scheduled.mutable_job_event()->mutable_config() = job_config(b.plan, p, self->state.run_id);
  std::vector<BuildEvent> batch;
  batch.push_back(std::move(scheduled));
  batch.push_back(partition_event(id, p.ref, v1::PARTITION_SCHEDULED, part.job_run_id,
                                  "job run " + part.job_run_id + " scheduled"));
  append(self, stamped(self, std::move(batch), part.t), [=] { run_job(self, i); });
}

// The lowest-numbered older build request of this run among `ids`, or "".
std::string older_builder(WorkerPtr self, const ActiveBuildsResponse& active) {
  const BuildRun& b = *self->state.build;
  const std::string prefix = "br-" + self->state.run_id + "-";
  std::string best;
  int64_t best_number = b.plan.number;
  for (const auto& other : active.build_request_ids()) {
    if (other.size() <= prefix.size() || other.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = other.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        digits.size() > 12) {
      continue;
    }
    const int64_t number = std::stoll(digits);
    if (number < best_number) {
      best_number = number;
      best = other;
    }
  }
  return best;
}

void resolve_partition(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  const std::string& id = b.plan.build_request_id;
  for (size_t u : p.upstream) {
    if (b.parts[u].outcome != PartRun::failed) continue;
    b.parts[i].t += kStepGap;
    auto batch =
        stamped(self,
                {partition_event(id, p.ref, v1::PARTITION_FAILED, "",
                                 "not built: upstream " + b.plan.partitions[u].ref + " failed")},
                b.parts[i].t);
    append(self, batch, [=] {
      self->state.build->parts[i].outcome = PartRun::failed;
      part_done(self, i);
    });
    return;
  }
  Query q;
  q.mutable_active_builds()->set_partition_ref(p.ref);
  ask(self, q, [=](const QueryResult& r) {
    BuildRun& b = *self->state.build;
    const PlannedPartition& p = b.plan.partitions[i];
    const std::string to = older_builder(self, r.active_builds());
    if (to.empty()) {
      schedule_job(self, i);
      return;
    }
    std::vector<BuildEvent> batch;
    add_delegation(batch, b.plan.build_request_id, p.ref, to, p.delegation_style,
                   "being built by " + to);
    b.parts[i].t += kStepGap;
    append(self, stamped(self, std::move(batch), b.parts[i].t), [=] {
      BuildRun& b = *self->state.build;
      b.parts[i].outcome = PartRun::delegated;
      ++b.outcome.delegations_active;
      part_done(self, i);
    });
  });
}

void start_wave(WorkerPtr self, int wave) {
  BuildRun& b = *self->state.build;
  if (wave > b.max_wave) {
    complete_build(self);
    return;
  }
  b.wave = wave;
  b.wave_end = b.t;
  std::vector<size_t> todo;
  for (size_t i = 0; i < b.parts.size(); ++i) {
    if (b.plan.partitions[i].wave == wave && b.parts[i].outcome == PartRun::open) {
      todo.push_back(i);
    }
  }
  b.wave_open = todo.size();
  if (todo.empty()) {
    wave_done(self);
    return;
  }
  for (size_t i : todo) {
    b.parts[i].t = b.t;
    resolve_partition(self, i);
  }
}

// Every partition's status is known: delegate what is available, invalidate what arrived late,
// request the rest.
void analyse(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  const std::string& id = b.plan.build_request_id;
  std::vector<BuildEvent> invalidations, delegations, requested;
  int historical = 0, invalidated = 0;
  for (size_t i = 0; i < b.parts.size(); ++i) {
    const PlannedPartition& p = b.plan.partitions[i];
    PartRun& part = b.parts[i];
    if (part.status.status_code() != v1::PARTITION_AVAILABLE ||
        part.status.build_request_id().empty()) {
      requested.push_back(
          partition_event(id, p.ref, v1::PARTITION_REQUESTED, "", "needed by " + id));
      continue;
    }
    std::string reason;
    for (size_t u : p.upstream) {
      if (b.parts[u].invalidated) reason = "upstream " + b.plan.partitions[u].ref + " invalidated";
    }
    if (reason.empty() && p.invalidate_if_available) {
      reason = "late-arriving data for " + date_of(p.ref) + ": source re-delivered after " +
               part.status.build_request_id() + " built it";
    }
    if (!reason.empty()) {
      part.invalidated = true;
      ++invalidated;
      BuildEvent e = base_event(id);
      e.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str(p.ref);
      e.mutable_partition_invalidation_event()->set_reason(reason);
      invalidations.push_back(std::move(e));
      requested.push_back(
          partition_event(id, p.ref, v1::PARTITION_REQUESTED, "", "rebuild after invalidation"));
      continue;
    }
    // Historical delegation: the job that would build it is skipped.
    part.outcome = PartRun::historical;
    ++historical;
    const std::string& builder = part.status.build_request_id();
    std::string message = "already available: built by " + builder;
    if (!part.status.job_run_id().empty()) message += " in job run " + part.status.job_run_id();
    add_delegation(delegations, id, p.ref, builder,
                   p.delegation_style == 3 ? 0 : p.delegation_style, message);
    const std::string job_run = "jr-" + self->state.run_id + "-" + id.substr(id.rfind('-') + 1) +
                                "-" + std::to_string(i + 1);
    delegations.push_back(job_event(id, job_run, p, v1::JOB_SKIPPED,
                                    "output " + p.ref + " already available from " + builder));
  }
  std::vector<BuildEvent> batch;
  BuildEvent graph = base_event(id);
  auto* g = graph.mutable_job_graph_event()->mutable_job_graph();
  g->set_label("graph-" + id);
  for (const auto& ref : b.plan.requested_partitions) g->add_outputs()->set_str(ref);
  for (const auto& p : b.plan.partitions) {
    auto* task = g->add_nodes();
    task->mutable_job()->set_label(p.job_label);
    *task->mutable_config() = job_config(b.plan, p, self->state.run_id);
  }
  graph.mutable_job_graph_event()->set_message(
      std::to_string(b.plan.partitions.size()) + " tasks for " +
      std::to_string(b.plan.requested_partitions.size()) + " requested partitions");
  batch.push_back(std::move(graph));
  for (auto& e : invalidations) batch.push_back(std::move(e));
  for (auto& e : delegations) batch.push_back(std::move(e));
  for (auto& e : requested) batch.push_back(std::move(e));
  const size_t to_build = requested.size();
  batch.push_back(request_event(
      id, v1::BUILD_REQUEST_ANALYSIS_COMPLETED,
      plural(static_cast<int64_t>(to_build), "partition") + " to build, " +
          std::to_string(historical) + " already available" +
          (invalidated > 0 ? ", " + std::to_string(invalidated) + " invalidated" : "")));
  batch.push_back(
      request_event(id, v1::BUILD_REQUEST_EXECUTING,
                    "executing in " + plural(b.max_wave + 1, "wave") + ", upstream first"));
  b.t += b.plan.planning_ns;
  append(self, stamped(self, std::move(batch), b.t), [=] {
    BuildRun& b = *self->state.build;
    b.outcome.delegations_historical += historical;
    b.outcome.invalidations += invalidated;
    start_wave(self, 0);
  });
}

void start_build(WorkerPtr self, int64_t number) {
  auto& st = self->state;
  st.build = std::make_unique<BuildRun>();
  BuildRun& b = *st.build;
  b.plan = plan_build(st.options, st.run_id, number);
  b.parts.resize(b.plan.partitions.size());
  for (const auto& p : b.plan.partitions) b.max_wave = std::max(b.max_wave, p.wave);
  b.outcome.build_request_ids.push_back(b.plan.build_request_id);
  if (st.options.simulated_time) b.t = wall_clock_ns() - simulated_span(b.plan);
  const std::string& id = b.plan.build_request_id;
  std::vector<BuildEvent> batch;
  batch.push_back(request_event(id, v1::BUILD_REQUEST_RECEIVED, b.plan.requested_by,
                                b.plan.requested_partitions));
  batch.push_back(request_event(
      id, v1::BUILD_REQUEST_PLANNING,
      "planning " + plural(static_cast<int64_t>(b.plan.partitions.size()), "partition") + " (" +
          std::to_string(b.plan.requested_partitions.size()) + " requested, the rest upstream)"));
  append(self, stamped(self, std::move(batch), b.t), [=] {
    BuildRun& b = *self->state.build;
    b.statuses_open = b.parts.size();
    for (size_t i = 0; i < b.parts.size(); ++i) {
      Query q;
      q.mutable_partition_status()->set_partition_ref(b.plan.partitions[i].ref);
      ask(self, q, [=](const QueryResult& r) {
        BuildRun& b = *self->state.build;
        b.parts[i].status = r.partition_status();
        if (--b.statuses_open == 0) analyse(self);
      });
    }
  });
}

void ask_next(WorkerPtr self, SimulationReport outcome) {
  auto& st = self->state;
  self->request(st.controller, caf::infinite, next_atom::value, std::move(outcome))
      .then(
          [=](int64_t number, int64_t known_idx) {
            if (number <= 0) {
              self->quit();
              return;
            }
            auto& st = self->state;
            st.known_idx = std::max(st.known_idx, known_idx);
            start_build(self, number);
          },
          [=](const caf::error&) { self->quit(); });  // the simulation is gone
}

caf::behavior sim_worker(WorkerPtr self, SimulationOptions options, std::string run_id,
                         actors::BelApi api, caf::actor controller) {
  auto& st = self->state;
  st.options = std::move(options);
  st.run_id = std::move(run_id);
  st.api = std::move(api);
  st.controller = std::move(controller);
  ask_next(self, SimulationReport{});
  return {
      [=](retry_atom, uint64_t token) {
        auto& st = self->state;
        auto it = st.retries.find(token);
        if (it == st.retries.end()) return;
        auto retry = std::move(it->second);
        st.retries.erase(it);
        if (st.build && st.build->ending) {
          finish_if_ending(self);
          return;
        }
        retry();
      },
  };
}

// ---- The simulation: hands out build numbers, collects the report ----------------------------

struct ControllerState {
  SimulationOptions options;
  std::string run_id;
  actors::BelApi api;
  std::function<void(const SimulationReport&)> on_done;
  SimulationReport report;
  int64_t next_build = 1;
  int workers_running = 0;
  bool stopping = false;
  int64_t started_ns = 0;
  static inline const char* name = "bel.sim";
};

using ControllerPtr = caf::stateful_actor<ControllerState>*;

SimulationReport sorted_report(const SimulationReport& report) {
  SimulationReport out = report;
  std::sort(out.build_request_ids.begin(), out.build_request_ids.end());
  return out;
}

void stop_simulation(ControllerPtr self, const char* why) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  sim_log()->info("stopping run={} why=\"{}\" builds_started={}", st.run_id, why,
                  st.next_build - 1);
}

caf::behavior sim_controller(ControllerPtr self, SimulationOptions options, std::string run_id,
                             actors::BelApi api,
                             std::function<void(const SimulationReport&)> on_done) {
  auto& st = self->state;
  st.options = std::move(options);
  st.run_id = std::move(run_id);
  st.api = std::move(api);
  st.on_done = std::move(on_done);
  st.started_ns = wall_clock_ns();
  self->monitor(st.api);
  for (int i = 0; i < st.options.workers; ++i) {
    self->spawn<caf::monitored>(sim_worker, st.options, st.run_id, st.api,
                                caf::actor_cast<caf::actor>(self));
    ++st.workers_running;
  }
  sim_log()->info("started run={} seed={} workers={} builds={} window={}", st.run_id,
                  st.options.seed, st.options.workers, st.options.builds, st.options.window);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.api.address()) {
      record_error(st.report, "the coordinator went down: " + caf::to_string(msg.reason));
      stop_simulation(self, "coordinator down");
      return;
    }
    if (msg.reason && msg.reason != caf::exit_reason::normal) {
      record_error(st.report, "a worker stopped unexpectedly: " + caf::to_string(msg.reason));
    }
    if (--st.workers_running > 0) return;
    SimulationReport final_report = sorted_report(st.report);
    const double secs = static_cast<double>(wall_clock_ns() - st.started_ns) / 1e9;
    sim_log()->info(
        "done run={} builds={} completed={} failed={} cancelled={} delegated_active={} "
        "delegated_historical={} jobs_failed={} invalidations={} events={} errors={} "
        "last_idx={} s={:.2f}",
        st.run_id, final_report.build_request_ids.size(), final_report.builds_completed,
        final_report.builds_failed, final_report.builds_cancelled, final_report.delegations_active,
        final_report.delegations_historical, final_report.jobs_failed, final_report.invalidations,
        final_report.events_appended, final_report.errors, final_report.last_idx, secs);
    if (st.on_done) st.on_done(final_report);
    self->quit();
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::user_shutdown) {
      stop_simulation(self, "exit message");
    } else {
      self->quit(msg.reason);
    }
  });
  return {
      [=](next_atom, const SimulationReport& outcome) -> std::tuple<int64_t, int64_t> {
        auto& st = self->state;
        merge_report(st.report, outcome);
        if (st.report.errors >= st.options.max_errors) stop_simulation(self, "too many errors");
        if (st.stopping || (st.options.builds > 0 && st.next_build > st.options.builds)) {
          return std::make_tuple(int64_t{0}, int64_t{0});
        }
        return std::make_tuple(st.next_build++, st.report.last_idx);
      },
      [=](stop_atom) { stop_simulation(self, "stop message"); },
      [=](report_atom) -> SimulationReport { return sorted_report(self->state.report); },
  };
}

}  // namespace

void merge_report(SimulationReport& into, const SimulationReport& part) {
  into.events_appended += part.events_appended;
  into.builds_completed += part.builds_completed;
  into.builds_failed += part.builds_failed;
  into.builds_cancelled += part.builds_cancelled;
  into.delegations_active += part.delegations_active;
  into.delegations_historical += part.delegations_historical;
  into.jobs_failed += part.jobs_failed;
  into.invalidations += part.invalidations;
  into.errors += part.errors;
  for (const auto& m : part.error_messages) {
    if (into.error_messages.size() < kMaxReportedErrors) into.error_messages.push_back(m);
  }
  into.last_idx = std::max(into.last_idx, part.last_idx);
  for (const auto& id : part.build_request_ids) {
    if (into.build_request_ids.size() < kMaxReportedBuilds) into.build_request_ids.push_back(id);
  }
}

PlannedBuild plan_build(const SimulationOptions& options, const std::string& run_id,
                        int64_t number) {
  Rng rng(mix(options.seed * 0x2545f4914f6cdd1dULL ^ mix(static_cast<uint64_t>(number))));
  const auto& datasets = catalogue();
  PlannedBuild plan;
  plan.number = number;
  char id[64];
  std::snprintf(id, sizeof id, "br-%s-%06lld", run_id.c_str(), static_cast<long long>(number));
  plan.build_request_id = id;

  // One of the `days` most recent dates; a new date every builds_per_day requests.
  const int64_t newest = (number - 1) / std::max(1, options.builds_per_day);
  const int64_t back = static_cast<int64_t>(
      rng.below(static_cast<uint64_t>(std::min<int64_t>(std::max(1, options.days), newest + 1))));
  const std::string date = date_after_base(static_cast<int>(newest - back));

  // 1 to 3 wanted datasets, by weight.
  int total_weight = 0;
  for (const auto& d : datasets) total_weight += d.weight;
  std::vector<int> wanted;
  const int want = 1 + static_cast<int>(rng.below(3));
  for (int tries = 0; static_cast<int>(wanted.size()) < want && tries < 10; ++tries) {
    int r = static_cast<int>(rng.below(static_cast<uint64_t>(total_weight)));
    int pick = 0;
    while (r >= datasets[static_cast<size_t>(pick)].weight) {
      r -= datasets[static_cast<size_t>(pick)].weight;
      ++pick;
    }
    if (std::find(wanted.begin(), wanted.end(), pick) == wanted.end()) wanted.push_back(pick);
  }
  std::sort(wanted.begin(), wanted.end());

  // The closure, upstream first (dataset order is already topological).
  std::vector<bool> needed(datasets.size(), false);
  for (int w : wanted) needed[static_cast<size_t>(w)] = true;
  for (size_t d = datasets.size(); d-- > 0;) {
    if (!needed[d]) continue;
    for (int dep : datasets[d].deps) needed[static_cast<size_t>(dep)] = true;
  }
  std::vector<int> index_of(datasets.size(), -1);
  for (size_t d = 0; d < datasets.size(); ++d) {
    if (!needed[d]) continue;
    const Dataset& ds = datasets[d];
    PlannedPartition p;
    p.ref = std::string(ds.name) + "/" + date;
    p.job_label = ds.job_label;
    for (int dep : ds.deps) {
      const size_t u = static_cast<size_t>(index_of[static_cast<size_t>(dep)]);
      p.upstream.push_back(u);
      p.wave = std::max(p.wave, plan.partitions[u].wave + 1);
    }
    p.job_fails = rng.chance(options.failure_rate);
    p.failure_message = format_text(rng.pick(ds.failures), date);
    p.invalidate_if_available = rng.chance(options.invalidate_rate);
    const uint64_t style = rng.below(10);
    p.delegation_style = style < 4 ? 0 : style < 7 ? 1 : style < 9 ? 2 : 3;
    p.queue_ns = rng.between(2, 45) * kSecond + rng.between(0, 999) * kMs;
    p.run_ns = rng.between(ds.run_min_s, ds.run_max_s) * kSecond + rng.between(0, 999) * kMs;
    if (p.job_fails) p.run_ns = p.run_ns * rng.between(5, 60) / 100;
    p.rows = rng.between(20000, 5000000);
    index_of[d] = static_cast<int>(plan.partitions.size());
    if (std::find(wanted.begin(), wanted.end(), static_cast<int>(d)) != wanted.end()) {
      plan.requested_partitions.push_back(p.ref);
    }
    plan.partitions.push_back(std::move(p));
  }
  int max_wave = 0;
  for (const auto& p : plan.partitions) max_wave = std::max(max_wave, p.wave);
  if (rng.chance(options.cancel_rate)) {
    plan.cancel_wave = static_cast<int>(rng.below(static_cast<uint64_t>(max_wave + 1)));
    plan.cancel_reason = rng.pick(cancel_reasons());
  }
  plan.requested_by = rng.pick(requesters());
  plan.planning_ns = rng.between(800, 6000) * kMs;
  return plan;
}

Result<SimulationActor> start_simulation(caf::actor_system& system, const actors::BelApi& api,
                                         SimulationOptions options,
                                         std::function<void(const SimulationReport&)> on_done) {
  if (auto ok = check_options(options); !ok.ok()) return ok.error();
  if (!api) return make_error(ErrorCode::invalid_argument, "simulation: no coordinator (api)");
  std::string run_id = options.run_id.empty() ? make_run_id(options.seed) : options.run_id;
  options.run_id = run_id;
  auto controller =
      system.spawn(sim_controller, std::move(options), std::move(run_id), api, std::move(on_done));
  return caf::actor_cast<SimulationActor>(controller);
}

Result<SimulationReport> run_simulation(caf::actor_system& system, const actors::BelApi& api,
                                        const SimulationOptions& options,
                                        std::chrono::milliseconds timeout) {
  if (options.builds <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "simulation: run_simulation needs builds > 0 (use start_simulation to run "
                      "until stopped)");
  }
  auto done = std::make_shared<std::promise<SimulationReport>>();
  auto finished = done->get_future();
  auto sim = start_simulation(system, api, options,
                              [done](const SimulationReport& r) { done->set_value(r); });
  if (!sim.ok()) return sim.error();
  if (finished.wait_for(timeout) == std::future_status::ready) return finished.get();
  caf::anon_send(*sim, stop_atom::value);
  std::string how = "stopped";
  int64_t builds = 0;
  if (finished.wait_for(kStopGrace) == std::future_status::ready) {
    auto report = finished.get();
    builds = report.builds_completed + report.builds_failed + report.builds_cancelled;
  } else {
    // The workers outlive it: each finishes the build request it drives, then stops.
    caf::anon_send_exit(*sim, caf::exit_reason::kill);
    how = "killed";
  }
  return make_error(ErrorCode::timeout, "simulation: " + std::to_string(options.builds) +
                                            " build requests did not finish within " +
                                            std::to_string(timeout.count()) + " ms; " + how +
                                            " after " + std::to_string(builds) + " ended");
}

}  // namespace bel::sim
