#include "tests/web/cdp_driver.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wrappers.pb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>
#include <vector>

#include "messages/json.h"

extern char** environ;

namespace bel::testing {
namespace {

using Clock = std::chrono::steady_clock;
using google::protobuf::Struct;
using google::protobuf::Value;

// wait_until evaluates its condition again as soon as Chromium sends anything (an event of the
// page), and at the latest after this long without a message.
constexpr std::chrono::milliseconds kQuietInterval{100};

// Waits until process `pid` has exited (not reaping it) or `timeout` passed, on a pidfd rather
// than by polling; fills `info` when it exited. False on timeout or error.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout, siginfo_t& info) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    (void)poll(&p, 1, static_cast<int>(timeout.count()));
    close(pidfd);
  }
  info.si_pid = 0;
  return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

Value str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}
Value flag(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Struct object(std::initializer_list<std::pair<const char*, Value>> fields) {
  Struct s;
  for (const auto& [key, value] : fields) (*s.mutable_fields())[key] = value;
  return s;
}
// The field `key` of `s`; a null Value when absent.
const Value& field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? Value::default_instance() : it->second;
}

int millis_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60 * 60 * 1000));
}

std::string seconds(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000) + "s"; }

std::string last_chars(const std::string& text, size_t n) {
  return text.size() <= n ? text : "…" + text.substr(text.size() - n);
}

Error io_error(const std::string& what) {
  return make_error(ErrorCode::internal, what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<CdpDriver>> CdpDriver::start(const std::string& chromium, Duration timeout) {
  std::unique_ptr<CdpDriver> d(new CdpDriver(timeout));
  BEL_RETURN_IF_ERROR(d->launch(chromium));
  auto target = d->call("Target.createTarget", object({{"url", str("about:blank")}}), true);
  if (!target.ok()) return target.error();
  auto session =
      d->call("Target.attachToTarget",
              object({{"targetId", field(*target, "targetId")}, {"flatten", flag(true)}}), true);
  if (!session.ok()) return session.error();
  d->session_id_ = field(*session, "sessionId").string_value();
  if (d->session_id_.empty()) {
    return make_error(ErrorCode::internal, "chromium attached to the page without a sessionId");
  }
  return d;
}

Status CdpDriver::launch(const std::string& chromium) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return io_error("socketpair");
  // dup2 onto fds 3 and 4 below must not start from either of them.
  for (int& fd : sv) {
    if (fd > 4) continue;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    fd = moved;
  }
  const std::string log = profile_.path() + "/chromium-output.log";
  std::vector<std::string> args = {chromium,
                                   "--headless",
                                   "--remote-debugging-pipe",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-extensions",
                                   "--disable-dev-shm-usage",
                                   "--disable-background-timer-throttling",
                                   "--disable-renderer-backgrounding",
                                   "--disable-backgrounding-occluded-windows",
                                   "--user-data-dir=" + profile_.path() + "/profile"};
  // Chromium refuses to start its sandbox as root (a container's usual user).
  if (geteuid() == 0) args.push_back("--no-sandbox");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);  // Chromium reads commands here
  posix_spawn_file_actions_adddup2(&actions, sv[1], 4);  // and writes answers here
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: stop() ends its children too
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // Chromium makes its singleton socket's directory in $TMPDIR and leaves it when it is killed:
  // the profile's directory, removed with it, takes that place.
  std::vector<std::string> env_text = {"TMPDIR=" + profile_.path()};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "TMPDIR=", 7) != 0) env_text.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int rc = posix_spawn(&pid_, chromium.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    pid_ = -1;
    return make_error(ErrorCode::internal, "cannot start " + chromium + ": " + std::strerror(rc));
  }
  fd_ = sv[0];
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return ok_status();
}

CdpDriver::~CdpDriver() { stop(); }

