// The dashboard in a real browser: Debian's Chromium, headless, driven over the DevTools protocol
// (tests/web/cdp_driver.h). The browser signs in through a one-time URL (the cookie path, as a
// person's browser does) and the tests assert on what the page shows, its rendered text and
// elements: each page, the search box, the same pages with JavaScript off, and pages that follow
// the event stream and show events appended after they loaded. Skipped, saying so, when
// /usr/bin/chromium is not installed (./scripts/test installs it).
// BEL_DASHBOARD_SCREENSHOT=docs/dashboard.png refreshes the README's screenshot.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "actors/client/partitions_repository.h"
#include "actors/web/web_request.h"
#include "actors/web/web_stream.h"
#include "messages/status_names.h"
#include "tests/web/cdp_driver.h"
#include "tests/web/web_fixture.h"

namespace bel::testing {
namespace {

using actors::web::encode_path_part;
using namespace bel::v1;

constexpr const char* kChromium = "/usr/bin/chromium";

::testing::AssertionResult succeeded(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.error().to_string();
}

// A JavaScript expression: the text `selector`'s element shows ("" when there is none).
std::string shown_by(const std::string& selector) {
  return "((document.querySelector(" + CdpDriver::js_string(selector) +
         ") || {innerText: ''}).innerText)";
}
// A JavaScript condition: `selector`'s element shows `text`.
std::string shows(const std::string& selector, const std::string& text) {
  return shown_by(selector) + ".includes(" + CdpDriver::js_string(text) + ")";
}
// A JavaScript condition: the page's script follows the event stream (it says so in the header).
constexpr const char* kFollowsStream = "document.getElementById('live').textContent === 'live'";

class BrowserTest : public WebFixture {
 protected:
  void SetUp() override {
    if (access(kChromium, X_OK) != 0) GTEST_SKIP() << kChromium << " is not installed";
    WebFixture::SetUp();
  }
  void TearDown() override {
    browser_.reset();  // first: its page's event stream ends with it
    if (system_) WebFixture::TearDown();
  }
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o;
    o.poll_interval = std::chrono::milliseconds(50);
    // The server notices a stream the browser closed at its next write: keep-alives write often.
    o.keepalive_interval = std::chrono::milliseconds(500);
    return o;
  }

  // Loads `path` of the dashboard; the first page starts the browser and signs it in through a
  // one-time link.
  ::testing::AssertionResult open(const std::string& path) {
    if (!browser_) {  // started by the first page: a skipped test starts none
      auto browser = CdpDriver::start(kChromium);
      if (!browser.ok()) return ::testing::AssertionFailure() << browser.error().to_string();
      browser_ = std::move(*browser);
    }
    const std::string base = "http://127.0.0.1:" + std::to_string(server_->port());
    std::string url = base + path;
    if (!signed_in_) {
      url = base + "/login?once=" + web_->sessions().new_once() +
            "&next=" + httplib::detail::encode_query_param(path);
      signed_in_ = true;
    }
    return succeeded(browser_->navigate(url)) << " (opening " << path << ")";
  }
  // Loads `path` and waits until its script follows the event stream.
  ::testing::AssertionResult open_live(const std::string& path) {
    auto opened = open(path);
    if (!opened) return opened;
    return eventually(kFollowsStream) << " (" << path << " never followed its stream)";
  }
  // What the element `selector` selects shows, as text.
  std::string shown(const std::string& selector = "main") { return text_of(shown_by(selector)); }
  // The text a JavaScript expression evaluates to in the page.
  std::string text_of(const std::string& expression) {
    auto text = browser_->text(expression);
    EXPECT_TRUE(text.ok()) << text.error().to_string();
    return text.ok() ? *text : "";
  }
  bool holds(const std::string& condition) {
    auto v = browser_->evaluate("!!(" + condition + ")");
    EXPECT_TRUE(v.ok()) << v.error().to_string();
    return v.ok() && v->bool_value();
  }
  ::testing::AssertionResult eventually(const std::string& condition) {
    return succeeded(browser_->wait_until(condition));
  }

