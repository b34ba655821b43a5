// same_state() of each view against what it stands for: equal serialize() bytes. Over seeded
// random streams, a view restored from a snapshot at any point and folded on is the same state as
// the fold from idx 1; views folded from streams that differ by one event (dropped, its time
// moved, its build request or message changed), and views restored from a snapshot with one field
// of one entry changed, are the same state exactly when their bytes are.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "projections/queries.h"
#include "projections/view_snapshots.pb.h"
#include "tests/support/random_stream.h"

namespace bel::projections {
namespace {

using testing::random_stream;
using testing::RandomStreamOptions;

AllViews fold(const std::vector<BuildEvent>& events, size_t from = 0, AllViews views = {}) {
  for (size_t i = from; i < events.size(); ++i) views.apply(events[i]);
  return views;
}

template <class View>
View restored(const View& view) {
  auto out = View::restore(view.serialize());
  EXPECT_TRUE(out.ok()) << View::kName << ": " << (out.ok() ? "" : out.error().to_string());
  return out.ok() ? std::move(*out) : View();
}

AllViews round_trip(const AllViews& views) {
  AllViews out;
  out.partitions = restored(views.partitions);
  out.builds = restored(views.builds);
  out.jobs = restored(views.jobs);
  out.activity = restored(views.activity);
  return out;
}

// How often each answer came up, so that a test can require both.
struct Outcomes {
  int same = 0;
  int different = 0;
};

// The view of `views` of the pointer's type.
const PartitionStatusView& pick(const AllViews& v, const PartitionStatusView*) {
  return v.partitions;
}
const BuildSummaryView& pick(const AllViews& v, const BuildSummaryView*) { return v.builds; }
const JobRunsView& pick(const AllViews& v, const JobRunsView*) { return v.jobs; }
const ActivityView& pick(const AllViews& v, const ActivityView*) { return v.activity; }

// same_state() of every view of `a` and `b`, both ways, equals comparing their bytes.
void expect_agrees_with_bytes(const AllViews& a, const AllViews& b, const std::string& what,
                              Outcomes* outcomes) {
  for (ViewKind kind : kAllViews) {
    AllViews::with_view(a, kind, [&](const auto& x) {
      using View = std::decay_t<decltype(x)>;
      const View& y = pick(b, static_cast<const View*>(nullptr));
      const bool bytes = x.serialize() == y.serialize();
      EXPECT_EQ(x.same_state(y), bytes) << what << ", view " << View::kName;
      EXPECT_EQ(y.same_state(x), bytes) << what << ", view " << View::kName << " (reversed)";
      ++(bytes ? outcomes->same : outcomes->different);
    });
  }
}

RandomStreamOptions options_for(uint64_t seed) {
  RandomStreamOptions o;
  o.num_events = 600 + static_cast<int>(seed % 4) * 200;
  o.concurrent_builds = 2 + static_cast<int>(seed % 7);
  o.partition_space = 6 + static_cast<int>((seed * 5) % 30);
  return o;
}

constexpr uint64_t kSeeds = 12;

TEST(SameStateTest, AViewRestoredAnywhereAndFoldedOnIsTheSameStateAsTheFoldFromIdxOne) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = random_stream(seed, options_for(seed));
    const AllViews full = fold(events);
    for (size_t at :
         {size_t{0}, events.size() / 7, events.size() / 2, events.size() - 1, events.size()}) {
      const AllViews prefix = fold(std::vector<BuildEvent>(events.begin(), events.begin() + at));
      const AllViews coordinator = fold(events, at, round_trip(prefix));
      EXPECT_TRUE(coordinator.partitions.same_state(full.partitions)) << "restored at " << at;
      EXPECT_TRUE(coordinator.builds.same_state(full.builds)) << "restored at " << at;
      EXPECT_TRUE(coordinator.jobs.same_state(full.jobs)) << "restored at " << at;
      EXPECT_TRUE(coordinator.activity.same_state(full.activity)) << "restored at " << at;
      Outcomes outcomes;
      expect_agrees_with_bytes(coordinator, full, "restored at " + std::to_string(at), &outcomes);
      EXPECT_EQ(outcomes.different, 0);
    }
  }
}

// One event of `events` changed by `how` (0: dropped, its idx left unused; 1: its timestamp
// moved; 2: its build request id that of another event; 3: its message changed).
std::vector<BuildEvent> changed(std::vector<BuildEvent> events, size_t i, int how) {
  BuildEvent& e = events[i];
  switch (how) {
    case 0:
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    case 1:
      e.set_timestamp(e.timestamp() + 1);
      break;
    case 2:
      e.set_build_request_id(events[(i * 7 + 3) % events.size()].build_request_id());
      break;
    default:
      if (e.has_partition_event()) e.mutable_partition_event()->set_message("changed");
      if (e.has_job_event()) e.mutable_job_event()->set_message("changed");
      if (e.has_build_request_event()) e.mutable_build_request_event()->set_message("changed");
      if (e.has_build_cancel_event()) e.mutable_build_cancel_event()->set_reason("changed");
      break;
  }
  return events;
}

