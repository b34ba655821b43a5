// Console tokens (SPEC R6): how a coordinator makes one, stores it, and checks a presented one.
//
//   std::string token = bel::actors::new_token();           // 256 bits from getrandom(2)
//   BEL_RETURN_IF_ERROR(bel::actors::write_token_file(path, token));
//   auto read = bel::actors::read_token_file(path, TokenFileRule::coordinator);
//   if (!read.ok()) return read.error();                     // names the file and the rule
//   if (bel::actors::constant_time_equal(presented, *read)) ...
//
// The token file is written without ever opening a name another user could have created first:
// a fresh temporary name in the same directory, created with O_CREAT|O_EXCL|O_NOFOLLOW and mode
// 0600, then renamed over the final name. A pre-created "<path>.tmp" (file or symlink) is never
// touched, so it never receives the token.
//
// Thread-safe: every function is.
#ifndef BEL_ACTORS_NET_TOKEN_H_
#define BEL_ACTORS_NET_TOKEN_H_

#include <string>

#include "messages/error.h"

namespace bel::actors {

// The shortest token a coordinator accepts from --token-file: 32 hex digits, 128 bits.
inline constexpr size_t kMinTokenHexDigits = 32;

// A new random token: 32 bytes from getrandom(2) (the kernel's random source), as 64 hex digits.
// Aborts the process when the kernel has no random source (nothing safe to fall back on).
std::string new_token();

// True when `a` equals `b`, in time that depends only on their lengths.
bool constant_time_equal(const std::string& a, const std::string& b);

enum class TokenFileRule {
  // A console presenting the token: the file only has to be readable.
  console,
  // A coordinator taking an operator's --token-file: the file must be private to its owner
  // (no group or other permission bits), a regular file owned by the process's user, holding at
  // least kMinTokenHexDigits hex digits.
  coordinator,
};

// Reads the token in `path` (surrounding whitespace removed), checked by `rule`. Errors name the
// file and the rule broken: unauthorized when it cannot be read; invalid_argument for an empty
// file or (coordinator) not a regular file, a wide mode, another user as owner, a token shorter
// than 128 bits or not hex.
Result<std::string> read_token_file(const std::string& path, TokenFileRule rule);

// Writes `token` to `path` (created or replaced, mode 0600) through a fresh temporary name in the
// same directory (see above). storage_unavailable naming the file when it cannot.
Status write_token_file(const std::string& path, const std::string& token);

}  // namespace bel::actors

#endif  // BEL_ACTORS_NET_TOKEN_H_
