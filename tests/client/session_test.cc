// default_token_path (actors/client/session.h): where a coordinator keeps its token beside its
// log, and where a console looks for it.
#include "actors/client/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

// The working directory changed for the life of the object.
class InDirectory {
 public:
  explicit InDirectory(const std::string& dir) : before_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(before_); }
  InDirectory(const InDirectory&) = delete;
  InDirectory& operator=(const InDirectory&) = delete;

 private:
  std::filesystem::path before_;
};

// The path is absolute whether or not the log exists yet (bel serve prints it), the same before
// and after the log is made, and beside the file a symlink names.
TEST(DefaultTokenPathTest, IsAbsoluteBeforeTheLogExistsAndBesideTheFileASymlinkNames) {
  testing::TempDir dir;
  const std::string real_dir = std::filesystem::canonical(dir.path()).string();
  InDirectory in(dir.path());
  const auto before = default_token_path("sqlite://new.db");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(*before, real_dir + "/new.db.token");
  EXPECT_EQ(default_token_path("new.db"), before);
  std::ofstream("new.db").flush();
  EXPECT_EQ(default_token_path("sqlite://new.db"), before);

  std::filesystem::create_directory("logs");
  std::ofstream("logs/real.db").flush();
  std::filesystem::create_symlink("logs/real.db", "link.db");
  EXPECT_EQ(default_token_path("link.db"), real_dir + "/logs/real.db.token");
  EXPECT_EQ(default_token_path("memory://"), std::nullopt);
}

}  // namespace
}  // namespace bel::actors
