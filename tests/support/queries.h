// Concise builders of SPEC section 4 queries for tests, one per question.
//
//   Query q = bel::testing::partitions_list_query(5, 0, {bel::v1::PARTITION_AVAILABLE}, "data/*");
//   q.set_min_idx(42);
//   auto answer = client.query(q);
#ifndef BEL_TESTS_SUPPORT_QUERIES_H_
#define BEL_TESTS_SUPPORT_QUERIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.h"

namespace bel::testing {

// The per-item questions; min_idx is the query's.
Query partition_status_query(const std::string& ref, int64_t min_idx = 0);
Query active_builds_query(const std::string& ref, int64_t min_idx = 0);
Query build_summary_query(const std::string& id, int64_t min_idx = 0);
Query job_run_query(const std::string& id, int64_t min_idx = 0);
Query job_metrics_query(const std::string& label);

// The lists, with no min_idx (set the query's or the request's as the test needs).
Query partitions_list_query(int limit, int offset, std::vector<PartitionStatus> filter,
                            std::string pattern = "");
Query builds_list_query(int limit, int offset, std::vector<BuildRequestStatus> filter);
Query job_runs_list_query(int limit, int offset, std::vector<JobStatus> filter,
                          std::string label = "");

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_QUERIES_H_
