#include "messages/for_people.h"

#include <fmt/format.h>

#include <limits>

namespace bel {

std::string format_duration(int64_t ns) {
  // The magnitude unsigned, so INT64_MIN has one.
  const uint64_t n = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const char* sign = ns < 0 ? "-" : "";
  constexpr uint64_t kMs = 1000000;
  constexpr uint64_t kSecond = 1000 * kMs;
  if (n == 0) return "0ms";
  if (n < 1000) return fmt::format("{}{}ns", sign, n);
  if (n < kMs) return fmt::format("{}{}µs", sign, n / 1000);
  if (n < kSecond) return fmt::format("{}{}ms", sign, n / kMs);
  if (n < 10 * kSecond) {
    return fmt::format("{}{}.{}s", sign, n / kSecond, n % kSecond / (kSecond / 10));
  }
  const uint64_t s = n / kSecond;
  if (s < 60) return fmt::format("{}{}s", sign, s);
  if (s < 3600) return fmt::format("{}{}m{:02d}s", sign, s / 60, s % 60);
  return fmt::format("{}{}h{:02d}m", sign, s / 3600, s % 3600 / 60);
}

std::string format_span(int64_t started_at, int64_t ended_at) {
  if (started_at == 0 || ended_at == 0) return "-";
  // Wide enough that two far-apart times do not overflow; beyond int64_t, its bound.
  const __int128 d = static_cast<__int128>(ended_at) - started_at;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  return format_duration(d > kMax ? kMax : d < kMin ? kMin : static_cast<int64_t>(d));
}

std::string format_mean_duration(int64_t ns) { return ns == 0 ? "-" : format_duration(ns); }

std::string plural(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace bel
