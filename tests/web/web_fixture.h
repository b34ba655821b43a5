// A coordinator on memory:// with the web view on an HttpServer, and a small log: a failed build
// (br-fail: a job run that failed with a message holding HTML), a completed build (br-ok) and a
// build that delegated a partition to br-ok (br-deleg). Shared by the web suites (header-only).
#ifndef BEL_TESTS_WEB_WEB_FIXTURE_H_
#define BEL_TESTS_WEB_WEB_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/net/http_server.h"
#include "actors/web/web_view.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"  // contains

namespace bel::testing {

inline constexpr const char* kFailMessage = "<b>disk full</b> & \"quoted\"";

class WebFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Appends `events` as one batch; the last ack's idx.
  int64_t append(std::vector<BuildEvent> events);
  // A client of the server, with the token unless `with_token` is false.
  httplib::Client http(bool with_token = true);
  httplib::Result get(const std::string& path, bool with_token = true);
  httplib::Result post(const std::string& path, bool with_token = true);

  virtual actors::web::EventStreamOptions stream_options() { return {}; }
  virtual actors::CoordinatorOptions coordinator_options() { return {}; }

  std::string token_ = "0123456789abcdef0123456789abcdef";
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  actors::BelApi api_;
  std::unique_ptr<actors::ApiClient> client_;
  std::unique_ptr<actors::web::WebView> web_;
  std::unique_ptr<actors::HttpServer> server_;
  int64_t seeded_idx_ = 0;
};

inline void WebFixture::SetUp() {
  actors::configure_actor_system(config_);
  system_ = std::make_unique<caf::actor_system>(config_);
  auto api = actors::start_coordinator(*system_, "memory://", coordinator_options());
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  api_ = *api;
  client_ = std::make_unique<actors::ApiClient>(*system_, api_);
  web_ = std::make_unique<actors::web::WebView>(*client_, stream_options());
  actors::HttpServerOptions options;
  options.token = token_;
  server_ = std::make_unique<actors::HttpServer>(options);
  web_->add_routes(*server_);
  ASSERT_TRUE(server_->listen().ok());

  auto failed_run = job_event("br-fail", "jr-1", "//pkg:job", v1::JOB_FAILED, {"data/a"});
  failed_run.mutable_job_event()->set_message(kFailMessage);
  auto started = job_event("br-fail", "jr-1", "//pkg:job", v1::JOB_RUNNING, {"data/a"});
  started.set_timestamp(1'700'000'000'000'000'000);
  failed_run.set_timestamp(1'700'000'004'000'000'000);
  seeded_idx_ = append({
      request_event("br-fail", v1::BUILD_REQUEST_RECEIVED, {"data/a"}),
      request_event("br-fail", v1::BUILD_REQUEST_EXECUTING),
      job_event("br-fail", "jr-1", "//pkg:job", v1::JOB_SCHEDULED, {"data/a"}),
      started,
      partition_event("br-fail", "data/a", v1::PARTITION_BUILDING, "jr-1"),
      failed_run,
      partition_event("br-fail", "data/a", v1::PARTITION_FAILED, "jr-1"),
      request_event("br-fail", v1::BUILD_REQUEST_FAILED),
      request_event("br-ok", v1::BUILD_REQUEST_RECEIVED, {"data/b"}),
      request_event("br-ok", v1::BUILD_REQUEST_EXECUTING),
      job_event("br-ok", "jr-2", "//pkg:other", v1::JOB_SCHEDULED, {"data/b"}),
      job_event("br-ok", "jr-2", "//pkg:other", v1::JOB_RUNNING, {"data/b"}),
      partition_event("br-ok", "data/b", v1::PARTITION_BUILDING, "jr-2"),
      request_event("br-deleg", v1::BUILD_REQUEST_RECEIVED, {"data/b"}),
      delegation_event("br-deleg", "data/b", "br-ok"),
      job_event("br-ok", "jr-2", "//pkg:other", v1::JOB_COMPLETED, {"data/b"}),
      partition_event("br-ok", "data/b", v1::PARTITION_AVAILABLE, "jr-2"),
      request_event("br-ok", v1::BUILD_REQUEST_COMPLETED),
  });
}

inline void WebFixture::TearDown() {
  if (web_) web_->stop();
  if (server_) server_->stop();
  client_.reset();
  actors::stop_coordinator(api_);
  system_->await_all_actors_done();
}

inline int64_t WebFixture::append(std::vector<BuildEvent> events) {
  auto acks = client_->append(std::move(events));
  EXPECT_TRUE(acks.ok()) << acks.error().to_string();
  return acks.ok() && !acks->empty() ? acks->back().idx() : 0;
}

inline httplib::Client WebFixture::http(bool with_token) {
  httplib::Client client("127.0.0.1", server_->port());
  if (with_token) client.set_bearer_token_auth(token_);
  client.set_read_timeout(30, 0);
  return client;
}

inline httplib::Result WebFixture::get(const std::string& path, bool with_token) {
  return http(with_token).Get(path);
}

inline httplib::Result WebFixture::post(const std::string& path, bool with_token) {
  return http(with_token).Post(path, "", "text/plain");
}

}  // namespace bel::testing

#endif  // BEL_TESTS_WEB_WEB_FIXTURE_H_
