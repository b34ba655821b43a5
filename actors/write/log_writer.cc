#include "actors/write/log_writer.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>

#include "actors/component_log.h"
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

std::shared_ptr<spdlog::logger> writer_log() {
  static const ComponentLog logger("writer");
  return logger.get();
}

std::string position(size_t i) { return "append #" + std::to_string(i + 1); }

// invalid_argument "<uri>: validation_mode "x" is not strict or lenient".
Result<write::ValidationMode> parse_mode(const std::string& uri, const std::string& text) {
  auto mode = write::parse_validation_mode(text);
  if (!mode) {
    return make_error(ErrorCode::invalid_argument, uri + ": " + kValidationModeKey + " \"" + text +
                                                       "\" is not strict or lenient");
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
    : storage_(std::move(storage)),
      options_(std::move(options)),
      source_(storage_.get()),
      rules_(mode) {
  if (!options_.now) options_.now = system_now_ns;
}

LogWriter::~LogWriter() {
  if (!opened_ || options_.read_only || !options_.use_checkpoint || !options_.checkpoint_on_close ||
      last_idx_ == checkpoint_idx_) {
    return;
  }
  // Whatever is staged was never committed (and nobody waits for it any more).
  rules_.rollback(0);
  staged_.clear();
  if (auto ok = write_checkpoint(); !ok.ok()) {
    writer_log()->warn("write-side checkpoint on close failed: {}", ok.error().to_string());
  }
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
  writer->mode_text_ = stored_mode->value_or("");
  auto log_id = writer->storage_->get_meta(storage::kLogIdKey);
  if (!log_id.ok()) return log_id.error();
  writer->stats_.set_log_id(log_id->value_or(""));
  BEL_RETURN_IF_ERROR(read_only ? writer->read_last_idx() : writer->rebuild_rules());
  writer->opened_ = true;
  return writer;
}

Status LogWriter::rebuild_rules() {
  BEL_RETURN_IF_ERROR(read_last_idx());
  // Replay leniently: the log may hold events accepted while it was lenient, and what was
  // committed is history, not a request to judge.
  auto mode = rules_.mode();
  rules_ = write::TransitionState(write::ValidationMode::lenient);
  rules_.set_source(&source_);
  rules_.set_sweep_floor(options_.sweep_floor);
  open_report_ = WriterOpenReport{};
  if (options_.use_checkpoint) {
    CheckpointLoad loaded = load_checkpoint(*storage_, last_idx_, rules_);
    open_report_.checkpoint_idx = loaded.idx;
    open_report_.fallback_reason = loaded.fallback_reason;
    checkpoint_bytes_ = loaded.bytes;
    if (!loaded.fallback_reason.empty() && last_idx_ > 0) {
      // A log from before checkpoints has none: worth a note, not a warning.
      writer_log()->log(loaded.unusable ? spdlog::level::warn : spdlog::level::info,
                        "{}: replaying the whole log ({} events): {}", storage_->uri(), last_idx_,
                        loaded.fallback_reason);
    }
  } else {
    open_report_.fallback_reason = "write-side checkpoints are off";
  }
  checkpoint_idx_ = open_report_.checkpoint_idx;
  int64_t since = checkpoint_idx_;
  while (since < last_idx_) {
    auto page = storage_->list_events(since, EventFilter(), storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (const auto& event : page->events()) {
      if (event.idx() > last_idx_) break;
      source_.set_through(event.idx() - 1);  // a dropped key comes back as of this point
      BEL_RETURN_IF_ERROR(rules_.apply(event, nullptr));  // only a read error fails here
      // A replay is never rolled back: no undo journal, and memory stays bounded throughout.
      rules_.commit();
      rules_.maybe_sweep();
    }
    open_report_.replayed_events += page->events_size();
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  source_.set_through(last_idx_);
  rules_.set_mode(mode);
  if (options_.use_checkpoint && last_idx_ - checkpoint_idx_ >= options_.checkpoint_every) {
    if (auto ok = write_checkpoint(); !ok.ok()) {
      writer_log()->warn("write-side checkpoint after open failed: {}", ok.error().to_string());
    }
  }
  return ok_status();
}

Status LogWriter::write_checkpoint() {
  assert(rules_.journal_size() == 0 && "a checkpoint with staged transitions");
  rules_.maybe_sweep(/*force=*/true);  // keep the checkpoint to open work
  auto bytes = save_checkpoint(*storage_, last_idx_, rules_);
  if (!bytes.ok()) return bytes.error();
  checkpoint_idx_ = last_idx_;
  checkpoint_bytes_ = *bytes;
  return ok_status();
}

void LogWriter::after_commit() {
  source_.set_through(last_idx_);
  rules_.maybe_sweep();
  const auto due =
      std::max<int64_t>(options_.checkpoint_every, static_cast<int64_t>(checkpoint_bytes_ / 16));
  if (!options_.use_checkpoint || last_idx_ - checkpoint_idx_ < due) return;
  // The commit is durable already: a failed checkpoint only means a longer replay next open.
  if (auto ok = write_checkpoint(); !ok.ok()) {
    writer_log()->warn("write-side checkpoint failed: {}", ok.error().to_string());
  }
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
  const std::string text(write::to_string(mode));
  BEL_RETURN_IF_ERROR(storage_->set_meta(kValidationModeKey, text));
  rules_.set_mode(mode);
  mode_text_ = text;
  return ok_status();
}

Result<LogWriter::Ticket> LogWriter::stage(std::vector<BuildEvent> batch,
                                           std::vector<std::string>* warnings) {
  const std::vector<size_t> sizes{batch.size()};
  return std::move(stage_group(batch, sizes, warnings).front());
}

std::vector<Result<LogWriter::Ticket>> LogWriter::stage_group(std::vector<BuildEvent>& events,
                                                              const std::vector<size_t>& sizes,
                                                              std::vector<std::string>* warnings,
                                                              const std::vector<char>* checked) {
  return stage_group_as(events, sizes, {}, warnings, checked);
}

std::vector<Result<LogWriter::Ticket>> LogWriter::stage_group_as(
    std::vector<BuildEvent>& events, const std::vector<size_t>& sizes,
    const std::vector<Ticket>& ids, std::vector<std::string>* warnings,
    const std::vector<char>* checked) {
  assert(checked == nullptr || checked->size() == sizes.size());
  // With other writers each batch is kept as given, to be judged again after following them.
  const bool keep = storage_->has_other_writers();
  const std::vector<BuildEvent> given = keep ? events : std::vector<BuildEvent>{};
  std::vector<Result<Ticket>> out;
  out.reserve(sizes.size());
  if (options_.read_only) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      out.emplace_back(storage::read_only_error(storage_->uri(), "append"));
    }
    return out;
  }
  // Normalize and check the structure of every batch first: a batch that fails here is
  // answered without a lookup. Ids already staged by an earlier group need none either.
  timestamp_unset_.assign(events.size(), 0);
  std::vector<std::optional<Error>> rejected(sizes.size());
  std::vector<char> looks_up(sizes.size(), 0);
  std::vector<std::string> lookup;
  for (size_t k = 0, begin = 0; k < sizes.size(); begin += sizes[k++]) {
    if (sizes[k] == 0) {
      rejected[k] = Error{ErrorCode::invalid_argument, "append: the batch has no events"};
      continue;
    }
    const bool was_checked = checked != nullptr && (*checked)[k] != 0;
    if (auto ok = normalize(events, begin, begin + sizes[k], was_checked); !ok.ok()) {
      rejected[k] = ok.error();
      continue;
    }
    for (size_t i = begin; i < begin + sizes[k]; ++i) {
      const std::string& id = events[i].event_id();
      if (!id.empty() && staged_ids_.count(id) == 0) {
        lookup.push_back(id);
        looks_up[k] = 1;
      }
    }
  }
  // One lookup for the group. Nothing is committed before the group is staged, so its answer
  // holds for every batch: exactly what a lookup per batch would have found.
  InLog in_log;
  std::optional<Error> lookup_failed;
  if (!lookup.empty()) {
    auto found = storage_->find_by_event_ids(lookup);
    if (found.ok()) {
      in_log.reserve(found->size());
      for (auto& s : *found) in_log.emplace(s.event.event_id(), std::move(s));
    } else {
      // A lookup writes nothing: a batch it refuses for want of the storage (a server gone) was
      // not written, and a retry is safe (said, so that no one goes looking for it in the log).
      // A corrupt log is not retried into health: its error stands as it is.
      lookup_failed = found.error();
      const ErrorCode code = lookup_failed->code;
      if ((code == ErrorCode::storage_unavailable || code == ErrorCode::timeout) &&
          lookup_failed->message.find(kNothingWritten) == std::string::npos) {
        lookup_failed->message += std::string("; ") + kNothingWritten + ", a retry is safe";
      }
    }
  }
  for (size_t k = 0, begin = 0; k < sizes.size(); begin += sizes[k++]) {
    if (!rejected[k] && looks_up[k] && lookup_failed) rejected[k] = *lookup_failed;
    if (rejected[k]) {
      stats_.set_rejected(stats_.rejected() + 1);
      out.emplace_back(std::move(*rejected[k]));
      continue;
    }
    out.push_back(stage_checked(events, begin, begin + sizes[k], in_log, warnings,
                                ids.empty() ? 0 : ids[k]));
    if (keep && out.back().ok()) {
      ticket_batches_.emplace_back(given.begin() + static_cast<std::ptrdiff_t>(begin),
                                   given.begin() + static_cast<std::ptrdiff_t>(begin + sizes[k]));
    }
  }
  return out;
}

Status LogWriter::check_event(BuildEvent& event, size_t index_in_batch,
                              std::optional<size_t> encoded_bytes) {
  fill_status_names(event);
  if (auto ok = write::check_structure(event, encoded_bytes); !ok.ok()) {
    return ok.error().with_context(position(index_in_batch));
  }
  return ok_status();
}

Status LogWriter::check_events(std::vector<BuildEvent>& events, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) BEL_RETURN_IF_ERROR(check_event(events[i], i - begin));
  return ok_status();
}

Status LogWriter::normalize(std::vector<BuildEvent>& events, size_t begin, size_t end,
                            bool checked) {
  // The events are checked as their producer sent them, before the log gives them a timestamp,
  // exactly as the coordinator's supervisor checks them (`checked`): the 1 MiB limit is the
  // appended event's.
  if (!checked) BEL_RETURN_IF_ERROR(check_events(events, begin, end));
  const int64_t now = options_.now();
  for (size_t i = begin; i < end; ++i) {
    // 0 means "the log's now"; the checks reject only a negative timestamp.
    if (events[i].timestamp() == 0) {
      timestamp_unset_[i] = 1;
      events[i].set_timestamp(now);
    }
  }
  return ok_status();
}

Result<LogWriter::Ticket> LogWriter::stage_checked(std::vector<BuildEvent>& events, size_t begin,
                                                   size_t end, const InLog& in_log,
                                                   std::vector<std::string>* warnings, Ticket id) {
  TicketState ticket{id != 0 ? id : next_ticket_++, {}};
  ticket.acks.reserve(end - begin);
  const auto mark = rules_.mark();
  const size_t staged_before = staged_.size();
  std::vector<std::string> local_warnings;
  Status status = validate_and_stage(events, begin, end, in_log, ticket, &local_warnings);
  if (!status.ok()) {
    rules_.rollback(mark);
    for (size_t i = staged_before; i < staged_.size(); ++i) {
      staged_ids_.erase(staged_[i].event_id());
    }
    staged_.resize(staged_before);
    stats_.set_rejected(stats_.rejected() + 1);
    return status.error();
  }
  for (const auto& a : ticket.acks) {
    if (a.duplicate) stats_.set_duplicates(stats_.duplicates() + 1);
  }
  stats_.set_warnings(stats_.warnings() + static_cast<int64_t>(local_warnings.size()));
  if (warnings != nullptr) {
    warnings->insert(warnings->end(), local_warnings.begin(), local_warnings.end());
  }
  tickets_.push_back(std::move(ticket));
  return tickets_.back().id;
}

std::string LogWriter::pending_holder(const TicketState& ticket, size_t staged_pos,
                                      size_t batch_start) {
  if (staged_pos >= batch_start) {
    for (size_t k = 0; k < ticket.acks.size(); ++k) {
      const AckSource& a = ticket.acks[k];
      if (!a.duplicate && a.committed_idx == 0 && a.staged_pos == staged_pos) {
        return "already used by " + position(k) + " of this batch";
      }
    }
  }
  return "already pending in the log (another append, not yet committed)";
}

Status LogWriter::validate_and_stage(std::vector<BuildEvent>& events, size_t begin, size_t end,
                                     const InLog& in_log, TicketState& ticket,
                                     std::vector<std::string>* warnings) {
  const size_t batch_start = staged_.size();  // this append's events are staged from here
  for (size_t i = begin; i < end; ++i) {
    BuildEvent& event = events[i];
    const bool timestamp_unset = timestamp_unset_[i] != 0;
    if (!event.event_id().empty()) {
      const std::string& id = event.event_id();
      if (auto pending = staged_ids_.find(id); pending != staged_ids_.end()) {
        if (!same_event(event, timestamp_unset, staged_[pending->second])) {
          return make_error(ErrorCode::duplicate_event_id,
                            position(i - begin) + ": event_id \"" + id + "\" is " +
                                pending_holder(ticket, pending->second, batch_start) +
                                " with different content");
        }
        ticket.acks.push_back(AckSource{0, pending->second, {}, true});
        continue;
      }
      if (auto stored = in_log.find(id); stored != in_log.end()) {
        if (!same_event(event, timestamp_unset, stored->second.event)) {
          return make_error(ErrorCode::duplicate_event_id,
                            position(i - begin) + ": event_id \"" + id +
                                "\" is already in the log (idx " +
                                std::to_string(stored->second.idx) + ") with different content");
        }
        ticket.acks.push_back(AckSource{stored->second.idx, 0, id, true});
        continue;
      }
    } else {
      event.set_event_id(new_event_id());  // time-ordered: the id index grows at its end
    }
    if (auto ok = rules_.apply(event, warnings); !ok.ok()) {
      return ok.error().with_context(position(i - begin));
    }
    staged_ids_.emplace(event.event_id(), staged_.size());
    ticket.acks.push_back(AckSource{0, staged_.size(), {}, false});
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
  // Tickets that following made invalid (shared logs only) go back into staging order below.
  const bool reorder = !failed_tickets_.empty();
  for (auto& [ticket, error] : failed_tickets_) out.tickets.emplace_back(ticket, std::move(error));
  failed_tickets_.clear();
  rules_.commit();
  if (!idxs.empty()) {
    for (size_t i = 0; i < staged_.size(); ++i) staged_[i].set_idx(idxs[i]);
    last_idx_ = idxs.back();
    after_commit();
    stats_.set_max_group_events(
        std::max<int64_t>(stats_.max_group_events(), static_cast<int64_t>(staged_.size())));
    group_events_.observe(static_cast<double>(staged_.size()));
    stats_.set_last_idx(last_idx_);
  }
  for (auto& t : tickets_) {
    std::vector<AppendAck> acks;
    acks.reserve(t.acks.size());
    for (const auto& a : t.acks) {
      AppendAck ack;
      ack.set_idx(a.committed_idx > 0 ? a.committed_idx : staged_[a.staged_pos].idx());
      ack.set_event_id(a.committed_idx > 0 ? a.event_id : staged_[a.staged_pos].event_id());
      ack.set_duplicate(a.duplicate);
      acks.push_back(std::move(ack));
    }
    out.tickets.emplace_back(t.id, std::move(acks));
  }
  if (reorder) {  // tickets are numbered in staging order
    std::stable_sort(out.tickets.begin(), out.tickets.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
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
  s.set_validation_mode(std::string(write::to_string(mode())));
  group_events_.copy_to(s.mutable_commit_group_events());
  return s;
}

}  // namespace bel::actors
