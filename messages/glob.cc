#include "messages/glob.h"

namespace bel {
namespace {

// Matches the class starting at pattern[p] == '[' against c. Sets `end` to the index just past
// the closing ']'. A ']' right after '[' (or '[^') is a literal member, as in SQLite.
bool class_match(std::string_view pattern, size_t p, unsigned char c, size_t* end) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && pattern[i] == '^') {
    negate = true;
    ++i;
  }
  bool hit = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    unsigned char lo = static_cast<unsigned char>(pattern[i]);
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      unsigned char hi = static_cast<unsigned char>(pattern[i + 2]);
      if (lo <= c && c <= hi) hit = true;
      i += 3;
    } else {
      if (c == lo) hit = true;
      ++i;
    }
  }
  *end = i + 1;  // past ']'
  return hit != negate;
}

}  // namespace

Status check_glob(std::string_view pattern) {
  if (pattern.empty()) return make_error(ErrorCode::invalid_argument, "pattern is empty");
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '[') continue;
    size_t j = i + 1;
    if (j < pattern.size() && pattern[j] == '^') ++j;
    if (j < pattern.size() && pattern[j] == ']') ++j;  // literal ']' first in class
    while (j < pattern.size() && pattern[j] != ']') ++j;
    if (j >= pattern.size()) {
      return make_error(ErrorCode::invalid_argument,
                        "pattern \"" + std::string(pattern) + "\": unclosed '[' at offset " +
                            std::to_string(i));
    }
    i = j;
  }
  return ok_status();
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single-star backtracking: linear in practice, no recursion.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t end = 0;
        if (class_match(pattern, p, static_cast<unsigned char>(text[t]), &end)) {
          p = end;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string glob_literal_prefix(std::string_view pattern) {
  size_t n = pattern.find_first_of("*?[");
  return std::string(pattern.substr(0, n));
}

}  // namespace bel
