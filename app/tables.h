// Tables for people (SPEC section 6): one printer per query answer of SPEC section 4, with
// aligned columns, short statuses and times in UTC ISO 8601. JSON output does not come through
// here: it is the answer message itself (messages/json.h).
//
//   bel::app::print_builds_table(response, stdout);
#ifndef BEL_APP_TABLES_H_
#define BEL_APP_TABLES_H_

#include <cstdio>
#include <string>
#include <vector>

#include "messages/types.h"

namespace bel::app {

// The short form of a status name ("PARTITION_AVAILABLE" -> "available"); "-" for "".
std::string short_status(const std::string& status_name);

void print_partitions_table(const PartitionsListResponse& list, std::FILE* out);
void print_partition_detail(const PartitionStatusResponse& status,
                            const std::vector<std::string>& active_builds,
                            const std::vector<BuildEvent>& recent_events, std::FILE* out);
void print_builds_table(const BuildsListResponse& list, std::FILE* out);
void print_build_summary(const BuildRequestSummary& summary, std::FILE* out);
void print_job_metrics_table(const JobMetricsList& jobs, std::FILE* out);
void print_job_metrics(const JobMetrics& metrics, std::FILE* out);
void print_job_runs_table(const JobRunsListResponse& list, std::FILE* out);
void print_job_run(const JobRunSummary& run, std::FILE* out);
void print_activity(const ActivityResponse& activity, std::FILE* out);
void print_views_status(const ViewsStatus& views, std::FILE* out);

}  // namespace bel::app

#endif  // BEL_APP_TABLES_H_
