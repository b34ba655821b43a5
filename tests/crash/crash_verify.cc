#include "tests/crash/crash_verify.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace bel::crash {
namespace {

struct Stored {
  int64_t idx = 0;
  std::string build_request_id;
};

void note(VerifyReport& report, const std::string& problem) {
  if (report.problems.size() < 20) report.problems.push_back(problem);
}

}  // namespace

std::optional<AckRecord> parse_ack_record(const std::string& line) {
  std::istringstream in(line);
  std::string kind;
  AckRecord r;
  if (!(in >> kind >> r.client >> r.unit)) return std::nullopt;
  if (kind == "U") {
    if (!(in >> r.build_request_id)) return std::nullopt;
    return r;
  }
  int duplicate = 0;
  if (kind != "A" || !(in >> r.idx >> r.event_id >> r.build_request_id >> duplicate)) {
    return std::nullopt;
  }
  r.acked = true;
  r.duplicate = duplicate != 0;
  return r;
}

Result<VerifyReport> verify_log(storage::Storage& log, const std::vector<AckRecord>& records) {
  VerifyReport report;
  std::unordered_map<std::string, Stored> by_id;
  std::unordered_map<std::string, int> received;  // build request -> RECEIVED events stored
  int64_t since = 0;
  for (;;) {
    auto page = log.list_events(since, {}, storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (const auto& e : page->events()) {
      ++report.log_events;
      if (e.idx() != since + 1) {
        ++report.idx_problems;
        note(report, "scan: idx " + std::to_string(e.idx()) + " follows " + std::to_string(since));
      }
      since = e.idx();
      auto [it, fresh] = by_id.emplace(e.event_id(), Stored{e.idx(), e.build_request_id()});
      if (!fresh) {
        ++report.duplicated;
        note(report, "event_id " + e.event_id() + " stored at idx " + std::to_string(it->second.idx) +
                         " and " + std::to_string(e.idx()));
      }
      if (e.has_build_request_event() &&
          e.build_request_event().status_code() == v1::BUILD_REQUEST_RECEIVED &&
          ++received[e.build_request_id()] == 2) {
        ++report.duplicated;
        note(report, "build request " + e.build_request_id() + " RECEIVED twice");
      }
    }
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  auto last = log.last_idx();
  if (!last.ok()) return last.error();
  if (*last != report.log_events) {
    ++report.idx_problems;
    note(report, "last_idx " + std::to_string(*last) + " but the scan found " +
                     std::to_string(report.log_events) + " events");
  }

  std::unordered_map<std::string, int64_t> acked_idx;
  std::map<std::pair<int, int64_t>, std::set<int64_t>> batches;  // (client, unit) -> idxs
  std::set<std::string> uncertain_builds;
  for (const auto& r : records) {
    if (!r.acked) {
      ++report.uncertain;
      if (received.count(r.build_request_id)) ++report.uncertain_present;
      continue;
    }
    ++report.ack_records;
    if (r.duplicate) ++report.duplicate_acks;
    batches[{r.client, r.unit}].insert(r.idx);
    auto [seen, fresh] = acked_idx.emplace(r.event_id, r.idx);
    if (!fresh && seen->second != r.idx) {
      ++report.moved;
      note(report, "event_id " + r.event_id + " acked at idx " + std::to_string(seen->second) +
                       " and later at " + std::to_string(r.idx));
    }
    if (!fresh) continue;
    auto stored = by_id.find(r.event_id);
    if (stored == by_id.end()) {
      ++report.lost;
      note(report, "acked event " + r.event_id + " (idx " + std::to_string(r.idx) +
                       ") is not in the log");
    } else if (stored->second.idx != r.idx || stored->second.build_request_id != r.build_request_id) {
      ++report.moved;
      note(report, "acked event " + r.event_id + " at idx " + std::to_string(r.idx) + " (" +
                       r.build_request_id + ") is stored at idx " +
                       std::to_string(stored->second.idx) + " (" +
                       stored->second.build_request_id + ")");
    }
  }
  report.acked_events = static_cast<int64_t>(acked_idx.size());
  for (const auto& [unit, idxs] : batches) {
    if (*idxs.rbegin() - *idxs.begin() + 1 != static_cast<int64_t>(idxs.size())) {
      ++report.split_batches;
      note(report, "client " + std::to_string(unit.first) + " unit " +
                       std::to_string(unit.second) + ": acked idxs are not consecutive");
    }
  }
  return report;
}

}  // namespace bel::crash
