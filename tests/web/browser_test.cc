// The dashboard in a real browser: Debian's Chromium, headless, signs in through a one-time URL
// (the cookie path, as a person's browser does) and the test asserts on the DOM it renders —
// with JavaScript on, including a change appended after the page loaded (the live update).
// Skipped, saying so, when /usr/bin/chromium is not installed (./scripts/test installs it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "actors/web/web_request.h"
#include "tests/support/run_command.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

using actors::web::encode_path_part;

constexpr const char* kChromium = "/usr/bin/chromium";

class BrowserTest : public WebFixture {
 protected:
  void SetUp() override {
    if (access(kChromium, X_OK) != 0) GTEST_SKIP() << kChromium << " is not installed";
    WebFixture::SetUp();
  }
  // Short-lived streams: Chromium's virtual time stands still while a request is open, so the
  // page's time budget runs out only across the EventSource's reconnects.
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o;
    o.poll_interval = std::chrono::milliseconds(50);
    o.idle_timeout = std::chrono::milliseconds(1500);
    return o;
  }
  // Chromium's command line loading `path` after signing in; `extra` flags added.
  std::string chromium(const std::string& path, const std::string& extra) {
    const std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) +
                            "/login?once=" + web_->sessions().new_once() +
                            "&next=" + httplib::detail::encode_query_param(path);
    return "timeout 120 " + std::string(kChromium) + " --headless --no-sandbox --disable-gpu --no-first-run "
           "--disable-extensions --disable-dev-shm-usage --user-data-dir=" +
           shell_quote(profile_.path()) + " " + extra + " " + shell_quote(url) + " 2>/dev/null";
  }
  TempDir profile_;
};

TEST_F(BrowserTest, BuildPageShowsWhyTheBuildFailed) {
  auto r = run_command(chromium("/builds/" + encode_path_part("br-fail"), "--dump-dom"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Why it failed"), std::string::npos) << r.out;
  // The message as text, escaped once: the browser shows "<b>disk full</b>", it renders no <b>.
  EXPECT_NE(r.out.find("&lt;b&gt;disk full&lt;/b&gt;"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("//pkg:job"), std::string::npos);
  EXPECT_NE(r.out.find("class=\"bar bad\""), std::string::npos);
}

TEST_F(BrowserTest, HomeAndJobsPagesRender) {
  auto home = run_command(chromium("/", "--dump-dom"));
  ASSERT_EQ(home.exit_code, 0) << home.err;
  EXPECT_NE(home.out.find("Recent builds"), std::string::npos);
  EXPECT_NE(home.out.find("br-deleg"), std::string::npos);
  auto jobs = run_command(chromium("/jobs", "--dump-dom"));
  EXPECT_NE(jobs.out.find("//pkg:other"), std::string::npos) << jobs.out;
  EXPECT_NE(jobs.out.find("100%"), std::string::npos);
}

TEST_F(BrowserTest, PageUpdatesLiveAfterAnAppend) {
  append({request_event("br-live", v1::BUILD_REQUEST_RECEIVED, {"live/a"}),
          request_event("br-live", v1::BUILD_REQUEST_EXECUTING)});
  // The browser runs the page for 5 s of its virtual time, then prints the DOM as it is then.
  auto browser = std::async(std::launch::async, [&] {
    return run_command(chromium("/builds/" + encode_path_part("br-live"),
                                "--virtual-time-budget=5000 --dump-dom"));
  });
  // Append once the page's script follows the stream.
  ASSERT_TRUE(actors::web::wait_for_open_event_stream(std::chrono::seconds(60)))
      << "the page never opened its event stream";
  auto failed = job_event("br-live", "jr-live", "//pkg:live", v1::JOB_FAILED, {"live/a"});
  failed.mutable_job_event()->set_message("appended after the page loaded");
  append({job_event("br-live", "jr-live", "//pkg:live", v1::JOB_SCHEDULED, {"live/a"}),
          job_event("br-live", "jr-live", "//pkg:live", v1::JOB_RUNNING, {"live/a"}), failed});
  auto r = browser.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("appended after the page loaded"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bel::testing
