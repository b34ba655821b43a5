// The note `bel bench` adds to P5's and P11's events/s rows when the machine's own raw scan+parse
// ceiling, measured in the same run, is below their absolute target (bench/log_suites.h); and to
// P1's when one actor that writes each append with its unique id, and nothing else, misses one of
// P1's targets in the same run (bench/append_suites.h); and how many cores P1's rate target would
// keep busy at the run's CPU per append.
#include <gtest/gtest.h>

#include <string>

#include "bench/append_suites.h"
#include "bench/log_suites.h"

namespace bel::bench {
namespace {

// Figure `id` with one repetition: `value` beside the baseline `ceiling`.
Figure figure_with_ceiling(const char* id, double value, double ceiling) {
  Figure f;
  f.id = id;
  f.values = {value};
  f.baselines = {ceiling};
  finish_figure(f);
  return f;
}

Figure rate_with_ceiling(double ceiling) {
  return figure_with_ceiling("P11 check", 250000, ceiling);
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

Figure p1_with_ceiling(double ceiling) { return figure_with_ceiling("P1", 70000, ceiling); }

TEST(BenchActorCeilingNoteTest, AnActorBelowBothTargetsIsSaidWithBoth) {
  Figure f = p1_with_ceiling(250000);
  note_actor_ceilings(f, 140000, 85000, /*judged=*/true, AppendClient::appender);
  EXPECT_NE(f.detail.find("one pure-append row each 140000/s (0.560x), the row with its id under "
                          "UNIQUE 85000/s (0.340x)"),
            std::string::npos)
      << f.detail;
  EXPECT_NE(f.detail.find("\none actor that writes each append with its unique id"),
            std::string::npos)
      << f.detail;
  EXPECT_NE(f.detail.find("reaches 0.340x of the pure-append ceiling, below the 0.5x target and "
                          "85000/s, below the 100000/s target in this run"),
            std::string::npos)
      << f.detail;
}

TEST(BenchActorCeilingNoteTest, HowTheActorsAppendsWereSentIsSaid) {
  Figure appender = p1_with_ceiling(250000);
  note_actor_ceilings(appender, 140000, 85000, true, AppendClient::appender);
  EXPECT_NE(appender.detail.find("its appends sent as bel's are, through the Appender)"),
            std::string::npos)
      << appender.detail;
  Figure requests = p1_with_ceiling(250000);
  note_actor_ceilings(requests, 140000, 85000, true, AppendClient::requests);
  EXPECT_NE(requests.detail.find("its appends sent as bel's are, a request each)"),
            std::string::npos)
      << requests.detail;
}

TEST(BenchActorCeilingNoteTest, OnlyTheTargetTheActorMissesIsSaid) {
  Figure rate_only = p1_with_ceiling(150000);
  note_actor_ceilings(rate_only, 120000, 90000, true,
                      AppendClient::appender);  // 0.60x, but 90000/s
  EXPECT_EQ(rate_only.detail.find("x of the pure-append ceiling, below"), std::string::npos)
      << rate_only.detail;
  EXPECT_NE(rate_only.detail.find("reaches 90000/s, below the 100000/s target in this run"),
            std::string::npos)
      << rate_only.detail;

  Figure ratio_only = p1_with_ceiling(800000);
  note_actor_ceilings(ratio_only, 400000, 300000, true,
                      AppendClient::appender);  // 300000/s, but 0.38x
  EXPECT_NE(ratio_only.detail.find("reaches 0.375x of the pure-append ceiling, below the 0.5x "
                                   "target in this run"),
            std::string::npos)
      << ratio_only.detail;
  EXPECT_EQ(ratio_only.detail.find("/s, below"), std::string::npos) << ratio_only.detail;
}

TEST(BenchActorCeilingNoteTest, NothingBelowIsSaidWhenTheActorMeetsBothOrTheRunIsNotJudged) {
  Figure meets = p1_with_ceiling(300000);
  note_actor_ceilings(meets, 240000, 180000, true, AppendClient::appender);  // 0.60x and 180000/s
  EXPECT_NE(meets.detail.find("actor-fed ceilings"), std::string::npos) << meets.detail;
  EXPECT_EQ(meets.detail.find("below"), std::string::npos) << meets.detail;

  Figure quick = p1_with_ceiling(20000);
  note_actor_ceilings(quick, 3000, 2000, /*judged=*/false, AppendClient::appender);
  EXPECT_NE(quick.detail.find("actor-fed ceilings"), std::string::npos) << quick.detail;
  EXPECT_EQ(quick.detail.find("below"), std::string::npos) << quick.detail;
}

TEST(BenchRatioTextTest, ARatioJustUnderATargetNeverReadsAsTheTarget) {
  EXPECT_EQ(ratio_text(287659.0 / 576851.0), "0.499x");  // P1's bare actor in one run
  EXPECT_EQ(ratio_text(0.5964), "0.596x");               // under P1r's 0.6x
  EXPECT_EQ(ratio_text(0.5), "0.500x");
  EXPECT_EQ(ratio_text(1.5876), "1.59x");
  EXPECT_EQ(ratio_text(28.8234), "28.82x");
  EXPECT_EQ(ratio_text(742444.2371), "742444x");
}

TEST(BenchCoresAtTargetTest, SaysHowManyCoresTheTargetWouldKeepBusy) {
  EXPECT_EQ(cores_at_target(18.2e-6, 100000, 2),
            "at this CPU per append, 100000/s would keep 1.82 of this machine's 2 cores busy");
  // Beyond the machine: said as it is, more cores than it has.
  EXPECT_EQ(cores_at_target(25e-6, 100000, 2),
            "at this CPU per append, 100000/s would keep 2.50 of this machine's 2 cores busy");
}

TEST(BenchCoresAtTargetTest, NamesWhatTheRateCounts) {
  // P11: 2.5 us of CPU per event, 1M events/s.
  EXPECT_EQ(cores_at_target(2.5e-6, 1000000, 2, "event"),
            "at this CPU per event, 1000000/s would keep 2.50 of this machine's 2 cores busy");
}

TEST(BenchCoresAtTargetTest, NothingIsSaidWithoutAFigure) {
  EXPECT_EQ(cores_at_target(0, 100000, 2), "");
  EXPECT_EQ(cores_at_target(18e-6, 100000, 0), "");
  EXPECT_EQ(cores_at_target(18e-6, 0, 2), "");
}

}  // namespace
}  // namespace bel::bench
