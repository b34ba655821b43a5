// The stdout backend prints each committed event as one JSON line, and nothing else.
#include "storage/stdout_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "messages/json.h"
#include "storage/storage_factory.h"
#include "tests/storage/storage_test_events.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers

class StdoutStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::tmpfile();
    ASSERT_NE(sink_, nullptr);
    StorageOptions options;
    options.stdout_sink = sink_;
    options.fault_hook = [this](FaultPoint point) -> Status {
      if (fail_commit_ && point == FaultPoint::commit) {
        return make_error(ErrorCode::storage_unavailable, "injected fault");
      }
      return ok_status();
    };
    auto log = open_storage("stdout", options);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    log_ = std::move(*log);
  }
  void TearDown() override {
    log_.reset();
    if (sink_ != nullptr) std::fclose(sink_);
  }

  // The lines written to the sink so far, read through its file descriptor: only what was
  // flushed is there.
  std::vector<std::string> printed_lines() {
    std::string text;
    char buf[4096];
    for (off_t offset = 0;;) {
      ssize_t n = pread(fileno(sink_), buf, sizeof buf, offset);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      offset += n;
    }
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "last line unterminated";
    return lines;
  }

  std::FILE* sink_ = nullptr;
  std::unique_ptr<Storage> log_;
  bool fail_commit_ = false;
};

TEST_F(StdoutStorageTest, EachCommittedEventIsPrintedAsOneFlushedJsonLineWithItsIdx) {
  std::vector<BuildEvent> first = {build_request_event("br-1", {"data/a"}),
                                   partition_event("br-1", "data/a")};
  std::vector<BuildEvent> second = {job_event("br-1", "run-1", "//jobs:a", {"data/a"})};
  ASSERT_TRUE(log_->append_batch(first).ok());
  EXPECT_EQ(printed_lines().size(), 2u) << "printed and flushed after the first batch";
  ASSERT_TRUE(log_->append_batch(second).ok());

  std::vector<BuildEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  std::vector<std::string> lines = printed_lines();
  ASSERT_EQ(lines.size(), all.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    BuildEvent parsed;
    Status ok = from_json(lines[i], &parsed);
    ASSERT_TRUE(ok.ok()) << ok.error().to_string() << "\n" << lines[i];
    EXPECT_EQ(parsed.idx(), static_cast<int64_t>(i) + 1) << lines[i];
    EXPECT_TRUE(same_apart_from_idx(parsed, all[i])) << lines[i];
    EXPECT_NE(lines[i].find("\"idx\":\"" + std::to_string(i + 1) + "\""), std::string::npos)
        << "int64 as a string, snake_case names: " << lines[i];
  }
}

TEST_F(StdoutStorageTest, NothingIsPrintedForAFailedBatch) {
  ASSERT_TRUE(log_->append_batch({partition_event("br", "a")}).ok());
  fail_commit_ = true;
  EXPECT_FALSE(log_->append_batch({partition_event("br", "b"), partition_event("br", "c")}).ok());
  EXPECT_EQ(printed_lines().size(), 1u);
  fail_commit_ = false;
  ASSERT_TRUE(log_->append_batch({partition_event("br", "d")}).ok());
  std::vector<std::string> lines = printed_lines();
  ASSERT_EQ(lines.size(), 2u);
  BuildEvent parsed;
  ASSERT_TRUE(from_json(lines[1], &parsed).ok());
  EXPECT_EQ(parsed.idx(), 2);
  EXPECT_EQ(parsed.partition_event().partition_ref().str(), "d");
}

// A sink that cannot be written (here /dev/full, as a full disk): the append is not
// acknowledged, and no later one is, since whoever reads the output would never see them.
TEST(StdoutStorageFullTest, AFailureToPrintFailsThatAppendAndEveryLaterOne) {
  std::FILE* full = std::fopen("/dev/full", "w");
  ASSERT_NE(full, nullptr);
  StorageOptions options;
  options.stdout_sink = full;
  auto log = open_storage("stdout", options);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto first = (*log)->append_batch({partition_event("br", "a"), partition_event("br", "b")});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::storage_unavailable);
  EXPECT_NE(first.error().message.find("stdout: printing the events failed at idx 1..2 (No space "
                                       "left on device)"),
            std::string::npos)
      << first.error().message;
  auto later = (*log)->append_batch({partition_event("br", "c")});
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::storage_unavailable);
  EXPECT_EQ(later.error().message, first.error().message);
  log->reset();
  std::fclose(full);
}

TEST_F(StdoutStorageTest, ReadersAndQueriesPrintNothing) {
  ASSERT_TRUE(log_->append_batch({partition_event("br", "a")}).ok());
  auto reader = log_->open_reader();
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->list_events(0, {}, 10).ok());
  ASSERT_TRUE(log_->list_events(0, {}, 10).ok());
  ASSERT_TRUE(log_->set_meta("k", "v").ok());
  EXPECT_EQ(printed_lines().size(), 1u);
}

}  // namespace
}  // namespace bel::storage
