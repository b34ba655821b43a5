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

}  // namespace bel

#endif  // BEL_MESSAGES_STATUS_NAMES_H_
