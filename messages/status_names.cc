#include "messages/status_names.h"

#include <algorithm>
#include <cctype>

#include <google/protobuf/descriptor.h>

namespace bel {
namespace {

const std::string kEmpty;

const std::string& name_of(const google::protobuf::EnumDescriptor* d, int value) {
  const auto* v = d->FindValueByNumber(value);
  return v == nullptr ? kEmpty : v->name();
}

// Parses against every value of `d` but the UNKNOWN one at 0.
Result<int> parse_enum(const google::protobuf::EnumDescriptor* d, std::string_view prefix,
                       std::string_view what, std::string_view text) {
  std::string norm;
  for (char c : text) norm += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  std::string accepted;
  for (int i = 0; i < d->value_count(); ++i) {
    const auto* v = d->value(i);
    if (v->number() == 0) continue;
    std::string short_upper = v->name().substr(prefix.size());
    if (norm == v->name() || norm == short_upper) return v->number();
    accepted += (accepted.empty() ? "" : ", ") + short_status_name(v->name());
  }
  return make_error(ErrorCode::invalid_argument, "unknown " + std::string(what) + " status \"" +
                                                     std::string(text) +
                                                     "\" (accepted: " + accepted + ")");
}

}  // namespace

const std::string& status_name(PartitionStatus status) {
  return name_of(v1::PartitionStatus_descriptor(), status);
}
const std::string& status_name(JobStatus status) {
  return name_of(v1::JobStatus_descriptor(), status);
}
const std::string& status_name(BuildRequestStatus status) {
  return name_of(v1::BuildRequestStatus_descriptor(), status);
}

std::string short_status_name(std::string_view name) {
  for (std::string_view prefix : {"BUILD_REQUEST_", "PARTITION_", "JOB_"}) {
    if (name.substr(0, prefix.size()) == prefix) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<PartitionStatus> parse_partition_status(std::string_view text) {
  auto v = parse_enum(v1::PartitionStatus_descriptor(), "PARTITION_", "partition", text);
  if (!v.ok()) return v.error();
  return static_cast<PartitionStatus>(*v);
}

Result<JobStatus> parse_job_status(std::string_view text) {
  auto v = parse_enum(v1::JobStatus_descriptor(), "JOB_", "job", text);
  if (!v.ok()) return v.error();
  return static_cast<JobStatus>(*v);
}

Result<BuildRequestStatus> parse_build_request_status(std::string_view text) {
  auto v = parse_enum(v1::BuildRequestStatus_descriptor(), "BUILD_REQUEST_", "build request", text);
  if (!v.ok()) return v.error();
  return static_cast<BuildRequestStatus>(*v);
}

void fill_status_names(BuildEvent& event) {
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      auto* e = event.mutable_build_request_event();
      if (e->status_name().empty()) e->set_status_name(status_name(e->status_code()));
      break;
    }
    case BuildEvent::kPartitionEvent: {
      auto* e = event.mutable_partition_event();
      if (e->status_name().empty()) e->set_status_name(status_name(e->status_code()));
      break;
    }
    case BuildEvent::kJobEvent: {
      auto* e = event.mutable_job_event();
      if (e->status_name().empty()) e->set_status_name(status_name(e->status_code()));
      if (!e->has_config()) break;  // do not create an empty config
      for (auto& dep : *e->mutable_config()->mutable_inputs()) {
        if (dep.dep_type_name().empty()) {
          dep.set_dep_type_name(name_of(v1::DepType_descriptor(), dep.dep_type_code()));
        }
      }
      break;
    }
    case BuildEvent::kJobGraphEvent:
      if (!event.job_graph_event().has_job_graph()) break;
      for (auto& task : *event.mutable_job_graph_event()->mutable_job_graph()->mutable_nodes()) {
        if (!task.has_config()) continue;
        for (auto& dep : *task.mutable_config()->mutable_inputs()) {
          if (dep.dep_type_name().empty()) {
            dep.set_dep_type_name(name_of(v1::DepType_descriptor(), dep.dep_type_code()));
          }
        }
      }
      break;
    default:
      break;
  }
}

bool is_terminal_build_status(BuildRequestStatus status) {
  return status == v1::BUILD_REQUEST_COMPLETED || status == v1::BUILD_REQUEST_FAILED ||
         status == v1::BUILD_REQUEST_CANCELLED;
}

bool is_terminal_job_status(JobStatus status) {
  return status == v1::JOB_COMPLETED || status == v1::JOB_FAILED ||
         status == v1::JOB_CANCELLED || status == v1::JOB_SKIPPED;
}

bool is_in_progress_partition_status(PartitionStatus status) {
  return status == v1::PARTITION_REQUESTED || status == v1::PARTITION_SCHEDULED ||
         status == v1::PARTITION_BUILDING;
}

namespace {

template <class Enum>
std::string name_or_number(Enum status) {
  const std::string& name = status_name(status);
  return name.empty() ? std::to_string(static_cast<int>(status)) : name;
}

}  // namespace

std::string response_status_name(PartitionStatus status) { return name_or_number(status); }
std::string response_status_name(JobStatus status) { return name_or_number(status); }
std::string response_status_name(BuildRequestStatus status) { return name_or_number(status); }

}  // namespace bel
