#include "actors/write/validation.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "messages/event_keys.h"
#include "messages/status_names.h"
#include "projections/views.h"

namespace bel::write {
namespace {

namespace pb = google::protobuf;

// ---- Structure -----------------------------------------------------------------------------

constexpr size_t kMaxQuotedBytes = 64;  // how much of a bad value a message shows

Error invalid_event(std::string message) {
  return make_error(ErrorCode::invalid_event, std::move(message));
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string hex_byte(unsigned char c) {
  static const char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[c >> 4] + kDigits[c & 0xf];
}

// `s` as a message shows it: quoted, with quotes, backslashes and control characters escaped,
// cut after kMaxQuotedBytes so that an oversized value does not make an oversized message.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxQuotedBytes; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (is_control(c)) {
      out += "\\x" + hex_byte(c).substr(2);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > kMaxQuotedBytes) out += "...";
  return out;
}

Status check_no_control(const std::string& path, std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (is_control(c)) {
      return invalid_event(path + " contains control character " + hex_byte(c) + " at offset " +
                           std::to_string(i));
    }
  }
  return ok_status();
}

Status check_length(const std::string& path, std::string_view value) {
  if (value.size() > kMaxStringBytes) {
    return invalid_event(path + " is " + std::to_string(value.size()) + " bytes (max " +
                         std::to_string(kMaxStringBytes) + ")");
  }
  return ok_status();
}

// A key (id, label) that must be present: non-empty, no control characters.
Status check_required_id(const std::string& path, std::string_view value) {
  if (value.empty()) return invalid_event(path + " is empty");
  return check_no_control(path, value);
}

// A partition ref anywhere in the event: non-empty, no control characters, not oversized.
Status check_partition_ref(const std::string& path, std::string_view ref) {
  if (ref.empty()) return invalid_event(path + " is empty");
  BEL_RETURN_IF_ERROR(check_no_control(path, ref));
  return check_length(path, ref);
}

// An enum code and its optional name field: in range, not 0 unless `zero_ok`, name equal to
// the code's enum value name when set.
Status check_enum(const std::string& code_path, const std::string& name_path,
                  const pb::EnumDescriptor* d, int code, const std::string& name, bool zero_ok) {
  const auto* v = d->FindValueByNumber(code);
  if (v == nullptr) {
    return invalid_event(code_path + " " + std::to_string(code) + " is out of range");
  }
  if (code == 0 && !zero_ok) return invalid_event(code_path + " is " + v->name());
  if (!name.empty() && name != v->name()) {
    return invalid_event(name_path + " " + quote(name) + " does not match " +
                         code_path.substr(code_path.rfind('.') + 1) + " " + v->name());
  }
  return ok_status();
}

Status check_status(const std::string& prefix, const pb::EnumDescriptor* d, int code,
                    const std::string& name) {
  return check_enum(prefix + ".status_code", prefix + ".status_name", d, code, name,
                    /*zero_ok=*/false);
}

// The checks that depend on the event type: required keys, ids and the status code.
Status check_type_fields(const BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      const auto& e = event.build_request_event();
      return check_status("build_request_event", v1::BuildRequestStatus_descriptor(),
                          e.status_code(), e.status_name());
    }
    case BuildEvent::kPartitionEvent: {
      const auto& e = event.partition_event();
      BEL_RETURN_IF_ERROR(
          check_partition_ref("partition_event.partition_ref", e.partition_ref().str()));
      BEL_RETURN_IF_ERROR(check_status("partition_event", v1::PartitionStatus_descriptor(),
                                       e.status_code(), e.status_name()));
      // Optional here, but a key shown in tables when set.
      return check_no_control("partition_event.job_run_id", e.job_run_id());
    }
    case BuildEvent::kJobEvent: {
      const auto& e = event.job_event();
      BEL_RETURN_IF_ERROR(check_required_id("job_event.job_run_id", e.job_run_id()));
      BEL_RETURN_IF_ERROR(check_required_id("job_event.job_label", e.job_label().label()));
      return check_status("job_event", v1::JobStatus_descriptor(), e.status_code(),
                          e.status_name());
    }
    case BuildEvent::kDelegationEvent: {
      const auto& e = event.delegation_event();
      BEL_RETURN_IF_ERROR(
          check_partition_ref("delegation_event.partition_ref", e.partition_ref().str()));
      return check_required_id("delegation_event.delegated_to_build_request_id",
                               e.delegated_to_build_request_id());
    }
    case BuildEvent::kPartitionInvalidationEvent:
      return check_partition_ref("partition_invalidation_event.partition_ref",
                                 event.partition_invalidation_event().partition_ref().str());
    case BuildEvent::kJobRunCancelEvent:
      return check_required_id("job_run_cancel_event.job_run_id",
                               event.job_run_cancel_event().job_run_id());
    case BuildEvent::kJobGraphEvent:
    case BuildEvent::kBuildCancelEvent:
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
  return ok_status();
}

