#include "app/suggest.h"

#include <algorithm>

namespace bel::app {
namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& choices) {
  // Flags are compared without their dashes, so "--" counts for nothing in the length rule.
  const std::string_view bare = word.substr(std::min(word.find_first_not_of('-'), word.size()));
  size_t best = 3;
  std::optional<std::string> found;
  bool tie = false;
  for (const auto& choice : choices) {
    const size_t d = edit_distance(word, choice);
    if (d == 0 || d * 2 >= bare.size()) continue;
    if (d < best) {
      best = d;
      found = choice;
      tie = false;
    } else if (d == best) {
      tie = true;
    }
  }
  if (found && !tie) return found;
  std::optional<std::string> prefixed;
  for (const auto& choice : choices) {
    if (bare.size() >= 2 && choice.size() > word.size() &&
        choice.compare(0, word.size(), word) == 0) {
      if (prefixed) return std::nullopt;
      prefixed = choice;
    }
  }
  return prefixed;
}

std::string with_suggestion(std::string message, std::string_view word,
                            const std::vector<std::string>& choices) {
  if (auto hint = closest(word, choices)) message += "; did you mean \"" + *hint + "\"?";
  return message;
}

}  // namespace bel::app
