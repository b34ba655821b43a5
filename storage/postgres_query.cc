#include "storage/postgres_query.h"

#include "messages/event_keys.h"
#include "messages/glob.h"
#include "storage/sqlite_query.h"

namespace bel::storage {
namespace {

using Strings = google::protobuf::RepeatedPtrField<std::string>;

std::string param(PgQuery& q, std::string value) {
  q.params.emplace_back(std::move(value));
  return "$" + std::to_string(q.params.size());
}

// "key IN ($3, $4) OR (key >= $5 AND key < $6) ..." for the criterion's exact values and
// prefixed patterns, or "" when a pattern has no literal prefix (then the SQL cannot narrow by
// this criterion and event_matches checks it alone).
std::string key_condition(PgQuery& q, const Strings& values, const Strings* patterns) {
  std::string exact;
  std::string ranges;
  auto add_exact = [&](const std::string& v) {
    exact += exact.empty() ? "" : ", ";
    exact += param(q, v);
  };
  for (const auto& v : values) add_exact(v);
  if (patterns != nullptr) {
    for (const auto& p : *patterns) {
      const std::string prefix = glob_literal_prefix(p);
      if (prefix.size() == p.size()) {
        add_exact(p);
        continue;
      }
      auto upper = prefix.empty() ? std::nullopt : prefix_upper_bound(prefix);
      if (!upper) return "";
      ranges += " OR (key >= " + param(q, prefix) + " AND key < " + param(q, *upper) + ")";
    }
  }
  std::string condition = exact.empty() ? "false" : "key IN (" + exact + ")";
  return "(" + condition + ranges + ")";
}

std::string in_list(PgQuery& q, const Strings& values) {
  std::string list;
  for (const auto& v : values) {
    list += list.empty() ? "" : ", ";
    list += param(q, v);
  }
  return "(" + list + ")";
}

}  // namespace

PgQuery pg_list_events_query(const PgScanCursor& cursor, const EventFilter& filter,
                             int64_t rows) {
  PgQuery q;
  std::string range;
  if (cursor.backward) {
    range = cursor.bound > 0 ? "idx < " + param(q, std::to_string(cursor.bound)) : "true";
  } else {
    range = "idx > " + param(q, std::to_string(cursor.bound));
  }
  const std::string order = cursor.backward ? " ORDER BY idx DESC" : " ORDER BY idx";
  const std::string limit = " LIMIT " + param(q, std::to_string(rows));

  // The most selective usable key criterion drives the scan: run ids, then partitions, then
  // job labels (a label names many events).
  struct Criterion {
    KeyKind kind;
    const Strings* values;
    const Strings* patterns;
  };
  const Criterion criteria[] = {
      {KeyKind::job_run_id, &filter.job_run_ids(), nullptr},
      {KeyKind::partition, &filter.partition_refs(), &filter.partition_patterns()},
      {KeyKind::job_label, &filter.job_labels(), nullptr},
  };
  std::string driver;
  for (const auto& c : criteria) {
    if (c.values->empty() && (c.patterns == nullptr || c.patterns->empty())) continue;
    PgQuery attempt = q;
    std::string condition = key_condition(attempt, *c.values, c.patterns);
    if (condition.empty()) continue;
    q = std::move(attempt);
    driver = "idx IN (SELECT DISTINCT idx FROM event_keys WHERE kind = " +
             param(q, std::to_string(static_cast<int>(c.kind))) + " AND " + range + " AND " +
             condition + order + limit + ")";
    break;
  }
  q.sql = "SELECT idx, payload FROM events WHERE " + range;
  if (!driver.empty()) {
    // The driver's chunk decides how far the scan got: every other criterion is event_matches'
    // (filtering here could return fewer rows than the driver read, hiding what is left).
    q.sql += " AND " + driver + order;
    return q;
  }
  if (!filter.build_request_ids().empty()) {
    q.sql += " AND build_request_id IN " + in_list(q, filter.build_request_ids());
  }
  if (!filter.event_types().empty()) {
    std::string types;
    for (const auto& name : filter.event_types()) {
      types += types.empty() ? "" : ", ";
      types += param(q, std::to_string(event_type_number(name).value_or(0)));
    }
    q.sql += " AND event_type IN (" + types + ")";
  }
  q.sql += order + limit;
  return q;
}

PgQuery pg_find_by_event_ids_query(const std::vector<std::string>& uuids,
                                   const std::vector<std::string>& texts) {
  PgQuery q;
  std::string uuid_list;
  for (const auto& id : uuids) uuid_list += (uuid_list.empty() ? "" : ", ") + param(q, id) + "::uuid";
  std::string text_list;
  for (const auto& id : texts) text_list += (text_list.empty() ? "" : ", ") + param(q, id);
  q.sql = "SELECT idx, payload FROM events WHERE ";
  q.sql += uuid_list.empty() ? "false" : "event_uuid IN (" + uuid_list + ")";
  q.sql += text_list.empty() ? "" : " OR event_text IN (" + text_list + ")";
  return q;
}

}  // namespace bel::storage
