#include "tests/crash/crash_client.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "actors/client/session.h"
#include "messages/event_id.h"
#include "tests/support/events.h"

namespace bel::crash {
namespace {

using namespace bel::v1;

// Standard input from the driver: endpoints and "stop".
class Control {
 public:
  explicit Control(int fd) : fd_(fd) {}

  // Reads what has arrived; with `wait_ms` > 0, first waits up to that long for at least one
  // more line (EOF counts as "stop").
  void read(int wait_ms = 0) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, wait_ms);
      if (ready <= 0) return;
      char buf[512];
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        stop_ = true;
        return;
      }
      buffer_.append(buf, static_cast<size_t>(n));
      bool got_line = false;
      for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
        parse(buffer_.substr(0, nl));
        buffer_.erase(0, nl + 1);
        got_line = true;
      }
      if (got_line) wait_ms = 0;
    }
  }

  bool stop() const { return stop_; }
  int generation() const { return generation_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void parse(const std::string& line) {
    if (line == "stop") {
      stop_ = true;
      return;
    }
    std::istringstream in(line);
    int generation = 0;
    std::string endpoint;
    if (in >> generation >> endpoint && generation > generation_) {
      generation_ = generation;
      endpoint_ = endpoint;
    }
  }

  int fd_;
  std::string buffer_;
  bool stop_ = false;
  int generation_ = 0;
  std::string endpoint_;
};

class Client {
 public:
  explicit Client(const CrashClientOptions& options)
      : options_(options), control_(options.control_fd), rng_(options.seed) {}

  int run() {
    control_.read(-1);  // the first endpoint
    if (!reconnect()) return 0;
    while (!control_.stop()) {
      if (!next_unit()) return 1;
      control_.read();
    }
    return 0;
  }

 private:
  // One unit of work; false on an error no crash explains.
  bool next_unit() {
    ++unit_;
    const std::string build = "c" + std::to_string(options_.client) + "-u" + std::to_string(unit_);
    const int kind = std::uniform_int_distribution<int>(0, 9)(rng_);
    if (kind < 4 || requested_.empty()) return own_id_batch(build);
    if (kind < 7) return schedule_one();
    if (kind < 9) return log_assigned({bel::testing::request_event(build, BUILD_REQUEST_RECEIVED)});
    std::vector<BuildEvent> batch;
    for (int i = 0; i < 3; ++i) {
      batch.push_back(bel::testing::request_event(build + "-" + std::to_string(i),
                                                  BUILD_REQUEST_RECEIVED));
    }
    return log_assigned(std::move(batch));
  }

  bool own_id_batch(const std::string& build) {
    const int partitions = std::uniform_int_distribution<int>(1, 4)(rng_);
    std::vector<std::string> refs;
    for (int i = 0; i < partitions; ++i) {
      // A few hot partitions shared by every client, the rest the client's own.
      const int hot = std::uniform_int_distribution<int>(0, 7)(rng_);
      refs.push_back(hot == 0 ? "hot/p" + std::to_string(i) : "data/" + build + "/p" +
                                                                   std::to_string(i));
    }
    std::vector<BuildEvent> batch;
    batch.push_back(bel::testing::request_event(build, BUILD_REQUEST_RECEIVED, refs));
    for (const auto& ref : refs) {
      batch.push_back(bel::testing::partition_event(build, ref, PARTITION_REQUESTED));
    }
    batch.push_back(bel::testing::job_event(build, build + "-run", "//job:" + build.substr(0, 3),
                                            JOB_SCHEDULED, refs));
    for (auto& e : batch) e.set_event_id(bel::new_event_id());
    if (!until_acked(batch)) return false;
    for (const auto& ref : refs) requested_.emplace_back(build, ref);
    return true;
  }

  bool schedule_one() {
    const size_t pick = std::uniform_int_distribution<size_t>(0, requested_.size() - 1)(rng_);
    auto [build, ref] = requested_[pick];
    requested_.erase(requested_.begin() + static_cast<std::ptrdiff_t>(pick));
    auto e = bel::testing::partition_event(build, ref, PARTITION_SCHEDULED, build + "-run");
    e.set_event_id(bel::new_event_id());
    return until_acked({e});
  }

