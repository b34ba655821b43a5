#include "app/text.h"

#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <cctype>

#include "messages/escape.h"

namespace bel::app {
namespace {

// Decodes the code point at text[i]; returns its byte length, or -1 for an invalid sequence.
utf8proc_ssize_t decode(std::string_view text, size_t i, utf8proc_int32_t* cp) {
  return utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                          static_cast<utf8proc_ssize_t>(text.size() - i), cp);
}

// The bytes of the escape printable() wrote at shown[i] (a backslash): \\, \n, \t, \r, \xNN
// or \uXXXX, whose code point may have five or six hex digits. A \u escape is read as the longest
// run of hex digits naming a character printable() escapes (the text after "\u200b" may begin
// with a hex digit).
size_t escape_length(std::string_view shown, size_t i) {
  if (i + 1 >= shown.size()) return 1;
  size_t digits = 0;
  while (digits < 6 && i + 2 + digits < shown.size() &&
         std::isxdigit(static_cast<unsigned char>(shown[i + 2 + digits]))) {
    ++digits;
  }
  if (shown[i + 1] == 'x') return 2 + std::min<size_t>(digits, 2);
  if (shown[i + 1] != 'u') return 2;
  for (size_t n = digits; n > 4; --n) {
    const auto cp =
        static_cast<char32_t>(std::stoul(std::string(shown.substr(i + 2, n)), nullptr, 16));
    if (cp <= 0x10ffff && shown_as_escape(cp)) return 2 + n;
  }
  return 2 + std::min<size_t>(digits, 4);
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = decode(text, i, &cp);
    if (n <= 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (cp == '\\') {
      out += "\\\\";  // so that the text "\x1b" never reads as an escaped ESC
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7f) {
      out += fmt::format("\\x{:02x}", cp);
    } else if (cp >= 0x80 && shown_as_escape(static_cast<char32_t>(cp))) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out.append(text.data() + i, static_cast<size_t>(n));
    }
    i += static_cast<size_t>(n);
  }
  return out;
}

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = decode(text, i, &cp);
    if (n <= 0) {
      ++width;
      ++i;
      continue;
    }
    width += static_cast<size_t>(std::max(0, utf8proc_charwidth(cp)));
    i += static_cast<size_t>(n);
  }
  return width;
}

std::string fit(std::string_view text, size_t max_width) { return cut(printable(text), max_width); }

std::string cut(std::string_view shown, size_t max_width) {
  if (display_width(shown) <= max_width) return std::string(shown);
  // Keep whole grapheme clusters while they leave one column for the ellipsis. An escape is one
  // cluster: a cut inside "\u200b" would leave "\u20", which reads as another escape.
  const size_t budget = max_width - 1;
  size_t width = 0;
  size_t kept = 0;  // bytes kept: the end of the last whole cluster that fits
  size_t cluster_width = 0;
  utf8proc_int32_t previous = -1;
  utf8proc_int32_t state = 0;
  for (size_t i = 0; i < shown.size();) {
    if (shown[i] == '\\') {
      if (previous >= 0) {
        if (width + cluster_width > budget) break;
        width += cluster_width;
        kept = i;
      }
      const size_t len = escape_length(shown, i);
      cluster_width = len;  // ASCII, a column each
      previous = static_cast<unsigned char>(shown[i + len - 1]);
      state = 0;
      i += len;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = decode(shown, i, &cp);
    const size_t len = n > 0 ? static_cast<size_t>(n) : 1;
    if (previous >= 0 && utf8proc_grapheme_break_stateful(previous, cp, &state)) {
      // The cluster before `i` is whole: keep it if it fits.
      if (width + cluster_width > budget) break;
      width += cluster_width;
      kept = i;
      cluster_width = 0;
    }
    cluster_width += n > 0 ? static_cast<size_t>(std::max(0, utf8proc_charwidth(cp))) : 1;
    previous = n > 0 ? cp : 0xfffd;
    i += len;
  }
  return std::string(shown.substr(0, kept)) + "…";
}

std::string pad(std::string_view text, size_t width) {
  std::string out(text);
  const size_t w = display_width(text);
  if (w < width) out.append(width - w, ' ');
  return out;
}

std::string shell_word(std::string_view text) {
  // printable() doubles a backslash, which single quotes would keep doubled: text that needs no
  // escape but its backslashes is quoted as it is, so that it pastes back as itself.
  std::string doubled;
  for (char c : text) doubled += c == '\\' ? std::string("\\\\") : std::string(1, c);
  std::string word = printable(text);
  if (word == doubled) word = std::string(text);
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace bel::app
