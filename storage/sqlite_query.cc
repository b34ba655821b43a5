#include "storage/sqlite_query.h"

#include <algorithm>
#include <cmath>

#include "messages/glob.h"
#include "storage/sqlite_support.h"

namespace bel::storage {
namespace {

using Strings = google::protobuf::RepeatedPtrField<std::string>;

// Patterns with a literal prefix get an arm of their own (an index range); past this many, the
// rest join the arm that checks every key of the kind. SQLite allows 500 arms per compound.
constexpr size_t kMaxPrefixArms = 100;

// Appends "?, ?, ?" for n parameters.
void placeholders(std::string& sql, int n) {
  sql += with_repeated("", "?", static_cast<size_t>(n));
}

// The exact values and patterns of the filter's criterion of `kind`.
void criterion_of(const EventFilter& filter, KeyKind kind, const Strings** values,
                  const Strings** patterns) {
  *patterns = nullptr;
  switch (kind) {
    case KeyKind::partition:
      *values = &filter.partition_refs();
      *patterns = &filter.partition_patterns();
      break;
    case KeyKind::job_label:
      *values = &filter.job_labels();
      break;
    case KeyKind::job_run_id:
      *values = &filter.job_run_ids();
      break;
    case KeyKind::build_request:
      *values = &filter.build_request_ids();
      break;
  }
}

// The idx of one kind's postings within a range: the rows that may hold idx in it (a row holds
// the idx first_idx..last_idx of one batch), each expanded by json_each and the idx checked.
// Followed by " AND <condition on p.key>"; its parameters: add_postings_params.
constexpr const char* kPostingsOfKind =
    "key_postings AS p, json_each(p.idxs) AS j WHERE p.kind = ? AND p.last_idx > ?"
    " AND p.first_idx <= ? AND j.value > ? AND j.value <= ?";

void add_postings_params(SqlQuery& q, KeyKind kind, IdxRange range) {
  q.params.emplace_back(static_cast<int64_t>(kind));
  q.params.emplace_back(range.after);
  q.params.emplace_back(range.until);
  q.params.emplace_back(range.after);
  q.params.emplace_back(range.until);
}

// "<arm> UNION ALL <arm> ...", each arm "SELECT j.value FROM <kPostingsOfKind> AND <condition>":
// one for the exact values (p.key IN (...)), one per pattern with a literal prefix (p.key >= ?
// AND p.key < ? AND p.key GLOB ?), one for the other patterns (p.key GLOB ? OR ...). Separate
// arms, rather than one OR, let SQLite seek the primary key for each even without ANALYZE
// statistics.
void add_key_arms(SqlQuery& q, KeyKind kind, IdxRange range, const EventFilter& filter) {
  const Strings* values = nullptr;
  const Strings* patterns = nullptr;
  criterion_of(filter, kind, &values, &patterns);
  std::vector<std::string> exact(values->begin(), values->end());
  std::vector<std::string> prefixed;
  std::vector<std::string> scanned;
  if (patterns != nullptr) {
    for (const auto& p : *patterns) {
      std::string prefix = glob_literal_prefix(p);
      if (prefix.size() == p.size()) {
        exact.push_back(p);  // no wildcard: an exact value
      } else if (!prefix.empty() && prefix_upper_bound(prefix) &&
                 prefixed.size() < kMaxPrefixArms) {
        prefixed.push_back(p);
      } else {
        scanned.push_back(p);
      }
    }
  }
  bool first = true;
  auto open_arm = [&] {
    if (!first) q.sql += " UNION ALL ";
    first = false;
    q.sql += std::string("SELECT j.value FROM ") + kPostingsOfKind + " AND ";
    add_postings_params(q, kind, range);
  };
  if (!exact.empty()) {
    open_arm();
    q.sql += "p.key IN (";
    placeholders(q.sql, static_cast<int>(exact.size()));
    q.sql += ")";
    for (auto& v : exact) q.params.emplace_back(std::move(v));
  }
  for (auto& pattern : prefixed) {
    open_arm();
    std::string prefix = glob_literal_prefix(pattern);
    std::string upper = *prefix_upper_bound(prefix);
    q.sql += "p.key >= ? AND p.key < ? AND p.key GLOB ?";
    q.params.emplace_back(std::move(prefix));
    q.params.emplace_back(std::move(upper));
    q.params.emplace_back(std::move(pattern));
  }
  if (!scanned.empty()) {
    open_arm();
    q.sql += "(";
    for (size_t i = 0; i < scanned.size(); ++i) {
      q.sql += i == 0 ? "p.key GLOB ?" : " OR p.key GLOB ?";
      q.params.emplace_back(std::move(scanned[i]));
    }
    q.sql += ")";
  }
}

// " AND <column> IN (?, ...)" of the filter's event types, when it names any.
void add_event_types(SqlQuery& q, const EventFilter& filter, const char* column) {
  if (filter.event_types().empty()) return;
  q.sql += std::string(" AND ") + column + " IN (";
  placeholders(q.sql, filter.event_types_size());
  q.sql += ")";
  for (const auto& name : filter.event_types()) {
    q.params.emplace_back(static_cast<int64_t>(event_type_number(name).value_or(0)));
  }
}

// " ORDER BY <column> [DESC] [LIMIT ?]"; no LIMIT when row_limit is 0.
void add_order_and_limit(SqlQuery& q, const char* column, ScanOrder order, int64_t row_limit) {
  q.sql += std::string(" ORDER BY ") + column + (order == ScanOrder::ascending ? "" : " DESC");
  if (row_limit > 0) {
    q.sql += " LIMIT ?";
    q.params.emplace_back(row_limit);
  }
}

void add_key_criterion(SqlQuery& q, KeyKind kind, IdxRange range, const EventFilter& filter) {
  q.sql += " AND idx IN (";
  add_key_arms(q, kind, range, filter);
  q.sql += ")";
}

}  // namespace

std::optional<std::string> prefix_upper_bound(std::string prefix) {
  while (!prefix.empty()) {
    auto last = static_cast<unsigned char>(prefix.back());
    if (last != 0xFF) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::nullopt;
}

SqlQuery list_events_query(IdxRange range, const EventFilter& filter, int64_t row_limit,
                           ScanOrder order) {
  SqlQuery q;
  q.sql = std::string("SELECT ") + kEventRowColumns + " FROM events WHERE idx > ? AND idx <= ?";
  q.params.emplace_back(range.after);
  q.params.emplace_back(range.until);
  if (!filter.build_request_ids().empty()) {
    add_key_criterion(q, KeyKind::build_request, range, filter);
  }
  add_event_types(q, filter, "event_type");
  if (!filter.partition_refs().empty() || !filter.partition_patterns().empty()) {
    add_key_criterion(q, KeyKind::partition, range, filter);
  }
  if (!filter.job_labels().empty()) add_key_criterion(q, KeyKind::job_label, range, filter);
  if (!filter.job_run_ids().empty()) add_key_criterion(q, KeyKind::job_run_id, range, filter);
  add_order_and_limit(q, "idx", order, row_limit);
  return q;
}

std::optional<SingleKey> single_key_of(const EventFilter& filter) {
  std::optional<SingleKey> out;
  int criteria = 0;
  auto consider = [&](const Strings& values, KeyKind kind) {
    if (values.empty()) return;
    ++criteria;
    if (values.size() == 1) out = SingleKey{kind, values[0]};
  };
  consider(filter.partition_refs(), KeyKind::partition);
  consider(filter.job_labels(), KeyKind::job_label);
  consider(filter.job_run_ids(), KeyKind::job_run_id);
  consider(filter.build_request_ids(), KeyKind::build_request);
  if (criteria != 1 || !filter.partition_patterns().empty()) return std::nullopt;
  return out;
}

SqlQuery postings_query(const SingleKey& key, IdxRange range, ScanOrder order) {
  SqlQuery q;
  q.sql =
      "SELECT idxs FROM key_postings WHERE kind = ? AND key = ? AND last_idx > ?"
      " AND first_idx <= ?";
  q.params.emplace_back(static_cast<int64_t>(key.kind));
  q.params.emplace_back(key.key);
  q.params.emplace_back(range.after);
  q.params.emplace_back(range.until);
  add_order_and_limit(q, "last_idx", order, 0);
  return q;
}

SqlQuery events_of_postings_query(IdxRange range, const EventFilter& filter, ScanOrder order) {
  SqlQuery q;
  q.sql = std::string("SELECT ") + kEventRowColumns +
          " FROM events WHERE idx IN (SELECT value FROM json_each(?)) AND idx > ? AND idx <= ?";
  q.params.emplace_back(std::string("[]"));
  q.params.emplace_back(range.after);
  q.params.emplace_back(range.until);
  add_event_types(q, filter, "event_type");
  add_order_and_limit(q, "idx", order, 0);
  return q;
}

std::vector<ScanSegment> scan_segments(IdxRange range, int64_t indexed_idx, bool uses_keys,
                                       ScanOrder order) {
  std::vector<ScanSegment> out;
  if (range.after >= range.until) return out;
  if (!uses_keys) {
    out.push_back({range, false});
    return out;
  }
  const int64_t split = std::min(std::max(range.after, indexed_idx), range.until);
  const ScanSegment indexed{{range.after, split}, true};
  const ScanSegment tail{{split, range.until}, false};
  for (const auto& segment : order == ScanOrder::ascending ? std::vector<ScanSegment>{indexed, tail}
                                                           : std::vector<ScanSegment>{tail, indexed}) {
    if (segment.range.after < segment.range.until) out.push_back(segment);
  }
  return out;
}

int64_t selective_key_rows(IdxRange range, int limit, int64_t floor, int64_t ceiling) {
  const double rows = static_cast<double>(std::max<int64_t>(0, range.until - range.after));
  const double meet = 4.0 * std::sqrt((static_cast<double>(limit) + 1.0) * rows);
  if (meet >= static_cast<double>(ceiling)) return std::max(floor, ceiling);
  return std::max(floor, static_cast<int64_t>(meet));
}

SqlQuery key_count_query(KeyKind kind, IdxRange range, const EventFilter& filter, int64_t cap) {
  SqlQuery q;
  q.sql = "SELECT count(*) FROM (";
  add_key_arms(q, kind, range, filter);
  q.sql += " LIMIT ?)";
  q.params.emplace_back(cap);
  return q;
}

}  // namespace bel::storage
