// filter_glob (tests/fuzz/harnesses.h).
#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "messages/filter_match.h"
#include "messages/glob.h"
#include "messages/json.h"
#include "messages/types.h"
#include "tests/fuzz/harnesses.h"
#include "tests/support/events.h"

namespace bel::fuzz {
namespace {

void glob(std::string_view input) {
  const size_t split = input.find('\n');
  const std::string pattern(input.substr(0, split));
  const std::string text(split == std::string_view::npos ? "" : input.substr(split + 1));
  auto checked = check_glob(pattern);
  if (!checked.ok()) {
    require(checked.error().code == ErrorCode::invalid_argument,
            "check_glob failed with a code other than invalid_argument");
    return;
  }
  const bool hit = glob_match(pattern, text);
  const std::string prefix = glob_literal_prefix(pattern);
  // Partition refs are protobuf strings: well-formed UTF-8.
  if (!is_utf8(text)) return;
  require(!hit || text.compare(0, prefix.size(), prefix) == 0,
          "a glob matched text without its literal prefix");
  // SPEC 3.2: exactly SQLite's GLOB, which a backend may run instead.
  if (pattern.find('\0') == std::string::npos && text.find('\0') == std::string::npos) {
    require(hit == (sqlite3_strglob(pattern.c_str(), text.c_str()) == 0),
            "glob_match disagrees with SQLite's GLOB");
  }
}

const std::vector<BuildEvent>& sample_events() {
  using namespace bel::testing;
  static const std::vector<BuildEvent> events = {
      request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"}),
      partition_event("br-1", "data/a", v1::PARTITION_BUILDING, "run-1"),
      job_event("br-1", "run-1", "//sales:daily", v1::JOB_RUNNING, {"data/a"}),
      delegation_event("br-2", "data/b", "br-1"),
      invalidation_event("br-1", "data/a", "stale"),
      build_cancel_event("br-2", "user"),
      job_run_cancel_event("br-1", "run-1", "user"),
  };
  return events;
}

void filter(const EventFilter& f) {
  auto checked = check_filter(f);
  if (!checked.ok()) {
    require(checked.error().code == ErrorCode::invalid_argument,
            "check_filter failed with a code other than invalid_argument");
    return;
  }
  (void)describe_filter(f);
  for (const auto& event : sample_events()) {
    const bool hit = event_matches(f, event);
    // An empty filter matches everything; adding values to a field never narrows it.
    EventFilter wider = f;
    if (wider.event_types_size() > 0) wider.add_event_types(std::string(event.event_type_case() ==
                                                                        BuildEvent::kPartitionEvent
                                                                    ? "partition_event"
                                                                    : "job_event"));
    require(!hit || event_matches(wider, event), "adding a value to a filter field narrowed it");
  }
  require(event_matches(EventFilter(), sample_events().front()), "empty filter did not match");
}

}  // namespace

int filter_glob(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      glob(rest);
      break;
    case 1: {
      EventFilter f;
      if (f.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) filter(f);
      break;
    }
    default: {
      EventFilter f;
      if (from_json(rest, &f).ok()) filter(f);
      break;
    }
  }
  return 0;
}

}  // namespace bel::fuzz
