// The crash harness (SPEC section 9, R1): `bel serve` on a fresh log, several client processes
// appending through it (crash_client.h), the coordinator killed with SIGKILL at seeded random
// points and restarted, then the verdict: every acknowledged event present exactly once at its
// acknowledged idx, idx contiguous (crash_verify.h), and after every restart `bel check` finds
// every view equal to a full scan. Every third cycle rebuilds the views first, which writes
// snapshots, so later restarts start from a snapshot written before the crash; every fifth starts
// a rebuild that the kill may interrupt while it writes them; every fourth also kills a
// coordinator while it starts (it holds the writer lock but has not answered yet).
//
//   bel_crash_harness --bel build/app/bel --cycles 10 --clients 4 --seed 7
//
// Prints one summary line of numbers and exits 0 when nothing was lost, moved or duplicated and
// no check failed; 1 otherwise (with the problems found), 2 on bad arguments.
//
// Nothing waits on time: the driver waits for the coordinator's ready line, for a number of
// acknowledgements, for commands to close their output, each with a deadline that only turns a
// hang into a failure.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "messages/json.h"
#include "messages/types.h"
#include "storage/storage_factory.h"
#include "tests/crash/crash_client.h"
#include "tests/crash/crash_verify.h"

namespace bel::crash {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(120);

struct Flags {
  std::string bel;
  int cycles = 10;
  int clients = 4;
  uint64_t seed = 1;
  int max_acks_per_cycle = 400;  // the kill comes after 0..this many acks since the restart
  bool keep = false;             // keep the temporary directory
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "crash harness: %s\n", message.c_str());
  std::exit(1);
}

// A child process whose standard output and error the event loop collects.
struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
  std::string out_text;
  std::string err_text;
};

// Starts `argv` with standard input from /dev/null and both outputs piped.
Child spawn(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) die("pipe failed");
  Child c;
  c.pid = ::fork();
  if (c.pid < 0) die("fork failed");
  if (c.pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);  // no harness pipe leaks into the child
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

