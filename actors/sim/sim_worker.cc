#include "actors/sim/sim_worker.h"

#include <algorithm>
#include <utility>

#include "actors/component_log.h"
#include "actors/sim/flow_events.h"
#include "messages/event_id.h"

namespace bel::sim::worker {
namespace {

using actors::append_atom;
using actors::query_atom;

using retry_atom = caf::atom_constant<caf::atom("simretry")>;

constexpr auto kMaxRetryDelay = std::chrono::milliseconds(1000);

void ask_next(WorkerPtr self, SimulationReport outcome);
void send_append(WorkerPtr self, std::shared_ptr<std::vector<BuildEvent>> batch,
                 std::function<void()> on_ok, int attempt = 0);
void end_with_error(WorkerPtr self, const Error& error);
bool end_if_ended_elsewhere(WorkerPtr self, const Error& error);
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

// Handles a failed request: a passing refusal (`overloaded`; `storage_unavailable` or `timeout`
// while the coordinator is up, say a PostgreSQL server restarting) runs `retry` later (up to
// max_retries), anything else ends the build request. An append's retry carries the event_ids
// of its first attempt, so one whose first attempt was committed after all is answered
// duplicate rather than appended twice.
void on_request_error(WorkerPtr self, const caf::error& err, int attempt, const std::string& what,
                      std::function<void()> retry) {
  auto& st = self->state;
  Error error = actors::from_caf_error(err);
  const bool passing =
      error.code == ErrorCode::overloaded ||
      ((error.code == ErrorCode::storage_unavailable || error.code == ErrorCode::timeout) &&
       !st.api_down);
  if (passing && attempt < st.options.max_retries) {
    auto delay = st.options.retry_delay * (int64_t{1} << std::min(attempt, 16));
    delay = std::min<std::chrono::milliseconds>(delay, kMaxRetryDelay);
    const uint64_t token = ++st.next_token;
    st.retries.emplace(token, std::move(retry));
    self->delayed_send(self, delay, retry_atom::value, token);
    return;
  }
  if (passing) {
    error.message += " (gave up after " + std::to_string(attempt) + " retries)";
  }
  if (end_if_ended_elsewhere(self, error)) return;
  end_with_error(self, error.with_context(what));
}

}  // namespace

std::shared_ptr<spdlog::logger> sim_log() {
  static const actors::ComponentLog logger("simulator");
  return logger.get();
}

Pace::Clock::time_point Pace::admit(Clock::time_point now, size_t events) {
  if (rate_ <= 0) return now;
  const Clock::time_point ready = std::max(now, free_at_);
  free_at_ = ready + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(events) / rate_));
  return ready;
}

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ended_build_status(const std::string& message, const std::string& build_request_id) {
  if (message.find("(terminal)") == std::string::npos) return "";
  const std::string request = "build request " + build_request_id;
  for (const std::string& prefix : {request + " is ", request + ": "}) {
    const size_t at = message.find(prefix + "BUILD_REQUEST_");
    if (at == std::string::npos) continue;
    const size_t start = at + prefix.size();
    const size_t end = message.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", start);
    return message.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  return "";
}

void record_error(SimulationReport& report, const std::string& message) {
  ++report.errors;
  if (report.error_messages.size() < kMaxReportedErrors) report.error_messages.push_back(message);
  sim_log()->warn("error {}", message);
}

namespace {

// Runs `go` once the worker's pace allows `events` more events, now or after a delay.
void paced(WorkerPtr self, size_t events, std::function<void()> go) {
  auto& st = self->state;
  const auto now = Pace::Clock::now();
  const auto ready = st.pace.admit(now, events);
  if (ready <= now) return go();
  const uint64_t token = ++st.next_token;
  st.retries.emplace(token, std::move(go));
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(ready - now),
                     retry_atom::value, token);
}

}  // namespace

void append(WorkerPtr self, std::shared_ptr<std::vector<BuildEvent>> batch,
            std::function<void()> on_ok, int attempt) {
  if (attempt == 0) {
    for (auto& event : *batch) {
      if (event.event_id().empty()) event.set_event_id(new_event_id());
    }
    // A first attempt waits for the pace; a retry of it was paced already.
    return paced(self, batch->size(), [=] { send_append(self, batch, on_ok); });
  }
  send_append(self, batch, on_ok, attempt);
}

