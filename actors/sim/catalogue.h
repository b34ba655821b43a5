// The DataBuild world the workload generator and the simulator describe: a catalogue of
// datasets (each built by one job per date, some from others of the same date), who requests
// builds and why they get cancelled, a seeded random number generator that is the same on every
// platform, and the text helpers both use for their messages.
//
//   bel::sim::Rng rng(bel::sim::mix(seed));
//   const auto& d = bel::sim::catalogue()[3];          // "clean/orders", built by //clean:orders
//   std::string ref = std::string(d.name) + "/" + bel::sim::date_after_base(-2);
//   if (rng.chance(0.05)) message = bel::sim::format_text(rng.pick(d.failures), "2026-11-19");
//
// Pure code: no I/O, no clock.
#ifndef BEL_ACTORS_SIM_CATALOGUE_H_
#define BEL_ACTORS_SIM_CATALOGUE_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "messages/for_people.h"  // format_duration, plural: for the steps' messages

namespace bel::sim {

inline constexpr int64_t kMs = 1000000;  // nanoseconds
inline constexpr int64_t kSecond = 1000 * kMs;

struct Dataset {
  const char* name;                   // "sales/daily"
  const char* job_label;              // "//sales:daily"
  const char* source;                 // --source argument of raw ingests, else ""
  std::vector<int> deps;              // upstream datasets, same date
  int run_min_s, run_max_s;           // job duration
  int weight;                         // how often a request wants it
  std::vector<const char*> failures;  // "%s" is the partition's date
};

// The datasets in dependency order (every dep comes first), so a request's partitions of one
// date, listed in this order, are upstream first.
const std::vector<Dataset>& catalogue();
// RECEIVED messages ("requested by alice@analytics: dashboard refresh"), some more likely.
const std::vector<const char*>& requesters();
// Build cancel reasons ("cancelled by on-call: cluster maintenance window").
const std::vector<const char*>& cancel_reasons();
// Operators who invalidate partitions by hand (SPEC section 2: "operator:<user>").
const std::vector<const char*>& operators();

// splitmix64: mixes a seed and a number into independent streams.
uint64_t mix(uint64_t x);

// std::mt19937_64 with our own reductions: std:: distributions differ between libraries, so the
// same seed would give other plans on another platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  int64_t between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }
  bool percent(int p) { return below(100) < static_cast<uint64_t>(p); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

// "2026-11-21" plus `days` (negative: earlier).
std::string date_after_base(int days);
// `pattern` with each "%s" replaced by `arg`.
std::string format_text(const char* pattern, const std::string& arg);
// "1,234,567".
std::string format_count(int64_t n);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_CATALOGUE_H_
