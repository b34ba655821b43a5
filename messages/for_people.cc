#include "messages/for_people.h"

#include <fmt/format.h>

namespace bel {

std::string format_duration(int64_t ns) {
  if (ns <= 0) return "-";
  constexpr int64_t kMs = 1000000;
  constexpr int64_t kSecond = 1000 * kMs;
  if (ns < kSecond) return fmt::format("{}ms", ns / kMs);
  if (ns < 10 * kSecond) return fmt::format("{}.{}s", ns / kSecond, ns % kSecond / (kSecond / 10));
  const int64_t s = ns / kSecond;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, s % 3600 / 60);
}

std::string plural(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace bel
