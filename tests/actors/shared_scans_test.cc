// SharedScans (actors/read/shared_scans.h): the views' readers read each full page once between
// them, a reader that would wait for a page reads the next one meanwhile, and a page at the log's
// end is never kept.
#include "actors/read/shared_scans.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage_factory.h"
#include "tests/support/forwarding_storage.h"

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

TEST_F(SharedScansTest, APageIsKeptForTheMembersScanningBehindIt) {
  auto scans = std::make_shared<SharedScans>();
  SharedScans::Member fast(scans), slow(scans);
  // Both start at idx 0: the first page is read by each, since neither scanned when the other
  // read it.
  ASSERT_TRUE(slow.page(*log_, 0, 10).ok());
  ASSERT_TRUE(fast.page(*log_, 0, 10).ok());
  EXPECT_EQ(scans->reads(), 2);
  // The fast one reads on; the slow one, still behind, gets the same page without a read.
  auto ahead = fast.page(*log_, 10, 10);
  ASSERT_TRUE(ahead.ok());
  EXPECT_EQ(scans->kept(), 1u);
  auto behind = slow.page(*log_, 10, 10);
  ASSERT_TRUE(behind.ok());
  EXPECT_EQ(behind->get(), ahead->get());
  EXPECT_EQ(idxs(*behind), (std::vector<int64_t>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));
  EXPECT_EQ(scans->reads(), 3);
  EXPECT_EQ(scans->shares(), 1);
  EXPECT_EQ(scans->kept(), 0u);  // nobody stands before it any more
}

TEST_F(SharedScansTest, APageAtTheLogsEndIsNeverKeptAndEndsTheScan) {
  auto scans = std::make_shared<SharedScans>();
  SharedScans::Member a(scans), b(scans);
  ASSERT_TRUE(b.page(*log_, 0, 10).ok());  // b scans from idx 0
  auto first = a.page(*log_, 20, 10);      // idx 21..25: nothing follows yet
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE((*first)->has_more());
  EXPECT_EQ(scans->kept(), 0u);
  append(3);
  auto second = b.page(*log_, 20, 10);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(scans->reads(), 3);
  EXPECT_EQ(idxs(*second), (std::vector<int64_t>{21, 22, 23, 24, 25, 26, 27, 28}));
  // Both reached the end: what a scan behind would have needed is no longer kept.
  ASSERT_TRUE(a.page(*log_, 0, 5).ok());
  ASSERT_TRUE(a.page(*log_, 5, 5).ok());
  EXPECT_EQ(scans->kept(), 0u);
}

TEST_F(SharedScansTest, AFullPageAtTheLogsEndIsKeptForTheMembersBehindIt) {
  auto scans = std::make_shared<SharedScans>();
  SharedScans::Member a(scans), b(scans);
  ASSERT_TRUE(b.page(*log_, 0, 5).ok());
  auto last = a.page(*log_, 20, 5);  // idx 21..25: nothing follows, but it holds 5 events
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE((*last)->has_more());
  EXPECT_EQ(scans->kept(), 1u);
  for (int64_t since : {5, 10, 15}) ASSERT_TRUE(b.page(*log_, since, 5).ok());
  auto same = b.page(*log_, 20, 5);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->get(), last->get());
  EXPECT_EQ(scans->reads(), 5);
  EXPECT_EQ(scans->kept(), 0u);
}

TEST_F(SharedScansTest, AMemberThatLeavesNoLongerHoldsPages) {
  auto scans = std::make_shared<SharedScans>();
  SharedScans::Member reader(scans);
  {
    SharedScans::Member behind(scans);
    ASSERT_TRUE(behind.page(*log_, 0, 5).ok());
    ASSERT_TRUE(reader.page(*log_, 5, 5).ok());
    ASSERT_TRUE(reader.page(*log_, 10, 5).ok());
    EXPECT_EQ(scans->kept(), 2u);  // both stand after `behind`
  }
  EXPECT_EQ(scans->kept(), 0u);
}

TEST_F(SharedScansTest, OnlyTheNewestPagesAreKept) {
  auto scans = std::make_shared<SharedScans>(/*kept=*/2);
  SharedScans::Member reader(scans), behind(scans);
  ASSERT_TRUE(behind.page(*log_, 0, 5).ok());
  for (int64_t since : {5, 10, 15}) ASSERT_TRUE(reader.page(*log_, since, 5).ok());
  EXPECT_EQ(scans->kept(), 2u);
  EXPECT_EQ(scans->reads(), 4);
  // since 5 was pushed out by the two newer pages; 10 and 15 are still kept.
  ASSERT_TRUE(behind.page(*log_, 5, 5).ok());
  EXPECT_EQ(scans->reads(), 5);
  ASSERT_TRUE(behind.page(*log_, 10, 5).ok());
  ASSERT_TRUE(behind.page(*log_, 15, 5).ok());
  EXPECT_EQ(scans->reads(), 5);
  EXPECT_EQ(scans->shares(), 2);
}