// Walks every field of a message with reflection, in field order (map entries in key order),
// checking string sizes, enum ranges, and every PartitionRef, JobLabel and DataDep it meets.
class FieldWalker {
 public:
  Status walk(const pb::Message& message, const std::string& path) {
    const pb::Descriptor* d = message.GetDescriptor();
    const pb::Reflection* r = message.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      std::string field_path = path.empty() ? f->name() : path + "." + f->name();
      if (f->is_map()) {
        BEL_RETURN_IF_ERROR(walk_map(message, f, field_path));
      } else if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(message, f); ++j) {
          BEL_RETURN_IF_ERROR(
              check_repeated(message, f, j, field_path + "[" + std::to_string(j) + "]"));
        }
      } else {
        BEL_RETURN_IF_ERROR(check_singular(message, f, field_path));
      }
    }
    return ok_status();
  }

 private:
  // A message value: the special types first, then its own fields.
  Status check_message(const pb::Message& m, const std::string& path) {
    const pb::Descriptor* d = m.GetDescriptor();
    if (d == PartitionRef::descriptor()) {
      return check_partition_ref(path, static_cast<const PartitionRef&>(m).str());
    }
    if (d == JobLabel::descriptor()) {
      const auto& label = static_cast<const JobLabel&>(m).label();
      BEL_RETURN_IF_ERROR(check_no_control(path, label));
      return check_length(path, label);
    }
    if (d == DataDep::descriptor()) {
      const auto& dep = static_cast<const DataDep&>(m);
      BEL_RETURN_IF_ERROR(check_enum(path + ".dep_type_code", path + ".dep_type_name",
                                     v1::DepType_descriptor(), dep.dep_type_code(),
                                     dep.dep_type_name(), /*zero_ok=*/true));
    }
    return walk(m, path);
  }

  Status check_enum_value(const pb::FieldDescriptor* f, int value, const std::string& path) {
    if (f->enum_type()->FindValueByNumber(value) == nullptr) {
      return invalid_event(path + " " + std::to_string(value) + " is out of range");
    }
    return ok_status();
  }

  Status check_singular(const pb::Message& m, const pb::FieldDescriptor* f,
                        const std::string& path) {
    const pb::Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        return check_length(path, r->GetStringReference(m, f, &scratch));
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return check_enum_value(f, r->GetEnumValue(m, f), path);
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        // An unset PartitionRef is an empty one (a DataDep without its partition is no dep);
        // other unset messages have nothing to check. Unset oneof members are not there at all.
        bool is_ref = f->message_type() == PartitionRef::descriptor();
        if (!r->HasField(m, f) && (!is_ref || f->containing_oneof() != nullptr)) {
          return ok_status();
        }
        return check_message(r->GetMessage(m, f), path);
      }
      default:
        return ok_status();
    }
  }

  Status check_repeated(const pb::Message& m, const pb::FieldDescriptor* f, int index,
                        const std::string& path) {
    const pb::Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        return check_length(path, r->GetRepeatedStringReference(m, f, index, &scratch));
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return check_enum_value(f, r->GetRepeatedEnumValue(m, f, index), path);
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return check_message(r->GetRepeatedMessage(m, f, index), path);
      default:
        return ok_status();
    }
  }

  // Text of a scalar map key, for sorting and for the path.
  static std::string key_text(const pb::Message& entry, const pb::FieldDescriptor* key) {
    const pb::Reflection* r = entry.GetReflection();
    switch (key->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return r->GetString(entry, key);
      case pb::FieldDescriptor::CPPTYPE_INT32:
        return std::to_string(r->GetInt32(entry, key));
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return std::to_string(r->GetInt64(entry, key));
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        return std::to_string(r->GetUInt32(entry, key));
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        return std::to_string(r->GetUInt64(entry, key));
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        return r->GetBool(entry, key) ? "true" : "false";
      default:
        return "";
    }
  }

  // Map iteration order is unspecified (randomised per process in some protobuf builds), so the
  // entries are checked in key order: the same event always gets the same error.
  Status walk_map(const pb::Message& m, const pb::FieldDescriptor* f, const std::string& path) {
    const pb::Reflection* r = m.GetReflection();
    const pb::FieldDescriptor* key_field = f->message_type()->map_key();
    const pb::FieldDescriptor* value_field = f->message_type()->map_value();
    std::vector<std::pair<std::string, const pb::Message*>> entries;
    for (int j = 0; j < r->FieldSize(m, f); ++j) {
      const pb::Message& entry = r->GetRepeatedMessage(m, f, j);
      entries.emplace_back(key_text(entry, key_field), &entry);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, entry] : entries) {
      if (key.size() > kMaxStringBytes) {
        return invalid_event(path + " key " + quote(key) + " is " + std::to_string(key.size()) +
                             " bytes (max " + std::to_string(kMaxStringBytes) + ")");
      }
      BEL_RETURN_IF_ERROR(check_singular(*entry, value_field, path + "[" + quote(key) + "]"));
    }
    return ok_status();
  }
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// ---- Transitions ---------------------------------------------------------------------------

