// The console's tables show a job run's duration as its span, with its sign, and a job's mean
// duration as "-" only when there is none; on a terminal a table fits its width.
#include "app/tables.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "app/output.h"
#include "app/text.h"

namespace bel::app {
namespace {

constexpr int64_t kTableS = 1000000000;
constexpr int64_t kTableAt = 1767225600LL * kTableS;  // 2026-01-01T00:00:00Z

template <class Print>
std::string table_text(Print print) {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&data, &size);
  print(out);
  std::fclose(out);
  std::string text(data, size);
  std::free(data);
  return text;
}

JobRunSummary table_run(const std::string& id, int64_t started_at, int64_t ended_at) {
  JobRunSummary r;
  r.set_job_run_id(id);
  r.set_job_label("//jobs:a");
  r.set_build_request_id("br-1");
  r.set_status_name("JOB_COMPLETED");
  r.set_scheduled_at(kTableAt);
  r.set_started_at(started_at);
  r.set_ended_at(ended_at);
  return r;
}

// The DURATION column of the row naming `id`.
std::string duration_column(const std::string& table, const std::string& id) {
  const size_t row = table.find("\n" + id + " ");
  if (row == std::string::npos) return "<no row " + id + ">";
  const std::string line = table.substr(row + 1, table.find('\n', row + 1) - row - 1);
  const size_t after_time = line.find("Z ");
  if (after_time == std::string::npos) return "<no time in " + line + ">";
  const size_t begin = line.find_first_not_of(' ', after_time + 1);
  return line.substr(begin, line.find(' ', begin) - begin);
}

TEST(TablesTest, AJobRunsDurationIsItsSpanWithItsSign) {
  JobRunsListResponse list;
  *list.add_job_runs() = table_run("jr-skewed", kTableAt + 10 * kTableS,
                                   kTableAt + 5 * kTableS);  // a producer's clock
  *list.add_job_runs() =
      table_run("jr-instant", kTableAt + 5 * kTableS, kTableAt + 5 * kTableS);  // one commit
  *list.add_job_runs() = table_run("jr-open", kTableAt + 5 * kTableS, 0);
  *list.add_job_runs() = table_run("jr-ran", kTableAt + 5 * kTableS, kTableAt + 9 * kTableS);
  list.set_total_count(4);
  const std::string table = table_text([&](std::FILE* out) { print_job_runs_table(list, out); });
  EXPECT_EQ(duration_column(table, "jr-skewed"), "-5.0s") << table;
  EXPECT_EQ(duration_column(table, "jr-instant"), "0ms") << table;
  EXPECT_EQ(duration_column(table, "jr-open"), "-") << table;
  EXPECT_EQ(duration_column(table, "jr-ran"), "4.0s") << table;

  const std::string shown =
      table_text([&](std::FILE* out) { print_job_run(list.job_runs(0), out); });
  EXPECT_NE(shown.find("-5.0s"), std::string::npos) << shown;
  // A run with no end (or none started) shows its duration as the list does: "-".
  const std::string open =
      table_text([&](std::FILE* out) { print_job_run(list.job_runs(2), out); });
  EXPECT_NE(open.find("\nduration:   -\n"), std::string::npos) << open;
}

TEST(TablesTest, AJobsMeanDurationKeepsItsSignAndReadsNoneWhenThereIsNone) {
  JobMetrics m;
  m.set_job_label("//jobs:a");
  m.set_total_runs(1);
  m.set_avg_duration_ns(-3 * kTableS);
  std::string shown = table_text([&](std::FILE* out) { print_job_metrics(m, out); });
  EXPECT_NE(shown.find("-3.0s"), std::string::npos) << shown;
  m.set_avg_duration_ns(0);
  shown = table_text([&](std::FILE* out) { print_job_metrics(m, out); });
  EXPECT_EQ(shown.find("0ms"), std::string::npos) << shown;
}

std::vector<std::string> table_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Table wide_table(const std::string& message) {
  Table t({"PARTITION", "STATUS", "MESSAGE"});
  t.add_row({"sales/daily/2026-11-29", "building", message});
  t.add_row({"sales/日本語/2026-11-30", "failed", "short"});
  return t;
}

TEST(TablesTest, ATablesLastColumnIsCutToTheColumnsItIsGiven) {
  const std::string message(100, 'm');
  const Table t = wide_table(message);
  const std::string whole = table_text([&](std::FILE* out) { t.print(out, 0); });
  EXPECT_NE(whole.find(std::string(59, 'm') + "…"), std::string::npos) << whole;  // 60 columns

  const std::string at60 = table_text([&](std::FILE* out) { t.print(out, 60); });
  const auto lines = table_lines(at60);
  ASSERT_EQ(lines.size(), 3u) << at60;
  // 日本語 takes 6 columns: the PARTITION column is 23 wide, and the message gets the rest.
  EXPECT_EQ(lines[1], "sales/daily/2026-11-29   building  " + std::string(24, 'm') + "…") << at60;
  EXPECT_EQ(lines[2], "sales/日本語/2026-11-30  failed    short") << at60;
  EXPECT_EQ(display_width(lines[1]), 60u) << at60;

  // Down to 10 columns of message; narrower, the keys stay whole and the row wraps as it is.
  const std::string at45 = table_text([&](std::FILE* out) { t.print(out, 45); });
  EXPECT_EQ(table_lines(at45)[1], "sales/daily/2026-11-29   building  " + std::string(9, 'm') + "…")
      << at45;
  const std::string at44 = table_text([&](std::FILE* out) { t.print(out, 44); });
  EXPECT_EQ(at44, whole);
}

// A build's PARTITIONS are every partition it has touched, as its message counts them ("1 of 8
// partitions failed"), not only the ones it was asked for.
TEST(TablesTest, ABuildsPartitionsAreEveryOneItTouched) {
  BuildsListResponse list;
  auto* b = list.add_builds();
  b->set_build_request_id("br-1");
  b->set_status_name("BUILD_REQUEST_FAILED");
  for (const char* ref : {"a", "b"}) b->add_requested_partitions(ref);
  for (const char* ref : {"a", "b", "up/1", "up/2", "up/3"}) {
    b->add_partitions()->set_partition_ref(ref);
  }
  b->set_message("1 of 5 partitions failed: up/2");
  list.set_total_count(1);
  const auto lines =
      table_lines(table_text([&](std::FILE* out) { print_builds_table(list, out); }));
  ASSERT_GE(lines.size(), 2u);
  const size_t column = lines[0].find("PARTITIONS");
  ASSERT_NE(column, std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].substr(column, 2), "5 ") << lines[0] << "\n" << lines[1];
}

