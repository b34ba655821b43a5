// Stored answers (projections/stored_answers.h): the answers saved beside a snapshot are the
// view's own answers to exactly the questions asked without arguments, and nothing else is taken
// for one of them.
#include "projections/stored_answers.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "projections/view_snapshots.pb.h"
#include "tests/support/queries.h"
#include "tests/support/random_stream.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;

// The questions a console asks of each view: the stored ones in every spelling (limit 0 or the
// default, any min_idx), and their neighbours that are not stored (another window or a filter).
std::vector<std::pair<Query, bool>> spellings() {
  std::vector<std::pair<Query, bool>> out;
  auto with_min_idx = [](Query q, int64_t idx) {
    q.set_min_idx(idx);
    return q;
  };
  for (int limit : {0, kDefaultLimit}) {
    out.emplace_back(testing::partitions_list_query(limit, 0, {}, ""), true);
    out.emplace_back(testing::builds_list_query(limit, 0, {}), true);
    out.emplace_back(testing::job_runs_list_query(limit, 0, {}, ""), true);
  }
  out.emplace_back(with_min_idx(testing::builds_list_query(0, 0, {}), 7), true);
  Query activity;
  activity.mutable_activity();
  out.emplace_back(activity, true);
  Query metrics;
  metrics.mutable_job_metrics_list();
  out.emplace_back(metrics, true);
  out.emplace_back(testing::partitions_list_query(10, 0, {}, ""), false);
  out.emplace_back(testing::partitions_list_query(0, 50, {}, ""), false);
  out.emplace_back(testing::partitions_list_query(0, 0, {v1::PARTITION_AVAILABLE}, ""), false);
  out.emplace_back(testing::partitions_list_query(0, 0, {}, "data/*"), false);
  out.emplace_back(testing::builds_list_query(51, 0, {}), false);
  out.emplace_back(testing::builds_list_query(0, 0, {v1::BUILD_REQUEST_FAILED}), false);
  out.emplace_back(testing::job_runs_list_query(0, 0, {v1::JOB_FAILED}, ""), false);
  out.emplace_back(testing::job_runs_list_query(0, 0, {}, "//jobs:a"), false);
  Query by_build = testing::job_runs_list_query(0, 0, {}, "");
  by_build.mutable_job_runs_list()->set_build_request_id("br-1");
  out.emplace_back(by_build, false);
  Query status;
  status.mutable_partition_status()->set_partition_ref("data/a");
  out.emplace_back(status, false);
  return out;
}

TEST(StoredAnswersTest, AreTheViewsOwnAnswersToTheQuestionsWithoutArguments) {
  for (uint64_t seed : {1, 2, 3}) {
    testing::RandomStreamOptions o;
    o.num_events = 400;
    o.concurrent_builds = 6;
    o.partition_space = 80;  // more partitions than a page: the first page is a real cut
    AllViews views;
    for (const auto& e : testing::random_stream(seed, o)) views.apply(e);
    for (ViewKind kind : kAllViews) {
      AllViews::with_view(views, kind, [&](const auto& view) {
        using View = std::decay_t<decltype(view)>;
        SCOPED_TRACE(std::string(View::kName) + " seed " + std::to_string(seed));
        auto stored = StoredAnswers::parse(View::kName, View::kVersion,
                                           serialize_answers(view, view.as_of_idx()));
        ASSERT_TRUE(stored.ok()) << stored.error().to_string();
        EXPECT_EQ(stored->as_of_idx(), view.as_of_idx());
        for (const auto& [question, is_stored] : spellings()) {
          EXPECT_EQ(is_stored_question(question), is_stored) << question.ShortDebugString();
          auto found = stored->find(question);
          if (!is_stored || view_for(question) != kind) {
            EXPECT_FALSE(found) << question.ShortDebugString();
            EXPECT_FALSE(stored->covers(question)) << question.ShortDebugString();
            continue;
          }
          ASSERT_TRUE(found) << question.ShortDebugString();
          EXPECT_TRUE(stored->covers(question)) << question.ShortDebugString();
          auto want = answer(view, question);
          ASSERT_TRUE(want.ok());
          EXPECT_TRUE(MessageDifferencer::Equals(*found, *want)) << question.ShortDebugString();
        }
      });
    }
  }
}

