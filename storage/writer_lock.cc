#include "storage/writer_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "storage/uri.h"

namespace bel::storage {
namespace {

// "bel serve --simulate": a process's command line, for the holder record.
std::string command_line(const std::string& proc_file) {
  std::ifstream in(proc_file, std::ios::binary);
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

// The holder record in `record_path`, as one line: "pid 1234 (bel serve) since ...".
std::string read_record(const std::string& record_path) {
  int fd = ::open(record_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "";
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  ::close(fd);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The pid of the process holding an flock on the file (dev, ino), from /proc/locks, or "" when
// none does or it cannot be told.
std::string flock_pid(unsigned long long dev, unsigned long long ino) {
  const std::string want = fmt::format("{:02x}:{:02x}:{}", major(dev), minor(dev), ino);
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string number, kind, mode, access, pid, file;
    words >> number >> kind >> mode >> access >> pid >> file;
    if (kind == "FLOCK" && file == want) return pid;
  }
  return "";
}

// "pid 1234 (bel serve)": process `pid` for a message.
std::string describe_pid(const std::string& pid) {
  return "pid " + pid + " (" + command_line("/proc/" + pid + "/cmdline") + ")";
}

// The name under which process `pid` has the file (dev, ino) open, from /proc/<pid>/fd, or ""
// when it cannot be told (another user's process, a file no longer named).
std::string opened_name(const std::string& pid, unsigned long long dev, unsigned long long ino) {
  const std::string dir = "/proc/" + pid + "/fd";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) continue;
    const std::string name = std::filesystem::read_symlink(it->path(), ec).string();
    if (!ec && !name.empty() && name[0] == '/' && name.find(" (deleted)") == std::string::npos) {
      return name;
    }
  }
  return "";
}

// Writes the record; true when this call created its file.
bool write_record(const std::string& record_path, const std::string& record) {
  // Never through a symlink another user planted; private like the log.
  int fd = ::open(record_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  const bool created = fd >= 0;
  if (fd < 0) fd = ::open(record_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;  // the record only improves a message: the lock is held either way
  struct stat st {};
  if (!created && (::fstat(fd, &st) != 0 || st.st_uid != ::geteuid())) {
    ::close(fd);  // another user's file (planted in a shared directory): nothing of ours goes in
    return false;
  }
  (void)::fchmod(fd, 0600);
  const std::string text = record + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // Best effort, as above.
  }
  ::close(fd);
  return created;
}

// One database file this process has locked at least once. `fd` is never closed (see the
// header): releasing unlocks it and keeps it for the next writer.
struct Entry {
  int fd = -1;
  bool held = false;
  std::string uri;          // the URI the current holder opened it as
  std::string record_path;  // "<resolved path>.lock"
  std::string record;       // "pid N (cmd) since T[, notes]"
};

struct Registry {
  std::mutex mutex;
  std::map<std::pair<unsigned long long, unsigned long long>, Entry> entries;
  std::vector<int> spare;  // descriptors opened in a race for an entry that already existed
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: locks outlive static destruction
  return *r;
}

// Opens (creating it 0600 when missing) the database file at `path`.
Result<int> open_database_file(const std::string& uri, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);  // whatever the umask
    return fd;
  }
  if (errno == EEXIST) fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: cannot open {} for writing: {}", uri, path,
                                  std::strerror(errno)));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<WriterLock>> WriterLock::try_acquire(const std::string& uri,
                                                            const std::string& path, bool* busy) {
  *busy = false;
  Registry& reg = registry();
  std::lock_guard<std::mutex> guard(reg.mutex);
  Entry* entry = nullptr;
  Identity id;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    auto it = reg.entries.find({st.st_dev, st.st_ino});
    if (it != reg.entries.end()) entry = &it->second;
  }
  if (entry == nullptr) {
    auto fd = open_database_file(uri, path);
    if (!fd.ok()) return fd.error();
    if (::fstat(*fd, &st) != 0) {
      reg.spare.push_back(*fd);
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: cannot stat {}: {}", uri, path, std::strerror(errno)));
    }
    auto [it, inserted] = reg.entries.try_emplace({st.st_dev, st.st_ino});
    if (inserted) {
      it->second.fd = *fd;
    } else {
      reg.spare.push_back(*fd);
    }
    entry = &it->second;
  }
  id.device = st.st_dev;
  id.inode = st.st_ino;
  const std::string record_path = resolved_path(path) + ".lock";
  const char* advice =
      " (a coordinator, or another bel command still running); one writer per log file, whatever "
      "path names it";
  if (entry->held) {
    *busy = true;
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: this process already writes this log file (opened as "
                                  "{}): {}{}",
                                  uri, entry->uri, entry->record, advice));
  }
  if (::flock(entry->fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: cannot lock {}: {}", uri, path, std::strerror(err)));
    }
    // The record, unless /proc/locks names another holder (a record of another user's, which
    // this holder could not rewrite, or one left by a killed writer).
    std::string holder = read_record(record_path);
    const std::string pid = flock_pid(id.device, id.inode);
    if (holder.empty() || (!pid.empty() && holder.rfind("pid " + pid + " ", 0) != 0)) {
      holder = pid.empty() ? holder : describe_pid(pid);
    }
    if (holder.empty()) holder = "its file " + path + " is locked";
    *busy = true;
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: another process is writing this log: {}{}", uri, holder,
                                  advice));
  }
  entry->held = true;
  entry->uri = uri;
  entry->record_path = record_path;
  std::ostringstream record;
  record << "pid " << ::getpid() << " (" << command_line("/proc/self/cmdline") << ") since "
         << utc_now();
  entry->record = record.str();
  const bool created = write_record(entry->record_path, entry->record);
  std::unique_ptr<WriterLock> lock(new WriterLock(true, id));
  if (created) lock->created_record_ = entry->record_path;
  return lock;
}

