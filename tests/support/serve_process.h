// A `bel serve` child process for end-to-end tests, its standard error read line by line.
//
//   bel::testing::ServeProcess serve(BEL_BINARY, {"serve", "--log", "sqlite://" + path});
//   ASSERT_TRUE(serve.wait_for("running")) << serve.err();
//   int port = serve.endpoint_port();            // from "console endpoint HOST:PORT, ..."
//   EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
//
// The destructor kills (SIGKILL) and reaps a process not stopped yet.
#ifndef BEL_TESTS_SUPPORT_SERVE_PROCESS_H_
#define BEL_TESTS_SUPPORT_SERVE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace bel::testing {

class ServeProcess {
 public:
  static constexpr std::chrono::seconds kDeadline{60};

  // Starts `binary` with `args` (its standard output goes to /dev/null).
  ServeProcess(const std::string& binary, std::vector<std::string> args);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Reads standard error until a line contains `needle` (true) or the deadline or EOF (false).
  bool wait_for(const std::string& needle);

  // Sends `signal` and waits for the exit code (-1 when it did not exit normally).
  int stop(int signal);

  // The port of the console endpoint the process announced ("console endpoint HOST:PORT, ..."),
  // or -1 before that line.
  int endpoint_port() const;

  void signal(int signal);
  pid_t pid() const { return pid_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  bool eof_ = false;
  std::string err_;
  size_t scanned_ = 0;
};

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_SERVE_PROCESS_H_