TEST(SameStateTest, ViewsOfStreamsThatDifferByOneEventAreTheSameStateExactlyWhenTheirBytesAre) {
  Outcomes outcomes;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = random_stream(seed, options_for(seed));
    const AllViews full = fold(events);
    for (int how = 0; how < 4; ++how) {
      for (size_t i = seed % 11; i < events.size(); i += events.size() / 9) {
        const auto other = changed(events, i, how);
        AllViews views = fold(other);
        // A dropped last event leaves the log's last idx where it was.
        if (how == 0 && i + 1 == events.size()) {
          for (ViewKind kind : kAllViews) views.advance_to(kind, events.back().idx());
        }
        expect_agrees_with_bytes(
            full, views, "event " + std::to_string(i) + " changed by " + std::to_string(how),
            &outcomes);
      }
    }
  }
  // Both answers came up often: the comparison is not trivially one or the other.
  EXPECT_GT(outcomes.same, 20);
  EXPECT_GT(outcomes.different, 200);
}

// ---- one field of a snapshot changed ----

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A field of a message in a snapshot: singular (index -1) or one element of a repeated field.
struct Leaf {
  Message* message;
  const FieldDescriptor* field;
  int index;
};

// Every set scalar field of `m` and of the messages under it, and every repeated field (index
// -2: remove its last element). The snapshot's view name and version are left alone.
void collect(Message* m, bool top, std::vector<Leaf>* out) {
  const Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (top && (f->name() == "view" || f->name() == "version")) continue;
    if (!f->is_repeated()) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        collect(r->MutableMessage(m, f), false, out);
      } else {
        out->push_back({m, f, -1});
      }
      continue;
    }
    out->push_back({m, f, -2});
    for (int i = 0; i < r->FieldSize(*m, f); ++i) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        collect(r->MutableRepeatedMessage(m, f, i), false, out);
      } else {
        out->push_back({m, f, i});
      }
    }
  }
}

// Changes the leaf: a number by one, a string by a character, a bool flipped, or (index -2) the
// repeated field's last element removed.
void change(const Leaf& leaf) {
  Message* m = leaf.message;
  const Reflection* r = m->GetReflection();
  const FieldDescriptor* f = leaf.field;
  if (leaf.index == -2) {
    r->RemoveLast(m, f);
    return;
  }
  const bool rep = leaf.index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      rep ? r->SetRepeatedInt32(m, f, leaf.index, r->GetRepeatedInt32(*m, f, leaf.index) + 1)
          : r->SetInt32(m, f, r->GetInt32(*m, f) + 1);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      rep ? r->SetRepeatedInt64(m, f, leaf.index, r->GetRepeatedInt64(*m, f, leaf.index) + 1)
          : r->SetInt64(m, f, r->GetInt64(*m, f) + 1);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(m, f, !r->GetBool(*m, f));  // no snapshot repeats a bool
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->SetRepeatedString(m, f, leaf.index, r->GetRepeatedString(*m, f, leaf.index) + "x")
          : r->SetString(m, f, r->GetString(*m, f) + "x");
      break;
    default:
      ADD_FAILURE() << "no change for field " << f->full_name();
  }
}

template <class View, class Snapshot>
void check_changed_snapshots(const View& view, std::mt19937_64& random, int changes,
                             Outcomes* outcomes, int* refused) {
  const std::string bytes = view.serialize();
  Snapshot original;
  ASSERT_TRUE(original.ParseFromString(bytes)) << View::kName;
  for (int n = 0; n < changes; ++n) {
    Snapshot copy = original;
    std::vector<Leaf> leaves;
    collect(&copy, true, &leaves);
    ASSERT_FALSE(leaves.empty());
    const Leaf& leaf = leaves[random() % leaves.size()];
    const std::string what = std::string(View::kName) + ": " + leaf.field->full_name() + "[" +
                             std::to_string(leaf.index) + "] changed";
    change(leaf);
    auto other = View::restore(copy.SerializeAsString());
    if (!other.ok()) {  // a snapshot that contradicts itself: nothing to compare
      ++*refused;
      continue;
    }
    const bool same_bytes = other->serialize() == bytes;
    EXPECT_EQ(view.same_state(*other), same_bytes) << what;
    EXPECT_EQ(other->same_state(view), same_bytes) << what << " (reversed)";
    ++(same_bytes ? outcomes->same : outcomes->different);
  }
}

TEST(SameStateTest, AViewRestoredFromASnapshotWithOneFieldChangedIsTheSameStateOnlyIfItsBytesAre) {
  namespace snap = snapshots::v1;
  std::mt19937_64 random(7);
  Outcomes outcomes;
  int refused = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events = random_stream(seed, options_for(seed));
    const AllViews views = fold(std::vector<BuildEvent>(
        events.begin(), events.begin() + static_cast<std::ptrdiff_t>(events.size() * 2 / 3)));
    check_changed_snapshots<PartitionStatusView, snap::PartitionStatusSnapshot>(
        views.partitions, random, 150, &outcomes, &refused);
    check_changed_snapshots<BuildSummaryView, snap::BuildSummarySnapshot>(views.builds, random, 150,
                                                                          &outcomes, &refused);
    check_changed_snapshots<JobRunsView, snap::JobRunsSnapshot>(views.jobs, random, 150, &outcomes,
                                                                &refused);
    check_changed_snapshots<ActivityView, snap::ActivitySnapshot>(views.activity, random, 150,
                                                                  &outcomes, &refused);
  }
  EXPECT_GT(outcomes.different, 1500) << refused << " changed snapshots did not restore";
  EXPECT_GT(outcomes.same, 4);  // counts a restore only takes as hints, say
}

}  // namespace
}  // namespace bel::projections
