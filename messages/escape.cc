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

bool moves_text(char32_t cp) {
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool invisible(char32_t cp) {
  if (cp < 0xad) return false;
  if (cp == 0x200c || cp == 0x200d) return false;                    // joiners
  if ((cp >= 0x180b && cp <= 0x180d) || cp == 0x180f) return false;  // Mongolian selectors
  if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return false;
  if (cp >= 0xe0020 && cp <= 0xe007f) return false;  // tags
  // Default_Ignorable_Code_Point (Unicode 15), and U+FFF9..U+FFFB.
  return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 ||
         cp == 0x17b5 || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 ||
         cp == 0xfeff || cp == 0xffa0 || (cp >= 0xfff0 && cp <= 0xfffb) ||
         (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0000 && cp <= 0xe0fff);
}

CodePoint first_code_point(std::string_view text) {
  if (text.empty()) return {};
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  char32_t cp = 0;
  char32_t least = 0;  // below it, the sequence is overlong
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, cp = lead & 0x1fu, least = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, cp = lead & 0x0fu, least = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, cp = lead & 0x07u, least = 0x10000;
  } else {
    return {};
  }
  if (text.size() < length) return {};
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {};
  return {cp, length};
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
