#include "actors/write/event_structure.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "messages/event_keys.h"
#include "messages/glob.h"
#include "messages/status_names.h"

namespace bel::write {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxQuotedBytes = 64;  // how much of a bad value a message shows

Error invalid_event(std::string message) {
  return make_error(ErrorCode::invalid_event, std::move(message));
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The bytes of the control character that starts at s[i]: 1 for C0 and DEL, 2 for a C1
// character (U+0080..U+009F, 0xc2 0x80..0x9f in UTF-8), 0 when none starts there.
size_t control_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (is_control(c)) return 1;
  if (c != 0xc2 || i + 1 >= s.size()) return 0;
  const auto next = static_cast<unsigned char>(s[i + 1]);
  return next >= 0x80 && next <= 0x9f ? 2 : 0;
}

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
    } else if (control_at(s, i) == 2) {
      out += "\\u00" + hex_byte(static_cast<unsigned char>(s[++i])).substr(2);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > kMaxQuotedBytes) out += "...";
  return out;
}

// The checks below take the path of the value they check and build it into a message only when
// the value fails: an accepted event allocates no path text.

Status check_no_control(std::string_view path, std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const size_t n = control_at(value, i);
    if (n == 0) continue;
    const auto c = static_cast<unsigned char>(value[i + n - 1]);
    return invalid_event(std::string(path) + " contains control character " +
                         (n == 1 ? hex_byte(c) : fmt::format("U+{:04X}", c)) + " at offset " +
                         std::to_string(i));
  }
  return ok_status();
}

// A string field's value: at most kMaxStringBytes, and well-formed UTF-8 (a protobuf string that
// is not would be stored as given and then fail to parse on every read of the log).
Status check_length(std::string_view path, std::string_view value) {
  if (value.size() > kMaxStringBytes) {
    return invalid_event(std::string(path) + " is " + std::to_string(value.size()) +
                         " bytes (max " + std::to_string(kMaxStringBytes) + ")");
  }
  if (std::string problem = utf8_problem(value); !problem.empty()) {
    return invalid_event(std::string(path) + " " + problem);
  }
  return ok_status();
}

// A key (id, label) that must be present: non-empty, no control characters.
Status check_required_id(std::string_view path, std::string_view value) {
  if (value.empty()) return invalid_event(std::string(path) + " is empty");
  return check_no_control(path, value);
}

// A partition ref anywhere in the event: non-empty, no control characters, not oversized.
Status check_partition_ref(std::string_view path, std::string_view ref) {
  if (ref.empty()) return invalid_event(std::string(path) + " is empty");
  BEL_RETURN_IF_ERROR(check_no_control(path, ref));
  return check_length(path, ref);
}

// An enum code and its optional name field (`prefix`.`code_field` and `prefix`.`name_field`):
// in range, not 0 unless `zero_ok`, name equal to the code's enum value name when set.
Status check_enum(std::string_view prefix, std::string_view code_field, std::string_view name_field,
                  const pb::EnumDescriptor* d, int code, const std::string& name, bool zero_ok) {
  const auto* v = d->FindValueByNumber(code);
  auto field = [&](std::string_view f) { return std::string(prefix) + "." + std::string(f); };
  if (v == nullptr) {
    return invalid_event(field(code_field) + " " + std::to_string(code) + " is out of range");
  }
  if (code == 0 && !zero_ok) return invalid_event(field(code_field) + " is " + v->name());
  if (!name.empty() && name != v->name()) {
    return invalid_event(field(name_field) + " " + quote(name) + " does not match " +
                         std::string(code_field) + " " + v->name());
  }
  return ok_status();
}

