#include "messages/escape.h"

#include "messages/glob.h"

namespace bel {

void append_escaped(std::string& out, std::string_view text,
                    std::initializer_list<Escape> escapes) {
  out.reserve(out.size() + text.size());
  for (char c : text) {
    const Escape* found = nullptr;
    for (const Escape& escape : escapes) {
      if (escape.c == c) {
        found = &escape;
        break;
      }
    }
    if (found != nullptr) {
      out += found->as;
    } else {
      out += c;
    }
  }
}

std::string ascii_escaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

std::string_view trim_blanks(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) + 1 - first);
}

std::string utf8_escaped(std::string_view text) {
  std::string out;
  for (size_t at; (at = utf8_error_at(text)) != std::string_view::npos;) {
    out.append(text.substr(0, at));
    out += ascii_escaped(text.substr(at, 1));
    text.remove_prefix(at + 1);
  }
  out.append(text);
  return out;
}

}  // namespace bel
