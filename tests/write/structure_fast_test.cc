// check_structure's fast check of every field (generated accessors) against the reflective walk
// it stands in for (actors/write/event_structure.cc): the same verdict on every event, and no
// field of bel.proto that the fast check does not know of.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "actors/write/event_structure.h"
#include "tests/support/random_stream.h"

namespace bel::write {
namespace {

namespace pb = google::protobuf;

// "Message.field" of every field reachable from BuildEvent (map entries as their map field).
void collect_fields(const pb::Descriptor* d, std::set<const pb::Descriptor*>& seen,
                    std::vector<std::string>& out) {
  if (!seen.insert(d).second) return;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    out.push_back(d->name() + "." + f->name());
    if (f->is_map()) {
      const pb::FieldDescriptor* value = f->message_type()->map_value();
      if (value->message_type() != nullptr) collect_fields(value->message_type(), seen, out);
    } else if (f->message_type() != nullptr) {
      collect_fields(f->message_type(), seen, out);
    }
  }
}

TEST(StructureFastTest, FieldsOfTheWalkAreTheFastChecksFields) {
  std::set<const pb::Descriptor*> seen;
  std::vector<std::string> fields;
  collect_fields(BuildEvent::descriptor(), seen, fields);
  std::sort(fields.begin(), fields.end());
  // Every field fast::fields_ok visits. A field added to bel.proto fails here: teach
  // fields_ok (actors/write/event_structure.cc) to check it as the reflective walk does, then
  // add it to this list.
  const std::vector<std::string> known = {
      "BuildCancelEvent.reason",
      "BuildEvent.build_cancel_event",
      "BuildEvent.build_request_event",
      "BuildEvent.build_request_id",
      "BuildEvent.delegation_event",
      "BuildEvent.event_id",
      "BuildEvent.idx",
      "BuildEvent.job_event",
      "BuildEvent.job_graph_event",
      "BuildEvent.job_run_cancel_event",
      "BuildEvent.partition_event",
      "BuildEvent.partition_invalidation_event",
      "BuildEvent.timestamp",
      "BuildRequestEvent.message",
      "BuildRequestEvent.requested_partitions",
      "BuildRequestEvent.status_code",
      "BuildRequestEvent.status_name",
      "DataDep.dep_type_code",
      "DataDep.dep_type_name",
      "DataDep.partition_ref",
      "DelegationEvent.delegated_to_build_request_id",
      "DelegationEvent.message",
      "DelegationEvent.partition_ref",
      "JobConfig.args",
      "JobConfig.env",
      "JobConfig.inputs",
      "JobConfig.outputs",
      "JobEvent.config",
      "JobEvent.job_label",
      "JobEvent.job_run_id",
      "JobEvent.manifests",
      "JobEvent.message",
      "JobEvent.status_code",
      "JobEvent.status_name",
      "JobEvent.target_partitions",
      "JobGraph.label",
      "JobGraph.nodes",
      "JobGraph.outputs",
      "JobGraphEvent.job_graph",
      "JobGraphEvent.message",
      "JobLabel.label",
      "JobRunCancelEvent.job_run_id",
      "JobRunCancelEvent.reason",
      "PartitionEvent.job_run_id",
      "PartitionEvent.message",
      "PartitionEvent.partition_ref",
      "PartitionEvent.status_code",
      "PartitionEvent.status_name",
      "PartitionInvalidationEvent.partition_ref",
      "PartitionInvalidationEvent.reason",
      "PartitionManifest.end_time",
      "PartitionManifest.metadata",
      "PartitionManifest.outputs",
      "PartitionManifest.start_time",
      "PartitionRef.str",
      "Task.config",
      "Task.job",
  };
  EXPECT_EQ(fields, known);
}

// Mutates one field reached by a random walk down `m` (set fields, and at times unset message
// fields, which the walk then creates): a string oversized, emptied or given a control
// character; an enum out of range, 0 or a valid value; a message cleared; a repeated message
// field given an empty element; a map given an oversized key or value.
class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  void mutate(pb::Message* m) {
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::Reflection* r = m->GetReflection();
    std::vector<const pb::FieldDescriptor*> fields;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      const bool present = f->is_repeated() ? r->FieldSize(*m, f) > 0 : r->HasField(*m, f);
      // Unset oneof members stay unset (setting one would change the event's type); other unset
      // fields are chosen now and then.
      if (present || (f->containing_oneof() == nullptr && pick(4) == 0)) fields.push_back(f);
    }
    if (fields.empty()) return;
    const pb::FieldDescriptor* f = fields[pick(fields.size())];
    if (f->is_map()) return mutate_map(m, f);
    if (f->is_repeated()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        if (pick(3) == 0) {
          r->AddMessage(m, f);  // an empty element: an empty PartitionRef, an unset dep, ...
          return;
        }
        if (r->FieldSize(*m, f) == 0) r->AddMessage(m, f);
        return descend(r->MutableRepeatedMessage(m, f, pick(r->FieldSize(*m, f))));
      }
      if (r->FieldSize(*m, f) == 0) return;
      const int at = pick(r->FieldSize(*m, f));
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
        r->SetRepeatedString(m, f, at, bad_string(r->GetRepeatedString(*m, f, at)));
      } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM) {
        r->SetRepeatedEnumValue(m, f, at, bad_enum(f));
      }
      return;
    }
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return r->SetString(m, f, bad_string(r->GetString(*m, f)));
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return r->SetEnumValue(m, f, bad_enum(f));
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (pick(4) == 0) return r->ClearField(m, f);
        return descend(r->MutableMessage(m, f));
      default:
        return;
    }
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  int pick(int n) { return static_cast<int>(pick(static_cast<size_t>(n))); }

  void descend(pb::Message* m) {
    if (pick(5) == 0) return m->Clear();
    mutate(m);
  }

  std::string bad_string(const std::string& was) {
    switch (pick(7)) {
      case 0:
        return std::string(kMaxStringBytes + 1, 'x');
      case 5:
        return was + "\xc2\x85";  // U+0085, a C1 control character
      case 1:
        return std::string(kMaxStringBytes, 'x');  // the largest accepted
      case 2:
        return "";
      case 3:
        return was + "\x01";
      case 4:
        return was + "\x7f";
      default:
        return was + "\xc3\xa9";  // not a control character
    }
  }

  int bad_enum(const pb::FieldDescriptor* f) {
    switch (pick(4)) {
      case 0:
        return 99;
      case 1:
        return -1;
      case 2:
        return 0;
      default:
        return f->enum_type()->value(pick(f->enum_type()->value_count()))->number();
    }
  }

  void mutate_map(pb::Message* m, const pb::FieldDescriptor* f) {
    const pb::Reflection* r = m->GetReflection();
    pb::Message* entry = r->AddMessage(m, f);
    const pb::FieldDescriptor* key = f->message_type()->map_key();
    const pb::FieldDescriptor* value = f->message_type()->map_value();
    const bool big_key = pick(2) == 0;
    entry->GetReflection()->SetString(
        entry, key,
        big_key ? std::string(kMaxStringBytes + 1, 'k') : "k" + std::to_string(pick(9)));
    entry->GetReflection()->SetString(
        entry, value, !big_key && pick(2) == 0 ? std::string(kMaxStringBytes + 1, 'v') : "v");
  }

  std::mt19937_64 rng_;
};

std::string walk_text(const BuildEvent& event) {
  auto walked = detail::walk_fields(event, /*with_paths=*/true);
  return walked.ok() ? "ok" : walked.error().to_string();
}

TEST(StructureFastTest, FastCheckAgreesWithTheWalkOnMutatedEvents) {
  int accepted = 0, rejected = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const auto events = sim::generate_events(testing::mixed_workload_options(seed, 40, 3), 1500);
    Mutator mutator(seed);
    for (size_t i = 0; i < events.size(); ++i) {
      BuildEvent event = events[i];
      ASSERT_TRUE(detail::fields_pass_fast(event)) << "generated event " << i;
      const int mutations = static_cast<int>(i % 4);  // 0 to 3 mutations
      for (int n = 0; n < mutations; ++n) mutator.mutate(&event);
      const bool walk = detail::walk_fields(event, /*with_paths=*/false).ok();
      ASSERT_EQ(detail::fields_pass_fast(event), walk)
          << "seed " << seed << ", event " << i << ": " << event.ShortDebugString().substr(0, 600)
          << "\nwalk: " << walk_text(event);
      (walk ? accepted : rejected)++;
    }
  }
  // Both verdicts were met often enough for the comparison to mean something.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace bel::write