void CdpDriver::stop() {
  if (pid_ <= 0) return;
  if (!dead_) {
    timeout_ = std::chrono::seconds(5);
    (void)call("Browser.close", Struct(), true);
  }
  // Give it a moment to exit by itself (not reaped: its pid names the group until waitpid).
  siginfo_t info{};
  (void)wait_for_exit(pid_, std::chrono::seconds(5), info);
  kill(-pid_, SIGKILL);  // whatever of the group is left: renderers, the zygote, ...
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Error CdpDriver::gone(const std::string& method) {
  dead_ = true;
  std::string status = "still running";
  siginfo_t info{};
  if (pid_ > 0 && wait_for_exit(pid_, std::chrono::seconds(5), info)) {
    status = info.si_code == CLD_EXITED ? "exited with status " + std::to_string(info.si_status)
                                        : "killed by signal " + std::to_string(info.si_status);
  }
  std::ifstream in(profile_.path() + "/chromium-output.log");
  std::stringstream output;
  output << in.rdbuf();
  dead_reason_ = "chromium closed its DevTools pipe during " + method + " (" + status +
                 "); its last output: " + last_chars(output.str(), 2000);
  return make_error(ErrorCode::internal, dead_reason_);
}

Status CdpDriver::write_all(const std::string& bytes, Clock::time_point deadline,
                            const std::string& method) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return gone(method);
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, millis_left(deadline)) == 0) {
      return make_error(ErrorCode::timeout, "chromium did not read the command " + method +
                                                " within " + seconds(timeout_));
    }
  }
  return ok_status();
}

Result<std::string> CdpDriver::read_message(Clock::time_point deadline, const std::string& method) {
  while (true) {
    if (auto end = buffer_.find('\0'); end != std::string::npos) {
      std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return message;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, millis_left(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      return make_error(ErrorCode::timeout,
                        "no answer from chromium to " + method + " within " + seconds(timeout_));
    }
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return gone(method);
    }
  }
}

Result<Struct> CdpDriver::call(const std::string& method, const Struct& params, bool to_browser) {
  if (dead_) return make_error(ErrorCode::internal, method + ": " + dead_reason_);
  const double id = static_cast<double>(next_id_++);
  Struct command = object({{"id", num(id)}, {"method", str(method)}});
  *(*command.mutable_fields())["params"].mutable_struct_value() = params;
  if (!to_browser) (*command.mutable_fields())["sessionId"] = str(session_id_);
  const auto deadline = Clock::now() + timeout_;
  BEL_RETURN_IF_ERROR(write_all(to_json(command) + '\0', deadline, method));
  while (true) {
    auto text = read_message(deadline, method);
    if (!text.ok()) return text.error();
    Struct message;
    if (auto parsed = from_json(*text, &message); !parsed.ok()) {
      return parsed.error().with_context("a message from chromium during " + method);
    }
    const Value& answer_id = field(message, "id");
    if (answer_id.kind_case() == Value::kNumberValue && answer_id.number_value() == id) {
      const Value& error = field(message, "error");
      if (error.has_struct_value()) {
        return make_error(ErrorCode::internal,
                          "chromium answered " + method + ": " +
                              field(error.struct_value(), "message").string_value());
      }
      return field(message, "result").struct_value();
    }
    // An event. The page's end is an answer to every command still waiting for it.
    const std::string event = field(message, "method").string_value();
    const Struct& event_params = field(message, "params").struct_value();
    const bool ours = field(message, "sessionId").string_value() == session_id_ ||
                      field(event_params, "sessionId").string_value() == session_id_;
    if (ours && (event == "Inspector.targetCrashed" || event == "Target.detachedFromTarget")) {
      dead_ = true;
      dead_reason_ = "the page " +
                     std::string(event == "Inspector.targetCrashed" ? "crashed" : "was closed") +
                     " during " + method;
      return make_error(ErrorCode::internal, dead_reason_);
    }
  }
}

Result<Value> CdpDriver::evaluate(const std::string& expression) {
  auto r = call("Runtime.evaluate", object({{"expression", str(expression)},
                                            {"returnByValue", flag(true)},
                                            {"awaitPromise", flag(true)}}));
  if (!r.ok()) return r.error();
  const Value& exception = field(*r, "exceptionDetails");
  if (exception.has_struct_value()) {
    const Struct& details = exception.struct_value();
    std::string what =
        field(field(details, "exception").struct_value(), "description").string_value();
    if (what.empty()) what = field(details, "text").string_value();
    return make_error(ErrorCode::invalid_argument,
                      "the page threw evaluating `" + expression + "`: " + what);
  }
  return field(field(*r, "result").struct_value(), "value");
}

Result<std::string> CdpDriver::text(const std::string& expression) {
  auto v = evaluate(expression);
  if (!v.ok()) return v.error();
  if (v->kind_case() != Value::kStringValue) {
    return make_error(ErrorCode::invalid_argument,
                      "`" + expression + "` is not a string but " + to_json(*v));
  }
  return v->string_value();
}

