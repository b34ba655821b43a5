// bel's long-lived threads carry "bel." names (storage/thread_name.h) where CAF would call each
// detached actor's "caf.actor", so that `top -H`, perf and `bel bench` tell them apart.
#include <gtest/gtest.h>
#include <pthread.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "actors/coordinator.h"
#include "storage/thread_name.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

constexpr auto kNamesTimeout = std::chrono::seconds(30);

// How many of this process's threads carry each name.
std::map<std::string, int> thread_names() {
  std::map<std::string, int> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    if (std::getline(in, name)) ++names[name];
  }
  return names;
}

std::string this_thread_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

TEST(ThreadNamesTest, ACoordinatorsStorageActorAndCheckpointerRunOnThreadsOfTheirNames) {
  const testing::TempDir dir;
  const std::string caller = this_thread_name();
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  auto api = start_coordinator(system, "sqlite://" + dir.path() + "/bel.db");
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  {
    // An answered append: the storage actor has built its behavior on its thread by then.
    caf::scoped_actor self{system};
    auto events = testing::random_stream(5, testing::RandomStreamOptions{20, 2, 4});
    std::vector<BuildEvent> batch(events.begin(), events.end());
    for (auto& e : batch) e.set_idx(0);
    self->request(*api, kNamesTimeout, append_atom::value, batch)
        .receive([&](const AppendAcks& acks) { EXPECT_EQ(acks.acks_size(), 20); },
                 [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  }
  auto names = thread_names();
  EXPECT_EQ(names[kStorageThreadName], 1);
  EXPECT_EQ(names["bel.checkpoint"], 1);
  // Each thread named itself: the thread that started the coordinator keeps its own name.
  EXPECT_EQ(this_thread_name(), caller);
  EXPECT_NE(caller, kStorageThreadName);
  stop_coordinator(*api);
}

}  // namespace
}  // namespace bel::actors
