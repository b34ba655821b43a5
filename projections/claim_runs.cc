#include "projections/claim_runs.h"

#include <algorithm>
#include <string>

#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

ClaimRuns::Id ClaimRuns::make_known(std::string_view id) {
  Id run = ids_.find(id);
  if (run != CountedStringPool::kNone) return run;
  run = ids_.acquire(id);
  if (runs_.size() <= run) runs_.resize(ids_.id_limit());
  runs_[run] = Run{};
  return run;
}

void ClaimRuns::open(Id run, uint32_t build) {
  Run& r = runs_[run];
  r.state = kOpen;
  r.build = build;
  if (open_heads_.size() <= build) open_heads_.resize(build + 1, kNil);
  r.prev = kNil;
  r.next = open_heads_[build];
  if (r.next != kNil) runs_[r.next].prev = run;
  open_heads_[build] = run;
}

void ClaimRuns::close(Id run) {
  Run& r = runs_[run];
  if (r.state != kOpen) return;
  if (r.prev == kNil) {
    open_heads_[r.build] = r.next;
  } else {
    runs_[r.prev].next = r.next;
  }
  if (r.next != kNil) runs_[r.next].prev = r.prev;
  r.prev = r.next = kNil;
  r.state = kForgotten;
}

void ClaimRuns::forget(Id run) {
  close(run);
  runs_[run].state = kForgotten;
  ids_.release(run);
}

void ClaimRuns::on_job_event(std::string_view id, uint32_t build, JobStatus status) {
  if (id.empty()) return;
  switch (status) {
    case v1::JOB_SCHEDULED:
    case v1::JOB_RUNNING: {
      const Id run = make_known(id);
      if (runs_[run].state != kOpen) open(run, build);
      return;
    }
    case v1::JOB_FAILED:
    case v1::JOB_CANCELLED: {
      const Id run = make_known(id);
      close(run);
      runs_[run].state = kDead;
      return;
    }
    default: {
      const Id run = ids_.find(id);
      if (run != CountedStringPool::kNone) forget(run);
      return;
    }
  }
}

void ClaimRuns::on_cancel(std::string_view id) {
  const Id run = ids_.find(id);
  if (run == CountedStringPool::kNone) return;
  close(run);
  runs_[run].state = kDead;
}

void ClaimRuns::end_build(uint32_t build, std::vector<Id>* ended) {
  if (build >= open_heads_.size()) return;
  while (open_heads_[build] != kNil) {
    const Id run = open_heads_[build];
    close(run);
    runs_[run].state = kDead;
    ended->push_back(run);
  }
}

bool ClaimRuns::dead(std::string_view id) const {
  const Id run = ids_.find(id);
  return run != CountedStringPool::kNone && runs_[run].state == kDead;
}

std::vector<snap::ClaimRun> ClaimRuns::to_snapshot(const StringPool& builds) const {
  std::vector<snap::ClaimRun> out;
  out.reserve(ids_.size());
  for (Id run = 0; run < runs_.size(); ++run) {
    if (runs_[run].state == kForgotten) continue;
    snap::ClaimRun& e = out.emplace_back();
    const std::string_view id = ids_.str(run);
    e.set_job_run_id(id.data(), id.size());
    e.set_dead(runs_[run].state == kDead);
    if (runs_[run].state == kOpen) {
      const std::string_view build = builds.str(runs_[run].build);
      e.set_build_request_id(build.data(), build.size());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.job_run_id() < b.job_run_id(); });
  return out;
}

Status ClaimRuns::restore(const snap::ClaimRun& in, StringPool* builds) {
  if (in.job_run_id().empty() || ids_.find(in.job_run_id()) != CountedStringPool::kNone) {
    return make_error(ErrorCode::storage_corrupt,
                      "job run '" + in.job_run_id() + "' is empty or appears twice");
  }
  const Id run = make_known(in.job_run_id());
  if (in.dead()) {
    runs_[run].state = kDead;
  } else {
    open(run, builds->intern(in.build_request_id()));
  }
  return ok_status();
}

bool ClaimRuns::same(const StringPool& builds, const ClaimRuns& other,
                     const StringPool& other_builds) const {
  if (ids_.size() != other.ids_.size()) return false;
  for (Id run = 0; run < runs_.size(); ++run) {
    const Run& r = runs_[run];
    if (r.state == kForgotten) continue;
    const Id o = other.ids_.find(ids_.str(run));
    if (o == CountedStringPool::kNone || other.runs_[o].state != r.state) return false;
    if (r.state == kOpen && builds.str(r.build) != other_builds.str(other.runs_[o].build)) {
      return false;
    }
  }
  return true;
}

}  // namespace bel::projections
