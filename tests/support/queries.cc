#include "tests/support/queries.h"

#include <utility>

namespace bel::testing {

Query partition_status_query(const std::string& ref, int64_t min_idx) {
  Query q;
  q.set_min_idx(min_idx);
  q.mutable_partition_status()->set_partition_ref(ref);
  return q;
}

Query active_builds_query(const std::string& ref, int64_t min_idx) {
  Query q;
  q.set_min_idx(min_idx);
  q.mutable_active_builds()->set_partition_ref(ref);
  return q;
}

Query build_summary_query(const std::string& id, int64_t min_idx) {
  Query q;
  q.set_min_idx(min_idx);
  q.mutable_build_summary()->set_build_request_id(id);
  return q;
}

Query job_run_query(const std::string& id, int64_t min_idx) {
  Query q;
  q.set_min_idx(min_idx);
  q.mutable_job_run()->set_job_run_id(id);
  return q;
}

Query job_metrics_query(const std::string& label) {
  Query q;
  q.mutable_job_metrics()->set_job_label(label);
  return q;
}

Query partitions_list_query(int limit, int offset, std::vector<PartitionStatus> filter,
                            std::string pattern) {
  Query q;
  auto* r = q.mutable_partitions_list();
  r->set_limit(limit);
  r->set_offset(offset);
  for (auto s : filter) r->add_status_filter(s);
  r->set_pattern(std::move(pattern));
  return q;
}

Query builds_list_query(int limit, int offset, std::vector<BuildRequestStatus> filter) {
  Query q;
  auto* r = q.mutable_builds_list();
  r->set_limit(limit);
  r->set_offset(offset);
  for (auto s : filter) r->add_status_filter(s);
  return q;
}

Query job_runs_list_query(int limit, int offset, std::vector<JobStatus> filter, std::string label) {
  Query q;
  auto* r = q.mutable_job_runs_list();
  r->set_limit(limit);
  r->set_offset(offset);
  for (auto s : filter) r->add_status_filter(s);
  r->set_job_label(std::move(label));
  return q;
}

}  // namespace bel::testing