  // A build executing job run jr-live of //pkg:live for live/a.
  void append_running_build() {
    append({request_event("br-live", BUILD_REQUEST_RECEIVED, {"live/a"}),
            request_event("br-live", BUILD_REQUEST_EXECUTING),
            job_event("br-live", "jr-live", "//pkg:live", JOB_SCHEDULED, {"live/a"}),
            job_event("br-live", "jr-live", "//pkg:live", JOB_RUNNING, {"live/a"}),
            partition_event("br-live", "live/a", PARTITION_BUILDING, "jr-live")});
  }

  std::unique_ptr<CdpDriver> browser_;
  bool signed_in_ = false;
};

// How many streams the page's script has opened.
const std::string kStreamsOpened =
    "document.getElementById('live').getAttribute('data-streams-opened')";

std::string build_path(const std::string& id) { return "/builds/" + encode_path_part(id); }
std::string partition_path(const std::string& ref) {
  return "/partitions/" + encode_path_part(ref);
}

TEST_F(BrowserTest, HomePageShowsActivityAndRecentBuilds) {
  ASSERT_TRUE(open("/"));
  const std::string main = shown();
  for (const char* part : {"Activity", "Recent builds", "Recent partitions", "br-fail", "br-ok",
                           "br-deleg", "data/a", "data/b"}) {
    EXPECT_TRUE(contains(main, part)) << part << " not in:\n" << main;
  }
  EXPECT_TRUE(contains(shown("#home-counts"), "3\nbuild requests")) << shown("#home-counts");
  EXPECT_TRUE(holds("document.querySelector('input[name=q]') !== null"));  // the search box
}

// The header's sign-out button, a plain form: Chromium's POST (from the page itself) passes the
// server's checks, the cookie goes, and the next page says how to sign in again (that the server
// forgets the session too: WebPagesTest.SignOutEndsTheSessionFromTheServersOwnPagesOnly).
TEST_F(BrowserTest, SignOutEndsThisBrowsersSession) {
  ASSERT_TRUE(open("/builds"));
  ASSERT_TRUE(contains(shown(), "br-fail"));
  auto clicked =
      browser_->evaluate("document.querySelector('form[action=\"/logout\"] button').click(), true");
  ASSERT_TRUE(clicked.ok()) << clicked.error().to_string();
  EXPECT_TRUE(eventually("document.title.startsWith('Signed out')"));
  EXPECT_TRUE(contains(shown(), "bel sign-in")) << shown();
  EXPECT_TRUE(holds("document.cookie === ''"));  // (HttpOnly: gone or not, never shown)
  ASSERT_TRUE(open("/builds"));
  EXPECT_TRUE(contains(shown(), "not signed in")) << shown();
  EXPECT_FALSE(contains(shown(), "br-fail"));
}

TEST_F(BrowserTest, BuildPageShowsWhyTheBuildFailed) {
  ASSERT_TRUE(open(build_path("br-fail")));
  EXPECT_TRUE(contains(shown("h1"), "Build br-fail failed")) << shown("h1");
  const std::string why = shown("#build-failures");
  // The message as text, escaped once: a person reads "<b>disk full</b>", nothing is bold.
  EXPECT_TRUE(contains(why, kFailMessage)) << why;
  EXPECT_FALSE(
      holds("[...document.querySelectorAll('#build-failures *')]"
            ".some(e => e.textContent === 'disk full')"));
  EXPECT_TRUE(contains(why, "//pkg:job run jr-1 failed")) << why;
  EXPECT_TRUE(contains(why, "for data/a")) << why;
  const std::string runs = shown("#build-runs");
  EXPECT_TRUE(contains(runs, "jr-1")) << runs;
  EXPECT_TRUE(contains(runs, "4.0s")) << runs;  // from JOB_RUNNING to JOB_FAILED
  // The run's bar on the timeline is drawn, in the failure's colour.
  EXPECT_TRUE(
      holds("document.querySelector('#build-runs .bar.bad').getBoundingClientRect()"
            ".width > 0"));
}

TEST_F(BrowserTest, BuildPageShowsDelegation) {
  ASSERT_TRUE(open(build_path("br-deleg")));
  const std::string partitions = shown("#build-partitions");
  EXPECT_TRUE(contains(partitions, "data/b")) << partitions;
  EXPECT_TRUE(contains(partitions, "→ br-ok")) << partitions;
  // Following the delegation leads to the build that did the work.
  EXPECT_TRUE(holds("document.querySelector('#build-partitions a[href=\"" + build_path("br-ok") +
                    "\"]') !== null"));
}

TEST_F(BrowserTest, PartitionPageShowsStatusAndHistory) {
  ASSERT_TRUE(open(partition_path("data/b")));
  EXPECT_TRUE(contains(shown("h1"), "Partition data/b"));
  const std::string status = shown("#partition-status");
  EXPECT_TRUE(contains(status, "available")) << status;
  EXPECT_TRUE(contains(status, "br-ok")) << status;
  const std::string history = shown("#partition-history");
  for (const char* part : {"building", "delegated to br-ok", "available"}) {
    EXPECT_TRUE(contains(history, part)) << part << " not in:\n" << history;
  }
}

TEST_F(BrowserTest, JobsPageShowsSuccessRates) {
  ASSERT_TRUE(open("/jobs"));
  auto row = [&](const std::string& label) {
    auto text = browser_->text(
        "([...document.querySelectorAll('#jobs tr')].find(r => "
        "r.cells[0].innerText === " +
        CdpDriver::js_string(label) + ") || {innerText: ''}).innerText");
    return text.ok() ? *text : text.error().to_string();
  };
  EXPECT_TRUE(contains(row("//pkg:other"), "100%")) << row("//pkg:other");
  EXPECT_TRUE(contains(row("//pkg:job"), "\t0%")) << row("//pkg:job");
}

TEST_F(BrowserTest, SearchBoxLeadsToWhatWasTyped) {
  ASSERT_TRUE(open("/"));
  ASSERT_TRUE(succeeded(browser_->type_and_enter("input[name=q]", "jr-1")));
  EXPECT_TRUE(contains(shown("h1"), "Build br-fail")) << shown("h1");  // the run's build
  ASSERT_TRUE(succeeded(browser_->type_and_enter("input[name=q]", "data/*")));
  EXPECT_TRUE(contains(shown("h1"), "Partitions matching data/*")) << shown("h1");
  EXPECT_TRUE(contains(shown("#partitions"), "data/a"));
  EXPECT_TRUE(contains(shown("#partitions"), "data/b"));
  ASSERT_TRUE(succeeded(browser_->type_and_enter("input[name=q]", "//pkg:other")));
  EXPECT_TRUE(contains(shown("h1"), "Job //pkg:other")) << shown("h1");
  EXPECT_TRUE(contains(shown("#job-metrics"), "100%"));
}

// Without JavaScript every page shows the same content; only the live updates are missing.
TEST_F(BrowserTest, PagesShowTheSameWithJavaScriptOff) {
  const std::vector<std::string> paths = {
      "/",     build_path("br-fail"),       build_path("br-deleg"), partition_path("data/a"),
      "/jobs", "/partitions?pattern=data/*"};
  std::vector<std::string> with_js;
  for (const auto& path : paths) {
    ASSERT_TRUE(open_live(path));  // its script ran
    with_js.push_back(shown());
  }
  ASSERT_TRUE(succeeded(browser_->set_javascript_enabled(false)));
  for (size_t i = 0; i < paths.size(); ++i) {
    ASSERT_TRUE(open(paths[i]));
    EXPECT_EQ(shown(), with_js[i]) << paths[i];
    EXPECT_EQ(shown("#live"), "") << paths[i] << ": a script ran with JavaScript off";
  }
  // The search box is a plain form.
  ASSERT_TRUE(succeeded(browser_->type_and_enter("input[name=q]", "br-ok")));
  EXPECT_TRUE(contains(shown("h1"), "Build br-ok completed")) << shown("h1");
}

TEST_F(BrowserTest, HomePageShowsABuildAppendedAfterItLoaded) {
  ASSERT_TRUE(open_live("/"));
  EXPECT_FALSE(contains(shown(), "br-live"));
  append_running_build();
  EXPECT_TRUE(eventually(shows("#home-builds", "br-live")));
  EXPECT_TRUE(eventually(shows("#home-counts", "4\nbuild requests")));
  EXPECT_TRUE(eventually(shows("#home-partitions", "live/a")));
}

TEST_F(BrowserTest, BuildPageShowsAFailureAppendedAfterItLoaded) {
  append_running_build();
  ASSERT_TRUE(open_live(build_path("br-live")));
  EXPECT_TRUE(contains(shown("#build-failures"), "No failed job runs."));
  EXPECT_TRUE(contains(shown("#build-runs"), "running"));
  auto failed = job_event("br-live", "jr-live", "//pkg:live", JOB_FAILED, {"live/a"});
  failed.mutable_job_event()->set_message("appended after the page loaded");
  append({failed, partition_event("br-live", "live/a", PARTITION_FAILED, "jr-live"),
          request_event("br-live", BUILD_REQUEST_FAILED)});
  EXPECT_TRUE(eventually(shows("#build-failures", "appended after the page loaded")));
  EXPECT_TRUE(eventually(shows("#build-status", "failed")));
  EXPECT_TRUE(eventually(shows("#build-partitions", "failed")));
  // The page fetched again follows the same events (from a later idx): its stream stays open.
  EXPECT_TRUE(holds(kStreamsOpened + " === '1'"));
}

TEST_F(BrowserTest, PartitionPageShowsAStatusAppendedAfterItLoaded) {
  append_running_build();
  ASSERT_TRUE(open_live(partition_path("live/a")));
  EXPECT_TRUE(contains(shown("#partition-status"), "building")) << shown("#partition-status");
  append({job_event("br-live", "jr-live", "//pkg:live", JOB_COMPLETED, {"live/a"}),
          partition_event("br-live", "live/a", PARTITION_AVAILABLE, "jr-live")});
  EXPECT_TRUE(eventually(shows("#partition-status", "available")));
  EXPECT_TRUE(eventually(shows("#partition-history", "job run jr-live completed")));
}

// A build's cancel names no partition, yet ends the partition's claim (SPEC section 4): the page
// follows the builds that claim it and shows the change; a job's page follows its runs' cancels.
TEST_F(BrowserTest, PagesShowACancelAppendedAfterTheyLoaded) {
  append_running_build();
  ASSERT_TRUE(open_live(partition_path("live/a")));
  EXPECT_TRUE(contains(shown("#partition-status"), "building")) << shown("#partition-status");
  EXPECT_TRUE(contains(shown("#partition-status"), "br-live")) << shown("#partition-status");
  const int64_t idx = append({build_cancel_event("br-live", "stopped by an operator")});
  auto status = actors::PartitionsRepository(*client_).status("live/a", idx);
  ASSERT_TRUE(status.ok());
  ASSERT_NE(status->status_code(), PARTITION_BUILDING);  // the claim ended with its build
  EXPECT_TRUE(eventually(shows("#partition-status", short_status_name(status->status_name()))));
  EXPECT_TRUE(eventually(shows("#partition-status", "none")));  // no active build now
  // It follows br-live no more: the fresh page's stream replaced the first.
  EXPECT_TRUE(holds(kStreamsOpened + " === '2'"));

  append({request_event("br-live2", BUILD_REQUEST_RECEIVED, {"live/b"}),
          request_event("br-live2", BUILD_REQUEST_EXECUTING),
          job_event("br-live2", "jr-live2", "//pkg:live2", JOB_SCHEDULED, {"live/b"}),
          job_event("br-live2", "jr-live2", "//pkg:live2", JOB_RUNNING, {"live/b"})});
  ASSERT_TRUE(open_live("/jobs/" + encode_path_part("//pkg:live2")));
  EXPECT_TRUE(contains(shown("#job-runs"), "running")) << shown("#job-runs");
  EXPECT_FALSE(contains(shown("#job-runs"), "cancelled")) << shown("#job-runs");
  append({job_run_cancel_event("br-live2", "jr-live2", "stopped by an operator")});
  EXPECT_TRUE(eventually(shows("#job-runs", "cancelled")));
}

// A ref holding a right-to-left override reorders nothing beyond itself: the refs after it keep
// their order on the screen, left to right as in the page.
TEST_F(BrowserTest, ARightToLeftOverrideInARefStaysInsideIt) {
  append({request_event("br-bidi", BUILD_REQUEST_RECEIVED,
                        {"sales/\u202e", "reports/revenue", "raw/orders"})});
  ASSERT_TRUE(open(build_path("br-bidi")));
  EXPECT_TRUE(
      holds("(function () {"
            "  var a = Array.from(document.querySelectorAll('#build-status a'));"
            "  var r = a.filter(function (x) { return x.textContent === 'reports/revenue'; })[0];"
            "  var o = a.filter(function (x) { return x.textContent === 'raw/orders'; })[0];"
            "  return r && o && r.getBoundingClientRect().top === o.getBoundingClientRect().top &&"
            "         r.getBoundingClientRect().right <= o.getBoundingClientRect().left;"
            "})()"));
}

// A value as long as a ref may be wraps inside its cell: the page is no wider than the window,
// so the columns after it (status, delegated to) stay on the screen.
TEST_F(BrowserTest, ALongRefWrapsInsideItsCell) {
  const std::string long_ref = "wide/" + std::string(5000, 'w');
  append({request_event("br-wide", BUILD_REQUEST_RECEIVED, {long_ref, "wide/short"})});
  ASSERT_TRUE(open(build_path("br-wide")));
  EXPECT_TRUE(contains(shown(), "wide/short"));
  EXPECT_TRUE(holds("document.documentElement.scrollWidth <= window.innerWidth"))
      << "the page is "
      << browser_->evaluate("document.documentElement.scrollWidth")->number_value() << " px wide";
}

// So does a failed run's message without a space in it, in the build page's "Why it failed".
TEST_F(BrowserTest, ALongFailureMessageWrapsInsideItsBlock) {
  auto failed = job_event("br-why", "jr-why", "//pkg:why", JOB_FAILED, {"why/a"});
  failed.mutable_job_event()->set_message("exit code 1: " + std::string(3000, 'x'));
  append({request_event("br-why", BUILD_REQUEST_RECEIVED, {"why/a"}),
          request_event("br-why", BUILD_REQUEST_EXECUTING),
          job_event("br-why", "jr-why", "//pkg:why", JOB_SCHEDULED, {"why/a"}),
          job_event("br-why", "jr-why", "//pkg:why", JOB_RUNNING, {"why/a"}), failed});
  ASSERT_TRUE(open(build_path("br-why")));
  EXPECT_TRUE(contains(shown("#build-failures"), "exit code 1: xxx"));
  EXPECT_TRUE(holds("document.documentElement.scrollWidth <= window.innerWidth"))
      << "the page is "
      << browser_->evaluate("document.documentElement.scrollWidth")->number_value() << " px wide";
}

// On a phone (375 CSS pixels wide) no page is wider than the screen: a wide table or timeline
// scrolls inside its own section, the header wraps, and the page itself never scrolls sideways.
TEST_F(BrowserTest, EveryPageFitsAPhonesWidth) {
  const std::vector<std::string> paths = {"/",
                                          "/builds",
                                          build_path("br-fail"),
                                          build_path("br-deleg"),
                                          "/partitions",
                                          partition_path("data/a"),
                                          "/jobs",
                                          "/jobs/" + encode_path_part("//pkg:job"),
                                          "/builds/no-such-build"};
  ASSERT_TRUE(open("/"));  // signed in; then laid out as a phone does
  ASSERT_TRUE(succeeded(browser_->set_viewport(375, 800, /*mobile=*/true)));
  for (const auto& path : paths) {
    ASSERT_TRUE(open(path));
    // A phone zooms a page wider than its screen out (innerWidth grows): either way, the
    // elements reaching past 375 px are named.
    const std::string kWide =
        "Array.from(document.querySelectorAll('body *')).filter(function (e) { return "
        "e.getBoundingClientRect().right > 375.5; }).slice(0, 6).map(function (e) { return "
        "e.tagName + '.' + e.className; }).join(' ')";
    EXPECT_TRUE(holds("window.innerWidth === 375 && document.documentElement.scrollWidth <= 375"))
        << path << " is "
        << browser_->evaluate("document.documentElement.scrollWidth")->number_value()
        << " px wide; past the screen: " << text_of(kWide);
  }
}

// A browser allows six connections to a server: a page left for another (kept in the back/forward
// cache) must not hold its event stream, or the seventh page waits for one.
TEST_F(BrowserTest, LeavingAPageEndsItsEventStream) {
  const std::vector<std::string> paths = {"/",
                                          build_path("br-fail"),
                                          build_path("br-ok"),
                                          build_path("br-deleg"),
                                          partition_path("data/a"),
                                          partition_path("data/b"),
                                          "/jobs",
                                          "/builds"};
  for (const auto& path : paths) {
    ASSERT_TRUE(open_live(path));
  }
  // The server's count: only the page on screen follows the stream.
  EXPECT_TRUE(actors::web::wait_for_open_event_streams(1, CdpDriver::kDefaultTimeout))
      << actors::web::open_event_streams() << " streams open";
}

// What the page's header says of its stream.
const std::string kLiveText = "document.getElementById('live').textContent";

// One stream at most: a page whose stream is refused (429) says it is not live and opens it
// again once one is free, and follows the log from then on.
class OneStreamBrowserTest : public BrowserTest {
 protected:
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o = BrowserTest::stream_options();
    o.max_streams = 1;
    return o;
  }
};

