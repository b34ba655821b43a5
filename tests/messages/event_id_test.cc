#include "messages/event_id.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace bel {
namespace {

char nibble(const std::string& id, size_t pos) { return id.at(pos); }

TEST(EventIdTest, IsCanonicalLowercaseUuidVersion7WithRfcVariant) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_event_id();
    ASSERT_EQ(id.size(), 36u) << id;
    for (size_t p = 0; p < id.size(); ++p) {
      if (p == 8 || p == 13 || p == 18 || p == 23) {
        ASSERT_EQ(id[p], '-') << id;
      } else {
        ASSERT_TRUE((id[p] >= '0' && id[p] <= '9') || (id[p] >= 'a' && id[p] <= 'f')) << id;
      }
    }
    EXPECT_EQ(nibble(id, 14), '7') << id;                                          // version
    EXPECT_NE(std::string("89ab").find(nibble(id, 19)), std::string::npos) << id;  // 0b10xx
  }
}

TEST(EventIdTest, CarriesTheCurrentUnixMillisecondsInItsFirst48Bits) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string id = new_event_id();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const int64_t ms = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after + 1);  // +1: an id may borrow the next millisecond when one is exhausted
}

TEST(EventIdTest, NeverGoBackwardsWithinAProcessEvenInOneMillisecond) {
  // 200k ids take a few tens of milliseconds: most share their millisecond with many others.
  std::string previous = new_event_id();
  for (int i = 0; i < 200000; ++i) {
    std::string next = new_event_id();
    ASSERT_LT(previous, next) << "call " << i;  // text order is byte order is time order
    previous = std::move(next);
  }
}

TEST(EventIdTest, AreUniqueAcrossForkedProcesses) {
  constexpr int kChildren = 4;
  constexpr int kPerChild = 20000;
  new_event_id();  // the parent has a sequence in progress that the children inherit
  std::vector<int> reads;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      for (int i = 0; i < kPerChild; ++i) {
        std::string id = new_event_id() + "\n";
        size_t done = 0;
        while (done < id.size()) {
          ssize_t w = write(fds[1], id.data() + done, id.size() - done);
          if (w <= 0) _exit(2);
          done += static_cast<size_t>(w);
        }
      }
      _exit(0);
    }
    close(fds[1]);
    reads.push_back(fds[0]);
    pids.push_back(pid);
  }
  std::set<std::string> all;
  size_t total = 0;
  for (int i = 0; i < kPerChild; ++i) all.insert(new_event_id()), ++total;
  for (int fd : reads) {
    std::string buf;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) buf.append(chunk, static_cast<size_t>(n));
    close(fd);
    size_t start = 0;
    for (size_t end; (end = buf.find('\n', start)) != std::string::npos; start = end + 1) {
      all.insert(buf.substr(start, end - start));
      ++total;
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(total, static_cast<size_t>((kChildren + 1) * kPerChild));
  EXPECT_EQ(all.size(), total) << "duplicate ids across processes";
}

TEST(EventIdTest, BytesRoundTripOnlyCanonicalLowercase) {
  const std::string id = new_event_id();
  auto bytes = uuid_to_bytes(id);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_EQ(bytes->size(), 16u);
  EXPECT_EQ(uuid_from_bytes(*bytes), id);

  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(uuid_to_bytes(upper).has_value());
  EXPECT_FALSE(uuid_to_bytes("").has_value());
  EXPECT_FALSE(uuid_to_bytes("ev-1").has_value());
  EXPECT_FALSE(uuid_to_bytes(id.substr(0, 35)).has_value());
  EXPECT_FALSE(uuid_to_bytes(id.substr(0, 8) + "x" + id.substr(9)).has_value());  // no dash
  EXPECT_FALSE(uuid_to_bytes("0123456789abcdef0123456789abcdef0123").has_value());
  // The form that fills an array refuses the same texts.
  std::array<char, 16> out;
  EXPECT_FALSE(uuid_to_bytes(upper, out));
  EXPECT_FALSE(uuid_to_bytes(id.substr(0, 8) + "x" + id.substr(9), out));
  EXPECT_FALSE(uuid_to_bytes("ev-1", out));
  ASSERT_TRUE(uuid_to_bytes(id, out));
  EXPECT_EQ(std::string(out.data(), out.size()), *bytes);
  // Any one character out of place, anywhere, is refused.
  for (size_t at = 0; at < id.size(); ++at) {
    const bool dash = at == 8 || at == 13 || at == 18 || at == 23;
    for (char bad : {'g', 'G', 'A', '/', ':', '`', '\0', '\xff', dash ? '0' : '-'}) {
      std::string changed = id;
      changed[at] = bad;
      EXPECT_FALSE(uuid_to_bytes(changed, out)) << changed;
      EXPECT_FALSE(uuid_to_bytes(changed).has_value()) << changed;
    }
  }
}

// Every byte value at every position turns into its two lowercase hex digits, with the dashes of
// the canonical 8-4-4-4-12 form, and back into the same bytes.
TEST(EventIdTest, EveryByteAtEveryPositionRoundTrips) {
  for (int position = 0; position < 16; ++position) {
    for (int value = 0; value < 256; ++value) {
      std::string bytes(16, '\0');
      for (int i = 0; i < 16; ++i) bytes[i] = static_cast<char>((i * 37 + value) & 0xff);
      bytes[position] = static_cast<char>(value);
      std::string expected;
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) expected += '-';
        char hex[3];
        std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned char>(bytes[i]));
        expected += hex;
      }
      const std::string text = uuid_from_bytes(bytes);
      ASSERT_EQ(text, expected) << "byte " << value << " at " << position;
      ASSERT_EQ(uuid_to_bytes(text), bytes) << text;
      std::array<char, 16> in_place;
      ASSERT_TRUE(uuid_to_bytes(text, in_place)) << text;
      ASSERT_EQ(std::string(in_place.data(), in_place.size()), bytes) << text;
    }
  }
}

}  // namespace
}  // namespace bel