Error invalid_transition(std::string message) {
  return make_error(ErrorCode::invalid_transition, std::move(message));
}

// Position along the forward order; equal ranks are alternatives (the terminal ones).
int rank(BuildRequestStatus s) {
  switch (s) {
    case v1::BUILD_REQUEST_RECEIVED:
      return 1;
    case v1::BUILD_REQUEST_PLANNING:
      return 2;
    case v1::BUILD_REQUEST_ANALYSIS_COMPLETED:
      return 3;
    case v1::BUILD_REQUEST_EXECUTING:
      return 4;
    case v1::BUILD_REQUEST_COMPLETED:
    case v1::BUILD_REQUEST_FAILED:
    case v1::BUILD_REQUEST_CANCELLED:
      return 5;
    default:
      return 0;
  }
}
bool is_terminal(BuildRequestStatus s) { return is_terminal_build_status(s); }

int rank(JobStatus s) {
  switch (s) {
    case v1::JOB_SCHEDULED:
      return 1;
    case v1::JOB_RUNNING:
      return 2;
    case v1::JOB_COMPLETED:
    case v1::JOB_FAILED:
    case v1::JOB_CANCELLED:
      return 3;
    default:
      return 0;  // SKIPPED is outside the order: only ever a first status
  }
}
bool is_terminal(JobStatus s) { return is_terminal_job_status(s); }

// DELEGATED and INVALIDATED are outside the order and handled separately.
int rank(PartitionStatus s) {
  switch (s) {
    case v1::PARTITION_REQUESTED:
      return 1;
    case v1::PARTITION_SCHEDULED:
      return 2;
    case v1::PARTITION_BUILDING:
      return 3;
    case v1::PARTITION_AVAILABLE:
    case v1::PARTITION_FAILED:
      return 4;
    default:
      return 0;
  }
}
bool is_terminal(PartitionStatus s) {
  return s == v1::PARTITION_AVAILABLE || s == v1::PARTITION_FAILED || s == v1::PARTITION_DELEGATED;
}

std::string partition_key(const std::string& build_request_id, const std::string& ref) {
  return build_request_id + '\n' + ref;
}

}  // namespace

