#include "messages/glob.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

namespace bel {
namespace {

// The character at text[*i] as SQLite reads it (sqlite3Utf8Read): a UTF-8 sequence decoded to its
// code point, a stray byte as itself; advances *i past it. REQUIRES: *i < text.size()
uint32_t next_char(std::string_view text, size_t* i) {
  uint32_t c = static_cast<unsigned char>(text[(*i)++]);
  if (c < 0xc0) return c;
  c &= c >= 0xf0 ? 0x07u : c >= 0xe0 ? 0x0fu : 0x1fu;
  while (*i < text.size() && (static_cast<unsigned char>(text[*i]) & 0xc0) == 0x80) {
    c = (c << 6) | (static_cast<unsigned char>(text[(*i)++]) & 0x3f);
  }
  if (c < 0x80 || (c & 0xFFFFF800) == 0xD800 || (c & 0xFFFFFFFE) == 0xFFFE) c = 0xFFFD;
  return c;
}

// Matches the class starting at pattern[p] == '[' against the character c, as SQLite does: a ']'
// right after '[' (or '[^') is a literal member, `x-y` is a range unless '-' comes first, last or
// right after a range. Sets `end` to the index just past the closing ']'.
bool class_match(std::string_view pattern, size_t p, uint32_t c, size_t* end) {
  size_t i = p + 1;
  bool negate = false;
  bool seen = false;
  if (i < pattern.size() && pattern[i] == '^') {
    negate = true;
    ++i;
  }
  if (i < pattern.size() && pattern[i] == ']') {
    seen = c == ']';
    ++i;
  }
  uint32_t prior = 0;  // the previous member, the low end of a range
  while (i < pattern.size() && pattern[i] != ']') {
    const uint32_t member = next_char(pattern, &i);
    if (member == '-' && prior > 0 && i < pattern.size() && pattern[i] != ']') {
      const uint32_t hi = next_char(pattern, &i);
      if (prior <= c && c <= hi) seen = true;
      prior = 0;
    } else {
      if (c == member) seen = true;
      prior = member;
    }
  }
  *end = i + 1;  // past ']'
  return seen != negate;
}

}  // namespace

size_t utf8_error_at(std::string_view text) {
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};  // shortest form by length
  for (size_t i = 0; i < text.size();) {
    uint64_t eight;
    if (i + 8 <= text.size()) {
      std::memcpy(&eight, text.data() + i, 8);
      if ((eight & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > text.size()) return i;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool is_utf8(std::string_view text) { return utf8_error_at(text) == std::string_view::npos; }

std::string utf8_problem(std::string_view text) {
  const size_t at = utf8_error_at(text);
  if (at == std::string_view::npos) return {};
  return fmt::format("is not valid UTF-8: byte 0x{:02x} at offset {}",
                     static_cast<unsigned char>(text[at]), at);
}

Status check_utf8(std::string_view field, std::string_view value) {
  std::string problem = utf8_problem(value);
  if (problem.empty()) return ok_status();
  return make_error(ErrorCode::invalid_argument, fmt::format("{} {}", field, problem));
}

Status check_glob(std::string_view pattern) {
  if (pattern.empty()) return make_error(ErrorCode::invalid_argument, "pattern is empty");
  if (pattern.size() > kMaxGlobBytes) {
    return make_error(ErrorCode::invalid_argument,
                      "pattern of " + std::to_string(pattern.size()) + " bytes is longer than " +
                          std::to_string(kMaxGlobBytes) + " (name a ref that long whole instead)");
  }
  // SQLite reads a broken sequence as some other character: a match could then lack the
  // pattern's literal prefix, which a backend uses to narrow its scan.
  if (Status utf8 = check_utf8("pattern", pattern); !utf8.ok()) return utf8;
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
  // Iterative matcher with single-star backtracking: linear in practice, no recursion. Steps are
  // characters (UTF-8 sequences), as in SQLite: `?` matches one character, not one byte.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      size_t next_t = t;
      const uint32_t tc = next_char(text, &next_t);
      if (pc == '?') {
        ++p;
        t = next_t;
        continue;
      }
      if (pc == '[') {
        size_t end = 0;
        if (class_match(pattern, p, tc, &end)) {
          p = end;
          t = next_t;
          continue;
        }
      } else {
        size_t next_p = p;
        if (next_char(pattern, &next_p) == tc) {
          p = next_p;
          t = next_t;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    next_char(text, &star_t);
    t = star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string glob_literal_prefix(std::string_view pattern) {
  size_t n = pattern.find_first_of("*?[");
  return std::string(pattern.substr(0, n));
}

}  // namespace bel
