// json_events and proto_events (tests/fuzz/harnesses.h).
#include <google/protobuf/util/message_differencer.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "actors/write/event_structure.h"
#include "actors/write/transition_rules.h"
#include "messages/json.h"
#include "messages/types.h"
#include "storage/payload_text.h"
#include "tests/fuzz/harnesses.h"

namespace bel::fuzz {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz finding: %s\n", what);
  std::abort();
}

namespace {

// One strict and one lenient rule state, fed every decoded event of an input.
struct Rules {
  write::TransitionState strict{write::ValidationMode::strict};
  write::TransitionState lenient{write::ValidationMode::lenient};

  void validate(const BuildEvent& event) {
    // check_structure's fast check of the fields and the reflective walk agree.
    require(write::detail::fields_pass_fast(event) ==
                write::detail::walk_fields(event, /*with_paths=*/false).ok(),
            "the fast field check and the reflective walk disagree");
    auto structure = write::check_structure(event);
    if (!structure.ok()) {
      require(structure.error().code == ErrorCode::invalid_event,
              "check_structure failed with a code other than invalid_event");
      require(!structure.error().message.empty(), "check_structure error without a message");
      return;
    }
    const size_t journal = strict.journal_size();
    auto applied = strict.apply(event);
    if (!applied.ok()) {
      require(applied.error().code == ErrorCode::invalid_transition,
              "strict apply failed with a code other than invalid_transition");
      require(strict.journal_size() == journal, "a refused strict apply changed the state");
    }
    std::vector<std::string> warnings;
    require(lenient.apply(event, &warnings).ok(), "lenient apply refused an event");
  }

  // Every apply undone restores the empty state.
  void undo_all() {
    strict.rollback(0);
    require(strict.journal_size() == 0, "rollback left journal entries");
  }
};

bool same(const BuildEvent& a, const BuildEvent& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

int json_events(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Rules rules;
  while (!input.empty()) {
    const size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    BuildEvent event;
    auto parsed = from_json(line, &event);
    if (!parsed.ok()) {
      require(parsed.error().code == ErrorCode::invalid_event,
              "from_json failed with a code other than invalid_event");
      continue;
    }
    BuildEvent again;
    require(from_json(to_json(event), &again).ok(), "to_json output does not decode");
    require(same(event, again), "to_json then from_json changed the event");
    rules.validate(event);
  }
  rules.undo_all();
  return 0;
}

int proto_events(const uint8_t* data, size_t size) {
  Rules rules;
  EventPage batch;
  if (batch.ParseFromArray(data, static_cast<int>(size))) {
    for (const auto& event : batch.events()) rules.validate(event);
  }
  // A payload whose text is not UTF-8 (stored before appends refused it): what parses needs no
  // repair, and a repair leaves nothing to repair.
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string repaired, twice;
  const bool changed = storage::repair_payload_text(bytes, repaired);
  if (changed) {
    require(!storage::repair_payload_text(repaired, twice), "a repaired payload needs repair");
    BuildEvent fixed;
    if (fixed.ParseFromString(repaired)) rules.validate(fixed);
  }
  BuildEvent event;
  if (event.ParseFromArray(data, static_cast<int>(size))) {
    require(!changed, "a payload that parses was repaired");
    BuildEvent again;
    require(again.ParseFromString(event.SerializeAsString()), "serialized event does not parse");
    require(same(event, again), "serialize then parse changed the event");
    rules.validate(event);
    // The JSON form of any decodable event decodes back to it.
    require(from_json(to_json(event), &again).ok(), "to_json of a protobuf event does not decode");
  }
  rules.undo_all();
  return 0;
}

}  // namespace bel::fuzz
