#include "actors/client/jobs_repository.h"

#include <utility>

namespace bel::actors {

// ApiClient::query checks job_label and min_idx before asking.

Result<JobMetricsList> JobsRepository::list(int64_t min_idx) const {
  Query query;
  query.mutable_job_metrics_list();
  return api_.ask_for(std::move(query), min_idx, &QueryResult::mutable_job_metrics_list);
}

Result<JobMetrics> JobsRepository::metrics(const std::string& job_label, int64_t min_idx) const {
  Query query;
  query.mutable_job_metrics()->set_job_label(job_label);
  return api_.ask_for(std::move(query), min_idx, &QueryResult::mutable_job_metrics);
}

}  // namespace bel::actors
