// bel::actors::JobsRepository: job metrics per job label (SPEC section 4), for `bel jobs list`
// and `bel jobs show LABEL`, over an ApiClient.
//
//   bel::actors::ApiClient client(system, api);
//   bel::actors::JobsRepository jobs(client);
//   auto m = jobs.metrics("//jobs:ingest");
//   if (!m.ok()) return m.error();              // not_found for a label never run
//   print(m->total_runs(), m->success_rate());
//
// Every read takes an optional `min_idx` (read-your-writes): the answer reflects at least that
// idx; pass the idx of an ack to see your own write. 0 asks for no particular idx. Bad arguments
// fail with invalid_argument naming the field ("job_label is empty", "min_idx -1 is negative");
// other errors are the ApiClient's.
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_JOBS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_JOBS_REPOSITORY_H_

#include <cstdint>
#include <string>

#include "actors/client/api_client.h"
#include "actors/client/repository.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

class JobsRepository : public Repository {
 public:
  using Repository::Repository;

  // The metrics of every job label seen. An empty log is not an error: no jobs.
  Result<JobMetricsList> list(int64_t min_idx = 0) const;

  // The metrics of job label `job_label`. not_found for a label the log (as of the answer) has
  // never seen.
  Result<JobMetrics> metrics(const std::string& job_label, int64_t min_idx = 0) const;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_JOBS_REPOSITORY_H_
