// Partition-ref globs (SPEC 3.2): `*` any run of characters (including `/`), `?` one character,
// `[abc]`, `[a-z]` a class and `[^a-z]` its complement; case-sensitive; matched against the whole
// ref. These are exactly SQLite's GLOB rules, so a backend may push a pattern down to SQL.
//
//   if (auto ok = bel::check_glob(p); !ok.ok()) return ok.error();
//   bool hit = bel::glob_match("data/*/2024-??-01", "data/sales/2024-05-01");
#ifndef BEL_MESSAGES_GLOB_H_
#define BEL_MESSAGES_GLOB_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel {

// The longest pattern taken: SQLite's own limit on a GLOB pattern (SQLITE_MAX_LIKE_PATTERN_LENGTH),
// held on every backend so that all refuse the same filters. A ref is at most 65 536 bytes: a
// longer one is found by naming it (--partition), not by a pattern.
inline constexpr size_t kMaxGlobBytes = 50000;

// invalid_argument when `pattern` is empty, longer than kMaxGlobBytes, is not well-formed UTF-8,
// or has an unclosed `[` class.
Status check_glob(std::string_view pattern);

// True when `text` is well-formed UTF-8 (what a protobuf string holds): no stray, overlong or
// truncated sequence, no surrogate, nothing above U+10FFFF.
bool is_utf8(std::string_view text);
// The offset of the first byte of `text` that does not begin or continue a well-formed sequence
// (as is_utf8 defines it), or std::string_view::npos when there is none. ASCII runs are skipped
// eight bytes at a time: the append path checks every string of every event with it.
size_t utf8_error_at(std::string_view text);
// "" when `text` is well-formed UTF-8, else what is wrong with it and where, to follow a name:
// "is not valid UTF-8: byte 0xff at offset 2". Every refusal of such text says it this way.
std::string utf8_problem(std::string_view text);
// invalid_argument "<field> is not valid UTF-8: byte 0xff at offset 2" when `value` is not
// well-formed UTF-8: a key or argument no stored event can hold (appends refuse such strings), and
// which a protobuf message carrying it could not pass to another process.
Status check_utf8(std::string_view field, std::string_view value);

// True when `text` as a whole matches `pattern`. REQUIRES: check_glob(pattern).ok()
bool glob_match(std::string_view pattern, std::string_view text);

// The literal characters before the first wildcard or class: every match starts with it.
std::string glob_literal_prefix(std::string_view pattern);

}  // namespace bel

#endif  // BEL_MESSAGES_GLOB_H_
