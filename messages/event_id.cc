#include "messages/event_id.h"

#include <sys/random.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>

namespace bel {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr uint64_t kRandomBits = 74;  // rand_a (12) + rand_b (62)

// `n` bytes from the OS random source. getrandom only fails before the pool is initialised
// (blocks instead) or on a bad buffer; EINTR is retried.
void fill_random(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no random source: an id that might collide is worse than stopping
    }
    got += static_cast<size_t>(r);
  }
}

// The 74 random bits of an id, as (high 10 bits, low 64 bits): kept split so the increment
// below is plain integer arithmetic.
struct Sequence {
  pid_t pid = 0;  // the process that drew it: a forked child must not continue it
  uint64_t ms = 0;
  uint64_t hi = 0;  // top 10 of the 74 random bits
  uint64_t lo = 0;  // bottom 64
};

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string format(const Sequence& s) {
  // 74 random bits = rand_a (12) then rand_b (62).
  const uint64_t rand_a = (s.hi << 2) | (s.lo >> 62);  // 10 + 2 bits
  const uint64_t rand_b = s.lo & ((uint64_t{1} << 62) - 1);
  const uint64_t high = (s.ms << 16) | (uint64_t{7} << 12) | rand_a;
  const uint64_t low = (uint64_t{2} << 62) | rand_b;
  std::string out(36, '-');
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    const uint64_t word = i < 16 ? high : low;
    const int shift = 60 - 4 * (i % 16);
    out[static_cast<size_t>(pos++)] = kHex[(word >> shift) & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string new_event_id() {
  static std::mutex mu;
  static Sequence last;
  std::lock_guard<std::mutex> lock(mu);
  const pid_t pid = getpid();
  const uint64_t ms = now_ms() & ((uint64_t{1} << 48) - 1);
  if (pid != last.pid || ms > last.ms) {
    unsigned char r[10];
    fill_random(r, sizeof(r));
    uint64_t lo = 0;
    for (int i = 0; i < 8; ++i) lo = (lo << 8) | r[i];
    // Leave the top bit of the random field clear so a millisecond's increments have room
    // before they would carry into the timestamp (RFC 9562 6.2, counter rollover guard).
    const uint64_t hi = ((uint64_t{r[8]} << 8) | r[9]) & 0x1ff;
    last = Sequence{pid, ms, hi, lo};
  } else {
    // Same millisecond, or the clock stepped back: continue from the last id.
    if (++last.lo == 0) ++last.hi;
    if (last.hi >> (kRandomBits - 64)) {  // 74 bits exhausted: borrow the next millisecond
      ++last.ms;
      last.hi = 0;
      last.lo = 0;
    }
  }
  return format(last);
}

std::optional<std::string> uuid_to_bytes(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string bytes(16, '\0');
  size_t out = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int a = hex_value(text[i]);
    const int b = hex_value(text[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    bytes[out++] = static_cast<char>((a << 4) | b);
    i += 2;
  }
  return bytes;
}

std::string uuid_from_bytes(std::string_view bytes) {
  assert(bytes.size() == 16);
  // Filled in place: every read of a stored id comes here (a scan of the log, once per event).
  std::string out(36, '-');
  size_t at = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // the dash already there
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[at++] = kHex[b >> 4];
    out[at++] = kHex[b & 0xf];
  }
  return out;
}

}  // namespace bel
