// bel::actors::LogWriter: the write path of SPEC section 2 as plain, single-threaded C++ — what
// the storage actor runs between its mailbox and the Storage. It normalizes events (event_id,
// timestamp, status names), validates structure and transitions, resolves idempotent retries,
// stages batches, and commits every staged batch in one transaction (group commit).
//
//   auto writer = LogWriter::open(std::move(storage), {});
//   auto ticket = (*writer)->stage(batch);          // validated; nothing stored yet
//   if (!ticket.ok()) return ticket.error();        // rejected: the log is unchanged
//   // or a whole mailbox drain at once, with one idempotency lookup for all of it:
//   auto tickets = (*writer)->stage_group(events, sizes);   // one Result per batch, in order
//   CommitResult done = (*writer)->commit();        // one transaction for every staged batch
//   for (auto& [t, acks] : done.tickets) answer(t, acks);
//   publish(done.committed);                         // idx-ordered, only on success
//
// Not thread-safe: the storage actor owns it.
#ifndef BEL_ACTORS_WRITE_LOG_WRITER_H_
#define BEL_ACTORS_WRITE_LOG_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/fixed_histogram.h"
#include "actors/write/transition_rules.h"
#include "actors/write/write_checkpoint.h"
#include "messages/error.h"
#include "messages/types.h"
#include "storage/storage.h"

namespace bel::actors {

// The meta key holding the log's validation mode ("strict" or "lenient").
inline constexpr const char* kValidationModeKey = "validation_mode";

struct LogWriterOptions {
  // Current time in Unix nanoseconds, for events appended with timestamp 0.
  std::function<int64_t()> now;  // the system clock when empty
  // Over a read-only storage: skip folding the log into the transition state (nothing will be
  // validated) and refuse every append.
  bool read_only = false;
  // Write-side checkpoint (docs/storage-and-write-path.md): opening restores it and replays only
  // the events after it. It is written after a commit once max(checkpoint_every, its last size /
  // 16 bytes) events have been appended since the last one, and when the writer closes.
  bool use_checkpoint = true;  // false: neither read nor write one; replay the whole log
  int64_t checkpoint_every = 50000;
  bool checkpoint_on_close = true;  // false: as a crashed writer leaves it (tests)
  // Entries of the transition state in memory before the first sweep (TransitionState::
  // set_sweep_floor); 0 sweeps after every commit (tests).
  size_t sweep_floor = 16384;
};

// How the last open rebuilt the transition state.
struct WriterOpenReport {
  int64_t checkpoint_idx = 0;   // the idx of the checkpoint restored; 0 when none was
  int64_t replayed_events = 0;  // events folded after it
  std::string fallback_reason;  // why the whole log was replayed; empty when it was not
};

class LogWriter {
 public:
  using Ticket = uint64_t;

  struct CommitResult {
    // One entry per ticket staged since the last commit, in staging order: the acks of its batch
    // (in batch order) or the error that failed the whole transaction.
    std::vector<std::pair<Ticket, Result<std::vector<AppendAck>>>> tickets;
    // Events stored by this commit, ascending idx, idx set. Empty when the commit failed.
    std::vector<BuildEvent> committed;
  };

  // Takes ownership of an initialized writable `storage`, reads the validation mode from its meta
  // (strict when unset) and folds the whole log into the transition state.
  static Result<std::unique_ptr<LogWriter>> open(std::unique_ptr<storage::Storage> storage,
                                                 LogWriterOptions options);
  // Writes a checkpoint when anything was committed since the last one and options ask for it
  // (errors are logged).
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Validates `batch` and stages it for the next commit. Rejected batches leave everything as it
  // was and return the first error, prefixed with "append #N" (N = 1-based batch position).
  // Lenient-mode warnings are appended to `warnings` when not null.
  Result<Ticket> stage(std::vector<BuildEvent> batch, std::vector<std::string>* warnings = nullptr);

  // Stages a group of batches exactly as if each were passed to stage() in turn (an event_id
  // repeated across batches of the group resolves as it would sequentially: a rejected batch
  // stages nothing, so a later batch with the same id is judged afresh), but looks every
  // event_id of the group up in the log in one query. `events` holds the batches back to back,
  // batch k being the next sizes[k] events (each size >= 1, else that batch is invalid_argument);
  // the events are moved from. Returns the ticket or the error of each batch, in order.
  // `checked`, when not null, has a flag per batch: set for a batch whose every event passed
  // check_event already (the coordinator's supervisor checks appends on its own threads, so the
  // appending thread does not); such a batch only gets its timestamps here.
  // REQUIRES: the sizes add up to events.size()
  std::vector<Result<Ticket>> stage_group(std::vector<BuildEvent>& events,
                                          const std::vector<size_t>& sizes,
                                          std::vector<std::string>* warnings = nullptr,
                                          const std::vector<char>* checked = nullptr);

  // What stage_group checks of each event on its own, before any lookup: fills its status names
  // and checks its structure (write::check_structure), the error prefixed with "append #N"
  // (N = index_in_batch + 1). Pure: callable on any thread. `encoded_bytes`, when given, is
  // event.ByteSizeLong() after fill_status_names(event), from a caller that measured it already.
  static Status check_event(BuildEvent& event, size_t index_in_batch,
                            std::optional<size_t> encoded_bytes = std::nullopt);
  // check_event for events[begin, end), one batch, in order: the first error.
  static Status check_events(std::vector<BuildEvent>& events, size_t begin, size_t end);