TEST(StoredAnswersTest, RefusesAnotherViewsOrVersionsOrBytesThatDoNotParse) {
  ActivityView view;
  const std::string bytes = serialize_answers(view, 0);
  EXPECT_TRUE(StoredAnswers::parse("activity", ActivityView::kVersion, bytes).ok());
  auto other_view = StoredAnswers::parse("job_runs", ActivityView::kVersion, bytes);
  ASSERT_FALSE(other_view.ok());
  EXPECT_EQ(other_view.error().code, ErrorCode::storage_corrupt);
  EXPECT_NE(other_view.error().message.find("job_runs.answers"), std::string::npos);
  EXPECT_FALSE(StoredAnswers::parse("activity", ActivityView::kVersion + 1, bytes).ok());
  auto garbage = StoredAnswers::parse("activity", ActivityView::kVersion, "\xff\xff\xff");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("do not parse"), std::string::npos);

  // Well-formed ViewAnswers holding an answer that is not a QueryResult.
  snapshots::v1::ViewAnswers bad;
  bad.set_view("activity");
  bad.set_version(ActivityView::kVersion);
  auto* answer = bad.add_answers();
  answer->set_query_case(Query::kActivity);
  answer->set_result("\xff\xff\xff");
  auto bad_answer =
      StoredAnswers::parse("activity", ActivityView::kVersion, bad.SerializeAsString());
  ASSERT_FALSE(bad_answer.ok());
  EXPECT_EQ(bad_answer.error().code, ErrorCode::storage_corrupt);
  EXPECT_NE(bad_answer.error().message.find("an answer does not parse"), std::string::npos);
}

TEST(StoredAnswersTest, CarryThePartitionStatusViewsClaimCheckpointsAndNameWhatDiffers) {
  testing::StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"})
      .partition("br-1", "data/a", v1::PARTITION_SCHEDULED)
      .partition("br-1", "data/b", v1::PARTITION_AVAILABLE);
  const auto view = testing::fold_stream<PartitionStatusView>(s);
  const std::string name = PartitionStatusView::kName;
  const int version = PartitionStatusView::kVersion;
  auto parsed = StoredAnswers::parse(
      name, version, encode_answers(name, version, 3, {}, view.claim_checkpoints(1)));
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_NE(parsed->claim_checkpoint("data/a"), nullptr);
  EXPECT_EQ(*parsed->claim_checkpoint("data/a"), (std::vector<std::string>{"br-1"}));
  ASSERT_NE(parsed->claim_checkpoint("data/b"), nullptr);
  EXPECT_TRUE(parsed->claim_checkpoint("data/b")->empty());
  EXPECT_EQ(parsed->claim_checkpoint("data/c"), nullptr);
  // The view's own stored answers carry none: no partition has kCheckpointMinEvents.
  auto own = StoredAnswers::parse(name, version, serialize_answers(view, 3));
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  EXPECT_EQ(own->claim_checkpoint("data/a"), nullptr);
  EXPECT_EQ(own->difference(*own), "");
  EXPECT_EQ(parsed->difference(*parsed), "");

  // What differs, named: a checkpoint only one holds, its ids, an answer, the idx.
  auto with = [&](std::vector<ClaimCheckpoint> checkpoints, int64_t idx = 3) {
    auto out =
        StoredAnswers::parse(name, version, encode_answers(name, version, idx, {}, checkpoints));
    EXPECT_TRUE(out.ok());
    return *out;
  };
  EXPECT_EQ(with({{"data/a", {"br-1"}}}).difference(with({})),
            "only one holds a claim checkpoint of data/a");
  EXPECT_EQ(with({}).difference(with({{"data/a", {"br-1"}}})),
            "only one holds a claim checkpoint of data/a");
  EXPECT_EQ(with({{"data/a", {"br-1"}}}).difference(with({{"data/a", {"br-2"}}})),
            "the claim checkpoint of data/a differs");
  EXPECT_EQ(with({}, 3).difference(with({}, 4)), "as of idx 3 against idx 4");
  EXPECT_EQ(own->difference(*parsed), "only one holds the partitions_list");

  // A checkpoint with no ref, or two of one ref, is refused.
  for (const auto& bad : {std::vector<ClaimCheckpoint>{{"", {"br-1"}}},
                          std::vector<ClaimCheckpoint>{{"data/a", {}}, {"data/a", {"br-1"}}}}) {
    auto refused = StoredAnswers::parse(name, version, encode_answers(name, version, 3, {}, bad));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::storage_corrupt);
  }
}

}  // namespace
}  // namespace bel::projections
