#include "tests/support/serve_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace bel::testing {

ServeProcess::ServeProcess(const std::string& binary, std::vector<std::string> args) {
  int err_pipe[2];
  EXPECT_EQ(::pipe(err_pipe), 0);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ::close(err_pipe[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  err_fd_ = err_pipe[0];
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool ServeProcess::wait_for(const std::string& needle) {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    auto pos = err_.find(needle, scanned_);
    if (pos != std::string::npos) {
      scanned_ = pos + needle.size();
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{err_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(err_fd_, buf, sizeof(buf));
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    err_.append(buf, static_cast<size_t>(n));
  }
}

int ServeProcess::stop(int signal) {
  ::kill(pid_, signal);
  while (wait_for("\n")) {
  }  // drain standard error until EOF
  if (!eof_) {
    // Still running at the deadline: a hang to report, not to wait on until ctest's timeout.
    ::kill(pid_, SIGKILL);
    err_ += "\n[test] the process did not exit within the deadline after the signal; killed\n";
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ServeProcess::endpoint_port() const {
  auto at = err_.find("console endpoint ");
  auto comma = err_.find(',', at);
  if (at == std::string::npos || comma == std::string::npos) return -1;
  auto colon = err_.rfind(':', comma);
  return std::stoi(err_.substr(colon + 1, comma - colon - 1));
}

void ServeProcess::signal(int signal) { ::kill(pid_, signal); }

}  // namespace bel::testing