Status check_structure(const BuildEvent& event) {
  if (event.build_request_id().empty()) return invalid_event("build_request_id is empty");
  BEL_RETURN_IF_ERROR(check_no_control("build_request_id", event.build_request_id()));
  if (event.event_type_case() == BuildEvent::EVENT_TYPE_NOT_SET) {
    return invalid_event("no event type is set (expected one of " + join(event_type_names()) + ")");
  }
  if (event.idx() != 0) {
    return invalid_event("idx must be 0 on append (the log assigns it), got " +
                         std::to_string(event.idx()));
  }
  if (event.timestamp() < 0) return invalid_event("timestamp is negative");
  if (event.event_id().size() > kMaxEventIdBytes) {
    return invalid_event("event_id is " + std::to_string(event.event_id().size()) + " bytes (max " +
                         std::to_string(kMaxEventIdBytes) + ")");
  }
  BEL_RETURN_IF_ERROR(check_no_control("event_id", event.event_id()));
  // Before the walk: an oversized event is rejected without visiting all of it.
  size_t bytes = event.ByteSizeLong();
  if (bytes > kMaxEventBytes) {
    return invalid_event("event is " + std::to_string(bytes) + " bytes (max " +
                         std::to_string(kMaxEventBytes) + ")");
  }
  BEL_RETURN_IF_ERROR(check_type_fields(event));
  return FieldWalker().walk(event, "");
}

std::string_view to_string(ValidationMode mode) {
  switch (mode) {
    case ValidationMode::strict:
      return "strict";
    case ValidationMode::lenient:
      return "lenient";
  }
  return "strict";
}

std::optional<ValidationMode> parse_validation_mode(std::string_view text) {
  if (text == "strict") return ValidationMode::strict;
  if (text == "lenient") return ValidationMode::lenient;
  return std::nullopt;
}

TransitionState::TransitionState(ValidationMode mode) : mode_(mode) {}

Status TransitionState::apply(const BuildEvent& event, std::vector<std::string>* warnings) {
  const bool strict = mode_ == ValidationMode::strict;
  const Mark before = mark();
  Status status = check_and_apply(event, strict);
  if (status.ok()) return status;
  if (strict) {
    rollback(before);  // check_and_apply changes nothing when it rejects; this makes sure
    return status;
  }
  if (warnings != nullptr) warnings->push_back(status.error().message);
  return ok_status();
}

