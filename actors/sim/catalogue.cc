#include "actors/sim/catalogue.h"

#include <cstdio>

namespace bel::sim {

const std::vector<Dataset>& catalogue() {
  // clang-format off
  static const std::vector<Dataset> kCatalogue = {
      // name, job label, source, deps, run seconds min/max, weight, failures
      {"raw/orders", "//raw:ingest", "orders", {}, 60, 300, 1,
       {"exit code 1: upstream file missing: s3://landing/orders/%s/_SUCCESS",
        "exit code 137: killed (out of memory)"}},
      {"raw/customers", "//raw:ingest", "customers", {}, 30, 120, 0,
       {"exit code 1: upstream file missing: s3://landing/crm/customers/%s.csv.gz",
        "exit code 75: source database busy, gave up after 5 attempts"}},
      {"raw/clicks", "//raw:ingest", "clicks", {}, 120, 600, 0,
       {"exit code 1: upstream file missing: s3://landing/clickstream/%s/part-0003.parquet",
        "exit code 137: killed (out of memory)"}},
      {"clean/orders", "//clean:orders", "", {0}, 30, 180, 1,
       {"exit code 1: 312 rows failed validation for %s (null order_id)",
        "exit code 1: duplicate order_id 88412907 in raw/orders/%s"}},
      {"sales/daily", "//sales:daily", "", {3, 1}, 120, 600, 3,
       {"exit code 1: schema mismatch: column 'currency' not found in clean/orders/%s",
        "exit code 2: join on customer_id matched 0 rows for %s"}},
      {"marketing/sessions", "//marketing:sessions", "", {2}, 60, 420, 2,
       {"exit code 2: session window overflow: 1.2M events for one visitor on %s",
        "exit code 137: killed (out of memory)"}},
      {"reports/revenue", "//reports:revenue", "", {4}, 20, 120, 4,
       {"exit code 1: query timed out after 900s (revenue for %s)",
        "exit code 1: revenue for %s differs from finance ledger by 3.2% (threshold 1%)"}},
      {"reports/funnel", "//reports:funnel", "", {5, 4}, 30, 180, 3,
       {"exit code 1: query timed out after 900s (funnel for %s)",
        "exit code 3: conversion rate 142% for %s is impossible: upstream sessions incomplete"}},
  };
  // clang-format on
  return kCatalogue;
}

const std::vector<const char*>& requesters() {
  static const std::vector<const char*> kRequesters = {
      "requested by the scheduler: daily refresh",
      "requested by the scheduler: daily refresh",
      "requested by alice@analytics: dashboard refresh",
      "requested by bob@finance: month-end close",
      "requested by airflow dag reports_hourly",
      "requested by carol@growth: ad-hoc analysis",
  };
  return kRequesters;
}

const std::vector<const char*>& cancel_reasons() {
  static const std::vector<const char*> kReasons = {
      "cancelled by alice@analytics: wrong date range",
      "cancelled by the scheduler: superseded by a newer request",
      "cancelled by bob@finance: numbers not needed any more",
      "cancelled by on-call: cluster maintenance window",
  };
  return kReasons;
}

const std::vector<const char*>& operators() {
  static const std::vector<const char*> kOperators = {"alice", "dave", "on-call"};
  return kOperators;
}

// splitmix64: mixes seed and build number into independent streams.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// "2026-11-21" plus `days` (Howard Hinnant's civil_from_days).
std::string date_after_base(int days) {
  // Days since 1970-01-01 of 2026-11-21.
  constexpr int64_t kBase = 20778;
  int64_t z = kBase + days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

std::string format_text(const char* pattern, const std::string& arg) {
  std::string out;
  for (const char* p = pattern; *p != 0; ++p) {
    if (p[0] == '%' && p[1] == 's') {
      out += arg;
      ++p;
    } else {
      out += *p;
    }
  }
  return out;
}

// "1,234,567"
std::string format_count(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace bel::sim
