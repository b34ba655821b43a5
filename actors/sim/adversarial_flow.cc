// The adversarial mode of the workload generator (workload.h): build requests interleaved event
// by event with every edge order the strict rules allow, on a small space of partitions so that
// they race, and optionally events that break the rules.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "actors/sim/workload_flow.h"
#include "messages/status_names.h"

namespace bel::sim {
namespace {

constexpr const char* kDatasets[] = {"sales", "users", "clicks", "orders"};
constexpr int kDatasetCount = 4;

std::string dataset_of(const std::string& ref) {
  // "data/<dataset>/<date>"
  size_t a = ref.find('/');
  size_t b = ref.find('/', a + 1);
  return ref.substr(a + 1, b - a - 1);
}

std::string label_for(const std::string& ref) { return "//jobs:build_" + dataset_of(ref); }

enum class Phase { received, planning, analysis_completed, executing, done };

struct Part {
  std::string ref;
  PartitionStatus status = v1::PARTITION_UNKNOWN;  // this request's status for the ref
  bool busy = false;                               // a task owns it
  bool stuck = false;  // its job run was cancelled: it stays where it was
  bool request_in_planning = true;
};

struct Step {
  enum Kind { job_event, partition_event, delegation_event };
  explicit Step(Kind k) : kind(k) {}
  Kind kind;
  JobStatus job_status = v1::JOB_UNKNOWN;
  PartitionStatus partition_status = v1::PARTITION_UNKNOWN;
  std::string ref;
  std::string delegated_to;
  bool with_targets = false;
  std::string message;
};

struct Task {
  std::string job_run_id;  // empty for a delegation without a job run
  std::string job_label;
  std::vector<std::string> targets;
  JobStatus run_status = v1::JOB_UNKNOWN;  // last status logged for the run
  std::deque<Step> steps;
};

struct Build {
  std::string id;
  Phase phase = Phase::received;
  BuildRequestStatus final_status = v1::BUILD_REQUEST_UNKNOWN;
  std::vector<Part> parts;
  bool requested_listed = false;
  bool graph_logged = false;
  bool failed = false;
  std::vector<Task> tasks;
};

class AdversarialFlow : public Workload::Flow {
 public:
  explicit AdversarialFlow(const WorkloadOptions& options)
      : Flow(options),
        space_(static_cast<int>(std::clamp<int64_t>(options.partitions, 1, 1 << 30))) {}

  std::string partition_ref(int64_t n) const override {
    return adversarial_partition(static_cast<int>(n));
  }
  int64_t partition_count() const override { return space_; }

 private:
  // Uniform in [0, n); 0 when n <= 0.
  int below(int n) { return n <= 0 ? 0 : static_cast<int>(rng_.below(static_cast<uint64_t>(n))); }

  // ---- emitting ----

  BuildEvent& emit(const Build& b) {
    BuildEvent e;
    e.set_build_request_id(b.id);
    return Flow::emit(std::move(e));
  }

  void emit_build_status(Build& b, BuildRequestStatus status, bool list_partitions,
                         const std::string& message) {
    auto* bre = emit(b).mutable_build_request_event();
    bre->set_status_code(status);
    if (list_partitions) {
      for (const auto& p : b.parts) bre->add_requested_partitions()->set_str(p.ref);
    }
    bre->set_message(message);
  }

  // Logs the request reaching `status` (listing its partitions when `list_partitions`), then
  // moves it to phase `next`.
  void enter_phase(Build& b, BuildRequestStatus status, bool list_partitions, Phase next) {
    emit_build_status(b, status, list_partitions, "");
    b.phase = next;
  }

  // Logs the request ending with the terminal `status` and `message`, then finishes it.
  void end_build(Build& b, BuildRequestStatus status, const std::string& message) {
    emit_build_status(b, status, false, message);
    finish(b, status);
  }

  void finish(Build& b, BuildRequestStatus status) {
    b.phase = Phase::done;
    b.final_status = status;
    b.tasks.clear();
    if (finished_.size() == 64) finished_.erase(finished_.begin());
    finished_.push_back(b.id);
  }

