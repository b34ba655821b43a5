// Text for a terminal: what the console prints must survive any text a log holds. Refs and
// messages come from producers and may hold wide characters (日本語, emoji), combining marks,
// escape sequences or invalid UTF-8; a table must align them by what a terminal shows and never
// pass a control character through (an ESC in a message must not clear the operator's screen).
//
//   std::string shown = bel::app::fit(ref, 60);          // escaped, at most 60 columns, "…" if cut
//   size_t columns = bel::app::display_width(shown);
//   std::string cell = bel::app::pad(shown, 64);         // padded to 64 columns
//
// Display widths come from utf8proc (Unicode's East Asian Width and emoji data): 2 for wide
// characters, 0 for combining marks.
#ifndef BEL_APP_TEXT_H_
#define BEL_APP_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace bel::app {

// `text` with every control character (C0, DEL, C1) and every byte that is not valid UTF-8
// replaced by a visible escape: "\n", "\t", "\r", "\x1b" for ESC, "\x7f", "\u009b" for C1 code
// points, "\xff" for a stray byte; so are the bidirectional controls and marks and the line
// and paragraph separators ("\u202e"), which turn around or break what follows them. A
// backslash is doubled ("\\"), so that an escape is never confused with text that reads like
// one. Printable text (any script, emoji, joiners) is kept as it is.
std::string printable(std::string_view text);

// The columns a terminal uses for `text`. REQUIRES: `text` is printable() output (valid UTF-8
// without control characters); other bytes count one column each.
size_t display_width(std::string_view text);

// printable(text), cut to at most `max_width` columns with a trailing "…" when longer. Cuts
// between characters, never inside one, and keeps combining marks with their base character.
// REQUIRES: max_width >= 1.
std::string fit(std::string_view text, size_t max_width);

// `shown` (printable() output) cut to at most `max_width` columns as fit() cuts; unchanged when it
// fits. REQUIRES: max_width >= 1.
std::string cut(std::string_view shown, size_t max_width);

// `text` padded with spaces on the right to `width` columns (unchanged when already wider).
std::string pad(std::string_view text, size_t width);

// `text` as one word of a POSIX shell command line a user may paste (printable(text) when it holds
// a character a terminal must not get, which then no longer pastes as `text`): unchanged when it
// holds only letters, digits and _@%+=:,./- (and is not empty), else in single quotes, each ' as
// '\'': "my log's.db" -> 'my log'\''s.db', "x$(id).db" -> 'x$(id).db'.
std::string shell_word(std::string_view text);

}  // namespace bel::app

#endif  // BEL_APP_TEXT_H_