  // Commits every staged event in one transaction and answers every staged ticket. On failure
  // every ticket gets the error, the transition state returns to the last commit, and nothing
  // is stored.
  CommitResult commit();

  size_t staged_events() const { return staged_.size(); }
  size_t staged_tickets() const { return tickets_.size(); }
  int64_t last_idx() const { return last_idx_; }
  write::ValidationMode mode() const { return rules_.mode(); }
  StorageStats stats() const;
  storage::Storage& storage() { return *storage_; }
  const WriterOpenReport& open_report() const { return open_report_; }
  // The transition state (tests and diagnostics; its lookups may read the log).
  write::TransitionState& transitions() { return rules_; }

  // Saves the write-side checkpoint now. REQUIRES: nothing staged.
  Status write_checkpoint();

  // Sets the log's validation mode (stored in meta). REQUIRES: nothing staged.
  Status set_mode(write::ValidationMode mode);

  // Sets a meta value of the log; kValidationModeKey ("strict" / "lenient") switches the rules
  // too, and any other value is invalid_argument naming it. REQUIRES: nothing staged.
  Status set_meta(const std::string& key, const std::string& value);

  // Logs with other writers (Storage::has_other_writers, e.g. PostgreSQL): folds the events the
  // others committed since last_idx() into the transition state, takes the validation mode the
  // log holds now (another writer may have set it), and judges every staged batch again on top
  // of them, keeping its ticket; a batch no longer allowed gets its error from the
  // next commit(). Returns the others' events, ascending idx, for the caller to publish like its
  // own commits. commit() follows by itself when the log moved under it. Nothing to do on a log
  // with one writer.
  Result<std::vector<BuildEvent>> follow();

 private:
  // Where an event's ack comes from once the commit is done.
  struct AckSource {
    int64_t committed_idx = 0;  // > 0: a duplicate of an event already in the log
    size_t staged_pos = 0;      // else: position in staged_ (whose event_id the ack names)
    std::string event_id;       // only for a duplicate of an event in the log
    bool duplicate = false;
  };
  struct TicketState {
    Ticket id;
    std::vector<AckSource> acks;
  };

  LogWriter(std::unique_ptr<storage::Storage> storage, LogWriterOptions options,
            write::ValidationMode mode);
  Status read_last_idx();
  Status rebuild_rules();
  // The committed events of the group's event_ids, by id (one lookup).
  using InLog = std::unordered_map<std::string, storage::StoredEvent>;
  // Normalizes events[begin, end) (unless `checked`, check_event first; then the timestamp); marks
  // in timestamp_unset_ the events whose timestamp the log assigned.
  Status normalize(std::vector<BuildEvent>& events, size_t begin, size_t end, bool checked);
  // stage_group, giving the batches the tickets `ids` when not empty (follow() judging staged
  // batches again) instead of new ones.
  std::vector<Result<Ticket>> stage_group_as(std::vector<BuildEvent>& events,
                                             const std::vector<size_t>& sizes,
                                             const std::vector<Ticket>& ids,
                                             std::vector<std::string>* warnings,
                                             const std::vector<char>* checked = nullptr);
  // Stages the normalized batch events[begin, end) as stage() does, against `in_log`, as ticket
  // `id` (0: a new one).
  Result<Ticket> stage_checked(std::vector<BuildEvent>& events, size_t begin, size_t end,
                               const InLog& in_log, std::vector<std::string>* warnings,
                               Ticket id = 0);
  // After a successful commit: sweeps the transition state and checkpoints when due.
  void after_commit();
  // The staged events appended in one transaction: unconditionally on a log with one writer;
  // with other writers only on top of last_idx_, following them (into `followed`) and judging
  // the staged batches again until it holds. Empty when following left nothing to append.
  Result<std::vector<int64_t>> append_staged(std::vector<BuildEvent>& followed);
  Status validate_and_stage(std::vector<BuildEvent>& events, size_t begin, size_t end,
                            const InLog& in_log, TicketState& ticket,
                            std::vector<std::string>* warnings);
  // What holds the staged event at `staged_pos` whose id an event of `ticket` repeats: an earlier
  // event of the same append (its events are staged from `batch_start`), or another append.
  static std::string pending_holder(const TicketState& ticket, size_t staged_pos,
                                    size_t batch_start);

  std::unique_ptr<storage::Storage> storage_;
  LogWriterOptions options_;
  LogSource source_;
  write::TransitionState rules_;
  WriterOpenReport open_report_;
  int64_t checkpoint_idx_ = 0;   // the idx of the newest checkpoint written or restored
  size_t checkpoint_bytes_ = 0;  // its size
  bool opened_ = false;          // open() finished: the state is whole and may be saved
  int64_t last_idx_ = 0;
  // The validation mode's meta value as last read or written ("" when absent): with other
  // writers, an append commits only while the log still holds it (storage::AppendCondition).
  std::string mode_text_;
  Ticket next_ticket_ = 1;
  std::vector<BuildEvent> staged_;
  std::vector<TicketState> tickets_;
  std::unordered_map<std::string, size_t> staged_ids_;  // event_id -> position in staged_
  std::vector<char> timestamp_unset_;                   // stage_group: per event of the group
  // With other writers: each staged ticket's batch as given, to judge again after following.
  std::vector<std::vector<BuildEvent>> ticket_batches_;
  // Tickets that following made invalid, answered by the next commit().
  std::vector<std::pair<Ticket, Error>> failed_tickets_;
  StorageStats stats_;
  FixedHistogram<kCommitGroupBounds.size()> group_events_{kCommitGroupBounds};
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_LOG_WRITER_H_