// Checks `event` and, unless it is illegal and `enforce` is set, applies its effect. Returns the
// first violation found (the event was applied anyway when !enforce).
Status TransitionState::check_and_apply(const BuildEvent& event, bool enforce) {
  const std::string& br_id = event.build_request_id();
  std::optional<Error> violation;
  auto violate = [&](std::string message) {
    if (!violation) violation = invalid_transition(std::move(message));
  };
  auto must_stop = [&] { return violation.has_value() && enforce; };
  auto result = [&]() -> Status {
    if (violation) return *violation;
    return ok_status();
  };

  auto br_it = build_requests_.find(br_id);
  const bool br_exists = br_it != build_requests_.end();
  // Every event but a BuildRequestEvent needs its build request to exist and still be open.
  auto require_open_request = [&](const char* what) {
    if (!br_exists) {
      violate("build request " + br_id +
              " does not exist (its first event must be a build_request_event with "
              "BUILD_REQUEST_RECEIVED)");
    } else if (is_terminal(br_it->second)) {
      violate("build request " + br_id + " is " + response_status_name(br_it->second) + " (terminal): no " +
              what + " may follow");
    }
  };

  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      BuildRequestStatus to = event.build_request_event().status_code();
      if (!br_exists) {
        if (to != v1::BUILD_REQUEST_RECEIVED) {
          violate("build request " + br_id + ": first status must be BUILD_REQUEST_RECEIVED, got " +
                  response_status_name(to));
        }
      } else {
        BuildRequestStatus from = br_it->second;
        if (is_terminal(from)) {
          violate("build request " + br_id + ": " + response_status_name(from) + " -> " + response_status_name(to) +
                  " is not allowed (terminal)");
        } else if (rank(to) <= rank(from)) {
          violate("build request " + br_id + ": " + response_status_name(from) + " -> " + response_status_name(to) +
                  " is not allowed (statuses only move forward)");
        }
      }
      if (must_stop()) return result();
      set_build_request(br_id, to);
      return result();
    }

    case BuildEvent::kBuildCancelEvent: {
      if (br_exists && is_terminal(br_it->second)) {
        violate("build request " + br_id + ": " + response_status_name(br_it->second) +
                " -> BUILD_REQUEST_CANCELLED is not allowed (terminal)");
      } else {
        require_open_request("build_cancel_event");
      }
      if (must_stop()) return result();
      set_build_request(br_id, v1::BUILD_REQUEST_CANCELLED);
      return result();
    }

    case BuildEvent::kJobEvent: {
      const auto& e = event.job_event();
      require_open_request("job_event");
      if (must_stop()) return result();
      const std::string& id = e.job_run_id();
      JobStatus to = e.status_code();
      auto it = job_runs_.find(id);
      if (it == job_runs_.end()) {
        if (to != v1::JOB_SCHEDULED && to != v1::JOB_SKIPPED) {
          violate("job run " + id + ": first status must be JOB_SCHEDULED or JOB_SKIPPED, got " +
                  response_status_name(to));
        }
        if (must_stop()) return result();
        set_job_run(id, JobRun{to, br_id, e.job_label().label()});
        return result();
      }
      JobRun run = it->second;
      if (run.build_request_id != br_id) {
        violate("job run " + id + " belongs to build request " + run.build_request_id + ", not " +
                br_id);
      } else if (run.job_label != e.job_label().label()) {
        violate("job run " + id + " has job label " + run.job_label + ", not " +
                e.job_label().label());
      } else if (is_terminal(run.status)) {
        violate("job run " + id + ": " + response_status_name(run.status) + " -> " + response_status_name(to) +
                " is not allowed (terminal)");
      } else if (to == v1::JOB_SKIPPED) {
        violate("job run " + id + ": " + response_status_name(run.status) +
                " -> JOB_SKIPPED is not allowed (JOB_SKIPPED may only be the first status)");
      } else if (rank(to) <= rank(run.status)) {
        violate("job run " + id + ": " + response_status_name(run.status) + " -> " + response_status_name(to) +
                " is not allowed (statuses only move forward)");
      }
      if (must_stop()) return result();
      run.status = to;  // a run keeps the build request and label of its first event
      set_job_run(id, std::move(run));
      return result();
    }

    case BuildEvent::kJobRunCancelEvent: {
      require_open_request("job_run_cancel_event");
      if (must_stop()) return result();
      const std::string& id = event.job_run_cancel_event().job_run_id();
      auto it = job_runs_.find(id);
      JobRun run{v1::JOB_UNKNOWN, br_id, ""};
      if (it == job_runs_.end()) {
        violate("job run " + id +
                " does not exist (its first event must be a job_event with JOB_SCHEDULED or "
                "JOB_SKIPPED)");
      } else {
        run = it->second;
        if (run.build_request_id != br_id) {
          violate("job run " + id + " belongs to build request " + run.build_request_id + ", not " +
                  br_id);
        } else if (is_terminal(run.status)) {
          violate("job run " + id + ": " + response_status_name(run.status) +
                  " -> JOB_CANCELLED is not allowed (terminal)");
        }
      }
      if (must_stop()) return result();
      run.status = v1::JOB_CANCELLED;
      set_job_run(id, std::move(run));
      return result();
    }

    case BuildEvent::kPartitionEvent:
    case BuildEvent::kDelegationEvent: {
      const bool is_delegation = event.has_delegation_event();
      require_open_request(is_delegation ? "delegation_event" : "partition_event");
      if (must_stop()) return result();
      const std::string& ref = is_delegation ? event.delegation_event().partition_ref().str()
                                             : event.partition_event().partition_ref().str();
      const PartitionStatus to =
          is_delegation ? v1::PARTITION_DELEGATED : event.partition_event().status_code();
      const std::string key = partition_key(br_id, ref);
      auto it = partitions_.find(key);
      RequestPartition p = it == partitions_.end() ? RequestPartition{} : it->second;
      const std::string who = "partition " + ref + " in build request " + br_id + ": ";
      auto move_text = [&] { return who + response_status_name(p.status) + " -> " + response_status_name(to); };

      if (to == v1::PARTITION_INVALIDATED) {
        violate(who +
                "PARTITION_INVALIDATED is not a partition_event status (record an invalidation "
                "with a partition_invalidation_event)");
      } else if (to == v1::PARTITION_DELEGATED) {
        bool& seen = is_delegation ? p.delegation_event_seen : p.delegated_partition_event_seen;
        const bool other_seen =
            is_delegation ? p.delegated_partition_event_seen : p.delegation_event_seen;
        const char* by = is_delegation ? "a delegation_event" : "a partition_event";
        if (seen) {
          violate(move_text() + " is not allowed (already delegated by " + by + ")");
        } else if (p.status == v1::PARTITION_DELEGATED && other_seen) {
          // The pair: a DelegationEvent and a PartitionEvent DELEGATED, in either order.
        } else if (is_terminal(p.status)) {
          violate(move_text() + " is not allowed (terminal)");
        } else if (p.status == v1::PARTITION_BUILDING) {
          violate(move_text() +
                  " is not allowed (PARTITION_DELEGATED may only follow PARTITION_REQUESTED or "
                  "PARTITION_SCHEDULED)");
        }
        seen = true;
      } else if (is_terminal(p.status)) {
        violate(move_text() + " is not allowed (terminal)");
      } else if (rank(to) <= rank(p.status)) {
        violate(move_text() + " is not allowed (statuses only move forward)");
      }
      if (must_stop()) return result();
      p.status = to;
      set_partition(key, std::move(p));
      return result();
    }

    case BuildEvent::kPartitionInvalidationEvent:
      require_open_request("partition_invalidation_event");
      return result();
    case BuildEvent::kJobGraphEvent:
      require_open_request("job_graph_event");
      return result();
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
  assert(false && "REQUIRES: check_structure(event).ok()");
  return make_error(ErrorCode::internal, "event without an event type reached the transitions");
}

