#include "storage/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/uri.h"

namespace bel::storage {

Result<std::unique_ptr<WriterLock>> WriterLock::acquire(const std::string& log_uri) {
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok()) return parsed.error();
  if (parsed->scheme != storage::UriScheme::sqlite) {
    return std::unique_ptr<WriterLock>(new WriterLock(-1));
  }
  const std::string path = parsed->path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      log_uri + ": cannot open the lock file " + path + ": " +
                          std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return make_error(ErrorCode::storage_unavailable,
                        log_uri + ": another process is writing this log (" + path +
                            " is locked): a coordinator that does not answer on its endpoint, "
                            "or another bel command still running");
    }
    return make_error(ErrorCode::storage_unavailable,
                      log_uri + ": cannot lock " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<WriterLock>(new WriterLock(fd));
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace bel::storage