TEST_F(OneStreamBrowserTest, APageRefusedItsStreamSaysSoAndFollowsOnceOneIsFree) {
  append_running_build();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread holder([&] {  // takes the one stream until `done`
    auto client = http();
    client.Get("/api/v1/events/stream", [&](const char*, size_t) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
      return false;
    });
  });
  auto release = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    if (holder.joinable()) holder.join();
  };
  const bool held = actors::web::wait_for_open_event_streams(1, CdpDriver::kDefaultTimeout);
  if (!held) release();  // a joinable thread must not outlive the test
  ASSERT_TRUE(held) << "the test's own stream never opened";
  EXPECT_TRUE(open(build_path("br-live")));
  EXPECT_TRUE(eventually(kLiveText + ".startsWith('not live: trying again in ')"));
  release();
  EXPECT_TRUE(eventually(kFollowsStream));
  append({job_event("br-live", "jr-live", "//pkg:live", JOB_FAILED, {"live/a"}),
          partition_event("br-live", "live/a", PARTITION_FAILED, "jr-live"),
          request_event("br-live", BUILD_REQUEST_FAILED)});
  EXPECT_TRUE(eventually(shows("#build-status", "failed")));
}

// Streams that end after a second without events: the browser reconnects by itself, and once
// its session is gone (a coordinator restarted) the page says to sign in again.
class ShortStreamBrowserTest : public BrowserTest {
 protected:
  actors::web::EventStreamOptions stream_options() override {
    actors::web::EventStreamOptions o = BrowserTest::stream_options();
    o.idle_timeout = std::chrono::seconds(1);
    return o;
  }
};

