// An out-of-tree coordinator that embeds bel (docs/embedding.md): it starts bel's coordinator on
// the log named on the command line, records one build request from a build worker's thread
// through ApiClient, reads it back through the repositories, prints what it finds and stops.
//
//   embedded_coordinator sqlite:///tmp/builds.db     # or memory:// (a log in this process only)
//
// The build request id is fixed, so a second run on the same SQLite log is refused: the log
// already holds br-example, and BUILD_REQUEST_RECEIVED cannot follow BUILD_REQUEST_COMPLETED.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <csignal>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "actors/client/api_client.h"
#include "actors/client/builds_repository.h"
#include "actors/client/partitions_repository.h"
#include "actors/coordinator.h"

namespace {

const std::string kBuild = "br-example";
const std::string kPartition = "sales/daily/2026-11-28";
const std::string kJobRun = "jr-example-1";

bel::BuildEvent build_status(bel::BuildRequestStatus status) {
  bel::BuildEvent e;
  e.set_build_request_id(kBuild);
  e.mutable_build_request_event()->set_status_code(status);
  if (status == bel::v1::BUILD_REQUEST_RECEIVED) {
    e.mutable_build_request_event()->add_requested_partitions()->set_str(kPartition);
  }
  return e;
}

bel::BuildEvent job_status(bel::JobStatus status) {
  bel::BuildEvent e;
  e.set_build_request_id(kBuild);
  auto* job = e.mutable_job_event();
  job->set_job_run_id(kJobRun);
  job->mutable_job_label()->set_label("//sales:daily");
  job->add_target_partitions()->set_str(kPartition);
  job->set_status_code(status);
  return e;
}

bel::BuildEvent partition_status(bel::PartitionStatus status) {
  bel::BuildEvent e;
  e.set_build_request_id(kBuild);
  e.mutable_partition_event()->mutable_partition_ref()->set_str(kPartition);
  e.mutable_partition_event()->set_status_code(status);
  e.mutable_partition_event()->set_job_run_id(kJobRun);
  return e;
}

// What a build worker does: append each event as it happens. Each append returns after its
// COMMIT; the result is the idx of the last one (or the first error, which names the event).
bel::Result<int64_t> run_build(const bel::actors::ApiClient& client) {
  const std::vector<bel::BuildEvent> events = {
      build_status(bel::v1::BUILD_REQUEST_RECEIVED),
      job_status(bel::v1::JOB_SCHEDULED),
      partition_status(bel::v1::PARTITION_BUILDING),
      job_status(bel::v1::JOB_COMPLETED),
      partition_status(bel::v1::PARTITION_AVAILABLE),
      build_status(bel::v1::BUILD_REQUEST_COMPLETED),
  };
  int64_t last_idx = 0;
  for (const auto& event : events) {
    auto ack = client.append(event);
    if (!ack.ok()) return ack.error();
    last_idx = ack->idx();
  }
  return last_idx;
}

int fail(const bel::Error& error) {
  std::cerr << "embedded_coordinator: " << error.to_string() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embedded_coordinator LOG_URI   (sqlite://FILE or memory://)\n";
    return 2;
  }
  // A file-size limit (ulimit -f) then fails a write with an error instead of killing the process
  // in the middle of a commit (docs/embedding.md, "Signals are the embedder's too").
  std::signal(SIGXFSZ, SIG_IGN);
  // bel's actors log through spdlog's default logger (stdout unless told): keep stdout for output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("coordinator"));
  caf::actor_system_config config;
  bel::actors::configure_actor_system(config);
  caf::actor_system system{config};
  auto api = bel::actors::start_coordinator(system, argv[1]);
  if (!api.ok()) return fail(api.error());
  bel::actors::ApiClient client(system, *api);  // thread-safe; blocks only its caller

  // A build worker on a plain thread of its own.
  auto worker = std::async(std::launch::async, [&client] { return run_build(client); });
  auto last_idx = worker.get();

  int status = 0;
  if (!last_idx.ok()) {
    status = fail(last_idx.error());
  } else {
    // min_idx = the last ack: the answers reflect every event the worker appended.
    bel::actors::BuildsRepository builds(client);
    bel::actors::PartitionsRepository partitions(client);
    auto summary = builds.show(kBuild, *last_idx);
    auto partition = partitions.status(kPartition, *last_idx);
    if (!summary.ok()) {
      status = fail(summary.error());
    } else if (!partition.ok()) {
      status = fail(partition.error());
    } else {
      std::cout << "build " << summary->build_request_id() << ": "
                << bel::v1::BuildRequestStatus_Name(summary->status_code()) << ", "
                << summary->event_count() << " events\n"
                << "partition " << partition->partition_ref() << ": "
                << bel::v1::PartitionStatus_Name(partition->status_code()) << " (job run "
                << partition->job_run_id() << ", as of idx " << partition->as_of_idx() << ")\n";
    }
  }
  // Stops the views and queries, then the storage actor, which commits what is pending.
  bel::actors::stop_coordinator(*api);
  system.await_all_actors_done();
  return status;
}
