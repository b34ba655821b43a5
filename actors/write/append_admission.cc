#include "actors/write/append_admission.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "actors/component_log.h"
#include "actors/write/log_writer.h"
#include "actors/write/storage_actor.h"
#include "messages/decoded_size.h"
#include "messages/status_names.h"

namespace bel::actors {
namespace {

std::shared_ptr<spdlog::logger> admission_log() {
  static const ComponentLog logger("supervisor");
  return logger.get();
}

// An event as check_event sees it (its status names filled), measured: its encoded size is what
// check_event's size check compares, computed once.
size_t measure(BuildEvent& event) {
  fill_status_names(event);
  return event.ByteSizeLong();
}

// What the pending limit counts for an event of `encoded` bytes: those bytes, or an eighth of its
// decoded size when that is more. A small event decodes to about 7 times its encoded bytes; one
// holding many small messages (empty manifests, 2 bytes each) to a hundred times or more, and
// counted by its encoded bytes alone, a pending limit of such events would bound nothing.
size_t pending_bytes(const BuildEvent& event, size_t encoded) {
  return std::max(encoded, decoded_bytes_if_large(event, encoded) / 8);
}

// The storage actor writes every append as a batch and names an event by its place in it
// ("append #1: partition_event.partition_ref is empty"). An append sent by itself, or as one of
// several independent ones in a message, is no batch: its error is told as if it came alone,
// without that position (which, in an each-message, would not even be its place there).
Error as_sent_alone(Error error) {
  constexpr std::string_view kFirst = "append #1: ";
  if (error.message.compare(0, kFirst.size(), kFirst) == 0) error.message.erase(0, kFirst.size());
  return error;
}
caf::error as_sent_alone(const caf::error& error) {
  if (error.category() != kErrorCategory) return error;
  return to_caf_error(as_sent_alone(from_caf_error(error)));
}

BuildEvent& event_at(BuildEvent& event, size_t) { return event; }
BuildEvent& event_at(std::vector<BuildEvent>& batch, size_t i) { return batch[i]; }

}  // namespace

OutgoingAppends::Next OutgoingAppends::push(uint64_t flight, BuildEvent event) {
  flights_.push_back(flight);
  events_.push_back(std::move(event));
  if (events_.size() >= kMaxEvents) return Next::send_now;
  if (flush_scheduled_) return Next::nothing;
  flush_scheduled_ = true;
  return Next::flush_later;
}

std::pair<std::vector<uint64_t>, std::vector<BuildEvent>> OutgoingAppends::take() {
  std::pair<std::vector<uint64_t>, std::vector<BuildEvent>> out{std::move(flights_),
                                                                std::move(events_)};
  clear();
  return out;
}

void OutgoingAppends::clear() {
  flights_.clear();
  events_.clear();
}

template <class Events>
Result<PendingLoad> AppendAdmission::check(const PendingLoad& load, Events& events, size_t n) {
  if (auto ok = check_pending(limits_, pending_, load, log_uri_); !ok.ok()) {
    ++overloaded_;
    metrics_.rejected(ok.error().code);
    return ok.error();
  }
  // The same checks, in the same order, with the same errors as the storage actor's own.
  for (size_t i = 0; i < n; ++i) {
    if (auto ok = LogWriter::check_event(event_at(events, i), i, sizes_[i]); !ok.ok()) {
      ++rejected_;
      metrics_.rejected(ok.error().code);
      admission_log()->info("rejected append code={} error=\"{}\"", to_string(ok.error().code),
                            ok.error().message);
      return ok.error();
    }
  }
  return load;
}

Result<PendingLoad> AppendAdmission::admit(BuildEvent& event) {
  sizes_.assign(1, measure(event));
  auto load = check(PendingLoad{1, pending_bytes(event, sizes_[0])}, event, 1);
  if (!load.ok()) return as_sent_alone(load.error());
  return load;
}

Result<PendingLoad> AppendAdmission::admit(std::vector<BuildEvent>& batch) {
  sizes_.resize(batch.size());
  PendingLoad load{batch.size(), 0};
  for (size_t i = 0; i < batch.size(); ++i) {
    sizes_[i] = measure(batch[i]);
    load.bytes += pending_bytes(batch[i], sizes_[i]);
  }
  return check(load, batch, batch.size());
}

uint64_t AppendAdmission::hold(const PendingLoad& load, TimePoint admitted,
                               caf::typed_response_promise<AppendAck> rp) {
  Flight flight;
  flight.load = load;
  flight.admitted = admitted;
  flight.one = std::move(rp);
  return hold(std::move(flight));
}

uint64_t AppendAdmission::hold(const PendingLoad& load, TimePoint admitted,
                               caf::typed_response_promise<AppendAcks> rp) {
  Flight flight;
  flight.load = load;
  flight.admitted = admitted;
  flight.kind = Kind::many;
  flight.many = std::move(rp);
  return hold(std::move(flight));
}

uint64_t AppendAdmission::hold(const PendingLoad& load, TimePoint admitted,
                               std::shared_ptr<EachGroup> group, size_t slot) {
  Flight flight;
  flight.load = load;
  flight.admitted = admitted;
  flight.kind = Kind::each;
  flight.group = std::move(group);
  flight.slot = slot;
  return hold(std::move(flight));
}

void AppendAdmission::admit_each(std::vector<BuildEvent>& events, TimePoint admitted,
                                 caf::typed_response_promise<AppendOutcomes> rp,
                                 const std::function<void(uint64_t, BuildEvent&)>& send) {
  if (events.empty()) {
    rp.deliver(AppendOutcomes{});
    return;
  }
  auto group = std::make_shared<EachGroup>();
  group->rp = std::move(rp);
  group->outcomes.resize(events.size());
  group->settled.resize(events.size());
  group->waiting = events.size();
  size_t i = 0;
  try {
    for (; i < events.size(); ++i) {
      auto load = admit(events[i]);
      if (!load.ok()) {
        group->settle(i, AppendOutcome{AppendAck{}, to_caf_error(load.error())});
        continue;
      }
      send(hold(*load, admitted, group, i), events[i]);
    }
  } catch (...) {
    // The request is taken (rp): its events not held yet must be answered here, or never. Event
    // i may be held already; fail_all then finds its slot settled and leaves it.
    const caf::error error = to_caf_error(
        Error{ErrorCode::internal, "append: the coordinator failed while admitting it"});
    for (size_t rest = i; rest < events.size(); ++rest) {
      group->settle(rest, AppendOutcome{AppendAck{}, error});
    }
    throw;
  }
}

void EachGroup::settle(size_t slot, AppendOutcome outcome) {
  if (settled[slot] != 0) return;
  settled[slot] = 1;
  outcomes[slot] = std::move(outcome);
  if (--waiting == 0) rp.deliver(std::move(outcomes));
}

uint64_t AppendAdmission::hold(Flight flight) {
  pending_.events += flight.load.events;
  pending_.bytes += flight.load.bytes;
  peak_pending_bytes_ = std::max(peak_pending_bytes_, pending_.bytes);
  const uint64_t number = ++next_flight_;
  flights_.emplace(number, std::move(flight));
  return number;
}

void AppendAdmission::fail(Flight& flight, const caf::error& error) {
  switch (flight.kind) {
    case Kind::one:
      flight.one.deliver(as_sent_alone(error));
      return;
    case Kind::many:
      flight.many.deliver(error);
      return;
    case Kind::each:
      flight.group->settle(flight.slot, AppendOutcome{AppendAck{}, as_sent_alone(error)});
      return;
  }
}

void AppendAdmission::answer(FlightAnswer& answer, TimePoint now) {
  auto it = flights_.find(answer.flight);
  if (it == flights_.end()) return;
  Flight flight = std::move(it->second);
  flights_.erase(it);
  pending_.events -= flight.load.events;
  pending_.bytes -= flight.load.bytes;
  const size_t expected = flight.kind == Kind::many ? flight.load.events : 1;
  if (answer.error || answer.acks.size() != expected) {
    const caf::error error =
        answer.error
            ? std::move(answer.error)
            : to_caf_error(make_error(ErrorCode::internal,
                                      "append: the storage actor answered " +
                                          std::to_string(answer.acks.size()) + " acks for " +
                                          std::to_string(flight.load.events) + " events"));
    metrics_.rejected(from_caf_error(error).code);
    fail(flight, error);
    return;
  }
  metrics_.acked(now - flight.admitted);
  for (const auto& ack : answer.acks) answered_idx_ = std::max(answered_idx_, ack.idx());
  if (flight.kind == Kind::one) {
    flight.one.deliver(std::move(answer.acks.front()));
    return;
  }
  if (flight.kind == Kind::each) {
    flight.group->settle(flight.slot, AppendOutcome{std::move(answer.acks.front()), {}});
    return;
  }
  AppendAcks acks;
  acks.mutable_acks()->Reserve(static_cast<int>(answer.acks.size()));
  for (auto& a : answer.acks) *acks.add_acks() = std::move(a);
  flight.many.deliver(std::move(acks));
}

void AppendAdmission::fail_all(const caf::error& error) {
  const ErrorCode code = from_caf_error(error).code;
  for (auto& [number, flight] : flights_) {
    metrics_.rejected(code);
    fail(flight, error);
  }
  flights_.clear();
  pending_ = PendingLoad{};
}

std::optional<StorageStats> AppendAdmission::remembered() const {
  if (!remembered_) return std::nullopt;
  StorageStats out = *remembered_;
  out.set_last_idx(std::max(out.last_idx(), answered_idx_));
  return out;
}

void AppendAdmission::add_to(StorageStats* stats) const {
  // Appends refused at admission count as overloaded or rejected too.
  stats->set_overloaded(stats->overloaded() + overloaded_);
  stats->set_rejected(stats->rejected() + rejected_);
  stats->set_pending_bytes(static_cast<int64_t>(pending_.bytes));
  stats->set_peak_pending_bytes(static_cast<int64_t>(peak_pending_bytes_));
  stats->set_max_pending_events(static_cast<int64_t>(limits_.max_pending_events));
  stats->set_max_pending_bytes(static_cast<int64_t>(limits_.max_pending_bytes));
  metrics_.copy_to(stats);
}

Status check_pending(const StorageActorConfig& config, const PendingLoad& pending,
                     const PendingLoad& incoming, const std::string& where) {
  // Messages are built only when refusing: this runs for every append.
  const auto describe = [](size_t events, size_t bytes) {
    return std::to_string(events) + " events, " + std::to_string(bytes) + " bytes";
  };
  if (incoming.events > config.max_pending_events || incoming.bytes > config.max_pending_bytes) {
    return make_error(ErrorCode::overloaded,
                      where + ": a batch of " + describe(incoming.events, incoming.bytes) +
                          " is larger than the pending limit (" +
                          describe(config.max_pending_events, config.max_pending_bytes) +
                          "); split it");
  }
  if (pending.events + incoming.events > config.max_pending_events ||
      pending.bytes + incoming.bytes > config.max_pending_bytes) {
    return make_error(ErrorCode::overloaded,
                      where + ": " + describe(pending.events, pending.bytes) + " pending (limit " +
                          describe(config.max_pending_events, config.max_pending_bytes) +
                          "); retry later");
  }
  return ok_status();
}

}  // namespace bel::actors
