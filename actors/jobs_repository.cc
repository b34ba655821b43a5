#include "actors/jobs_repository.h"

#include <utility>

namespace bel::actors {

// ApiClient::query checks job_label and min_idx before asking.

Result<JobMetricsList> JobsRepository::list(int64_t min_idx) const {
  Query query;
  query.set_min_idx(min_idx);
  query.mutable_job_metrics_list();
  auto result = api_.query(query);
  if (!result.ok()) return result.error();
  return std::move(*result->mutable_job_metrics_list());
}

Result<JobMetrics> JobsRepository::metrics(const std::string& job_label, int64_t min_idx) const {
  Query query;
  query.set_min_idx(min_idx);
  query.mutable_job_metrics()->set_job_label(job_label);
  auto result = api_.query(query);
  if (!result.ok()) return result.error();
  return std::move(*result->mutable_job_metrics());
}

}  // namespace bel::actors