TEST_F(ShortStreamBrowserTest, APageWhoseSessionEndedSaysToSignInAgain) {
  ASSERT_TRUE(open_live(build_path("br-ok")));
  ASSERT_TRUE(succeeded(browser_->clear_cookies()));
  EXPECT_TRUE(eventually(kLiveText + " === 'signed out: reload the page to sign in again'"));
}

// A session that ends while its page's stream stays open (streams are authenticated when they
// open): the next event's refetch is refused, and the page stops following and says it is signed
// out, rather than keep a stale page that calls itself live.
TEST_F(BrowserTest, APageSignedOutWhileItsStreamIsOpenStopsAndSaysSo) {
  append_running_build();
  ASSERT_TRUE(open_live(build_path("br-live")));
  ASSERT_TRUE(actors::web::wait_for_open_event_streams(1, CdpDriver::kDefaultTimeout));
  ASSERT_TRUE(succeeded(browser_->clear_cookies()));
  append({job_event("br-live", "jr-live", "//pkg:live", JOB_FAILED, {"live/a"})});
  EXPECT_TRUE(eventually(kLiveText + " === 'signed out: reload the page to sign in again'"));
  EXPECT_TRUE(actors::web::wait_for_open_event_streams(0, CdpDriver::kDefaultTimeout))
      << actors::web::open_event_streams() << " streams open";
  EXPECT_FALSE(contains(shown("#build-failures"), "jr-live"));
}