class Harness {
 public:
  explicit Harness(Flags flags) : flags_(std::move(flags)), rng_(flags_.seed) {
    char tmpl[] = "/tmp/bel-crash-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp failed");
    dir_ = tmpl;
    log_uri_ = "sqlite://" + dir_ + "/bel.db";
  }
  ~Harness() {
    if (!flags_.keep) std::filesystem::remove_all(dir_);
  }

  int run() {
    const auto start = Clock::now();
    start_clients();
    for (int cycle = 1; cycle <= flags_.cycles; ++cycle) {
      if (cycle % 4 == 3) kill_during_start();
      start_serve();
      after_restart();
      if (cycle % 3 == 2) run_bel({"views", "rebuild"}, "views rebuild");
      // Every fifth cycle the kill may land while the views rebuild and write their snapshots.
      Child rebuilding;
      if (cycle % 5 == 4) {
        rebuilding = spawn(bel_argv({"views", "rebuild"}));
        commands_.push_back(&rebuilding);
      }
      const int64_t kill_at =
          acked_ + std::uniform_int_distribution<int64_t>(0, flags_.max_acks_per_cycle)(rng_);
      wait_until([&] { return acked_ >= kill_at; }, "acknowledgements before the kill");
      ::kill(serve_.pid, SIGKILL);
      reap(serve_);
      if (rebuilding.pid > 0) {
        // Finished or waiting on a dead coordinator: either way it has done its part.
        ::kill(rebuilding.pid, SIGKILL);
        reap(rebuilding);
        commands_.clear();
      }
    }
    start_serve();
    after_restart();
    stop_clients();
    if (run_bel({"check", "--format", "json"}, "check").second) count_check(checks_.back());
    ::kill(serve_.pid, SIGTERM);
    reap(serve_);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return verdict(seconds);
  }

 private:
  void start_clients() {
    int acks[2];
    if (::pipe(acks) != 0) die("pipe failed");
    ack_fd_ = acks[0];
    for (int i = 0; i < flags_.clients; ++i) {
      int control[2];
      if (::pipe(control) != 0) die("pipe failed");
      const pid_t pid = ::fork();
      if (pid < 0) die("fork failed");
      if (pid == 0) {
        ::close(acks[0]);
        ::close(control[1]);
        for (int fd : control_fds_) ::close(fd);
        CrashClientOptions options;
        options.client = i;
        options.seed = flags_.seed * 1000 + static_cast<uint64_t>(i);
        options.log_uri = log_uri_;
        options.control_fd = control[0];
        options.ack_fd = acks[1];
        std::fflush(nullptr);
        ::_exit(run_crash_client(options));
      }
      ::close(control[0]);
      control_fds_.push_back(control[1]);
      client_pids_.push_back(pid);
    }
    ::close(acks[1]);  // the ack pipe reaches EOF once every client has exited
  }

  void start_serve() {
    serve_ = spawn({flags_.bel, "serve", "--log", log_uri_});
    const std::string marker = "console endpoint ";
    std::string endpoint;
    wait_until(
        [&] {
          auto at = serve_.err_text.find(marker);
          if (at == std::string::npos) return false;
          auto end = serve_.err_text.find_first_of(",\n", at);
          if (end == std::string::npos) return false;
          endpoint = serve_.err_text.substr(at + marker.size(), end - at - marker.size());
          return true;
        },
        "the coordinator's ready line");
    endpoint_ = endpoint;
    ++generation_;
    broadcast(std::to_string(generation_) + " " + endpoint_ + "\n");
  }

  // Starts `bel serve` and kills it once it holds the writer lock, while it opens the log (the
  // unindexed tail a kill left is indexed then) and loads the views, before its ready line.
  void kill_during_start() {
    Child serve = spawn({flags_.bel, "serve", "--log", log_uri_});
    const std::string holder = "pid " + std::to_string(serve.pid) + " ";
    const std::string lock = dir_ + "/bel.db.lock";
    bool ready = false;
    wait_until(
        [&] {
          ready = ready || serve.err_text.find("console endpoint") != std::string::npos;
          std::ifstream in(lock);
          std::string line;
          return ready || (std::getline(in, line) && line.rfind(holder, 0) == 0);
        },
        "the coordinator to take the writer lock", /*max_poll_ms=*/5, &serve);
    ::kill(serve.pid, SIGKILL);
    reap(serve);
    ++(ready ? kills_after_ready_ : kills_during_start_);
  }

  // After each restart: `bel check` while the clients keep appending, then whether the views
  // restored a snapshot.
  void after_restart() {
    auto check = run_bel({"check", "--format", "json"}, "check");
    if (check.second) count_check(check.first);
    // The check waited for the views to load: a snapshot_idx now is the snapshot they restored
    // (the periodic ones come every 50,000 events or 60 s, later than any cycle here).
    auto status = run_bel({"views", "status", "--format", "json"}, "views status");
    if (status.second) {
      ViewsStatus views;
      if (from_json(status.first, &views).ok()) {
        bool restored = false;
        for (const auto& v : views.views()) restored = restored || v.snapshot_idx() > 0;
        if (restored) ++restarts_from_snapshot_;
      }
    }
  }

  std::vector<std::string> bel_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {flags_.bel};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--log", log_uri_, "--connect", endpoint_});
    return argv;
  }

  // Runs `bel ARGS --log URI --connect ENDPOINT`; (stdout, exit code 0).
  std::pair<std::string, bool> run_bel(const std::vector<std::string>& args,
                                       const std::string& what) {
    Child c = spawn(bel_argv(args));
    commands_.push_back(&c);
    // The ack pipe is left alone meanwhile: once it is full the clients wait, so a check of a
    // log that grows as fast as the check reads it cannot run away.
    reading_acks_ = false;
    wait_until([&] { return c.out < 0 && c.err < 0; }, "bel " + what);
    reading_acks_ = true;
    commands_.pop_back();
    const int code = reap(c);
    if (what == "check") checks_.push_back(c.out_text);
    if (code != 0) {
      failures_.push_back("bel " + what + " (generation " + std::to_string(generation_) +
                          ") exited " + std::to_string(code) + ": " + c.err_text + c.out_text);
    }
    return {c.out_text, code == 0};
  }

  void count_check(const std::string& json) {
    ++checks_run_;
    // One object per check: {"name": "view activity", "ok": false, ...}.
    for (size_t at = 0; (at = json.find("\"name\": \"", at)) != std::string::npos; ++at) {
      const size_t ok = json.find("\"ok\": ", at);
      if (ok == std::string::npos) break;
      const bool failed = json.compare(ok + 6, 5, "false") == 0;
      const bool view = json.compare(at + 9, 5, "view ") == 0;
      if (failed) ++(view ? view_mismatches_ : other_check_failures_);
    }
  }

  void stop_clients() {
    broadcast("stop\n");
    wait_until([&] { return ack_fd_ < 0; }, "the clients to finish");
    for (pid_t pid : client_pids_) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failures_.push_back("a client exited with status " + std::to_string(status));
      }
    }
  }

  void broadcast(const std::string& line) {
    for (int fd : control_fds_) {
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        failures_.push_back("a client stopped reading its control pipe");
      }
    }
  }

  // Pumps every pipe until `done` holds; fails the run at the deadline. A condition no pipe
  // signals (a file's content) is looked at again every `max_poll_ms`. `extra` is one more
  // process whose output to drain.
  void wait_until(const std::function<bool()>& done, const std::string& what,
                  int max_poll_ms = -1, Child* extra = nullptr) {
    const auto end = Clock::now() + kDeadline;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) die("no " + what + " within the deadline\n" + serve_.err_text);
      int wait = static_cast<int>(left.count());
      if (max_poll_ms >= 0) wait = std::min(wait, max_poll_ms);
      pump(wait, extra);
    }
  }

  void pump(int timeout_ms, Child* extra = nullptr) {
    std::vector<pollfd> fds;
    std::vector<std::function<void(const char*, ssize_t)>> sinks;
    auto add = [&](int& fd, std::string* text, bool acks) {
      if (fd < 0) return;
      fds.push_back({fd, POLLIN, 0});
      int* slot = &fd;
      sinks.push_back([this, slot, text, acks](const char* data, ssize_t n) {
        if (n <= 0) {
          ::close(*slot);
          *slot = -1;
          return;
        }
        if (acks) return take_acks(data, n);
        text->append(data, static_cast<size_t>(n));
      });
    };
    if (reading_acks_) add(ack_fd_, nullptr, true);
    add(serve_.out, &serve_.out_text, false);
    add(serve_.err, &serve_.err_text, false);
    for (Child* c : commands_) {
      add(c->out, &c->out_text, false);
      add(c->err, &c->err_text, false);
    }
    if (extra != nullptr && extra != &serve_ &&
        std::find(commands_.begin(), commands_.end(), extra) == commands_.end()) {
      add(extra->out, &extra->out_text, false);
      add(extra->err, &extra->err_text, false);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
    char buf[65536];
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      sinks[i](buf, ::read(fds[i].fd, buf, sizeof(buf)));
    }
  }

  void take_acks(const char* data, ssize_t n) {
    ack_buffer_.append(data, static_cast<size_t>(n));
    for (size_t nl; (nl = ack_buffer_.find('\n')) != std::string::npos;) {
      auto record = parse_ack_record(ack_buffer_.substr(0, nl));
      if (!record) failures_.push_back("malformed ack record: " + ack_buffer_.substr(0, nl));
      if (record && record->acked) ++acked_;
      if (record) records_.push_back(std::move(*record));
      ack_buffer_.erase(0, nl + 1);
    }
  }

  // Waits for `c` to exit, draining its pipes; its exit code (-1 for a signal).
  int reap(Child& c) {
    wait_until([&] { return c.out < 0 && c.err < 0; }, "the process to close its output", -1,
               &c);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  int verdict(double seconds) {
    storage::StorageOptions options;
    options.read_only = true;
    auto log = storage::open_storage(log_uri_, options);
    if (!log.ok()) die("cannot open the log to verify it: " + log.error().to_string());
    auto report = verify_log(**log, records_);
    if (!report.ok()) die("verifying: " + report.error().to_string());
    std::printf(
        "crash harness: seed %llu, %d cycles (kill -9), %d clients, %.1f s: %lld acked events "
        "(%lld acks, %lld of them retries answered duplicate), %lld unacknowledged appends "
        "without own ids (%lld committed), %lld events in the log; lost %lld, moved %lld, "
        "duplicated %lld, idx problems %lld, split batches %lld; %d bel check runs (after each "
        "restart and at the end): view mismatches %d, other check failures %d; %d restarts "
        "restored views from a snapshot; %d more kills while the coordinator started (%d of "
        "them after its ready line)\n",
        static_cast<unsigned long long>(flags_.seed), flags_.cycles, flags_.clients, seconds,
        static_cast<long long>(report->acked_events), static_cast<long long>(report->ack_records),
        static_cast<long long>(report->duplicate_acks), static_cast<long long>(report->uncertain),
        static_cast<long long>(report->uncertain_present),
        static_cast<long long>(report->log_events), static_cast<long long>(report->lost),
        static_cast<long long>(report->moved), static_cast<long long>(report->duplicated),
        static_cast<long long>(report->idx_problems),
        static_cast<long long>(report->split_batches), checks_run_, view_mismatches_,
        other_check_failures_, restarts_from_snapshot_, kills_during_start_ + kills_after_ready_,
        kills_after_ready_);
    for (const auto& p : report->problems) std::printf("  problem: %s\n", p.c_str());
    for (const auto& f : failures_) std::printf("  failure: %s\n", f.c_str());
    const bool ok = report->ok() && failures_.empty() && view_mismatches_ == 0 &&
                    other_check_failures_ == 0 && report->acked_events > 0;
    std::fflush(stdout);
    return ok ? 0 : 1;
  }

  Flags flags_;
  std::mt19937_64 rng_;
  std::string dir_;
  std::string log_uri_;
  std::string endpoint_;
  int generation_ = 0;
  Child serve_;
  std::vector<Child*> commands_;  // running bel commands whose pipes the loop drains
  int ack_fd_ = -1;
  bool reading_acks_ = true;
  std::string ack_buffer_;
  std::vector<int> control_fds_;
  std::vector<pid_t> client_pids_;
  std::vector<AckRecord> records_;
  int64_t acked_ = 0;
  std::vector<std::string> checks_;
  std::vector<std::string> failures_;
  int checks_run_ = 0;
  int view_mismatches_ = 0;
  int other_check_failures_ = 0;
  int restarts_from_snapshot_ = 0;
  int kills_during_start_ = 0;
  int kills_after_ready_ = 0;  // a kill meant for the start that came after the ready line
};

}  // namespace
}  // namespace bel::crash

int main(int argc, char** argv) {
  bel::crash::Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--bel") {
      flags.bel = value;
    } else if (name == "--cycles") {
      flags.cycles = std::atoi(value.c_str());
    } else if (name == "--clients") {
      flags.clients = std::atoi(value.c_str());
    } else if (name == "--seed") {
      flags.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (name == "--max-acks-per-cycle") {
      flags.max_acks_per_cycle = std::atoi(value.c_str());
    } else if (name == "--keep") {
      flags.keep = value == "1";
    } else {
      std::fprintf(stderr, "crash harness: unknown flag %s\n", name.c_str());
      return 2;
    }
  }
  if (flags.bel.empty() || flags.cycles < 1 || flags.clients < 1) {
    std::fprintf(stderr,
                 "usage: bel_crash_harness --bel PATH [--cycles N] [--clients N] [--seed N] "
                 "[--max-acks-per-cycle N] [--keep 1]\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client that died must not take the driver with it
  return bel::crash::Harness(flags).run();
}
