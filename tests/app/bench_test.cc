// bel bench (SPEC sections 6 and 8): the real binary runs a small suite and reports its figure as
// one JSON document; an unknown suite is a usage error. Nothing here asserts a speed: the
// performance targets are checked by `bel bench` itself, never by timed unit tests.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/run_command.h"

namespace bel::app {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

std::string bel() { return shell_quote(BEL_BINARY); }

const google::protobuf::Value* field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

TEST(BenchCommandTest, P2ReportsValueBaselineAndRatioAsJson) {
  TempDir dir;
  auto r = run_command(bel() + " bench p2 --events 200 --repetitions 1 --format json --dir " +
                       shell_quote(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &doc).ok()) << r.out;

  const auto* machine = field(doc, "machine");
  ASSERT_NE(machine, nullptr) << r.out;
  ASSERT_TRUE(machine->has_struct_value());
  const auto* durability = field(machine->struct_value(), "durability");
  ASSERT_NE(durability, nullptr);
  EXPECT_EQ(durability->string_value(), "full");
  EXPECT_NE(field(machine->struct_value(), "cpu"), nullptr);
  EXPECT_NE(field(machine->struct_value(), "filesystem"), nullptr);

  const auto* figures = field(doc, "figures");
  ASSERT_NE(figures, nullptr) << r.out;
  ASSERT_EQ(figures->list_value().values_size(), 1) << r.out;
  const auto& p2 = figures->list_value().values(0).struct_value();
  EXPECT_EQ(field(p2, "id")->string_value(), "P2");
  EXPECT_EQ(field(p2, "unit")->string_value(), "appends/s");
  EXPECT_GT(field(p2, "value")->number_value(), 0) << r.out;
  EXPECT_GT(field(p2, "baseline")->number_value(), 0) << r.out;
  EXPECT_GT(field(p2, "ratio")->number_value(), 0) << r.out;
  EXPECT_EQ(field(p2, "events")->number_value(), 200);
  EXPECT_FALSE(field(p2, "target")->string_value().empty());
  EXPECT_TRUE(field(p2, "pass")->has_bool_value());

  // The scratch directory inside --dir is removed afterwards.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(BenchCommandTest, UnknownSuiteIsAUsageErrorListingTheSuites) {
  auto r = run_command(bel() + " bench p99 --format json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown suite \"p99\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("p1, p1r, p2, p3"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace bel::app
