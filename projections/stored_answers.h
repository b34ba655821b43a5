// Stored answers: beside each snapshot, a view writes its answers at the same idx to the questions
// asked without arguments (activity; the first page of partitions, builds and job runs, newest
// first; every job's metrics), a few kilobytes under the snapshot name "<view>.answers". A reader
// whose read point is that idx answers those questions without loading the snapshot at all: a
// `bel activity` or `bel builds list` on a 1M-event log used to read and restore ~100k entries
// (tens of megabytes) for ten rows. Any other question, or any event past that idx, needs the
// view, restored from its snapshot as before.
//
//   storage::Snapshot answers = {answers_name(View::kName), View::kVersion, idx,
//                                serialize_answers(view, idx)};        // saved after the snapshot
//   auto stored = StoredAnswers::parse(View::kName, View::kVersion, answers.data);
//   if (stored.ok()) if (auto a = stored->find(query)) return *a;  // as of the answers' idx
//
// Pure code: no I/O.
#ifndef BEL_PROJECTIONS_STORED_ANSWERS_H_
#define BEL_PROJECTIONS_STORED_ANSWERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"

namespace bel::projections {

// The snapshot name the answers of view `view` are saved under: "<view>.answers".
std::string answers_name(std::string_view view);

// Whether `query` is one of the questions stored: an activity, a job metrics list, or a
// partitions / builds / job runs list with no filter, offset 0 and the default limit (0 or
// kDefaultLimit). min_idx is not part of the question.
bool is_stored_question(const Query& query);

// The stored questions the view `kind` answers (each passes is_stored_question).
std::vector<Query> stored_questions(ViewKind kind);

// The ViewAnswers bytes of view `view` (version, as_of_idx) with these answers and, for the
// partition status view, its claim checkpoints.
std::string encode_answers(std::string_view view, int version, int64_t as_of_idx,
                           const std::vector<std::pair<Query, QueryResult>>& answers,
                           const std::vector<ClaimCheckpoint>& checkpoints = {});

// `view`'s answers to its stored questions, as ViewAnswers bytes as of `as_of_idx` (the idx of
// the snapshot they go beside); empty for a view that is none of the four (a test's own).
template <class View>
std::string serialize_answers(const View& view, int64_t as_of_idx) {
  const auto kind = parse_view_name(View::kName);
  if (!kind) return {};
  std::vector<std::pair<Query, QueryResult>> answers;
  for (auto& question : stored_questions(*kind)) {
    auto result = answer(view, question);
    if (result.ok()) answers.emplace_back(std::move(question), std::move(*result));
  }
  if constexpr (std::is_same_v<View, PartitionStatusView>) {
    return encode_answers(View::kName, View::kVersion, as_of_idx, answers,
                          view.claim_checkpoints());
  }
  return encode_answers(View::kName, View::kVersion, as_of_idx, answers);
}

class StoredAnswers {
 public:
  // The answers in ViewAnswers bytes; storage_corrupt naming what when they, or any answer in
  // them, do not parse, or are another view's or version's.
  static Result<StoredAnswers> parse(std::string_view view, int version, const std::string& bytes);

  int64_t as_of_idx() const { return as_of_idx_; }
  bool empty() const { return answers_.empty(); }
  // The stored answer to `query` (is_stored_question), or nullptr.
  const QueryResult* find(const Query& query) const;
  bool covers(const Query& query) const { return find(query) != nullptr; }
  // The partition status view's claim checkpoint of `ref` as of as_of_idx(): the build requests
  // whose own latest status for it is in progress (ClaimCheckpoint::in_progress), or nullptr
  // when the answers carry none for it.
  const std::vector<std::string>* claim_checkpoint(const std::string& ref) const;
  // What first differs between these answers and `other`'s (the idx, an answer, a claim
  // checkpoint), in words; empty when they hold the same.
  std::string difference(const StoredAnswers& other) const;

 private:
  int64_t as_of_idx_ = 0;
  std::vector<std::pair<int, QueryResult>> answers_;  // by query case, parsed once
  std::unordered_map<std::string, std::vector<std::string>> checkpoints_;  // by ref
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_STORED_ANSWERS_H_
