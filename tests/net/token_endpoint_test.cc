// Tokens (SPEC R6): drawn from the kernel, compared in constant time, written without a path
// another user can pre-create, and an operator's token file refused unless private and >= 128 bits.
// Endpoints: IPv6 in brackets, and what counts as loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "actors/net/endpoint.h"
#include "actors/net/token.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using bel::testing::TempDir;

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  { std::ofstream(path) << text; }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(TokenTest, NewTokensAre256RandomBitsInHex) {
  const std::string a = new_token();
  const std::string b = new_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(TokenTest, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

// The attack of issue 11: another user creates "<log>.token.tmp" first (here a symlink to a file
// they can read); the coordinator must not write the token through it.
TEST(TokenTest, APreCreatedTmpFileOrSymlinkNeverReceivesTheToken) {
  TempDir dir;
  const std::string path = dir.path() + "/bel.db.token";
  const std::string captured = dir.path() + "/attacker-reads-this";
  write_file(captured, "", 0666);
  ASSERT_EQ(::symlink(captured.c_str(), (path + ".tmp").c_str()), 0);

  const std::string token = new_token();
  ASSERT_TRUE(write_token_file(path, token).ok());
  EXPECT_EQ(contents(captured), "") << "the token went through the pre-created .tmp symlink";
  EXPECT_EQ(contents(path), token + "\n");
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A pre-created regular .tmp file is left as it was too.
  TempDir other;
  const std::string path2 = other.path() + "/bel.db.token";
  write_file(path2 + ".tmp", "planted", 0666);
  ASSERT_TRUE(write_token_file(path2, token).ok());
  EXPECT_EQ(contents(path2 + ".tmp"), "planted");
  EXPECT_EQ(contents(path2), token + "\n");
}

TEST(TokenTest, ACoordinatorRefusesAShortOrWorldReadableTokenFile) {
  TempDir dir;
  const std::string one_byte = dir.path() + "/one-byte.token";
  write_file(one_byte, "x\n", 0600);
  auto r = read_token_file(one_byte, TokenFileRule::coordinator);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find(one_byte), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("128 bits"), std::string::npos) << r.error().message;

  // The command the message offers makes a token file the coordinator takes, run as it is
  // printed: no backslash for the console's escaping of messages to double.
  const std::string offer = "make one with: ";
  const size_t at = r.error().message.find(offer);
  ASSERT_NE(at, std::string::npos) << r.error().message;
  const std::string make = r.error().message.substr(at + offer.size());
  ASSERT_EQ(make.back(), ')') << make;
  EXPECT_EQ(make.find('\\'), std::string::npos) << make;
  ASSERT_EQ(bel::testing::run_command(make.substr(0, make.size() - 1)).exit_code, 0) << make;
  r = read_token_file(one_byte, TokenFileRule::coordinator);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->size(), 64u) << *r;

  const std::string short_hex = dir.path() + "/short.token";
  write_file(short_hex, std::string(31, 'a') + "\n", 0600);
  EXPECT_FALSE(read_token_file(short_hex, TokenFileRule::coordinator).ok());

  const std::string open = dir.path() + "/open.token";
  write_file(open, new_token() + "\n", 0644);
  r = read_token_file(open, TokenFileRule::coordinator);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600 " + open), std::string::npos) << r.error().message;

  const std::string good = dir.path() + "/good.token";
  const std::string token = std::string(32, 'f');
  write_file(good, token + "\n", 0600);
  r = read_token_file(good, TokenFileRule::coordinator);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, token);
  // A console only presents what it reads.
  write_file(one_byte, "x\n", 0600);
  EXPECT_TRUE(read_token_file(one_byte, TokenFileRule::console).ok());

  // No file: the coordinator's argument is wrong; a console has no token to present.
  const std::string missing = dir.path() + "/missing.token";
  r = read_token_file(missing, TokenFileRule::coordinator);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << r.error().to_string();
  EXPECT_EQ(r.error().message, "token file " + missing + ": No such file or directory");
  r = read_token_file(missing, TokenFileRule::console);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized) << r.error().to_string();
}

// Another user owning the file could rewrite the token the coordinator trusts: refused, naming
// the owner and the fix, while a console presenting such a file still reads it.
TEST(TokenTest, ACoordinatorRefusesATokenFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
  TempDir dir;
  const std::string theirs = dir.path() + "/theirs.token";
  write_file(theirs, new_token() + "\n", 0600);
  ASSERT_EQ(::chown(theirs.c_str(), 4242, 4242), 0) << std::strerror(errno);
  auto r = read_token_file(theirs, TokenFileRule::coordinator);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find(theirs + " belongs to uid 4242"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("chown 0 " + theirs), std::string::npos) << r.error().message;
  EXPECT_TRUE(read_token_file(theirs, TokenFileRule::console).ok());
  // The process's own file is taken.
  ASSERT_EQ(::chown(theirs.c_str(), ::geteuid(), ::getegid()), 0) << std::strerror(errno);
  EXPECT_TRUE(read_token_file(theirs, TokenFileRule::coordinator).ok());
}

// A FIFO in the token file's place (nobody writing to it) neither holds the coordinator's start
// up nor a console's: the coordinator refuses it as not a regular file, a console reads nothing.
TEST(TokenTest, AFifoInTheTokenFilesPlaceIsRefusedWithoutWaiting) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.token";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  auto r = read_token_file(fifo, TokenFileRule::coordinator);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find(fifo + " is not a regular file"), std::string::npos)
      << r.error().message;
  r = read_token_file(fifo, TokenFileRule::console);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(fifo + " is empty"), std::string::npos) << r.error().message;
}

TEST(EndpointTest, BracketedIpv6AndLoopback) {
  auto v6 = parse_endpoint("[::1]:4390");
  ASSERT_TRUE(v6.ok()) << v6.error().to_string();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 4390);
  EXPECT_EQ(format_endpoint(v6->host, v6->port), "[::1]:4390");
  auto v4 = parse_endpoint("127.0.0.1:0");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(format_endpoint(v4->host, v4->port), "127.0.0.1:0");
  for (const char* bad : {"::1:4390", "[::1]4390", "127.0.0.1", ":80", "h:99999", "[]:1"}) {
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
  }
  for (const char* local : {"[::1]", "::1", "localhost", "127.0.0.1", "127.1.2.3",
                            "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(is_loopback_host(local)) << local;
  }
  for (const char* remote : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.org",
                             "127.example.org", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(remote)) << remote;
  }
}

}  // namespace
}  // namespace bel::actors
