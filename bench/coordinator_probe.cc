#include "bench/coordinator_probe.h"

#include <fmt/format.h>

#include <caf/all.hpp>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "bench/machine.h"

namespace bel::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kViewsWait{600};

bool views_ready(const ViewsStatus& status) {
  for (const auto& v : status.views()) {
    if (v.state() != v1::VIEW_HEALTHY || v.applied_idx() < status.last_idx()) return false;
  }
  return true;
}

Result<ProbeResult> probe(caf::actor_system& system, const actors::BelApi& api,
                          Clock::time_point start) {
  actors::ApiClient client(system, api, std::chrono::seconds(600));
  ProbeResult out;
  auto status = client.views_status();
  if (!status.ok()) return status.error();
  out.last_idx = status->last_idx();
  Query query;
  query.set_min_idx(out.last_idx);
  query.mutable_activity();
  auto answer = client.query(query);
  if (!answer.ok()) return answer.error();
  out.first_answer_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  while (true) {
    status = client.views_status();
    if (!status.ok()) return status.error();
    if (views_ready(*status)) break;
    if (Clock::now() - start > kViewsWait) {
      return make_error(ErrorCode::timeout, "the views did not catch up within 600 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  out.views_ready_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.rss_bytes = proc_status_bytes("self", "VmRSS");
  out.peak_rss_bytes = proc_status_bytes("self", "VmHWM");
  return out;
}

}  // namespace

Result<ProbeResult> probe_coordinator(const std::string& uri) {
  const auto start = Clock::now();
  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};
  auto api = actors::start_coordinator(system, uri);
  if (!api.ok()) return api.error();
  auto out = probe(system, *api, start);
  actors::stop_coordinator(*api);
  system.await_all_actors_done();
  if (!out.ok()) return out.error().with_context(uri);
  return out;
}

std::string probe_text(const ProbeResult& p) {
  return fmt::format(
      "first_answer_seconds {:.6f}\nviews_ready_seconds {:.6f}\nrss_bytes {}\npeak_rss_bytes {}\n"
      "last_idx {}\n",
      p.first_answer_seconds, p.views_ready_seconds, p.rss_bytes, p.peak_rss_bytes, p.last_idx);
}

Result<ProbeResult> parse_probe(const std::string& text) {
  std::map<std::string, double> fields;
  std::istringstream in(text);
  std::string key;
  double value = 0;
  while (in >> key >> value) fields[key] = value;
  for (const char* k :
       {"first_answer_seconds", "views_ready_seconds", "rss_bytes", "peak_rss_bytes", "last_idx"}) {
    if (fields.count(k) == 0) {
      return make_error(ErrorCode::invalid_argument,
                        std::string("coordinator probe: no ") + k + " in \"" + text + "\"");
    }
  }
  ProbeResult p;
  p.first_answer_seconds = fields["first_answer_seconds"];
  p.views_ready_seconds = fields["views_ready_seconds"];
  p.rss_bytes = static_cast<int64_t>(fields["rss_bytes"]);
  p.peak_rss_bytes = static_cast<int64_t>(fields["peak_rss_bytes"]);
  p.last_idx = static_cast<int64_t>(fields["last_idx"]);
  return p;
}

}  // namespace bel::bench
