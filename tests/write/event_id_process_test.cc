// Event ids the log writer assigns are unique across processes (a child forked from a writer, or
// two writers started at the same moment, must never draw the same ids: the second append would
// fail as duplicate_event_id) and ordered within each process.
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/write/log_writer.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"

namespace bel::actors {
namespace {

using namespace bel::testing;  // NOLINT: test helpers
using namespace bel::v1;       // NOLINT: enum values

constexpr int kBatches = 50;
constexpr int kEventsPerBatch = 40;

// Appends kBatches batches of events without ids to a fresh log; returns the ids the writer gave
// them, in idx order.
std::vector<std::string> assign_ids(const std::string& tag) {
  std::vector<std::string> ids;
  auto storage = storage::open_storage("memory://", {});
  if (!storage.ok()) return ids;
  auto writer = LogWriter::open(std::move(*storage), {});
  if (!writer.ok()) return ids;
  for (int b = 0; b < kBatches; ++b) {
    const std::string build = tag + "-" + std::to_string(b);
    std::vector<BuildEvent> batch{request_event(build, BUILD_REQUEST_RECEIVED)};
    for (int i = 1; i < kEventsPerBatch; ++i) {
      batch.push_back(partition_event(build, build + "/p" + std::to_string(i), PARTITION_REQUESTED));
    }
    for (auto& e : batch) e.clear_event_id();
    if (!(*writer)->stage(std::move(batch)).ok()) return ids;
    auto done = (*writer)->commit();
    for (const auto& e : done.committed) ids.push_back(e.event_id());
  }
  return ids;
}

TEST(EventIdProcessTest, TwoProcessesWritingAtOnceGetDistinctIdsEachInOrder) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    std::string out;
    for (const auto& id : assign_ids("child")) out += id + "\n";
    size_t written = 0;
    while (written < out.size()) {
      const ssize_t n = ::write(fds[1], out.data() + written, out.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    ::_exit(written == out.size() ? 0 : 1);
  }
  ::close(fds[1]);
  const std::vector<std::string> parent_ids = assign_ids("parent");
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) text.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<std::string> child_ids;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    child_ids.push_back(text.substr(start, end - start));
  }

  constexpr size_t kIds = kBatches * kEventsPerBatch;
  ASSERT_EQ(parent_ids.size(), kIds);
  ASSERT_EQ(child_ids.size(), kIds);
  std::set<std::string> all(parent_ids.begin(), parent_ids.end());
  all.insert(child_ids.begin(), child_ids.end());
  EXPECT_EQ(all.size(), 2 * kIds) << "the two processes drew the same event ids";
  for (const std::vector<std::string>& ids : {parent_ids, child_ids}) {
    for (size_t i = 1; i < ids.size(); ++i) {
      EXPECT_LT(ids[i - 1], ids[i]) << "ids of one process out of order at " << i;
    }
  }
}

}  // namespace
}  // namespace bel::actors
