#include "bench/acked_appends.h"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "actors/caf_support.h"
#include "actors/client/appender.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/write/log_writer.h"
#include "actors/write/storage_actor.h"
#include "bench/answer_tally.h"
#include "bench/machine.h"
#include "bench/pure_append_actor.h"
#include "storage/storage_factory.h"
#include "storage/thread_name.h"

namespace bel::bench {
namespace {

using Clock = std::chrono::steady_clock;
using actors::append_atom;
using actors::stats_atom;
using actors::tick_atom;

constexpr std::chrono::seconds kCallTimeout{30};

// A window above this is kept by several clients of at most this many appends in flight each,
// as several producers would keep it: one client with thousands of requests in flight would
// time CAF 0.17's map of its own pending requests, which is searched linearly per answer.
constexpr size_t kClientWindow = 1000;

struct ClientResult {
  AnswerTally tally;  // answered: acknowledged appends
  Clock::time_point started{};
  Clock::time_point finished{};
  std::vector<double> latencies_us;  // per acknowledged append, send to answer
  int64_t messages = 0;              // that carried the appends
};

// What the clients share with the thread that waits for them.
struct ClientShared {
  explicit ClientShared(size_t n) : clients(n) {}
  const size_t clients;
  std::atomic<int64_t> answered{0};  // by every client
  std::mutex mutex;
  std::vector<ClientResult> results;             // of the clients done, under mutex
  std::promise<std::vector<ClientResult>> done;  // set when every client is done

