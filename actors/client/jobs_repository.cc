#include "actors/client/jobs_repository.h"

namespace bel::actors {

// ApiClient::query checks job_label and min_idx before asking.

Result<JobMetricsList> JobsRepository::list(int64_t min_idx) const {
  return api_.ask_for(&Query::mutable_job_metrics_list, JobMetricsListRequest(), min_idx,
                      &QueryResult::mutable_job_metrics_list);
}

Result<JobMetrics> JobsRepository::metrics(const std::string& job_label, int64_t min_idx) const {
  return api_.ask_about(job_label, &Query::mutable_job_metrics,
                        &JobMetricsRequest::mutable_job_label, min_idx,
                        &QueryResult::mutable_job_metrics);
}

}  // namespace bel::actors
