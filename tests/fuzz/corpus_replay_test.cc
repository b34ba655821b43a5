// Replays every file of tests/fuzz/corpus/<harness>/ through its harness, in every build: the
// seed inputs and each fuzzer finding kept as a regression input (SPEC section 9, R2).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/harnesses.h"

namespace bel::fuzz {
namespace {

namespace fs = std::filesystem;

using Harness = int (*)(const uint8_t*, size_t);

// Runs `harness` over each file of the corpus folder `name`; returns how many it ran.
size_t replay(const std::string& name, Harness harness) {
  const fs::path dir = fs::path(BEL_FUZZ_CORPUS_DIR) / name;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A finding aborts the process; a clean run returns 0.
    EXPECT_EQ(harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
  return files.size();
}

TEST(FuzzCorpus, JsonEventsReplays) { EXPECT_GE(replay("json_events", json_events), 5u); }
TEST(FuzzCorpus, ProtoEventsReplays) { EXPECT_GE(replay("proto_events", proto_events), 3u); }
TEST(FuzzCorpus, FilterGlobReplays) { EXPECT_GE(replay("filter_glob", filter_glob), 5u); }
TEST(FuzzCorpus, CommandLineReplays) { EXPECT_GE(replay("command_line", command_line), 5u); }
TEST(FuzzCorpus, SnapshotsReplays) { EXPECT_GE(replay("snapshots", snapshots), 8u); }

}  // namespace
}  // namespace bel::fuzz