// A build's partitions table ends with the build it delegated each to: an id, never cut.
TEST(TablesTest, ADelegatedToBuildIsNeverCut) {
  BuildRequestSummary b;
  b.set_build_request_id("br-1");
  b.set_status_name("BUILD_REQUEST_COMPLETED");
  auto* p = b.add_partitions();
  p->set_partition_ref("data/a");
  p->set_status_name("PARTITION_DELEGATED");
  const std::string delegate = "br-" + std::string(90, 'd');
  p->set_delegated_to_build_request_id(delegate);
  const std::string text = table_text([&](std::FILE* out) { print_build_summary(b, out); });
  EXPECT_NE(text.find(delegate + "\n"), std::string::npos) << text;
}

// events tail prints fixed widths: a ref wider than its column stays whole (the rest of its row
// moves right, two spaces after it); only the DETAIL column is cut.
TEST(TablesTest, AStreamedEventKeepsItsKeysWhole) {
  const std::string ref =
      "warehouse/analytics/events_enriched/region=eu-west-1/date=2026-11-21/h05";
  const std::string build = "br-" + std::string(80, 'x');
  BuildEvent event;
  event.set_idx(7);
  event.set_build_request_id(build);
  event.mutable_partition_event()->mutable_partition_ref()->set_str(ref);
  event.mutable_partition_event()->set_status_code(v1::PARTITION_FAILED);
  event.mutable_partition_event()->set_message("failed: " + std::string(200, 'm'));
  const std::string text = table_text([&](std::FILE* out) { EventStream(out).print(event); });
  const auto lines = table_lines(text);
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_NE(lines[1].find(build + "  "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(ref + "  "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("…"), std::string::npos) << lines[1];  // the detail is cut
  EXPECT_EQ(lines[1].find(std::string(200, 'm')), std::string::npos) << lines[1];
}

TEST(TablesTest, AWholeLastColumnIsNotCut) {
  const std::string message(100, 'w');
  Table t({"JOB RUN", "MESSAGE"});
  t.keep_last_column_whole();
  t.add_row({"jr-1", message});
  const std::string at40 = table_text([&](std::FILE* out) { t.print(out, 40); });
  EXPECT_EQ(table_lines(at40)[1], "jr-1     " + message) << at40;  // wrapped by the terminal
}

TEST(TablesTest, ATableIsFittedToItsTerminalAndNotToAFile) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(table_columns(file), 0u);
  std::fclose(file);

  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  winsize size{};
  size.ws_row = 24;
  size.ws_col = 97;
  ASSERT_EQ(::ioctl(terminal, TIOCSWINSZ, &size), 0);
  std::FILE* out = ::fdopen(terminal, "w");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(table_columns(out), 97u);
  std::fclose(out);
  ::close(master);
}

}  // namespace
}  // namespace bel::app
