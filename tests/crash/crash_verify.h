// The crash harness's verdict on a log (SPEC section 9, R1): every acknowledged event present
// exactly once at the idx it was acknowledged with, idx contiguous, nothing moved or duplicated.
//
//   std::vector<AckRecord> acks = ...;          // parsed from the clients' records
//   auto report = verify_log(*log, acks);       // log: a read-only Storage on the file
//   if (!report.ok()) for (auto& p : report.problems) print(p);
#ifndef BEL_TESTS_CRASH_CRASH_VERIFY_H_
#define BEL_TESTS_CRASH_CRASH_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace bel::crash {

// One line of a client's record stream (crash_client.h).
struct AckRecord {
  bool acked = false;  // "A": acknowledged; "U": fate unknown (failed, log-assigned id)
  int client = 0;
  int64_t unit = 0;
  int64_t idx = 0;
  std::string event_id;
  std::string build_request_id;
  bool duplicate = false;
};

// nullopt for a malformed line.
std::optional<AckRecord> parse_ack_record(const std::string& line);

struct VerifyReport {
  int64_t log_events = 0;          // events in the log
  int64_t acked_events = 0;        // distinct acknowledged event_ids
  int64_t ack_records = 0;         // acknowledgements, retries included
  int64_t duplicate_acks = 0;      // acknowledgements of a retry (duplicate = true)
  int64_t uncertain = 0;           // failed appends without their own id
  int64_t uncertain_present = 0;   // ... of which the log holds the event (committed, unacked)
  int64_t lost = 0;                // acknowledged, not in the log
  int64_t moved = 0;               // in the log at another idx, or with other content
  int64_t duplicated = 0;          // an event_id or a build request's RECEIVED stored twice
  int64_t idx_problems = 0;        // gaps, repeats or disorder in the scan
  int64_t split_batches = 0;       // a batch whose acks are not consecutive idxs
  std::vector<std::string> problems;  // the first few, for the report
  bool ok() const {
    return lost == 0 && moved == 0 && duplicated == 0 && idx_problems == 0 && split_batches == 0;
  }
};

// Scans `log` whole and checks it against `records`. An error only when the scan fails.
Result<VerifyReport> verify_log(storage::Storage& log, const std::vector<AckRecord>& records);

}  // namespace bel::crash

#endif  // BEL_TESTS_CRASH_CRASH_VERIFY_H_
