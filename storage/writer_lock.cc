#include "storage/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "storage/uri.h"

namespace bel::storage {
namespace {

// "bel serve --simulate": this process's command line, for the holder record.
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  for (char c : raw) out += c == '\0' ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  // Keep the program's base name: the directory it was run from says nothing to an operator.
  const size_t first_space = out.find(' ');
  const size_t slash = out.rfind('/', first_space);
  if (slash != std::string::npos) out.erase(0, slash + 1);
  return out.size() > 200 ? out.substr(0, 200) + "..." : out;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The holder record a locked file holds, as one line: "pid 1234 (bel serve) since ...".
std::string read_holder(int fd) {
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

Result<std::unique_ptr<WriterLock>> WriterLock::acquire(const std::string& log_uri) {
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != storage::UriScheme::sqlite) {
    return std::unique_ptr<WriterLock>(new WriterLock(-1, ""));
  }
  const std::string path = parsed->path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(ErrorCode::storage_unavailable, log_uri + ": cannot open the lock file " +
                                                          path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = err == EWOULDBLOCK ? read_holder(fd) : "";
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return make_error(ErrorCode::storage_unavailable,
                        log_uri + ": another process is writing this log: " +
                            (holder.empty() ? "its lock file " + path + " is held" : holder) +
                            " (a coordinator that does not answer on its endpoint, or another bel "
                            "command still running)");
    }
    return make_error(ErrorCode::storage_unavailable,
                      log_uri + ": cannot lock " + path + ": " + std::strerror(err));
  }
  // Who holds the lock, for the message of the next process that tries.
  std::ostringstream record;
  record << "pid " << ::getpid() << " (" << own_command_line() << ") since " << utc_now();
  std::unique_ptr<WriterLock> lock(new WriterLock(fd, record.str()));
  lock->write_record();
  return lock;
}

void WriterLock::add_note(const std::string& note) {
  if (fd_ < 0) return;
  record_ += ", " + note;
  write_record();
}

void WriterLock::write_record() const {
  const std::string text = record_ + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) < 0) {
    // The record only improves a message: the lock itself is held either way.
  }
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace bel::storage