  // One event that breaks the strict rules (a lenient log may hold it). It changes nothing in
  // the model, so the events after it are what they would have been.
  void oddity() {
    const std::string ghost = "ghost-" + std::to_string(++oddities_);
    const std::string ref = adversarial_partition(below(space_));
    Build* open = open_.empty() ? nullptr : &builds_[rng_.pick(open_)];
    switch (below(4)) {
      case 0:
        if (open != nullptr) {  // a status going back: REQUESTED after the job graph
          for (const auto& p : open->parts) {
            if (p.status != v1::PARTITION_SCHEDULED && p.status != v1::PARTITION_BUILDING &&
                p.status != v1::PARTITION_AVAILABLE) {
              continue;
            }
            auto* pe = emit(*open).mutable_partition_event();
            pe->mutable_partition_ref()->set_str(p.ref);
            pe->set_status_code(v1::PARTITION_REQUESTED);
            pe->set_message("requested again");
            return;
          }
        }
        break;
      case 1:
        if (open != nullptr) {  // a job run whose first status is not SCHEDULED
          auto* je = emit(*open).mutable_job_event();
          je->set_job_run_id("jr-" + ghost);
          je->mutable_job_label()->set_label("//jobs:ghost");
          je->set_status_code(v1::JOB_RUNNING);
          return;
        }
        break;
      case 2:
        if (!finished_.empty()) {  // an event after a terminal status
          Build done;
          done.id = rng_.pick(finished_);
          emit(done).mutable_build_request_event()->set_status_code(v1::BUILD_REQUEST_EXECUTING);
          return;
        }
        break;
      default:
        break;
    }
    // An event of a build request that was never received.
    Build unknown;
    unknown.id = "br-" + ghost;
    auto* pe = emit(unknown).mutable_partition_event();
    pe->mutable_partition_ref()->set_str(ref);
    pe->set_status_code(v1::PARTITION_BUILDING);
    pe->set_job_run_id("jr-" + ghost);
  }

  // ---- the simulation ----

  void step() override {
    if (options_.oddity_rate > 0 && rng_.chance(options_.oddity_rate)) {
      oddity();
      return;
    }
    if (open_.size() < static_cast<size_t>(options_.concurrent_builds) &&
        (open_.empty() || rng_.percent(20))) {
      new_build();
      return;
    }
    Build& b = builds_[rng_.pick(open_)];
    advance(b);
    open_.erase(std::remove_if(open_.begin(), open_.end(),
                               [&](size_t i) { return builds_[i].phase == Phase::done; }),
                open_.end());
  }

  void new_build() {
    Build b;
    char prefix[3] = {static_cast<char>('a' + below(26)), static_cast<char>('a' + below(26)), 0};
    char counter[16];
    std::snprintf(counter, sizeof counter, "%05zu", builds_.size() + 1);
    // The random prefix makes id order differ from creation order.
    b.id = std::string("br-") + prefix + "-" + counter;
    const int want = 1 + below(5);
    std::vector<int> chosen;
    for (int tries = 0; static_cast<int>(chosen.size()) < want && tries < 20; ++tries) {
      int n = below(space_);
      if (std::find(chosen.begin(), chosen.end(), n) == chosen.end()) chosen.push_back(n);
    }
    for (int n : chosen) {
      Part p;
      p.ref = adversarial_partition(n);
      p.request_in_planning = rng_.percent(90);
      b.parts.push_back(std::move(p));
    }
    b.requested_listed = rng_.percent(80);
    builds_.push_back(std::move(b));
    open_.push_back(builds_.size() - 1);
    Build& nb = builds_.back();
    emit_build_status(nb, v1::BUILD_REQUEST_RECEIVED, nb.requested_listed,
                      rng_.percent(50) ? "requested by user-" + std::to_string(below(5)) : "");
  }

  void advance(Build& b) {
    if (rng_.percent(1)) {
      emit(b).mutable_build_cancel_event()->set_reason(
          rng_.percent(80) ? "cancelled by user-" + std::to_string(below(5)) : "");
      finish(b, v1::BUILD_REQUEST_CANCELLED);
      return;
    }
    if (rng_.percent(2)) {
      invalidate(b);
      return;
    }
    switch (b.phase) {
      case Phase::received:
        enter_phase(b, v1::BUILD_REQUEST_PLANNING, !b.requested_listed, Phase::planning);
        b.requested_listed = true;
        return;
      case Phase::planning:
        plan(b);
        return;
      case Phase::analysis_completed:
        enter_phase(b, v1::BUILD_REQUEST_EXECUTING, false, Phase::executing);
        return;
      case Phase::executing:
        execute(b);
        return;
      case Phase::done:
        return;
    }
  }