// The driver itself: its errors say what went wrong.
TEST(CdpDriverTest, SaysWhatTheConditionWasAndWhenChromiumIsGone) {
  if (access(kChromium, X_OK) != 0) GTEST_SKIP() << kChromium << " is not installed";
  auto browser = CdpDriver::start(kChromium);
  ASSERT_TRUE(browser.ok()) << browser.error().to_string();
  CdpDriver& b = **browser;
  ASSERT_TRUE(succeeded(b.navigate("data:text/html,<p>nothing to see</p>")));
  auto never = b.wait_until("document.title === 'never'", std::chrono::milliseconds(300));
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.error().code, ErrorCode::timeout);
  EXPECT_TRUE(contains(never.error().message, "document.title === 'never'"));
  EXPECT_TRUE(contains(never.error().message, "nothing to see"));  // what the page showed
  auto thrown = b.evaluate("no_such_name + 1");
  ASSERT_FALSE(thrown.ok());
  EXPECT_TRUE(contains(thrown.error().message, "ReferenceError")) << thrown.error().message;

  ASSERT_EQ(kill(-b.pid(), SIGKILL), 0);
  auto gone = b.evaluate("1 + 1");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(contains(gone.error().message, "chromium closed its DevTools pipe"))
      << gone.error().message;
  EXPECT_TRUE(contains(gone.error().message, "killed by signal 9")) << gone.error().message;
  auto after = b.navigate("about:blank");  // every later command fails at once, saying why
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(contains(after.error().message, "killed by signal 9")) << after.error().message;
}