namespace {

void send_append(WorkerPtr self, std::shared_ptr<std::vector<BuildEvent>> batch,
                 std::function<void()> on_ok, int attempt) {
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
                               [=] { send_append(self, batch, on_ok, attempt + 1); });
            });
  });
}

}  // namespace

std::shared_ptr<std::vector<BuildEvent>> shared(std::vector<BuildEvent> batch) {
  return std::make_shared<std::vector<BuildEvent>>(std::move(batch));
}

void ask(WorkerPtr self, Query query, std::function<void(const QueryResult&)> on_ok, int attempt) {
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

void finish_build(WorkerPtr self) {
  auto& st = self->state;
  SimulationReport outcome = std::move(st.build->outcome);
  st.build.reset();
  ask_next(self, std::move(outcome));
}

namespace {

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

// An append refused because someone else ended the request (`bel builds cancel`) or cancelled
// one of its job runs (`bel job-runs cancel`) is no simulation error: the worker stops the
// request's steps, as a worker told to stop would. Read from the transition rule's words.
bool end_if_ended_elsewhere(WorkerPtr self, const Error& error) {
  if (error.code != ErrorCode::invalid_transition) return false;
  BuildRun& b = *self->state.build;
  const std::string& text = error.message;
  const std::string ended_as = ended_build_status(text, b.plan.build_request_id);
  // Its own status event refused before any of its events was in the log: its RECEIVED met an id
  // another run already ended, which is an error, not someone else's cancel.
  const bool collided = !b.acked_any && text.find("build request " + b.plan.build_request_id +
                                                  ": ") != std::string::npos;
  const size_t run_at = text.find("job run ");
  const size_t cancelled_at = text.find(": JOB_CANCELLED -> ");
  if (!ended_as.empty() && !collided) {
    if (!b.request_ended) {
      b.request_ended = true;
      const bool cancelled = ended_as == "BUILD_REQUEST_CANCELLED";
      ++(cancelled ? b.outcome.builds_cancelled : b.outcome.builds_failed);
      sim_log()->info("{}: ended by someone else; its worker stops", b.plan.build_request_id);
    }
  } else if (run_at != std::string::npos && cancelled_at != std::string::npos &&
             run_at < cancelled_at) {
    if (b.cancelled_run.empty()) {
      b.cancelled_run = text.substr(run_at + 8, cancelled_at - run_at - 8);
      sim_log()->info("{}: job run {} was cancelled by someone else; the request ends",
                      b.plan.build_request_id, b.cancelled_run);
    }
  } else {
    return false;
  }
  b.ending = true;
  finish_if_ending(self);
  return true;
}

void finish_if_ending(WorkerPtr self) {
  auto& st = self->state;
  BuildRun& b = *st.build;
  if (!b.ending || !quiet(self)) return;
  if (b.request_ended) {
    finish_build(self);  // counted when it was found ended: nothing more to append
    return;
  }
  ++b.outcome.builds_failed;
  if (!b.acked_any) {
    finish_build(self);  // nothing of it is in the log: nothing to end
    return;
  }
  auto event = request_event(b.plan.build_request_id, v1::BUILD_REQUEST_FAILED,
                             b.first_error.empty() ? "job run " + b.cancelled_run + " was cancelled"
                                                   : "simulation error: " + b.first_error);
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

void ask_next(WorkerPtr self, SimulationReport outcome) {
  auto& st = self->state;
  // The controller answers at once; the bound only ends a worker whose controller hangs (R9).
  constexpr auto kControllerTimeout = std::chrono::minutes(10);
  self->request(st.controller, kControllerTimeout, next_atom::value, std::move(outcome))
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

}  // namespace

caf::behavior sim_worker(WorkerPtr self, SimulationOptions options, std::string run_id,
                         actors::BelApi api, caf::actor controller) {
  auto& st = self->state;
  st.options = std::move(options);
  st.run_id = std::move(run_id);
  st.api = std::move(api);
  st.controller = std::move(controller);
  st.pace = Pace(st.options.rate / static_cast<double>(st.options.workers));
  // A coordinator that went down answers no retry: its requests fail as it goes.
  self->monitor(st.api);
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.source == self->state.api.address()) self->state.api_down = true;
  });
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
      [=](hurry_atom) {
        auto& st = self->state;
        st.pace = Pace();
        // Each waiting step now, through the handler above (the delayed message then finds its
        // token gone).
        for (const auto& waiting : st.retries) self->send(self, retry_atom::value, waiting.first);
      },
  };
}

}  // namespace bel::sim::worker