  void invalidate(Build& b) {
    std::string ref;
    if (!ever_available_.empty() && rng_.percent(70)) {
      auto it = ever_available_.begin();
      std::advance(it, below(static_cast<int>(ever_available_.size())));
      ref = it->first;
    } else {
      ref = adversarial_partition(below(space_));
    }
    auto* inv = emit(b).mutable_partition_invalidation_event();
    inv->mutable_partition_ref()->set_str(ref);
    inv->set_reason(rng_.percent(85) ? "upstream data changed" : "");
  }

  void plan(Build& b) {
    if (!b.graph_logged) {
      auto* g = emit(b).mutable_job_graph_event();
      auto* graph = g->mutable_job_graph();
      graph->set_label("graph-" + b.id);
      for (const auto& p : b.parts) {
        graph->add_outputs()->set_str(p.ref);
        auto* task = graph->add_nodes();
        task->mutable_job()->set_label(label_for(p.ref));
        task->mutable_config()->add_outputs()->set_str(p.ref);
        task->mutable_config()->add_args("--date=" + p.ref.substr(p.ref.rfind('/') + 1));
      }
      g->set_message(rng_.percent(50) ? std::to_string(b.parts.size()) + " tasks" : "");
      b.graph_logged = true;
      return;
    }
    for (auto& p : b.parts) {
      if (p.status == v1::PARTITION_UNKNOWN && p.request_in_planning) {
        auto* pe = emit(b).mutable_partition_event();
        pe->mutable_partition_ref()->set_str(p.ref);
        pe->set_status_code(v1::PARTITION_REQUESTED);
        pe->set_message(rng_.percent(30) ? "requested" : "");
        p.status = v1::PARTITION_REQUESTED;
        return;
      }
    }
    // Now and then a later event lists the partitions again (reversed): the first list counts.
    bool relist = rng_.percent(30);
    auto* bre = emit(b).mutable_build_request_event();
    bre->set_status_code(v1::BUILD_REQUEST_ANALYSIS_COMPLETED);
    if (relist) {
      for (auto it = b.parts.rbegin(); it != b.parts.rend(); ++it) {
        bre->add_requested_partitions()->set_str(it->ref);
      }
    }
    bre->set_message(rng_.percent(60) ? "planned " + std::to_string(b.parts.size()) + " jobs" : "");
    b.phase = Phase::analysis_completed;
  }

  static bool unhandled(const Part& p) {
    return !p.busy && !p.stuck &&
           (p.status == v1::PARTITION_UNKNOWN || p.status == v1::PARTITION_REQUESTED);
  }

  void execute(Build& b) {
    if (rng_.percent(1)) {
      end_build(b, v1::BUILD_REQUEST_FAILED, "aborted: worker lost");
      return;
    }
    std::vector<size_t> todo;
    for (size_t i = 0; i < b.parts.size(); ++i) {
      if (unhandled(b.parts[i])) todo.push_back(i);
    }
    if (!todo.empty() && (b.tasks.empty() || rng_.percent(35))) {
      start_task(b, rng_.pick(todo));
      emit_next(b, b.tasks.size() - 1);
      return;
    }
    if (!b.tasks.empty()) {
      size_t t = static_cast<size_t>(below(static_cast<int>(b.tasks.size())));
      Task& task = b.tasks[t];
      if ((task.run_status == v1::JOB_SCHEDULED || task.run_status == v1::JOB_RUNNING) &&
          rng_.percent(2)) {
        auto* c = emit(b).mutable_job_run_cancel_event();
        c->set_job_run_id(task.job_run_id);
        c->set_reason(rng_.percent(80) ? "cancelled by operator" : "");
        for (auto& p : b.parts) {
          if (std::find(task.targets.begin(), task.targets.end(), p.ref) != task.targets.end() &&
              p.status != v1::PARTITION_AVAILABLE && p.status != v1::PARTITION_FAILED) {
            p.stuck = true;
          }
        }
        b.failed = true;
        b.tasks.erase(b.tasks.begin() + static_cast<std::ptrdiff_t>(t));
        return;
      }
      emit_next(b, t);
      return;
    }
    bool ok = !b.failed;
    for (const auto& p : b.parts) ok = ok && p.status != v1::PARTITION_FAILED;
    if (ok) {
      end_build(b, v1::BUILD_REQUEST_COMPLETED,
                rng_.percent(50) ? "built " + std::to_string(b.parts.size()) + " partitions" : "");
    } else {
      end_build(b, v1::BUILD_REQUEST_FAILED, "some partitions failed");
    }
  }