void TransitionState::rollback(Mark m) {
  assert(m <= journal_.size() && "rollback to a mark from before the last commit");
  while (journal_.size() > m) {
    Undo& undo = journal_.back();
    switch (undo.kind) {
      case Undo::build_request:
        if (undo.old_build_request) {
          build_requests_[undo.key] = *undo.old_build_request;
        } else {
          build_requests_.erase(undo.key);
        }
        break;
      case Undo::job_run:
        if (undo.old_job_run) {
          job_runs_[undo.key] = std::move(*undo.old_job_run);
        } else {
          job_runs_.erase(undo.key);
        }
        break;
      case Undo::partition:
        if (undo.old_partition) {
          partitions_[undo.key] = *undo.old_partition;
        } else {
          partitions_.erase(undo.key);
        }
        break;
    }
    journal_.pop_back();
  }
}

std::optional<BuildRequestStatus> TransitionState::build_request_status(
    const std::string& id) const {
  auto it = build_requests_.find(id);
  if (it == build_requests_.end()) return std::nullopt;
  return it->second;
}

std::optional<JobStatus> TransitionState::job_run_status(const std::string& job_run_id) const {
  auto it = job_runs_.find(job_run_id);
  if (it == job_runs_.end()) return std::nullopt;
  return it->second.status;
}

std::optional<PartitionStatus> TransitionState::partition_status(
    const std::string& build_request_id, const std::string& partition_ref) const {
  auto it = partitions_.find(partition_key(build_request_id, partition_ref));
  if (it == partitions_.end()) return std::nullopt;
  return it->second.status;
}

void TransitionState::set_build_request(const std::string& id, BuildRequestStatus status) {
  Undo undo{Undo::build_request, id, std::nullopt, std::nullopt, std::nullopt};
  auto it = build_requests_.find(id);
  if (it != build_requests_.end()) undo.old_build_request = it->second;
  journal_.push_back(std::move(undo));
  build_requests_[id] = status;
}

void TransitionState::set_job_run(const std::string& id, JobRun run) {
  Undo undo{Undo::job_run, id, std::nullopt, std::nullopt, std::nullopt};
  auto it = job_runs_.find(id);
  if (it != job_runs_.end()) undo.old_job_run = it->second;
  journal_.push_back(std::move(undo));
  job_runs_[id] = std::move(run);
}

void TransitionState::set_partition(const std::string& key, RequestPartition p) {
  Undo undo{Undo::partition, key, std::nullopt, std::nullopt, std::nullopt};
  auto it = partitions_.find(key);
  if (it != partitions_.end()) undo.old_partition = it->second;
  journal_.push_back(std::move(undo));
  partitions_[key] = p;
}

}  // namespace bel::write
