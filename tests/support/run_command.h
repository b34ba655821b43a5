// Runs a command through the shell and captures what it printed, for end-to-end tests.
//
//   auto r = bel::testing::run_command("bel events list --format json", "");
//   EXPECT_EQ(r.exit_code, 0) << r.err;
#ifndef BEL_TESTS_SUPPORT_RUN_COMMAND_H_
#define BEL_TESTS_SUPPORT_RUN_COMMAND_H_

#include <string>
#include <vector>

namespace bel::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string out;
  std::string err;
};

// Runs `command` with `/bin/sh -c`, feeding `input` on standard input.
CommandResult run_command(const std::string& command, const std::string& input = "");

// Quotes `arg` for the shell.
std::string shell_quote(const std::string& arg);

// Whether `text` contains `part`.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_RUN_COMMAND_H_
