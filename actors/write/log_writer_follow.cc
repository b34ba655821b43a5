// LogWriter on a log with other writers (PostgreSQL, SPEC 3.3): following what they commit, and
// appending only on top of it. See log_writer.h: follow(), and docs/scale-out.md.
//
// The rule: a batch is judged against every event committed before it, whoever committed it.
//  - An accept judged on a stale state is caught at commit: the storage appends only if the log
//    still ends at last_idx_ under its write lock; otherwise the writer follows (folds the others'
//    events) and judges every staged batch again before retrying.
//  - A reject judged on a stale state is caught at staging: the storage actor follows and stages
//    the batch once more before answering with the error (StorageActor).
//  - The validation mode is the log's (meta), whoever set it: an append commits only while the
//    log still holds the mode it was judged by, and following takes the log's mode again.
#include "actors/write/log_writer.h"
#include "actors/write/transition_rules.h"

namespace bel::actors {

Result<std::vector<BuildEvent>> LogWriter::follow() {
  std::vector<BuildEvent> followed;
  if (!storage_->has_other_writers() || options_.read_only) return followed;
  auto stored_mode = storage_->get_meta(kValidationModeKey);
  if (!stored_mode.ok()) return stored_mode.error();
  const std::string mode_text = stored_mode->value_or("");
  auto mode = rules_.mode();
  if (mode_text != mode_text_) {
    auto parsed =
        mode_text.empty() ? write::ValidationMode::strict : write::parse_validation_mode(mode_text);
    if (!parsed) {
      return make_error(ErrorCode::storage_corrupt, storage_->uri() + ": " + kValidationModeKey +
                                                        " \"" + mode_text +
                                                        "\" is not strict or lenient");
    }
    mode = *parsed;
  }
  // The mode is read before the events: a change after it fails the next conditional append,
  // which follows again.
  for (int64_t since = last_idx_;;) {
    auto page = storage_->list_events(since, EventFilter(), storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (auto& event : *page->mutable_events()) followed.push_back(std::move(event));
    since = page->next_idx();
    if (!page->has_more()) break;
  }
  if (followed.empty() && mode_text == mode_text_) return followed;

  // Undo what is staged, fold the others' events as history (leniently, as a replay does), then
  // judge the staged batches again, in their order, on top of them and by the log's mode.
  rules_.rollback(0);
  rules_.set_mode(write::ValidationMode::lenient);
  for (const auto& event : followed) (void)rules_.apply(event, nullptr);
  rules_.set_mode(mode);
  mode_text_ = mode_text;
  rules_.commit();
  if (!followed.empty()) {
    last_idx_ = followed.back().idx();
    stats_.set_last_idx(last_idx_);
  }

  // The staged batches again, as one group with their own tickets (one idempotency lookup).
  std::vector<Ticket> ids;
  std::vector<size_t> sizes;
  std::vector<BuildEvent> events;
  for (size_t i = 0; i < tickets_.size(); ++i) {
    ids.push_back(tickets_[i].id);
    sizes.push_back(ticket_batches_[i].size());
    for (auto& e : ticket_batches_[i]) events.push_back(std::move(e));
  }
  tickets_.clear();
  ticket_batches_.clear();
  staged_.clear();
  staged_ids_.clear();
  auto staged = stage_group_as(events, sizes, ids, nullptr);
  for (size_t k = 0; k < staged.size(); ++k) {
    if (!staged[k].ok()) failed_tickets_.emplace_back(ids[k], staged[k].error());
  }
  return followed;
}

Result<std::vector<int64_t>> LogWriter::append_staged(std::vector<BuildEvent>& followed) {
  for (;;) {
    if (staged_.empty()) return std::vector<int64_t>{};  // following left nothing to append
    const storage::AppendCondition condition{last_idx_, kValidationModeKey, mode_text_};
    auto idxs = storage_->append_batch_if(condition, staged_);
    if (!idxs.ok()) return idxs.error();
    if (idxs->has_value()) return std::move(**idxs);
    auto more = follow();
    if (!more.ok()) return more.error();
    followed.insert(followed.end(), std::make_move_iterator(more->begin()),
                    std::make_move_iterator(more->end()));
  }
}

}  // namespace bel::actors
