// Words for people, one style everywhere (tables, summaries, simulated job messages): durations
// ("850ms", "4.2s", "46s", "4m07s", "1h02m") and counts with their noun ("1 build", "3 builds").
//
//   bel::format_duration(250'000'000'000);   // "4m10s"
//   bel::plural(1, "build");                 // "1 build"
#ifndef BEL_MESSAGES_FOR_PEOPLE_H_
#define BEL_MESSAGES_FOR_PEOPLE_H_

#include <cstdint>
#include <string>

namespace bel {

// `ns` nanoseconds: nanoseconds below a microsecond, microseconds below a millisecond ("695µs",
// so a sub-millisecond mean does not read as 0), milliseconds below a second, a tenth of a second
// below ten seconds, whole seconds below a minute, minutes and seconds below an hour, then hours
// and minutes. A negative duration keeps its sign ("-850ms"): producers' clocks may skew, and it is
// shown, not hidden.
std::string format_duration(int64_t ns);

// The time from `started_at` to `ended_at` (Unix nanoseconds): "-" unless both are set (non-zero).
std::string format_span(int64_t started_at, int64_t ended_at);

// A mean duration such as JobMetrics.avg_duration_ns: "-" for 0, what a mean over no runs reads.
std::string format_mean_duration(int64_t ns);

// "1 partition", "3 partitions": `n` and `noun`, plural by a trailing "s" when n != 1.
std::string plural(int64_t n, const std::string& noun);

}  // namespace bel

#endif  // BEL_MESSAGES_FOR_PEOPLE_H_
