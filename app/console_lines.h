// What `bel console` does with a line of text before any command runs: splits it into words the
// way a shell would, and proposes the words that may complete a partial line (for Tab). Both are
// pure functions, so they are tested without a terminal.
//
//   auto words = split_console_line(R"(builds cancel br-1 --reason "too slow")");
//   // {"builds", "cancel", "br-1", "--reason", "too slow"}
//   if (!words.ok()) print(words.error());  // an unterminated quote: a usage error for the line
//
//   complete_console_word(app, {"builds"}, "li");  // {"list"}
#ifndef BEL_APP_CONSOLE_LINES_H_
#define BEL_APP_CONSOLE_LINES_H_

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"

namespace bel::app {

// Splits `line` into words. Whitespace separates words; single quotes group literally; double
// quotes group and inside them a backslash escapes only `"` and `\`; outside quotes a backslash
// escapes any character. Quoted and unquoted parts next to each other form one word, and `""` is
// an empty word. No expansions of any kind (variables, globs, ~). A line whose first non-blank
// character is `#` is a comment: no words. A blank line: no words (not an error).
// Returns invalid_argument naming the problem and its column (1-based) for an unterminated quote
// or a line that ends in a lone backslash.
Result<std::vector<std::string>> split_console_line(std::string_view line);

// The words that may replace `prefix`, the partial word under the cursor, when the complete words
// `before` precede it on the line; sorted, each starting with `prefix`. `commands` is the console's
// command tree (add_all_commands with interactive = true); `builtins` are the console's own words
// (help, quit, ...), offered first on a line. After `help`, offers command and subcommand names;
// after a command path, its subcommand names, or its option names ("--limit") when `prefix`
// starts with '-'; after an option that lists its values (--format, --status, --type), those
// values. Offers nothing for other option values and for positional arguments.
std::vector<std::string> complete_console_word(const CLI::App& commands,
                                               const std::vector<std::string>& builtins,
                                               const std::vector<std::string>& before,
                                               std::string_view prefix);

}  // namespace bel::app

#endif  // BEL_APP_CONSOLE_LINES_H_