// A log whose first read says it has started, then waits until the test opens the gate.
class GatedReads final : public testing::ForwardingStorage {
 public:
  GatedReads(storage::Storage& inner, std::promise<void>* started, std::shared_future<void> gate)
      : ForwardingStorage(inner), started_(started), gate_(std::move(gate)) {}
  Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter, int limit) override {
    if (++calls_ == 1) {
      started_->set_value();
      gate_.wait();
    }
    return inner().list_events(since_idx, filter, limit);
  }

 private:
  std::promise<void>* started_;
  std::shared_future<void> gate_;
  int calls_ = 0;
};

// `kept` for the gated tests: how many pages may be kept.
std::shared_ptr<SharedScans> started_scan(size_t kept) {
  return std::make_shared<SharedScans>(kept);
}

// The reader's read of idx 1..10 is held at the gate while the waiter asks for the same page.
struct HeldRead {
  HeldRead(storage::Storage& log, size_t kept)
      : scans(started_scan(kept)), reader(scans), waiter(scans), gated(log, &started, gate()) {}
  std::shared_future<void> gate() { return open.get_future().share(); }
  // Both ask for idx 1..10; returns once the waiter waits for the reader's page.
  void ask(storage::Storage& log) {
    first = std::async(std::launch::async, [&] { return reader.page(gated, 0, 10); });
    started.get_future().wait();  // the reader's read is under way
    second = std::async(std::launch::async, [&] { return waiter.page(log, 0, 10); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (scans->waiting() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }

  std::shared_ptr<SharedScans> scans;
  SharedScans::Member reader, waiter;
  std::promise<void> started, open;
  GatedReads gated;
  std::future<Result<SharedPage>> first, second;
};

TEST_F(SharedScansTest, AMemberAskingForAPageBeingReadReadsTheNextOneThenGetsTheSamePage) {
  HeldRead held(*log_, /*kept=*/4);
  held.ask(*log_);
  EXPECT_EQ(held.scans->waiting(), 1);
  // Before waiting, the waiter read the page after it (idx 11..20) and kept it.
  EXPECT_EQ(held.scans->reads(), 1);
  EXPECT_EQ(held.scans->kept(), 1u);
  held.open.set_value();
  auto a = held.first.get();
  auto b = held.second.get();
  ASSERT_TRUE(a.ok() && b.ok());
  // One read of idx 1..10 for both: the waiter got the reader's page.
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(held.scans->reads(), 2);
  EXPECT_EQ(held.scans->shares(), 1);
  EXPECT_EQ(held.scans->waiting(), 0);
  // The page read ahead is the one either asks for next: no read.
  auto next = held.reader.page(*log_, 10, 10);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(idxs(*next), (std::vector<int64_t>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));
  EXPECT_EQ(held.scans->reads(), 2);
  EXPECT_EQ(held.scans->shares(), 2);
}

// The waiter asks for the page the reader is reading and reads the next one meanwhile; the
// reader's page comes in before the waiter's read ahead ends. It is kept for the waiter, who
// stands at it, instead of being read again.
TEST_F(SharedScansTest, APageReadWhileTheWaiterReadsAheadIsKeptForIt) {
  auto scans = std::make_shared<SharedScans>(/*kept=*/4);
  SharedScans::Member reader(scans), waiter(scans);
  std::promise<void> reader_started, waiter_started, open_reader, open_waiter;
  GatedReads reader_log(*log_, &reader_started, open_reader.get_future().share());
  GatedReads waiter_log(*log_, &waiter_started, open_waiter.get_future().share());
  auto first = std::async(std::launch::async, [&] { return reader.page(reader_log, 0, 10); });
  reader_started.get_future().wait();
  auto second = std::async(std::launch::async, [&] { return waiter.page(waiter_log, 0, 10); });
  waiter_started.get_future().wait();  // the waiter's read of idx 11..20 is under way
  open_reader.set_value();
  auto a = first.get();
  ASSERT_TRUE(a.ok());
  open_waiter.set_value();
  auto b = second.get();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(scans->reads(), 2);
  EXPECT_EQ(scans->shares(), 1);
}

TEST_F(SharedScansTest, NoPageIsReadAheadWhenAsManyAsKeptAreKept) {
  HeldRead held(*log_, /*kept=*/1);
  SharedScans::Member behind(held.scans);
  ASSERT_TRUE(behind.page(*log_, 0, 5).ok());        // scans from idx 0 on
  ASSERT_TRUE(held.waiter.page(*log_, 15, 5).ok());  // kept: `behind` stands before it
  EXPECT_EQ(held.scans->kept(), 1u);
  held.ask(*log_);
  EXPECT_EQ(held.scans->waiting(), 1);
  held.open.set_value();
  ASSERT_TRUE(held.first.get().ok());
  ASSERT_TRUE(held.second.get().ok());
  EXPECT_EQ(held.scans->reads(), 3);  // the two before, and idx 1..10 once
}

TEST_F(SharedScansTest, AnErrorIsTheStoragesAndNothingIsKept) {
  auto scans = std::make_shared<SharedScans>();
  SharedScans::Member a(scans), b(scans);
  ASSERT_TRUE(b.page(*log_, 0, 10).ok());
  auto bad = a.page(*log_, 10, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(scans->kept(), 0u);
}

}  // namespace
}  // namespace bel::actors