Result<std::unique_ptr<WriterLock>> WriterLock::acquire_file(const std::string& uri,
                                                             const std::string& path,
                                                             std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    bool busy = false;
    auto lock = try_acquire(uri, path, &busy);
    // Only a held lock is worth waiting for; a file that cannot be opened stays so.
    if (lock.ok() || !busy || std::chrono::steady_clock::now() >= deadline) return lock;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::unique_ptr<WriterLock>> WriterLock::acquire(const std::string& log_uri, bool* busy) {
  bool held = false;
  if (busy == nullptr) busy = &held;
  *busy = false;
  auto parsed = parse_storage_uri(log_uri);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != UriScheme::sqlite) {
    return std::unique_ptr<WriterLock>(new WriterLock(false, Identity{}));
  }
  return try_acquire(log_uri, parsed->path, busy);
}

Status WriterLock::check_reader_path(const std::string& uri, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ok_status();  // the open says what is wrong
  const std::string name = resolved_path(path);
  const std::string record_path = name + ".lock";
  std::string writer_uri;  // the name the writer uses, when it is known to use another
  std::string holder;
  {
    Registry& reg = registry();
    std::lock_guard<std::mutex> guard(reg.mutex);
    auto it = reg.entries.find({st.st_dev, st.st_ino});
    if (it != reg.entries.end() && it->second.held) {
      if (it->second.record_path == record_path) return ok_status();
      writer_uri = it->second.uri;
      holder = "this process";
    }
  }
  if (holder.empty()) {
    const std::string pid = flock_pid(st.st_dev, st.st_ino);
    if (pid.empty()) return ok_status();  // no writer (or none this process can see)
    // The name the writer opened, when this process may look (its own user's, or root).
    writer_uri = opened_name(pid, st.st_dev, st.st_ino);
    if (writer_uri == name) return ok_status();
    if (writer_uri.empty()) {
      // Else its record and its write-ahead file: the writer records itself beside the name it
      // opened (this name's record names it when the writer uses this name, or a symlink to
      // it), and its WAL is beside that name once SQLite has opened it. Either says this name
      // is the writer's; a pid from another pid namespace never matches the record, so the
      // WAL alone may have to say it.
      const std::string record = read_record(record_path);
      std::error_code ec;
      if (record.rfind("pid " + pid + " ", 0) == 0 || std::filesystem::exists(name + "-wal", ec)) {
        return ok_status();
      }
    }
    holder = describe_pid(pid);
  }
  return make_error(
      ErrorCode::storage_unavailable,
      fmt::format("{}: {} is being written by {} under another name{}; SQLite keeps a log's "
                  "write-ahead file beside the name it was opened by, so through this name "
                  "(a hard link) the log would read as it was before that writer's latest "
                  "commits: read it by the name its writer uses",
                  uri, path, holder, writer_uri.empty() ? "" : " (" + writer_uri + ")"));
}

namespace {

// Rewrites the record of the lock this process holds on `log_uri` with `change` applied to its
// text; nothing when this process holds none or `change` leaves the text as it was.
template <typename Change>
void change_record(const std::string& log_uri, Change change) {
  auto parsed = parse_storage_uri(log_uri);
  if (!parsed.ok() || parsed->scheme != UriScheme::sqlite) return;
  struct stat st {};
  if (::stat(parsed->path.c_str(), &st) != 0) return;
  Registry& reg = registry();
  std::lock_guard<std::mutex> guard(reg.mutex);
  auto it = reg.entries.find({st.st_dev, st.st_ino});
  if (it == reg.entries.end() || !it->second.held) return;
  if (!change(it->second.record)) return;
  write_record(it->second.record_path, it->second.record);
}

}  // namespace

void WriterLock::add_note(const std::string& log_uri, const std::string& note) {
  change_record(log_uri, [&](std::string& record) {
    record += ", " + note;
    return true;
  });
}

void WriterLock::remove_note(const std::string& log_uri, const std::string& note) {
  change_record(log_uri, [&](std::string& record) {
    const std::string added = ", " + note;
    const size_t at = record.rfind(added);
    if (at == std::string::npos) return false;
    record.erase(at, added.size());
    return true;
  });
}

void WriterLock::keep_record() { created_record_.clear(); }

WriterLock::~WriterLock() {
  if (!holds_) return;
  // Still held: no other writer can be writing its record there now.
  if (!created_record_.empty()) ::unlink(created_record_.c_str());
  Registry& reg = registry();
  std::lock_guard<std::mutex> guard(reg.mutex);
  auto it = reg.entries.find({id_.device, id_.inode});
  if (it == reg.entries.end()) return;
  it->second.held = false;
  // Unlock, but keep the descriptor: closing it would drop SQLite's fcntl locks on the file.
  ::flock(it->second.fd, LOCK_UN);
}

std::string resolved_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

}  // namespace bel::storage
