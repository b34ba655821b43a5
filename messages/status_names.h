// Status names: the enum value names of SPEC section 1 and the short forms the console accepts.
//
//   bel::status_name(bel::v1::PARTITION_AVAILABLE)   -> "PARTITION_AVAILABLE"
//   bel::short_status_name("BUILD_REQUEST_ANALYSIS_COMPLETED") -> "analysis_completed"
//   auto s = bel::parse_partition_status("building");  // PARTITION_BUILDING
#ifndef BEL_MESSAGES_STATUS_NAMES_H_
#define BEL_MESSAGES_STATUS_NAMES_H_

#include <string>
#include <string_view>

#include "messages/error.h"
#include "messages/types.h"

namespace bel {

// The enum value name, or "" for a value outside the enum.
const std::string& status_name(PartitionStatus status);
const std::string& status_name(JobStatus status);
const std::string& status_name(BuildRequestStatus status);

// The lower-case name without its enum prefix: "PARTITION_AVAILABLE" -> "available".
std::string short_status_name(std::string_view name);

// The status named by its enum name or its short form, any case, '-' accepted for '_'.
// invalid_argument, listing the accepted short forms, otherwise.
Result<PartitionStatus> parse_partition_status(std::string_view text);
Result<JobStatus> parse_job_status(std::string_view text);
Result<BuildRequestStatus> parse_build_request_status(std::string_view text);

// Fills every empty status_name (and DataDep dep_type_name) of `event` from its code.
void fill_status_names(BuildEvent& event);


// COMPLETED, FAILED or CANCELLED.
bool is_terminal_build_status(BuildRequestStatus status);
// COMPLETED, FAILED, CANCELLED or SKIPPED.
bool is_terminal_job_status(JobStatus status);
// REQUESTED, SCHEDULED or BUILDING: the statuses that make a request "active" for a partition.
bool is_in_progress_partition_status(PartitionStatus status);

// The name of `status` for a response; an out-of-range value (only in a corrupt or hand-made
// event) gets its number, so it never collides with a real name.
std::string response_status_name(PartitionStatus status);
std::string response_status_name(JobStatus status);
std::string response_status_name(BuildRequestStatus status);

}  // namespace bel

#endif  // BEL_MESSAGES_STATUS_NAMES_H_
