#include "actors/write/log_writer.h"

#include <chrono>

#include <google/protobuf/util/message_differencer.h>

#include "actors/write/event_structure.h"
#include "messages/event_id.h"
#include "messages/status_names.h"
#include "storage/checks.h"

namespace bel::actors {
namespace {

int64_t system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string position(size_t i) { return "append #" + std::to_string(i + 1); }

// invalid_argument "<uri>: validation_mode "x" is not strict or lenient".
Result<write::ValidationMode> parse_mode(const std::string& uri, const std::string& text) {
  auto mode = write::parse_validation_mode(text);
  if (!mode) {
    return make_error(ErrorCode::invalid_argument, uri + ": " + kValidationModeKey + " \"" +
                                                       text + "\" is not strict or lenient");
  }
  return *mode;
}

// True when `incoming` (as appended) is the same event as `existing` apart from idx. A retry
// that left the timestamp for the log to assign (0) matches the timestamp the log assigned.
bool same_event(BuildEvent incoming, bool timestamp_was_unset, BuildEvent existing) {
  existing.set_idx(0);
  if (timestamp_was_unset) incoming.set_timestamp(existing.timestamp());
  return google::protobuf::util::MessageDifferencer::Equals(incoming, existing);
}

}  // namespace

LogWriter::LogWriter(std::unique_ptr<storage::Storage> storage, LogWriterOptions options,
                     write::ValidationMode mode)
    : storage_(std::move(storage)), options_(std::move(options)), rules_(mode) {
  if (!options_.now) options_.now = system_now_ns;
}

Result<std::unique_ptr<LogWriter>> LogWriter::open(std::unique_ptr<storage::Storage> storage,
                                                   LogWriterOptions options) {
  auto stored_mode = storage->get_meta(kValidationModeKey);
  if (!stored_mode.ok()) return stored_mode.error();
  auto mode = write::ValidationMode::strict;
  if (stored_mode->has_value()) {
    auto parsed = parse_mode(storage->uri(), **stored_mode);
    if (!parsed.ok()) return Error{ErrorCode::storage_corrupt, parsed.error().message};
    mode = *parsed;
  }
  const bool read_only = options.read_only;
  std::unique_ptr<LogWriter> writer(new LogWriter(std::move(storage), std::move(options), mode));
  BEL_RETURN_IF_ERROR(read_only ? writer->read_last_idx() : writer->rebuild_rules());
  return writer;
}

Status LogWriter::rebuild_rules() {
  // Replay leniently: the log may hold events accepted while it was lenient, and what was
  // committed is history, not a request to judge.
  auto mode = rules_.mode();
  rules_ = write::TransitionState(write::ValidationMode::lenient);
  int64_t since = 0;
  for (;;) {
    auto page = storage_->list_events(since, EventFilter(), storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (const auto& event : page->events()) {
      (void)rules_.apply(event, nullptr);
    }
    // A replay is never rolled back: drop the undo journal per page, or a long log would keep
    // one undo record per event until the end.
    rules_.commit();
    since = page->next_idx();
    if (!page->has_more()) break;
  }
  rules_.set_mode(mode);
  return read_last_idx();
}

Status LogWriter::read_last_idx() {
  auto last = storage_->last_idx();
  if (!last.ok()) return last.error();
  last_idx_ = *last;
  stats_.set_last_idx(last_idx_);
  return ok_status();
}

Status LogWriter::set_meta(const std::string& key, const std::string& value) {
  if (key != kValidationModeKey) return storage_->set_meta(key, value);
  auto mode = parse_mode(storage_->uri(), value);
  if (!mode.ok()) return mode.error();
  return set_mode(*mode);
}

Status LogWriter::set_mode(write::ValidationMode mode) {
  assert(staged_.empty());
  BEL_RETURN_IF_ERROR(
      storage_->set_meta(kValidationModeKey, std::string(write::to_string(mode))));
  rules_.set_mode(mode);
  return ok_status();
}

Result<LogWriter::Ticket> LogWriter::stage(std::vector<BuildEvent> batch,
                                           std::vector<std::string>* warnings) {
  if (batch.empty()) {
    return make_error(ErrorCode::invalid_argument, "append: the batch has no events");
  }
  if (options_.read_only) return storage::read_only_error(storage_->uri(), "append");
  const Ticket id = next_ticket_++;
  if (storage_->has_other_writers()) ticket_batches_.push_back(batch);
  if (auto ok = stage_ticket(id, std::move(batch), warnings); !ok.ok()) {
    if (storage_->has_other_writers()) ticket_batches_.pop_back();
    stats_.set_rejected(stats_.rejected() + 1);
    return ok.error();
  }
  return id;
}

Status LogWriter::stage_ticket(Ticket id, std::vector<BuildEvent> batch,
                               std::vector<std::string>* warnings) {
  TicketState ticket{id, {}};
  const auto mark = rules_.mark();
  const size_t staged_before = staged_.size();
  std::vector<std::string> local_warnings;
  Status status = validate_and_stage(batch, ticket, &local_warnings);
  if (!status.ok()) {
    rules_.rollback(mark);
    for (size_t i = staged_before; i < staged_.size(); ++i) {
      staged_ids_.erase(staged_[i].event_id());
    }
    staged_.resize(staged_before);
    return status;
  }
  for (const auto& a : ticket.acks) {
    if (a.duplicate) stats_.set_duplicates(stats_.duplicates() + 1);
  }
  stats_.set_warnings(stats_.warnings() + static_cast<int64_t>(local_warnings.size()));
  if (warnings != nullptr) {
    warnings->insert(warnings->end(), local_warnings.begin(), local_warnings.end());
  }
  tickets_.push_back(std::move(ticket));
  return ok_status();
}

Status LogWriter::validate_and_stage(std::vector<BuildEvent>& batch, TicketState& ticket,
                                     std::vector<std::string>* warnings) {
  const int64_t now = options_.now();
  std::vector<bool> timestamp_unset(batch.size(), false);
  std::vector<std::string> lookup;
  for (size_t i = 0; i < batch.size(); ++i) {
    BuildEvent& event = batch[i];
    if (event.timestamp() == 0) {
      timestamp_unset[i] = true;
      event.set_timestamp(now);
    }
    fill_status_names(event);
    if (auto ok = write::check_structure(event); !ok.ok()) {
      return ok.error().with_context(position(i));
    }
    if (!event.event_id().empty() && staged_ids_.count(event.event_id()) == 0) {
      lookup.push_back(event.event_id());
    }
  }
  std::unordered_map<std::string, storage::StoredEvent> in_log;
  if (!lookup.empty()) {
    auto found = storage_->find_by_event_ids(lookup);
    if (!found.ok()) return found.error();
    for (auto& s : *found) in_log.emplace(s.event.event_id(), std::move(s));
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    BuildEvent& event = batch[i];
    if (!event.event_id().empty()) {
      const std::string& id = event.event_id();
      if (auto pending = staged_ids_.find(id); pending != staged_ids_.end()) {
        if (!same_event(event, timestamp_unset[i], staged_[pending->second])) {
          return make_error(ErrorCode::duplicate_event_id,
                            position(i) + ": event_id \"" + id +
                                "\" is already pending in the log with different content");
        }
        ticket.acks.push_back(AckSource{0, pending->second, id, true});
        continue;
      }
      if (auto stored = in_log.find(id); stored != in_log.end()) {
        if (!same_event(event, timestamp_unset[i], stored->second.event)) {
          return make_error(ErrorCode::duplicate_event_id,
                            position(i) + ": event_id \"" + id + "\" is already in the log (idx " +
                                std::to_string(stored->second.idx) + ") with different content");
        }
        ticket.acks.push_back(AckSource{stored->second.idx, 0, id, true});
        continue;
      }
    } else {
      event.set_event_id(new_event_id());  // time-ordered: the id index grows at its end
    }
    if (auto ok = rules_.apply(event, warnings); !ok.ok()) {
      return ok.error().with_context(position(i));
    }
    staged_ids_.emplace(event.event_id(), staged_.size());
    ticket.acks.push_back(AckSource{0, staged_.size(), event.event_id(), false});
    staged_.push_back(std::move(event));
  }
  return ok_status();
}

LogWriter::CommitResult LogWriter::commit() {
  CommitResult out;
  std::vector<BuildEvent> followed;  // committed by other writers first (shared logs)
  std::vector<int64_t> idxs;
  if (!staged_.empty()) {
    auto appended = append_staged(followed);
    if (!appended.ok()) {
      // Nothing was stored: forget the staged transitions and fail every waiting batch.
      rules_.rollback(0);
      for (auto& t : tickets_) out.tickets.emplace_back(t.id, appended.error());
      tickets_.clear();
    } else {
      idxs = std::move(*appended);
    }
  }
  for (auto& [ticket, error] : failed_tickets_) out.tickets.emplace_back(ticket, std::move(error));
  failed_tickets_.clear();
  rules_.commit();
  if (!idxs.empty()) {
    for (size_t i = 0; i < staged_.size(); ++i) staged_[i].set_idx(idxs[i]);
    last_idx_ = idxs.back();
    stats_.set_max_group_events(
        std::max<int64_t>(stats_.max_group_events(), static_cast<int64_t>(staged_.size())));
    stats_.set_last_idx(last_idx_);
  }
  for (auto& t : tickets_) {
    std::vector<AppendAck> acks;
    acks.reserve(t.acks.size());
    for (const auto& a : t.acks) {
      AppendAck ack;
      ack.set_idx(a.committed_idx > 0 ? a.committed_idx : staged_[a.staged_pos].idx());
      ack.set_event_id(a.event_id);
      ack.set_duplicate(a.duplicate);
      acks.push_back(std::move(ack));
    }
    out.tickets.emplace_back(t.id, std::move(acks));
  }
  out.committed = std::move(followed);
  if (!idxs.empty()) {
    out.committed.insert(out.committed.end(), std::make_move_iterator(staged_.begin()),
                         std::make_move_iterator(staged_.end()));
  }
  staged_.clear();
  staged_ids_.clear();
  tickets_.clear();
  ticket_batches_.clear();
  return out;
}

StorageStats LogWriter::stats() const {
  StorageStats s = stats_;
  // Commits are counted once, by the storage.
  const storage::StorageCounters counted = storage_->counters();
  s.set_commits(counted.commits);
  s.set_events_appended(counted.events_appended);
  s.set_failed_commits(counted.failed_commits);
  s.set_pending(static_cast<int64_t>(staged_.size()));
  return s;
}

}  // namespace bel::actors