Status check_status(std::string_view prefix, const pb::EnumDescriptor* d, int code,
                    const std::string& name) {
  return check_enum(prefix, "status_code", "status_name", d, code, name, /*zero_ok=*/false);
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
// Without `with_paths` it builds no field paths (errors then name no field): check_structure
// walks once without them, and again with them only for an event that fails.
class FieldWalker {
 public:
  explicit FieldWalker(bool with_paths) : with_paths_(with_paths) {}

  Status walk(const pb::Message& message, const std::string& path) {
    const pb::Descriptor* d = message.GetDescriptor();
    const pb::Reflection* r = message.GetReflection();
    std::string field_path;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (with_paths_) field_path = path.empty() ? f->name() : path + "." + f->name();
      if (f->is_map()) {
        BEL_RETURN_IF_ERROR(walk_map(message, f, field_path));
      } else if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(message, f); ++j) {
          BEL_RETURN_IF_ERROR(check_repeated(
              message, f, j, with_paths_ ? field_path + "[" + std::to_string(j) + "]" : path));
        }
      } else {
        BEL_RETURN_IF_ERROR(check_singular(message, f, field_path));
      }
    }
    return ok_status();
  }

 private:
  bool with_paths_;

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
      BEL_RETURN_IF_ERROR(check_enum(path, "dep_type_code", "dep_type_name",
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
      BEL_RETURN_IF_ERROR(check_length(path + " key", key));
      BEL_RETURN_IF_ERROR(
          check_singular(*entry, value_field, with_paths_ ? path + "[" + quote(key) + "]" : path));
    }
    return ok_status();
  }
};

// The walk above, without reflection, for the events that pass (every event a producer sends,
// almost): true when FieldWalker would find nothing wrong. It must never accept what the walk
// rejects (a false only costs the walk with paths, which has the last word). StructureFastTest's
// FieldsOfTheWalkAreTheFastChecksFields fails when bel.proto gains a field that this does not
// visit; the property test and the events fuzzer compare the two on mutated events.
namespace fast {

bool length_ok(const std::string& s) {
  return s.size() <= kMaxStringBytes && utf8_error_at(s) == std::string_view::npos;
}

bool no_control(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (control_at(s, i) > 0) return false;
  }
  return true;
}

bool ref_ok(const PartitionRef& ref) {
  const std::string& s = ref.str();
  return !s.empty() && length_ok(s) && no_control(s);
}

template <class Refs>
bool refs_ok(const Refs& refs) {
  for (const auto& ref : refs) {
    if (!ref_ok(ref)) return false;
  }
  return true;
}

bool label_ok(const JobLabel& label) {
  return length_ok(label.label()) && no_control(label.label());
}

template <class Strings>
bool strings_ok(const Strings& strings) {
  for (const auto& s : strings) {
    if (!length_ok(s)) return false;
  }
  return true;
}

template <class Map>
bool map_ok(const Map& map) {
  for (const auto& [key, value] : map) {
    if (!length_ok(key) || !length_ok(value)) return false;
  }
  return true;
}

bool dep_ok(const DataDep& dep) {
  if (!v1::DepType_IsValid(dep.dep_type_code())) return false;
  const std::string& name = dep.dep_type_name();
  if (!name.empty() && name != v1::DepType_Name(static_cast<v1::DepType>(dep.dep_type_code()))) {
    return false;
  }
  return length_ok(name) && ref_ok(dep.partition_ref());
}

bool config_ok(const v1::JobConfig& config) {
  if (!refs_ok(config.outputs())) return false;
  for (const auto& dep : config.inputs()) {
    if (!dep_ok(dep)) return false;
  }
  return strings_ok(config.args()) && map_ok(config.env());
}

bool manifest_ok(const v1::PartitionManifest& manifest) {
  return refs_ok(manifest.outputs()) && map_ok(manifest.metadata());
}

bool graph_ok(const v1::JobGraph& graph) {
  if (!length_ok(graph.label()) || !refs_ok(graph.outputs())) return false;
  for (const auto& task : graph.nodes()) {
    if (task.has_job() && !label_ok(task.job())) return false;
    if (task.has_config() && !config_ok(task.config())) return false;
  }
  return true;
}

bool job_event_ok(const v1::JobEvent& e) {
  if (!length_ok(e.job_run_id()) || (e.has_job_label() && !label_ok(e.job_label())) ||
      !refs_ok(e.target_partitions()) || !v1::JobStatus_IsValid(e.status_code()) ||
      !length_ok(e.status_name()) || !length_ok(e.message())) {
    return false;
  }
  if (e.has_config() && !config_ok(e.config())) return false;
  for (const auto& manifest : e.manifests()) {
    if (!manifest_ok(manifest)) return false;
  }
  return true;
}