Status CdpDriver::wait_until(const std::string& condition, Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "false";
  while (true) {
    auto v = evaluate("!!(" + condition + ")");
    if (v.ok() && v->bool_value()) return ok_status();
    if (dead_) return v.error();
    // An error while a document is replaced (its context destroyed) is another try's business.
    last = v.ok() ? "false" : v.error().to_string();
    const auto now = Clock::now();
    if (now >= deadline) break;
    // Until Chromium says something (the next evaluate reads it), or a quiet interval passed.
    const auto quiet = std::min(
        kQuietInterval, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    pollfd p{fd_, POLLIN, 0};
    (void)poll(&p, 1, static_cast<int>(quiet.count()));
  }
  auto shown = text("document.body ? document.body.innerText : document.documentElement.outerHTML");
  return make_error(ErrorCode::timeout,
                    "the page did not satisfy `" + condition + "` within " + seconds(timeout) +
                        " (last: " + last + "); it shows:\n" +
                        (shown.ok() ? shown->substr(0, 3000) : shown.error().to_string()));
}

Status CdpDriver::load_new_document(const std::function<Status()>& start_navigation) {
  // A mark on the current document's window: the new document's window has none.
  (void)evaluate("window.__belPreviousDocument = true");
  if (auto started = start_navigation(); !started.ok()) return started;
  return wait_until("!window.__belPreviousDocument && document.readyState === 'complete'",
                    timeout_);
}

Status CdpDriver::navigate(const std::string& url) {
  return load_new_document([&]() -> Status {
    auto r = call("Page.navigate", object({{"url", str(url)}}));
    if (!r.ok()) return r.error();
    const std::string failed = field(*r, "errorText").string_value();
    if (!failed.empty()) return make_error(ErrorCode::internal, "loading " + url + ": " + failed);
    return ok_status();
  });
}

Status CdpDriver::type_and_enter(const std::string& selector, const std::string& text) {
  return load_new_document([&]() -> Status {
    auto focused = evaluate("(function () { var e = document.querySelector(" + js_string(selector) +
                            "); if (!e) return false; e.focus(); return true; })()");
    if (!focused.ok()) return focused.error();
    if (!focused->bool_value()) {
      return make_error(ErrorCode::not_found, "no element matches " + selector);
    }
    BEL_RETURN_IF_ERROR(call("Input.insertText", object({{"text", str(text)}})));
    for (const char* type : {"keyDown", "keyUp"}) {
      Struct key = object({{"type", str(type)},
                           {"key", str("Enter")},
                           {"code", str("Enter")},
                           {"windowsVirtualKeyCode", num(13)}});
      if (std::string(type) == "keyDown") (*key.mutable_fields())["text"] = str("\r");
      BEL_RETURN_IF_ERROR(call("Input.dispatchKeyEvent", key));
    }
    return ok_status();
  });
}

Status CdpDriver::set_javascript_enabled(bool enabled) {
  BEL_RETURN_IF_ERROR(
      call("Emulation.setScriptExecutionDisabled", object({{"value", flag(!enabled)}})));
  return ok_status();
}

Status CdpDriver::clear_cookies() {
  BEL_RETURN_IF_ERROR(call("Network.clearBrowserCookies", object({})));
  return ok_status();
}

Status CdpDriver::set_viewport(int width, int height, bool mobile) {
  BEL_RETURN_IF_ERROR(
      call("Emulation.setDeviceMetricsOverride", object({{"width", num(width)},
                                                         {"height", num(height)},
                                                         {"deviceScaleFactor", num(1)},
                                                         {"mobile", flag(mobile)}})));
  return ok_status();
}

Result<std::string> CdpDriver::screenshot_png(int width, int height) {
  BEL_RETURN_IF_ERROR(set_viewport(width, height, /*mobile=*/false));
  auto shot = call("Page.captureScreenshot", object({{"format", str("png")}}));
  if (!shot.ok()) return shot.error();
  // base64: protobuf's JSON form of bytes (the web tier's path decoder takes text only).
  google::protobuf::BytesValue png;
  const auto read = google::protobuf::util::JsonStringToMessage(
      to_json(str(field(*shot, "data").string_value())), &png);
  if (!read.ok()) {
    return make_error(ErrorCode::internal,
                      "Page.captureScreenshot: the image is not base64: " + read.ToString());
  }
  return png.value();
}

std::string CdpDriver::js_string(const std::string& s) { return to_json(str(s)); }

}  // namespace bel::testing
