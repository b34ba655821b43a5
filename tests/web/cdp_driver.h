// A small driver of a headless Chromium over the Chrome DevTools Protocol, for the dashboard's
// browser tests. Chromium runs with --remote-debugging-pipe: it reads commands from its fd 3 and
// writes answers and events to its fd 4, each a JSON object ended by a NUL byte (one Unix socket
// serves as both here). The driver opens one page (a target attached with flatten: true) and sends
// every page command with that session's id.
//
//   auto browser = CdpDriver::start("/usr/bin/chromium");
//   ASSERT_TRUE(browser.ok()) << browser.error().to_string();
//   CdpDriver& b = **browser;
//   ASSERT_TRUE(b.navigate("http://127.0.0.1:8080/").ok());
//   auto text = b.text("document.body.innerText");
//   auto shown = b.wait_until("document.body.innerText.includes('br-1')");
//
// Every command has a deadline (`timeout`, 60 s unless given: a failure bound for a loaded
// machine, never a delay). An error names the command and what went wrong: no answer in time,
// Chromium's own error, a script exception, or Chromium gone (with its exit status and the end of
// its output). The destructor ends Chromium and every process it started (its process group).
// Not thread-safe: one thread drives one browser.
#ifndef BEL_TESTS_WEB_CDP_DRIVER_H_
#define BEL_TESTS_WEB_CDP_DRIVER_H_

#include <google/protobuf/struct.pb.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "messages/error.h"
#include "tests/support/run_command.h"

namespace bel::testing {

class CdpDriver {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kDefaultTimeout{60000};

  // Starts `chromium` headless with a fresh profile and opens a blank page.
  static Result<std::unique_ptr<CdpDriver>> start(const std::string& chromium,
                                                  Duration timeout = kDefaultTimeout);
  ~CdpDriver();
  CdpDriver(const CdpDriver&) = delete;
  CdpDriver& operator=(const CdpDriver&) = delete;

  // Loads `url` (following redirects) and waits until the new document has loaded.
  Status navigate(const std::string& url);
  // Focuses the element `selector` selects, types `text` into it and presses Enter, as a person
  // searching does; waits until the document the form led to has loaded.
  Status type_and_enter(const std::string& selector, const std::string& text);
  // The value of `expression` evaluated in the page (awaited when it is a promise).
  Result<google::protobuf::Value> evaluate(const std::string& expression);
  // The value of `expression` as a string; an error when it is not one.
  Result<std::string> text(const std::string& expression);
  // Polls `condition` until it is truthy; an error after `timeout` naming the condition and
  // quoting what the page shows then.
  Status wait_until(const std::string& condition, Duration timeout = kDefaultTimeout);
  // Turns the page's own scripts off or on (DevTools' evaluate keeps working); applies to the
  // documents loaded afterwards.
  Status set_javascript_enabled(bool enabled);
  // Forgets every cookie, as a browser whose session ended does.
  Status clear_cookies();
  // Lays pages out at `width` x `height` CSS pixels from now on; `mobile` as a phone does (the
  // page's viewport meta tag applies).
  Status set_viewport(int width, int height, bool mobile);
  // The page rendered at `width` x `height` CSS pixels, as PNG bytes.
  Result<std::string> screenshot_png(int width, int height);

  // Chromium's process id, which is also its process group's.
  pid_t pid() const { return pid_; }

  // `s` as a JavaScript string literal, for building expressions.
  static std::string js_string(const std::string& s);

 private:
  explicit CdpDriver(Duration timeout) : timeout_(timeout) {}
  // Spawns `chromium` on the pipe, in a process group of its own.
  Status launch(const std::string& chromium);
  // Sends `method` with `params` (to the page's session unless `to_browser`) and waits for its
  // answer's "result".
  Result<google::protobuf::Struct> call(const std::string& method,
                                        const google::protobuf::Struct& params,
                                        bool to_browser = false);
  // The next NUL-terminated message, by `deadline`.
  Result<std::string> read_message(std::chrono::steady_clock::time_point deadline,
                                   const std::string& method);
  Status write_all(const std::string& bytes, std::chrono::steady_clock::time_point deadline,
                   const std::string& method);
  // Why the pipe ended: Chromium's exit status and the end of its output.
  Error gone(const std::string& method);
  // Runs `start_navigation` and waits until a new document is there and has loaded.
  Status load_new_document(const std::function<Status()>& start_navigation);
  void stop();

  TempDir profile_;
  pid_t pid_ = -1;
  int fd_ = -1;
  Duration timeout_;
  std::string session_id_;
  std::string buffer_;
  int64_t next_id_ = 1;
  bool dead_ = false;  // Chromium or the page is gone; every call fails at once
  std::string dead_reason_;
};

}  // namespace bel::testing

#endif  // BEL_TESTS_WEB_CDP_DRIVER_H_