  // Appends `batch` with its own ids until it is acknowledged (or the driver stops the run
  // while no coordinator answers).
  bool until_acked(const std::vector<BuildEvent>& batch) {
    for (;;) {
      auto acks = append(batch);
      if (acks.ok()) return record(batch, *acks);
      if (!expected(acks.error())) return false;
      if (!reconnect()) return true;
    }
  }

  bool log_assigned(std::vector<BuildEvent> batch) {
    auto acks = append(batch);
    if (acks.ok()) return record(batch, *acks);
    if (!expected(acks.error())) return false;
    for (const auto& e : batch) emit("U " + prefix() + " " + e.build_request_id());
    reconnect();
    return true;
  }

  Result<std::vector<AppendAck>> append(const std::vector<BuildEvent>& batch) {
    if (!session_) {
      return make_error(ErrorCode::storage_unavailable, "not connected");
    }
    if (batch.size() == 1) {
      auto ack = session_->client().append(batch.front());
      if (!ack.ok()) return ack.error();
      return std::vector<AppendAck>{*ack};
    }
    return session_->client().append(batch);
  }

  // The errors a killed or restarting coordinator explains; anything else is a bug to report.
  bool expected(const Error& e) {
    session_.reset();
    if (e.code == ErrorCode::storage_unavailable || e.code == ErrorCode::timeout ||
        e.code == ErrorCode::overloaded || e.code == ErrorCode::unauthorized) {
      return true;
    }
    std::fprintf(stderr, "crash client %d: unexpected error: %s\n", options_.client,
                 e.to_string().c_str());
    return false;
  }

  bool record(const std::vector<BuildEvent>& batch, const std::vector<AppendAck>& acks) {
    if (acks.size() != batch.size()) {
      std::fprintf(stderr, "crash client %d: %zu acks for %zu events\n", options_.client,
                   acks.size(), batch.size());
      return false;
    }
    for (size_t i = 0; i < acks.size(); ++i) {
      emit("A " + prefix() + " " + std::to_string(acks[i].idx()) + " " + acks[i].event_id() + " " +
           batch[i].build_request_id() + " " + (acks[i].duplicate() ? "1" : "0"));
    }
    return true;
  }

  std::string prefix() const {
    return std::to_string(options_.client) + " " + std::to_string(unit_);
  }

  void emit(const std::string& line) {
    const std::string record = line + "\n";
    // One write per record (below PIPE_BUF): records of several clients never interleave.
    if (::write(options_.ack_fd, record.data(), record.size()) !=
        static_cast<ssize_t>(record.size())) {
      std::perror("crash client: writing an ack record");
      std::_Exit(2);
    }
  }

  // Connects to the newest endpoint. While nothing answers there it waits for the next one (the
  // coordinator is down), trying the same one again every kRetryMs in case it was only slow to
  // answer. False when the driver said stop and the newest endpoint does not answer.
  bool reconnect() {
    constexpr int kRetryMs = 250;
    session_.reset();
    for (;;) {
      control_.read();
      if (control_.generation() > 0) {
        actors::SessionOptions options;
        options.log_uri = options_.log_uri;
        options.connect = control_.endpoint();
        options.timeout = options_.timeout;
        auto session = actors::Session::open(options);
        if (session.ok()) {
          session_ = std::move(*session);
          return true;
        }
      }
      if (control_.stop()) return false;
      control_.read(kRetryMs);
    }
  }

  CrashClientOptions options_;
  Control control_;
  std::mt19937_64 rng_;
  std::unique_ptr<actors::Session> session_;
  int64_t unit_ = 0;
  std::vector<std::pair<std::string, std::string>> requested_;  // (build, partition) REQUESTED
};

}  // namespace

int run_crash_client(const CrashClientOptions& options) {
  // Reconnecting to a killed coordinator is this client's normal life, not news.
  spdlog::set_level(spdlog::level::warn);
  Client client(options);
  return client.run();
}

}  // namespace bel::crash