  // Open build requests other than `b` whose own status for `ref` is in progress.
  std::vector<std::string> active_builders(const Build& b, const std::string& ref) const {
    std::vector<std::string> out;
    for (size_t i : open_) {
      const Build& other = builds_[i];
      if (other.id == b.id || other.phase == Phase::done) continue;
      for (const auto& p : other.parts) {
        if (p.ref == ref &&
            (p.status == v1::PARTITION_REQUESTED || p.status == v1::PARTITION_SCHEDULED ||
             p.status == v1::PARTITION_BUILDING)) {
          out.push_back(other.id);
        }
      }
    }
    return out;
  }

  // The latest completed build request that made `ref` available, or "".
  std::string past_builder(const std::string& ref) const {
    auto it = ever_available_.find(ref);
    if (it == ever_available_.end()) return "";
    for (auto b = it->second.rbegin(); b != it->second.rend(); ++b) {
      if (builds_[*b].final_status == v1::BUILD_REQUEST_COMPLETED) return builds_[*b].id;
    }
    return "";
  }

  std::string new_job_run_id() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%06d", ++job_runs_);
    return "jr-" + prefix_ + buf;
  }

  void start_task(Build& b, size_t part) {
    Part& p = b.parts[part];
    Task task;
    const auto active = active_builders(b, p.ref);
    const std::string past = past_builder(p.ref);
    const int r = below(100);
    p.busy = true;
    if (!active.empty() && r < 25) {
      // Delegation to a build request building the partition right now.
      const std::string& to = rng_.pick(active);
      Step d(Step::delegation_event);
      d.ref = p.ref;
      d.delegated_to = to;
      d.message = rng_.percent(50) ? "already being built by " + to : "";
      Step pe(Step::partition_event);
      pe.ref = p.ref;
      pe.partition_status = v1::PARTITION_DELEGATED;
      pe.message = rng_.percent(50) ? "delegated" : "";
      const int order = below(10);
      if (order < 4) {
        task.steps = {d, pe};
      } else if (order < 7) {
        task.steps = {pe, d};
      } else if (order < 9) {
        task.steps = {d};
      } else {
        task.steps = {pe};
      }
      b.tasks.push_back(std::move(task));
      return;
    }
    if (!past.empty() && r >= 25 && r < 45) {
      // Delegation to an earlier completed build request: the job run is skipped.
      const std::string& to = past;
      task.job_run_id = new_job_run_id();
      task.job_label = label_for(p.ref);
      task.targets = {p.ref};
      Step skip(Step::job_event);
      skip.job_status = v1::JOB_SKIPPED;
      skip.with_targets = true;
      skip.message = "already available from " + to;
      Step d(Step::delegation_event);
      d.ref = p.ref;
      d.delegated_to = to;
      task.steps = {skip, d};
      if (rng_.percent(50)) {
        Step pe(Step::partition_event);
        pe.ref = p.ref;
        pe.partition_status = v1::PARTITION_DELEGATED;
        task.steps.push_back(pe);
      }
      b.tasks.push_back(std::move(task));
      return;
    }
    // A job run building this partition and maybe a few more of the request.
    task.job_run_id = new_job_run_id();
    task.job_label = label_for(p.ref);
    task.targets = {p.ref};
    for (auto& other : b.parts) {
      if (&other != &p && unhandled(other) && rng_.percent(40)) {
        other.busy = true;
        task.targets.push_back(other.ref);
      }
    }
    const bool completes = rng_.percent(80);
    const bool targets_first = rng_.percent(85);
    auto job = [&](JobStatus s, bool with_targets, std::string message) {
      Step st(Step::job_event);
      st.job_status = s;
      st.with_targets = with_targets;
      st.message = std::move(message);
      task.steps.push_back(std::move(st));
    };
    auto parts = [&](PartitionStatus s, const char* message) {
      for (const auto& ref : task.targets) {
        Step st(Step::partition_event);
        st.ref = ref;
        st.partition_status = s;
        st.message = rng_.percent(40) ? message : "";
        task.steps.push_back(std::move(st));
      }
    };
    // A late report: the run fails before its partitions are reported building, so those
    // claims name a run that has already failed (SPEC section 4: they are not live).
    const bool late = !completes && rng_.percent(30);
    auto fail = [&] {
      job(v1::JOB_FAILED, rng_.percent(30), "exit code " + std::to_string(1 + below(3)));
    };
    job(v1::JOB_SCHEDULED, targets_first, rng_.percent(30) ? "queued" : "");
    parts(v1::PARTITION_SCHEDULED, "scheduled");
    job(v1::JOB_RUNNING, !targets_first || rng_.percent(30),
        rng_.percent(70) ? "started on worker-" + std::to_string(below(4)) : "");
    if (late) fail();
    parts(v1::PARTITION_BUILDING, "building");
    if (completes) {
      job(v1::JOB_COMPLETED, rng_.percent(30), rng_.percent(40) ? "ok" : "");
      parts(v1::PARTITION_AVAILABLE, "rows written");
    } else {
      if (!late) fail();
      parts(v1::PARTITION_FAILED, "job failed");
    }
    b.tasks.push_back(std::move(task));
  }

