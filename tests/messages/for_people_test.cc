// One style for durations and counts wherever people read them.
#include "messages/for_people.h"

#include <gtest/gtest.h>

#include <limits>

namespace bel {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kS = 1000 * kMs;

TEST(ForPeopleTest, DurationsHaveOneStyleAtEveryScale) {
  EXPECT_EQ(format_duration(0), "0ms");
  EXPECT_EQ(format_duration(5), "5ns");
  EXPECT_EQ(format_duration(695150), "695µs");  // not "0ms", which reads as no time at all
  EXPECT_EQ(format_duration(850 * kMs), "850ms");
  EXPECT_EQ(format_duration(4 * kS + 250 * kMs), "4.2s");
  EXPECT_EQ(format_duration(46 * kS + 911 * kMs), "46s");  // not "46.911s" beside "4m04s"
  EXPECT_EQ(format_duration(244 * kS), "4m04s");
  EXPECT_EQ(format_duration(3720 * kS + 30 * kS), "1h02m");
}

// A producer's clock may put a run's end before its start: the duration keeps its sign, where it
// once read "-", as a run without one does.
TEST(ForPeopleTest, ANegativeDurationKeepsItsSign) {
  EXPECT_EQ(format_duration(-5), "-5ns");
  EXPECT_EQ(format_duration(-(4 * kS + 250 * kMs)), "-4.2s");
  EXPECT_EQ(format_duration(-(3720 * kS + 30 * kS)), "-1h02m");
  EXPECT_EQ(format_duration(std::numeric_limits<int64_t>::min()), "-2562047h47m");
  EXPECT_EQ(format_duration(std::numeric_limits<int64_t>::max()), "2562047h47m");
}

TEST(ForPeopleTest, ASpanNeedsBothEndsAndAMeanOfNothingReadsNone) {
  EXPECT_EQ(format_span(0, 5 * kS), "-");
  EXPECT_EQ(format_span(5 * kS, 0), "-");
  // Both events in one commit share its timestamp: a run that took no measurable time.
  EXPECT_EQ(format_span(5 * kS, 5 * kS), "0ms");
  EXPECT_EQ(format_span(10 * kS, 5 * kS), "-5.0s");
  EXPECT_EQ(format_span(1, std::numeric_limits<int64_t>::max()), "2562047h47m");
  EXPECT_EQ(format_mean_duration(0), "-");
  EXPECT_EQ(format_mean_duration(-850 * kMs), "-850ms");
  EXPECT_EQ(format_mean_duration(850 * kMs), "850ms");
}

TEST(ForPeopleTest, CountsTakeTheirNounInTheRightNumber) {
  EXPECT_EQ(plural(1, "build"), "1 build");
  EXPECT_EQ(plural(0, "build"), "0 builds");
  EXPECT_EQ(plural(3, "job run"), "3 job runs");
}

}  // namespace
}  // namespace bel
