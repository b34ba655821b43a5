#include "actors/net/token.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bel::actors {
namespace {

constexpr const char* kHex = "0123456789abcdef";

// Fills `out` from getrandom(2), retrying on EINTR and short reads.
void random_bytes(unsigned char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "bel: getrandom failed (%s): no random source for tokens\n",
                   std::strerror(errno));
      std::abort();
    }
    done += static_cast<size_t>(got);
  }
}

std::string hex(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// Why a coordinator must not take the opened file as its token file, or "" when it may: a
// regular file (a FIFO would hold its start up), private to its owner (no group or other bits),
// and that owner the user the process runs as: another user owning it could rewrite the token.
std::string coordinator_refusal(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "token file " + path + " is not a regular file";
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return "token file " + path + " has mode " + mode +
           "; it must be readable by its owner only (chmod 600 " + path + ")";
  }
  const uid_t self = ::geteuid();
  if (st.st_uid != self) {
    return "token file " + path + " belongs to uid " + std::to_string(st.st_uid) +
           "; it must belong to the user the coordinator runs as (uid " + std::to_string(self) +
           "), since its owner can change the token (chown " + std::to_string(self) + " " + path +
           ")";
  }
  return "";
}

// The file's text; for the coordinator's rule, the rule is checked on the file opened (fstat), so
// that what is read is what was checked.
Result<std::string> read_all(const std::string& path, TokenFileRule rule) {
  // O_NOFOLLOW is not used: an operator may keep the token behind a symlink; the checks are on
  // what the path names. O_NONBLOCK: a FIFO in its place neither blocks the open nor the read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    // A console has no token to present: unauthorized. A coordinator was given a file it cannot
    // use: its own argument is wrong, as for a file of the wrong mode.
    return make_error(
        rule == TokenFileRule::coordinator ? ErrorCode::invalid_argument : ErrorCode::unauthorized,
        "token file " + path + ": " + std::strerror(errno));
  }
  if (rule == TokenFileRule::coordinator) {
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::unauthorized, "token file " + path + ": " + std::strerror(err));
    }
    if (auto why = coordinator_refusal(path, st); !why.empty()) {
      ::close(fd);
      return make_error(ErrorCode::invalid_argument, why);
    }
  }
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::unauthorized,
                        "token file " + path + ": cannot be read (" + std::strerror(err) + ")");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 4096) {
      ::close(fd);
      return make_error(ErrorCode::invalid_argument,
                        "token file " + path + " is larger than 4096 bytes: not a token file");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string new_token() {
  unsigned char bytes[32];
  random_bytes(bytes, sizeof(bytes));
  return hex(bytes, sizeof(bytes));
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

Result<std::string> read_token_file(const std::string& path, TokenFileRule rule) {
  auto text = read_all(path, rule);
  if (!text.ok()) return text.error();
  std::string token = trim(*text);
  if (token.empty()) {
    return make_error(ErrorCode::invalid_argument, "token file " + path + " is empty");
  }
  if (rule == TokenFileRule::coordinator) {
    bool all_hex = true;
    for (char c : token) all_hex = all_hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!all_hex || token.size() < kMinTokenHexDigits) {
      return make_error(ErrorCode::invalid_argument,
                        "token file " + path + " must hold at least " +
                            std::to_string(kMinTokenHexDigits) +
                            " hex digits (128 bits); it holds " + std::to_string(token.size()) +
                            " characters" + (all_hex ? "" : ", not all hex digits") +
                            " (make one with: od -An -tx1 -N32 /dev/urandom | tr -dc 0-9a-f > " +
                            path + "; chmod 600 " + path + ")");
    }
  }
  return token;
}

Status write_token_file(const std::string& path, const std::string& token) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  // A name nobody can have created before: 128 random bits. O_EXCL|O_NOFOLLOW refuse any file or
  // symlink already there (then another name is drawn), and 0600 makes it private from the start.
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    unsigned char bytes[16];
    random_bytes(bytes, sizeof(bytes));
    tmp = path + "." + hex(bytes, sizeof(bytes)) + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      "token file " + path + ": cannot create a temporary file in " + dir + " (" +
                          std::strerror(errno) + ")");
  }
  const std::string text = token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  int err = errno;
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::storage_unavailable,
                      "token file " + path + ": cannot be written (" + std::strerror(err) + ")");
  }
  return ok_status();
}

}  // namespace bel::actors
