// SharedScans (actors/read/shared_scans.h): the views' readers read each full page once between
// them, and a page at the log's end is never kept.
#include "actors/read/shared_scans.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/storage_factory.h"

namespace bel::actors {
namespace {

BuildEvent request_event(int i) {
  BuildEvent e;
  e.set_event_id("e-" + std::to_string(i));
  e.set_timestamp(1000 + i);
  e.set_build_request_id("br-" + std::to_string(i));
  e.mutable_build_request_event()->set_status_code(v1::BUILD_REQUEST_RECEIVED);
  e.mutable_build_request_event()->set_status_name("BUILD_REQUEST_RECEIVED");
  return e;
}

class SharedScansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = storage::open_storage("memory://", {});
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    append(25);
  }
  void append(int n) {
    std::vector<BuildEvent> events;
    for (int i = 0; i < n; ++i) events.push_back(request_event(next_++));
    ASSERT_TRUE(log_->append_batch(events).ok());
  }
  std::vector<int64_t> idxs(const SharedPage& page) {
    std::vector<int64_t> out;
    for (const auto& e : page->events()) out.push_back(e.idx());
    return out;
  }

  std::unique_ptr<storage::Storage> log_;
  int next_ = 0;
};

TEST_F(SharedScansTest, EachSharerGetsTheSamePageReadOnce) {
  SharedScans scans(/*sharers=*/3);
  std::vector<SharedPage> pages;
  for (int reader = 0; reader < 3; ++reader) {
    auto page = scans.page(*log_, 0, 10);
    ASSERT_TRUE(page.ok());
    pages.push_back(*page);
  }
  EXPECT_EQ(scans.reads(), 1);
  EXPECT_EQ(scans.shares(), 2);
  EXPECT_EQ(pages[0].get(), pages[2].get());
  EXPECT_EQ(idxs(pages[1]), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_TRUE(pages[0]->has_more());
  // Every sharer had it: a fourth asker reads it again.
  ASSERT_TRUE(scans.page(*log_, 0, 10).ok());
  EXPECT_EQ(scans.reads(), 2);
}

TEST_F(SharedScansTest, APageAtTheLogsEndIsReadByEachAsker) {
  SharedScans scans(/*sharers=*/2);
  auto first = scans.page(*log_, 20, 10);  // idx 21..25: nothing follows yet
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE((*first)->has_more());
  append(3);
  auto second = scans.page(*log_, 20, 10);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(scans.reads(), 2);
  EXPECT_EQ(idxs(*second), (std::vector<int64_t>{21, 22, 23, 24, 25, 26, 27, 28}));
}

TEST_F(SharedScansTest, DifferentRangesAreDifferentPagesAndOnlyTheNewestAreKept) {
  SharedScans scans(/*sharers=*/2, /*kept=*/2);
  for (int64_t since : {0, 5, 10}) ASSERT_TRUE(scans.page(*log_, since, 5).ok());
  EXPECT_EQ(scans.reads(), 3);
  // since 0 was pushed out by the two newer pages; 5 and 10 are still kept.
  auto again = scans.page(*log_, 10, 5);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(idxs(*again), (std::vector<int64_t>{11, 12, 13, 14, 15}));
  ASSERT_TRUE(scans.page(*log_, 5, 5).ok());
  EXPECT_EQ(scans.reads(), 3);
  ASSERT_TRUE(scans.page(*log_, 0, 5).ok());
  EXPECT_EQ(scans.reads(), 4);
}

TEST_F(SharedScansTest, AnErrorIsTheStoragesAndNothingIsKept) {
  SharedScans scans(/*sharers=*/2);
  auto bad = scans.page(*log_, 0, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  ASSERT_TRUE(scans.page(*log_, 0, 10).ok());
  EXPECT_EQ(scans.reads(), 2);
}

}  // namespace
}  // namespace bel::actors