  void finished(ClientResult result) {
    std::lock_guard<std::mutex> lock(mutex);
    results.push_back(std::move(result));
    if (results.size() == clients) done.set_value(std::move(results));
  }
};

struct ClientState {
  caf::actor target;
  // A copy made before the clock starts: each event is moved into its append, as a producer
  // sends an event it has just built (copying it here would time the bench, not bel).
  std::vector<BuildEvent>* events = nullptr;  // owned by the caller, who waits for us
  std::shared_ptr<ClientShared> shared;
  size_t next = 0;
  RequestWindow requests;
  ClientResult result;
  std::unique_ptr<actors::Appender> appender;  // null: one request per append
  static inline const char* name = "bel.bench.client";
};

using ClientPointer = caf::stateful_actor<ClientState>*;

void send_next(ClientPointer self);

bool more_to_send(ClientPointer self) { return self->state.next < self->state.events->size(); }

void on_answer(ClientPointer self, const caf::error* error, Clock::time_point sent) {
  auto& st = self->state;
  st.result.latencies_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
  const bool last = st.requests.answer(
      error, [=] { return more_to_send(self); }, [=] { send_next(self); });
  st.shared->answered.fetch_add(1, std::memory_order_relaxed);
  if (last) {
    st.result.tally = st.requests.tally();
    st.result.started = st.requests.started();
    st.result.finished = Clock::now();
    st.result.messages =
        st.appender ? st.appender->messages_sent() : static_cast<int64_t>(st.events->size());
    st.shared->finished(std::move(st.result));
    self->quit();
  }
}

void send_next(ClientPointer self) {
  auto& st = self->state;
  BuildEvent& event = (*st.events)[st.next++];
  st.requests.sent();
  const auto sent = Clock::now();
  if (st.appender) {
    st.appender->append(std::move(event), [self, sent](Result<AppendAck> ack) {
      if (ack.ok()) return on_answer(self, nullptr, sent);
      const caf::error error = actors::to_caf_error(ack.error());
      on_answer(self, &error, sent);
    });
    return;
  }
  self->request(st.target, caf::infinite, append_atom::value, std::move(event))
      .then([=](const AppendAck&) { on_answer(self, nullptr, sent); },
            [=](const caf::error& e) { on_answer(self, &e, sent); });
}

// Keeps `window` appends in flight until every event is answered, then fulfils the promise.
caf::behavior append_client(ClientPointer self, caf::actor target, std::vector<BuildEvent>* events,
                            size_t window, std::shared_ptr<ClientShared> shared,
                            bool use_appender) {
  auto& st = self->state;
  st.target = std::move(target);
  if (use_appender) {
    st.appender =
        std::make_unique<actors::Appender>(self, caf::actor_cast<actors::BelApi>(st.target));
  }
  st.events = events;
  st.shared = std::move(shared);
  st.result.latencies_us.reserve(events->size());
  if (events->empty()) {
    st.result.started = st.result.finished = Clock::now();
    st.shared->finished(std::move(st.result));
    self->quit();
    return {};
  }
  st.requests.open(
      static_cast<int64_t>(window), [=] { return more_to_send(self); }, [=] { send_next(self); });
  // Nothing sends this; the behavior only keeps the actor alive while answers are due.
  return {[](tick_atom) {}};
}

// The clients' results as one: from the first client's start to the last one's end.
ClientResult merge(std::vector<ClientResult> results) {
  ClientResult out = std::move(results.front());
  for (size_t k = 1; k < results.size(); ++k) {
    ClientResult& r = results[k];
    if (out.tally.failed == 0) out.tally.first_error = r.tally.first_error;
    out.tally.answered += r.tally.answered;
    out.messages += r.messages;
    out.tally.failed += r.tally.failed;
    out.started = std::min(out.started, r.started);
    out.finished = std::max(out.finished, r.finished);
    out.latencies_us.insert(out.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  return out;
}

Result<StorageStats> ask_stats(caf::actor_system& system, const caf::actor& target) {
  caf::scoped_actor self{system};
  Result<StorageStats> out = make_error(ErrorCode::internal, "no answer");
  self->request(target, kCallTimeout, stats_atom::value)
      .receive([&](const StorageStats& s) { out = s; },
               [&](const caf::error& e) { out = actors::from_caf_error(e); });
  return out;
}

}  // namespace

Latency latency_percentiles(std::vector<double> samples_us) {
  Latency l;
  if (samples_us.empty()) return l;
  std::sort(samples_us.begin(), samples_us.end());
  auto at = [&](double q) {
    const auto i = static_cast<size_t>(q * static_cast<double>(samples_us.size() - 1) + 0.5);
    return samples_us[std::min(i, samples_us.size() - 1)];
  };
  l.p50 = at(0.5);
  l.p99 = at(0.99);
  l.p999 = at(0.999);
  return l;
}

const char* to_string(AppendPath path) {
  switch (path) {
    case AppendPath::coordinator:
      return "coordinator";
    case AppendPath::storage_actor:
      return "storage-actor";
    case AppendPath::pure_actor:
      return "pure-actor";
    case AppendPath::ids_actor:
      return "ids-actor";
  }
  return "coordinator";
}

const char* to_string(AppendClient client) {
  return client == AppendClient::appender ? "appender" : "requests";
}

Result<AckedAppends> measure_acked_appends(const AckedAppendsOptions& options,
                                           const std::vector<BuildEvent>& events,
                                           const ProgressFn& progress) {
  const std::string uri = options.uri.empty() ? "sqlite://" + options.log_path : options.uri;
  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};

  storage::StorageOptions storage_options;
  storage_options.durability_full = options.durability_full;
  caf::actor target;
  std::function<void()> stop;
  if (options.path == AppendPath::coordinator) {
    actors::CoordinatorOptions coordinator;
    coordinator.storage = storage_options;
    auto api = actors::start_coordinator(system, uri, coordinator);
    if (!api.ok()) return api.error();
    target = caf::actor_cast<caf::actor>(*api);
    stop = [api = *api] { actors::stop_coordinator(api); };
  } else if (options.path == AppendPath::pure_actor || options.path == AppendPath::ids_actor) {
    if (!options.uri.empty()) {
      return make_error(ErrorCode::invalid_argument,
                        std::string(to_string(options.path)) +
                            " appends go to an SQLite file only, not " + options.uri);
    }
    auto pure = spawn_pure_append_actor(
        system, options.log_path, options.durability_full,
        options.path == AppendPath::ids_actor ? PureRows::with_ids : PureRows::payload);
    if (!pure.ok()) return pure.error();
    target = *pure;
    stop = [pure = *pure] { caf::anon_send_exit(pure, caf::exit_reason::user_shutdown); };
  } else {
    auto log = storage::open_storage(uri, storage_options);
    if (!log.ok()) return log.error();
    auto writer = actors::LogWriter::open(std::move(*log), {});
    if (!writer.ok()) return writer.error();
    auto storage_actor = actors::spawn_storage_actor(system, std::move(*writer));
    target = caf::actor_cast<caf::actor>(storage_actor);
    stop = [storage_actor] { caf::anon_send_exit(storage_actor, caf::exit_reason::user_shutdown); };
  }
  // Also waits until the (detached) storage actor runs, so its start is not timed.
  auto before = ask_stats(system, target);
  if (!before.ok()) {
    stop();
    return before.error();
  }

  // Up to kClientWindow in flight per client. Each client sends the events of its build
  // requests, in their order: a build request's events must arrive in order to be valid.
  const size_t window = static_cast<size_t>(std::max(1, options.window));
  const size_t clients = (window + kClientWindow - 1) / kClientWindow;
  std::vector<std::vector<BuildEvent>> to_send(clients);
  for (const auto& event : events) {
    to_send[clients == 1 ? 0 : std::hash<std::string>{}(event.build_request_id()) % clients]
        .push_back(event);
  }
  // The bare actors take the Appender's messages too, so that they are fed as bel is.
  const bool use_appender =
      options.path != AppendPath::storage_actor && options.client == AppendClient::appender;
  auto shared = std::make_shared<ClientShared>(clients);
  auto finished = shared->done.get_future();
  const double cpu_start = process_cpu_seconds();
  const ThreadTimes storage_start = named_threads_times(kStorageThreadName);
  for (size_t c = 0; c < clients; ++c) {
    const size_t share = window / clients + (c < window % clients ? 1 : 0);
    system.spawn(append_client, target, &to_send[c], share, shared, use_appender);
  }
  const auto total = static_cast<int64_t>(events.size());
  if (!wait_while_answered(finished, shared->answered, kStallTimeout, [&](int64_t answered) {
        if (progress) progress(answered, total);
      })) {
    // Stopping answers every append still held with an error (R9), which ends the clients.
    stop();
    finished.wait();
  }
  const ClientResult run = merge(finished.get());
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  const ThreadTimes storage_end = named_threads_times(kStorageThreadName);
  if (progress) progress(total, total);

  auto stats = ask_stats(system, target);
  stop();
  system.await_all_actors_done();
  BEL_RETURN_IF_ERROR(run.tally.check(uri + ": ", total, "appends were refused"));
  if (!stats.ok()) return stats.error();

  AckedAppends out;
  out.events = run.tally.answered;
  out.seconds = std::chrono::duration<double>(run.finished - run.started).count();
  out.per_second = out.seconds > 0 ? static_cast<double>(run.tally.answered) / out.seconds : 0;
  out.cpu_seconds = cpu_seconds;
  if (storage_start.on_cpu >= 0 && storage_end.on_cpu >= storage_start.on_cpu) {
    out.storage_thread_cpu_seconds = storage_end.on_cpu - storage_start.on_cpu;
    out.storage_thread_runqueue_seconds = storage_end.runqueue - storage_start.runqueue;
  }
  if (stats->commit_seconds() > 0) {  // only a storage actor times its groups
    out.storage_commit_seconds = stats->commit_seconds() - before->commit_seconds();
    out.storage_index_seconds = stats->index_seconds() - before->index_seconds();
  }
  out.stats = *stats;
  out.latency_us = latency_percentiles(run.latencies_us);
  out.messages = run.messages;
  return out;
}

}  // namespace bel::bench
