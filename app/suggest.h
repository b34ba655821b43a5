// "Did you mean ...?" for mistyped commands and flags: the closest known word by edit distance.
//
//   auto hint = bel::app::closest("partition", {"partitions", "builds", "jobs"});
//   // *hint == "partitions"
#ifndef BEL_APP_SUGGEST_H_
#define BEL_APP_SUGGEST_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bel::app {

// The choice closest to `word`: within 2 edits (insert, delete, substitute or swap two adjacent
// characters) and fewer edits than half of `word`'s length, or else the only choice that `word`
// is a prefix of. Nothing when no choice is that close, or when two are equally close.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& choices);

// `message` plus "; did you mean "x"?" when closest() finds one.
std::string with_suggestion(std::string message, std::string_view word,
                            const std::vector<std::string>& choices);

}  // namespace bel::app

#endif  // BEL_APP_SUGGEST_H_
