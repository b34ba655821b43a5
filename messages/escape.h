// Escaping text for a format that gives some characters a meaning: each of those characters is
// written as its stand-in, every other character as itself. HTML and PostgreSQL's COPY text
// format use it. And trimming the blanks around text.
//
//   std::string out;
//   append_escaped(out, "a<b", {{'<', "&lt;"}});   // out == "a&lt;b"
#ifndef BEL_MESSAGES_ESCAPE_H_
#define BEL_MESSAGES_ESCAPE_H_

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace bel {

// A character and what stands for it.
struct Escape {
  char c;
  const char* as;
};

// Appends `text` to `out`, each character that `escapes` names replaced by its stand-in.
void append_escaped(std::string& out, std::string_view text, std::initializer_list<Escape> escapes);

// `text` with every byte outside printable ASCII, and the backslash, written as \xNN: for a log
// line or an error message that shows untrusted text (a request's path) as it came, on one line.
//   ascii_escaped("a\nb\xff") == "a\\x0ab\\xff"
std::string ascii_escaped(std::string_view text);

// `text` with each byte that does not begin or continue well-formed UTF-8 written as \xNN (the
// rest as it is): text from a damaged row or a request, made fit for a protobuf string or JSON.
//   utf8_escaped("a\xff\xc3\xa9") == "a\\xff\xc3\xa9"
std::string utf8_escaped(std::string_view text);

// A format character that moves or breaks the text shown after it, though it is not a control
// character: the bidirectional embeddings, overrides and isolates (U+202E turns the rest of a
// value around: "data/" U+202E "yliad" shows as "data/daily"), the directional marks, and the
// line and paragraph separators.
bool moves_text(char32_t cp);

// A character a terminal or a browser draws as nothing, though it is not a control character,
// so that "dai" U+200B "ly" shows as "daily": Unicode's default-ignorable code points (the soft
// hyphen, zero-width space, word joiner, byte order mark, Hangul fillers, ...) and the
// interlinear annotation marks, but for those that shape what is drawn: the zero-width joiner
// and non-joiner (emoji sequences, Indic and Arabic scripts), the variation selectors (emoji or
// text presentation) and the tag characters (flags of regions).
bool invisible(char32_t cp);

// A character above ASCII that the console and the dashboard show as \uXXXX rather than as
// itself: a C1 control (U+0080..U+009F), one that moves text (moves_text) or an invisible one.
inline bool shown_as_escape(char32_t cp) {
  return (cp >= 0x80 && cp < 0xa0) || moves_text(cp) || invisible(cp);
}

// The code point of the well-formed UTF-8 sequence at the start of `text` and its length in
// bytes; length 0 when `text` is empty or does not start with one.
struct CodePoint {
  char32_t cp = 0;
  size_t length = 0;
};
CodePoint first_code_point(std::string_view text);

// `text` without the blanks (space, tab, CR, LF) at either end: a value pasted or typed with
// them, a library's message ending in a newline.
//   trim_blanks(" br-1\n") == "br-1"
std::string_view trim_blanks(std::string_view text);

}  // namespace bel

#endif  // BEL_MESSAGES_ESCAPE_H_