bool fields_ok(const BuildEvent& event) {
  if (!length_ok(event.event_id()) || !length_ok(event.build_request_id())) return false;
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      const auto& e = event.build_request_event();
      return v1::BuildRequestStatus_IsValid(e.status_code()) && length_ok(e.status_name()) &&
             refs_ok(e.requested_partitions()) && length_ok(e.message());
    }
    case BuildEvent::kPartitionEvent: {
      const auto& e = event.partition_event();
      return ref_ok(e.partition_ref()) && v1::PartitionStatus_IsValid(e.status_code()) &&
             length_ok(e.status_name()) && length_ok(e.message()) && length_ok(e.job_run_id());
    }
    case BuildEvent::kJobEvent:
      return job_event_ok(event.job_event());
    case BuildEvent::kDelegationEvent: {
      const auto& e = event.delegation_event();
      return ref_ok(e.partition_ref()) && length_ok(e.delegated_to_build_request_id()) &&
             length_ok(e.message());
    }
    case BuildEvent::kJobGraphEvent: {
      const auto& e = event.job_graph_event();
      return (!e.has_job_graph() || graph_ok(e.job_graph())) && length_ok(e.message());
    }
    case BuildEvent::kPartitionInvalidationEvent: {
      const auto& e = event.partition_invalidation_event();
      return ref_ok(e.partition_ref()) && length_ok(e.reason());
    }
    case BuildEvent::kJobRunCancelEvent: {
      const auto& e = event.job_run_cancel_event();
      return length_ok(e.job_run_id()) && length_ok(e.reason());
    }
    case BuildEvent::kBuildCancelEvent:
      return length_ok(event.build_cancel_event().reason());
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
  return true;
}

}  // namespace fast

// A field of BuildEvent sent with a wire type its type does not take is kept by protobuf's parser
// as an unknown field of the same number. Such an event is malformed: refused, naming the field.
// Kept, it would lose the value (fields 1-4 live in the row's columns, not its payload), and a
// retry of the same bytes would then differ from what the log stored. Unknown numbers are kept:
// they are fields of a newer schema.
Status check_known_numbers(const BuildEvent& event) {
  const pb::UnknownFieldSet& unknown = BuildEvent::GetReflection()->GetUnknownFields(event);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const pb::UnknownField& field = unknown.field(i);
    const pb::FieldDescriptor* known = BuildEvent::descriptor()->FindFieldByNumber(field.number());
    if (known == nullptr) continue;
    // In UnknownField::Type's order.
    static constexpr const char* kWireTypes[] = {"varint", "32-bit", "64-bit", "length-delimited",
                                                 "group"};
    const auto type = static_cast<size_t>(field.type());
    return invalid_event(
        fmt::format("{} (field {}) has wire type {}, which its type {} does not use", known->name(),
                    field.number(), type < std::size(kWireTypes) ? kWireTypes[type] : "unknown",
                    known->type_name()));
  }
  return ok_status();
}

}  // namespace

namespace detail {

bool fields_pass_fast(const BuildEvent& event) { return fast::fields_ok(event); }

Status walk_fields(const BuildEvent& event, bool with_paths) {
  return FieldWalker(with_paths).walk(event, "");
}

}  // namespace detail

Status check_structure(const BuildEvent& event, std::optional<size_t> encoded_bytes) {
  if (event.build_request_id().empty()) return invalid_event("build_request_id is empty");
  BEL_RETURN_IF_ERROR(check_no_control("build_request_id", event.build_request_id()));
  if (event.event_type_case() == BuildEvent::EVENT_TYPE_NOT_SET) {
    return invalid_event(fmt::format("no event type is set (expected one of {})",
                                     fmt::join(event_type_names(), ", ")));
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
  BEL_RETURN_IF_ERROR(check_known_numbers(event));
  // Before the walk: an oversized event is rejected without visiting all of it.
  const size_t bytes = encoded_bytes ? *encoded_bytes : event.ByteSizeLong();
  if (bytes > kMaxEventBytes) {
    return invalid_event("event is " + std::to_string(bytes) + " bytes (max " +
                         std::to_string(kMaxEventBytes) + ")");
  }
  BEL_RETURN_IF_ERROR(check_type_fields(event));
  if (fast::fields_ok(event)) return ok_status();
  return FieldWalker(/*with_paths=*/true).walk(event, "");
}

}  // namespace bel::write
