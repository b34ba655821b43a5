// A fresh memory:// log for tests that read through the storage interface, and appending a
// stream to it as stored events (the log assigns each idx).
//
//   auto log = bel::testing::memory_log();
//   bel::testing::append_stream(*log, stream.events());
// Header-only: each suite compiles it.
#ifndef BEL_TESTS_SUPPORT_MEMORY_LOG_H_
#define BEL_TESTS_SUPPORT_MEMORY_LOG_H_

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "storage/storage.h"
#include "storage/storage_factory.h"

namespace bel::testing {

inline std::unique_ptr<storage::Storage> memory_log() {
  auto log = storage::open_storage("memory://", {});
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends `events` in one batch, their idx cleared (the log numbers them after its last).
inline void append_stream(storage::Storage& log, std::vector<BuildEvent> events) {
  for (auto& e : events) e.set_idx(0);
  auto appended = log.append_batch(events);
  ASSERT_TRUE(appended.ok()) << appended.error().to_string();
}

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_MEMORY_LOG_H_