// Not a check: BEL_DASHBOARD_SCREENSHOT=<file.png> writes the README's picture of a failed build.
TEST_F(BrowserTest, ScreenshotOfAFailedBuild) {
  const char* file = std::getenv("BEL_DASHBOARD_SCREENSHOT");
  if (file == nullptr) GTEST_SKIP() << "BEL_DASHBOARD_SCREENSHOT=<file.png> writes a screenshot";
  const std::string b = "br-a1bcc4-000011";
  const std::string orders = "raw/orders/2026-11-22", customers = "raw/customers/2026-11-22";
  const int64_t t0 = 1'795'000'000'000'000'000;  // 2026-11-18
  auto at = [&](BuildEvent e, int64_t ms) {
    e.set_timestamp(t0 + ms * 1'000'000);
    return e;
  };
  auto done = at(job_event(b, b + "-2", "//raw:ingest", JOB_COMPLETED, {customers}), 92'000);
  done.mutable_job_event()->set_message("wrote 4,124,727 rows in 1m32s");
  auto failed = at(job_event(b, b + "-1", "//raw:ingest", JOB_FAILED, {orders}), 38'500);
  failed.mutable_job_event()->set_message(
      "exit code 1: upstream file missing: s3://landing/orders/2026-11-22/_SUCCESS (after 38s)");
  std::vector<BuildEvent> events = {
      at(request_event(b, BUILD_REQUEST_RECEIVED, {"reports/revenue/2026-11-22"}), 0),
      at(request_event(b, BUILD_REQUEST_EXECUTING), 200)};
  for (const auto& [run, ref] : {std::pair{b + "-1", orders}, std::pair{b + "-2", customers}}) {
    events.push_back(at(job_event(b, run, "//raw:ingest", JOB_SCHEDULED, {ref}), 300));
    events.push_back(at(job_event(b, run, "//raw:ingest", JOB_RUNNING, {ref}), 500));
    events.push_back(at(partition_event(b, ref, PARTITION_BUILDING, run), 500));
  }
  events.push_back(failed);
  events.push_back(at(partition_event(b, orders, PARTITION_FAILED, b + "-1"), 38'500));
  events.push_back(done);
  events.push_back(at(partition_event(b, customers, PARTITION_AVAILABLE, b + "-2"), 92'000));
  for (const char* ref : {"clean/orders/2026-11-22", "reports/revenue/2026-11-22"}) {
    auto upstream = at(partition_event(b, ref, PARTITION_FAILED), 92'000);
    upstream.mutable_partition_event()->set_message("upstream " + orders + " failed");
    events.push_back(upstream);
  }
  auto build_failed = at(request_event(b, BUILD_REQUEST_FAILED), 92'100);
  build_failed.mutable_build_request_event()->set_message("3 of 4 partitions failed: " + orders +
                                                          ", clean/orders/2026-11-22, …");
  events.push_back(build_failed);
  append(events);
  ASSERT_TRUE(open(build_path(b)));
  auto png = browser_->screenshot_png(1280, 1100);
  ASSERT_TRUE(png.ok()) << png.error().to_string();
  std::ofstream(file, std::ios::binary) << *png;
}

}  // namespace
}  // namespace bel::testing
