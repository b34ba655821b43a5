#include "messages/event_id.h"

#include <sys/random.h>
#include <unistd.h>

#include <array>
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

// By character: its value as a lowercase hex digit, or kNotHex.
constexpr int kNotHex = 0x100;
constexpr std::array<int, 256> make_hex_values() {
  std::array<int, 256> values{};
  for (int c = 0; c < 256; ++c) values[c] = kNotHex;
  for (int c = '0'; c <= '9'; ++c) values[c] = c - '0';
  for (int c = 'a'; c <= 'f'; ++c) values[c] = c - 'a' + 10;
  return values;
}
constexpr std::array<int, 256> kHexValues = make_hex_values();
// Where each byte's two hex digits start in the canonical 8-4-4-4-12 text.
constexpr std::array<int, 16> kDigitsAt = {0,  2,  4,  6,  9,  11, 14, 16,
                                           19, 21, 24, 26, 28, 30, 32, 34};

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

bool uuid_to_bytes(std::string_view text, std::array<char, 16>& bytes) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  // Every digit decoded before one test for any that was not: each appended event's id comes
  // here, and each id `bel check` reads.
  int seen = 0;
  for (size_t k = 0; k < 16; ++k) {
    const auto at = static_cast<size_t>(kDigitsAt[k]);
    const int high = kHexValues[static_cast<unsigned char>(text[at])];
    const int low = kHexValues[static_cast<unsigned char>(text[at + 1])];
    seen |= high | low;
    bytes[k] = static_cast<char>((high << 4) | low);
  }
  return (seen & kNotHex) == 0;
}

std::optional<std::string> uuid_to_bytes(std::string_view text) {
  std::array<char, 16> bytes;
  if (!uuid_to_bytes(text, bytes)) return std::nullopt;
  return std::string(bytes.data(), bytes.size());
}

std::string uuid_from_bytes(std::string_view bytes) {
  assert(bytes.size() == 16);
  // Filled in place: every read of a stored id comes here (a scan of the log, once per event).
  std::string out(36, '-');
  for (size_t k = 0; k < 16; ++k) {
    const auto at = static_cast<size_t>(kDigitsAt[k]);
    const auto b = static_cast<unsigned char>(bytes[k]);
    out[at] = kHex[b >> 4];
    out[at + 1] = kHex[b & 0xf];
  }
  return out;
}

}  // namespace bel
