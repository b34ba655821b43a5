#include "messages/escape.h"

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

}  // namespace bel
