#include "projections/stored_answers.h"

#include <google/protobuf/util/message_differencer.h>

#include <iterator>

#include "projections/view_snapshots.pb.h"

namespace bel::projections {
namespace {

namespace snap = bel::snapshots::v1;

bool default_window(int32_t limit, int32_t offset) {
  return (limit == 0 || limit == kDefaultLimit) && offset == 0;
}

}  // namespace

bool is_stored_question(const Query& query) {
  switch (query.query_case()) {
    case Query::kActivity:
    case Query::kJobMetricsList:
      return true;
    case Query::kPartitionsList: {
      const auto& r = query.partitions_list();
      return default_window(r.limit(), r.offset()) && r.status_filter_size() == 0 &&
             r.pattern().empty();
    }
    case Query::kBuildsList: {
      const auto& r = query.builds_list();
      return default_window(r.limit(), r.offset()) && r.status_filter_size() == 0;
    }
    case Query::kJobRunsList: {
      const auto& r = query.job_runs_list();
      return default_window(r.limit(), r.offset()) && r.status_filter_size() == 0 &&
             r.job_label().empty() && r.build_request_id().empty();
    }
    default:
      return false;
  }
}

std::vector<Query> stored_questions(ViewKind kind) {
  std::vector<Query> out(1);
  switch (kind) {
    case ViewKind::partition_status:
      out[0].mutable_partitions_list();
      break;
    case ViewKind::build_summary:
      out[0].mutable_builds_list();
      break;
    case ViewKind::job_runs:
      out[0].mutable_job_runs_list();
      out.emplace_back().mutable_job_metrics_list();
      break;
    case ViewKind::activity:
      out[0].mutable_activity();
      break;
  }
  return out;
}

std::string answers_name(std::string_view view) { return std::string(view) + ".answers"; }

std::string encode_answers(std::string_view view, int version, int64_t as_of_idx,
                           const std::vector<std::pair<Query, QueryResult>>& answers,
                           const std::vector<ClaimCheckpoint>& checkpoints) {
  snap::ViewAnswers out;
  out.set_view(std::string(view));
  out.set_version(version);
  out.set_as_of_idx(as_of_idx);
  for (const auto& [question, result] : answers) {
    auto* stored = out.add_answers();
    stored->set_query_case(static_cast<int32_t>(question.query_case()));
    result.SerializeToString(stored->mutable_result());
  }
  for (const auto& c : checkpoints) {
    auto* stored = out.add_claim_checkpoints();
    stored->set_partition_ref(c.partition_ref);
    for (const auto& id : c.in_progress) stored->add_in_progress_build_request_ids(id);
  }
  return out.SerializeAsString();
}

Result<StoredAnswers> StoredAnswers::parse(std::string_view view, int version,
                                           const std::string& bytes) {
  snap::ViewAnswers in;
  const std::string name = answers_name(view);
  if (!in.ParseFromString(bytes)) return snapshot_error(name, "bytes do not parse");
  if (in.view() != view || in.version() != version) {
    return snapshot_error(name, "answers of view \"" + in.view() + "\" version " +
                                    std::to_string(in.version()) + ", expected version " +
                                    std::to_string(version));
  }
  StoredAnswers out;
  out.as_of_idx_ = in.as_of_idx();
  for (const auto& stored : in.answers()) {
    QueryResult result;
    if (!result.ParseFromString(stored.result())) {
      return snapshot_error(name, "an answer does not parse");
    }
    out.answers_.emplace_back(stored.query_case(), std::move(result));
  }
  for (auto& c : *in.mutable_claim_checkpoints()) {
    if (c.partition_ref().empty()) return snapshot_error(name, "a claim checkpoint names no ref");
    auto [at, fresh] = out.checkpoints_.try_emplace(c.partition_ref());
    if (!fresh) {
      return snapshot_error(name,
                            "two claim checkpoints of partition \"" + c.partition_ref() + "\"");
    }
    auto& ids = at->second;
    ids.assign(std::make_move_iterator(c.mutable_in_progress_build_request_ids()->begin()),
               std::make_move_iterator(c.mutable_in_progress_build_request_ids()->end()));
  }
  return out;
}

const std::vector<std::string>* StoredAnswers::claim_checkpoint(const std::string& ref) const {
  auto it = checkpoints_.find(ref);
  return it == checkpoints_.end() ? nullptr : &it->second;
}

const QueryResult* StoredAnswers::find(const Query& query) const {
  if (!is_stored_question(query)) return nullptr;
  for (const auto& [query_case, result] : answers_) {
    if (query_case == static_cast<int>(query.query_case())) return &result;
  }
  return nullptr;
}

std::string StoredAnswers::difference(const StoredAnswers& other) const {
  if (as_of_idx_ != other.as_of_idx_) {
    return "as of idx " + std::to_string(as_of_idx_) + " against idx " +
           std::to_string(other.as_of_idx_);
  }
  auto answer_of = [](const StoredAnswers& a, int query_case) -> const QueryResult* {
    for (const auto& [c, result] : a.answers_) {
      if (c == query_case) return &result;
    }
    return nullptr;
  };
  for (const auto* a : {this, &other}) {
    const StoredAnswers& b = a == this ? other : *this;
    for (const auto& [query_case, result] : a->answers_) {
      const QueryResult* theirs = answer_of(b, query_case);
      if (theirs == nullptr) return "only one holds the " + std::string(result_name(result));
      if (!google::protobuf::util::MessageDifferencer::Equals(result, *theirs)) {
        return "the " + std::string(result_name(result)) + " differs";
      }
    }
  }
  for (const auto* a : {this, &other}) {
    const StoredAnswers& b = a == this ? other : *this;
    for (const auto& [ref, ids] : a->checkpoints_) {
      auto theirs = b.checkpoints_.find(ref);
      if (theirs == b.checkpoints_.end()) return "only one holds a claim checkpoint of " + ref;
      if (theirs->second != ids) return "the claim checkpoint of " + ref + " differs";
    }
  }
  return {};
}

}  // namespace bel::projections
