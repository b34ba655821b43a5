// The note `bel bench` adds to P5's and P11's events/s rows when the machine's own raw scan+parse
// ceiling, measured in the same run, is below their absolute target (bench/log_suites.h).
#include <gtest/gtest.h>

#include <string>

#include "bench/log_suites.h"

namespace bel::bench {
namespace {

Figure rate_with_ceiling(double ceiling) {
  Figure f;
  f.id = "P11 check";
  f.values = {250000};
  f.baselines = {ceiling};
  finish_figure(f);
  return f;
}

TEST(BenchCeilingNoteTest, ACeilingBelowTheTargetIsSaidWithItsValue) {
  Figure f = rate_with_ceiling(908474);
  f.detail = "process CPU per event: 2.50 us";
  note_ceiling_below(f, 1000000);
  EXPECT_NE(f.detail.find("process CPU per event: 2.50 us\n"), std::string::npos) << f.detail;
  EXPECT_NE(f.detail.find("(908474/s), is below the 1000000/s target"), std::string::npos)
      << f.detail;
}

TEST(BenchCeilingNoteTest, NothingIsSaidWhenTheCeilingReachesTheTarget) {
  Figure f = rate_with_ceiling(1250000);
  note_ceiling_below(f, 1000000);
  EXPECT_TRUE(f.detail.empty()) << f.detail;
}

TEST(BenchCeilingNoteTest, NothingIsSaidOfAFigureNotJudgedOrWithoutACeiling) {
  Figure quick = rate_with_ceiling(500);
  quick.pass_note = "n/a at quick scale";
  note_ceiling_below(quick, 1000000);
  EXPECT_TRUE(quick.detail.empty()) << quick.detail;

  Figure none = rate_with_ceiling(0);
  note_ceiling_below(none, 1000000);
  EXPECT_TRUE(none.detail.empty()) << none.detail;
}

}  // namespace
}  // namespace bel::bench