  void emit_next(Build& b, size_t t) {
    Task& task = b.tasks[t];
    Step st = std::move(task.steps.front());
    task.steps.pop_front();
    BuildEvent& e = emit(b);
    switch (st.kind) {
      case Step::job_event: {
        auto* je = e.mutable_job_event();
        je->set_job_run_id(task.job_run_id);
        je->mutable_job_label()->set_label(task.job_label);
        if (st.with_targets) {
          for (const auto& ref : task.targets) je->add_target_partitions()->set_str(ref);
        }
        je->set_status_code(st.job_status);
        je->set_message(st.message);
        if (st.job_status == v1::JOB_SCHEDULED) {
          for (const auto& ref : task.targets) je->mutable_config()->add_outputs()->set_str(ref);
        }
        task.run_status = st.job_status;
        break;
      }
      case Step::partition_event: {
        auto* pe = e.mutable_partition_event();
        pe->set_status_code(st.partition_status);
        if (st.partition_status != v1::PARTITION_DELEGATED) pe->set_job_run_id(task.job_run_id);
        // Now and then a claim names another request's open job run, which that request's end
        // cancels (and so ends the claim).
        if (is_in_progress_partition_status(st.partition_status) && rng_.percent(4)) {
          const std::string other = open_run_elsewhere(b);
          if (!other.empty()) pe->set_job_run_id(other);
        }
        fill_part_event(b, st, st.partition_status, pe);
        break;
      }
      case Step::delegation_event: {
        auto* d = e.mutable_delegation_event();
        d->set_delegated_to_build_request_id(st.delegated_to);
        fill_part_event(b, st, v1::PARTITION_DELEGATED, d);
        break;
      }
    }
    if (task.steps.empty()) b.tasks.erase(b.tasks.begin() + static_cast<std::ptrdiff_t>(t));
  }

  // The id of an open (SCHEDULED or RUNNING) job run of an open build request other than `b`,
  // or "" when there is none.
  std::string open_run_elsewhere(const Build& b) const {
    for (size_t i : open_) {
      const Build& other = builds_[i];
      if (other.id == b.id) continue;
      for (const Task& t : other.tasks) {
        if (t.run_status == v1::JOB_SCHEDULED || t.run_status == v1::JOB_RUNNING) {
          return t.job_run_id;
        }
      }
    }
    return "";
  }

  // What a step's PartitionEvent and DelegationEvent share: the partition's ref and the step's
  // message in `out`, and the partition taking `status` in `b`.
  template <class PartEvent>
  void fill_part_event(Build& b, const Step& st, PartitionStatus status, PartEvent* out) {
    out->mutable_partition_ref()->set_str(st.ref);
    out->set_message(st.message);
    set_part_status(b, st.ref, status);
  }

  void set_part_status(Build& b, const std::string& ref, PartitionStatus s) {
    for (auto& p : b.parts) {
      if (p.ref != ref) continue;
      p.status = s;
      if (s == v1::PARTITION_AVAILABLE) {
        ever_available_[ref].push_back(static_cast<size_t>(&b - builds_.data()));
      }
    }
  }

  const int space_;
  int job_runs_ = 0;
  int oddities_ = 0;
  std::vector<std::string> finished_;  // ids of ended build requests, the latest 64
  std::vector<Build> builds_;
  std::vector<size_t> open_;                                   // indexes of builds not done
  std::map<std::string, std::vector<size_t>> ever_available_;  // ref -> builds that built it
};

}  // namespace

std::string adversarial_partition(int n) {
  const int day = n / kDatasetCount;
  const int month = 1 + (4 + day / 28) % 12;
  const int year = 2024 + (4 + day / 28) / 12;
  char buf[64];
  std::snprintf(buf, sizeof buf, "data/%s/%04d-%02d-%02d", kDatasets[n % kDatasetCount], year,
                month, 1 + day % 28);
  return buf;
}

std::unique_ptr<Workload::Flow> make_adversarial_flow(const WorkloadOptions& options) {
  return std::make_unique<AdversarialFlow>(options);
}

}  // namespace bel::sim
