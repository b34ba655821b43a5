// bel's component loggers follow the process's default logger as it is when a line is logged:
// a program embedding bel may set the level, or replace the default logger, after bel has
// logged (docs/embedding.md, "Logging").
#include "actors/component_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "tests/support/events.h"

namespace bel::actors {
namespace {

std::shared_ptr<spdlog::logger> logger_into(std::ostringstream& out, const std::string& name) {
  auto logger =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("[%n] %v");
  logger->set_level(spdlog::level::info);
  return logger;
}

// Puts the process's default logger back after each test.
class ComponentLogTest : public ::testing::Test {
 protected:
  ~ComponentLogTest() override { spdlog::set_default_logger(saved_); }
  std::shared_ptr<spdlog::logger> saved_ = spdlog::default_logger();
};

TEST_F(ComponentLogTest, FollowsTheDefaultLoggerItsLevelAndARegisteredOne) {
  std::ostringstream first, second, routed;
  spdlog::set_default_logger(logger_into(first, "app"));
  const ComponentLog log("gadget");
  log.get()->info("one");
  EXPECT_EQ(first.str(), "[gadget] one\n");

  spdlog::set_default_logger(logger_into(second, "app2"));
  log.get()->info("two");
  EXPECT_EQ(first.str(), "[gadget] one\n");
  EXPECT_EQ(second.str(), "[gadget] two\n");

  spdlog::set_level(spdlog::level::off);
  log.get()->error("three");
  EXPECT_EQ(second.str(), "[gadget] two\n");
  spdlog::set_level(spdlog::level::info);

  spdlog::register_logger(logger_into(routed, "bel.gadget"));
  log.get()->info("four");
  spdlog::drop("bel.gadget");
  log.get()->info("five");
  EXPECT_EQ(routed.str(), "[bel.gadget] four\n");
  EXPECT_EQ(second.str(), "[gadget] two\n[gadget] five\n");
}

TEST_F(ComponentLogTest, ACoordinatorsLinesGoWhereTheDefaultLoggerIsNow) {
  std::ostringstream first, second;
  spdlog::set_default_logger(logger_into(first, "app"));
  caf::actor_system_config config;
  configure_actor_system(config);
  caf::actor_system system{config};
  auto api = start_coordinator(system, "memory://");
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  ApiClient client(system, *api);
  const auto refused = testing::request_event("", BUILD_REQUEST_RECEIVED, {"p/1"});
  ASSERT_FALSE(client.append(refused).ok());
  // Each refusal is logged before it is answered; the views' own start-up lines ("healthy") come
  // when they come, so only the refusals are counted.
  auto refusals = [](const std::ostringstream& out) {
    const std::string text = out.str();
    size_t n = 0;
    for (size_t at = text.find("rejected append"); at != std::string::npos;
         at = text.find("rejected append", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(refusals(first), 1u) << first.str();

  // Replaced after bel logged: bel's next lines go to the new one only.
  spdlog::set_default_logger(logger_into(second, "app2"));
  ASSERT_FALSE(client.append(refused).ok());
  EXPECT_EQ(refusals(second), 1u) << second.str();
  EXPECT_EQ(refusals(first), 1u) << first.str();

  // Silenced: nothing more.
  spdlog::set_level(spdlog::level::off);
  ASSERT_FALSE(client.append(refused).ok());
  stop_coordinator(*api);
  system.await_all_actors_done();
  EXPECT_EQ(refusals(second), 1u) << second.str();
  EXPECT_EQ(refusals(first), 1u) << first.str();
}

}  // namespace
}  // namespace bel::actors
