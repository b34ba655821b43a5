#include "bench/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "bench/machine.h"

namespace bel::bench {
namespace {

// How often the child's VmHWM is read while it runs.
constexpr int kSampleMs = 5;

// Reads both pipes until each is closed, sampling the peak RSS of `pid` into `*peak` meanwhile.
void drain(int out_fd, int err_fd, std::string& out, std::string& err, pid_t pid, int64_t* peak) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    *peak = std::max(*peak, proc_status_bytes(std::to_string(pid), "VmHWM"));
    if (poll(fds, 2, kSampleMs) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

}  // namespace

std::string self_binary() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("bel") : path.string();
}

Result<ChildRun> run_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::storage_unavailable,
                      "bench: pipe: " + std::string(strerror(errno)));
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return make_error(ErrorCode::storage_unavailable,
                      "bench: pipe: " + std::string(strerror(errno)));
  }
  // Closed by the exec (O_CLOEXEC): once its read end sees the end, the child's memory is the
  // program's own, and its VmHWM can be sampled.
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return make_error(ErrorCode::storage_unavailable,
                      "bench: pipe: " + std::string(strerror(errno)));
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(exec_pipe[0]);
    return make_error(ErrorCode::storage_unavailable,
                      "bench: cannot start " + argv[0] + ": " + strerror(errno));
  }
  char byte;
  while (read(exec_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(exec_pipe[0]);
  ChildRun run;
  drain(out_pipe[0], err_pipe[0], run.out, run.err, pid, &run.peak_rss_bytes);
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto seconds_of = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  run.cpu_seconds = seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (run.exit_code == 127 && run.out.empty() && run.err.empty()) {
    return make_error(ErrorCode::storage_unavailable, "bench: cannot run " + argv[0]);
  }
  return run;
}

Result<std::unique_ptr<BackgroundChild>> BackgroundChild::start(
    const std::vector<std::string>& argv, const std::string& ready, const std::string& output,
    std::chrono::milliseconds wait) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out_fd = open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      "bench: " + output + ": " + std::string(strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_fd);
  if (pid < 0) {
    return make_error(ErrorCode::storage_unavailable,
                      "bench: cannot start " + argv[0] + ": " + strerror(errno));
  }
  std::unique_ptr<BackgroundChild> child(new BackgroundChild(pid));
  auto written = [&output] {
    std::ifstream in(output);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // The child says it is ready in its output, which is a file (a pipe left unread would stop it
  // once full): read again every few milliseconds.
  while (true) {
    const std::string text = written();
    if (text.find(ready) != std::string::npos) return child;
    int status = 0;
    const bool exited = waitpid(pid, &status, WNOHANG) == pid;
    if (exited || std::chrono::steady_clock::now() > deadline) {
      if (exited) child->exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      return make_error(ErrorCode::storage_unavailable,
                        "bench: " + argv[0] +
                            (exited ? " exited" : " did not say \"" + ready + "\" in time") + ": " +
                            text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kSampleMs));
  }
}

int BackgroundChild::stop() {
  if (exit_code_ >= 0) return exit_code_;
  kill(pid_, SIGTERM);
  // An orderly stop commits and saves what is pending; one that takes longer than this is killed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  int status = 0;
  while (true) {
    const pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) break;
    if (got < 0 && errno != EINTR) {
      exit_code_ = 255;  // not a child of this process any more: nothing to wait for
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kSampleMs));
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

BackgroundChild::~BackgroundChild() { stop(); }

}  // namespace bel::bench
