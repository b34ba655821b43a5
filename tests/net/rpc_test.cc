// The console's transport end to end in one process: a coordinator on memory:// served by
// HttpServer + add_rpc_routes, reached through RpcChannel and the forwarding bel_api actor
// (SPEC section 6, R6, R9): every call answers as the coordinator itself does, errors keep their
// codes, a peer without the token (HTTP or CAF's BASP) reaches nothing, and a client whose
// coordinator is killed during a request learns it from the broken connection.
#include <arpa/inet.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <caf/io/all.hpp>
#include <future>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/net/http_server.h"
#include "actors/net/remote_api.h"
#include "actors/net/rpc_server.h"
#include "actors/net/token.h"
#include "tests/support/events.h"
#include "tests/support/loopback.h"
#include "tests/support/silent_api.h"

namespace bel::actors {
namespace {

using google::protobuf::util::MessageDifferencer;
using namespace bel::v1;
using namespace bel::testing;

// The routes and a body each accepts (a valid append, so a tokenless one would append).
std::vector<std::pair<std::string, std::string>> every_route() {
  AppendRequest batch;
  *batch.add_events() = request_event("br-intruder", BUILD_REQUEST_RECEIVED);
  Query query;
  query.mutable_activity();
  QueryBatch query_batch;
  *query_batch.add_queries() = query;
  google::protobuf::StringValue view;
  return {{"hello", ""},
          {"append", request_event("br-intruder", BUILD_REQUEST_RECEIVED).SerializeAsString()},
          {"append_batch", batch.SerializeAsString()},
          {"query", query.SerializeAsString()},
          {"query_each", query_batch.SerializeAsString()},
          {"fallback", query.SerializeAsString()},
          {"list", ListEventsRequest().SerializeAsString()},
          {"views", ""},
          {"rebuild", view.SerializeAsString()},
          {"stats", ""},
          {"meta", ""}};
}

// The same outcome: both answered alike, or both refused with the same code and message.
::testing::AssertionResult same_outcome(const Result<QueryResult>& got,
                                        const Result<QueryResult>& want) {
  if (got.ok() != want.ok()) {
    return ::testing::AssertionFailure()
           << (got.ok() ? got->ShortDebugString() : got.error().to_string()) << " vs "
           << (want.ok() ? want->ShortDebugString() : want.error().to_string());
  }
  if (got.ok() && !MessageDifferencer::Equals(*got, *want)) {
    return ::testing::AssertionFailure()
           << got->ShortDebugString() << " vs " << want->ShortDebugString();
  }
  if (!got.ok() &&
      (got.error().code != want.error().code || got.error().message != want.error().message)) {
    return ::testing::AssertionFailure()
           << got.error().to_string() << " vs " << want.error().to_string();
  }
  return ::testing::AssertionSuccess();
}

// Questions of every kind of outcome: answered, not found, refused as invalid (never sent),
// and then enough partition questions to fill more than one message.
std::vector<Query> mixed_questions() {
  std::vector<Query> out(4);
  out[0].mutable_build_summary()->set_build_request_id("br-1");
  out[1].mutable_build_summary()->set_build_request_id("br-none");
  out[2].mutable_partition_status();  // no ref: invalid_argument
  out[3].mutable_partitions_list()->set_limit(1);
  for (int i = 0; i < 1200; ++i) {
    out.emplace_back().mutable_partition_status()->set_partition_ref("data/" +
                                                                     std::to_string(i % 7));
  }
  return out;
}

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    auto api = start_coordinator(*system_, "memory://");
    ASSERT_TRUE(api.ok()) << api.error().to_string();
    api_ = *api;
    HttpServerOptions options;
    options.token = token_;
    server_ = std::make_unique<HttpServer>(options);
    add_rpc_routes(*server_, *system_, api_);
    ASSERT_TRUE(server_->listen().ok());
    channel_ = std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", server_->port()}, token_);
    remote_ = spawn_remote_api(*system_, channel_);
    local_client_ = std::make_unique<ApiClient>(*system_, api_);
    remote_client_ = std::make_unique<ApiClient>(*system_, remote_);
  }
  void TearDown() override {
    remote_client_.reset();
    local_client_.reset();
    channel_->stop();
    caf::anon_send_exit(remote_, caf::exit_reason::user_shutdown);
    server_->stop();
    stop_coordinator(api_);
    system_->await_all_actors_done();
  }
  int64_t last_idx() {
    auto stats = local_client_->stats();
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? stats->last_idx() : -1;
  }
  // A loopback port where a server with this token listened and nothing listens any more.
  uint16_t port_of_a_gone_server() {
    HttpServerOptions options;
    options.token = token_;
    HttpServer gone(options);
    EXPECT_TRUE(gone.listen().ok());
    return gone.port();
  }

  std::string token_ = new_token();
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  BelApi api_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<RpcChannel> channel_;
  BelApi remote_;
  std::unique_ptr<ApiClient> local_client_;
  std::unique_ptr<ApiClient> remote_client_;
};

TEST_F(RpcTest, EveryCallAnswersAsTheCoordinatorItselfDoes) {
  auto hello = channel_->hello(std::chrono::seconds(5));
  ASSERT_TRUE(hello.ok()) << hello.error().to_string();
  EXPECT_TRUE(*hello);

  auto one = remote_client_->append(request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/a"}));
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(one->idx(), 1);
  auto batch = remote_client_->append(std::vector<BuildEvent>{
      partition_event("br-1", "data/a", PARTITION_REQUESTED),
      request_event("br-2", BUILD_REQUEST_RECEIVED, {"data/b"})});
  ASSERT_TRUE(batch.ok()) << batch.error().to_string();
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[1].idx(), 3);

  Query query;
  query.set_min_idx(3);
  query.mutable_build_summary()->set_build_request_id("br-1");
  auto remote = remote_client_->query(query);
  auto local = local_client_->query(query);
  ASSERT_TRUE(remote.ok() && local.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*remote, *local));
  auto scanned = remote_client_->fallback(query);
  ASSERT_TRUE(scanned.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(scanned->build_summary(), local->build_summary()));

  ListEventsRequest list;
  auto page = remote_client_->list_events(list);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events_size(), 3);
  auto views = remote_client_->views_status();
  ASSERT_TRUE(views.ok());
  EXPECT_GT(views->views_size(), 0);
  auto rebuilt = remote_client_->rebuild("");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().to_string();
  auto stats = remote_client_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->last_idx(), 3);
}

// Independent appends in one message (bel_api.h, each_atom) through the console protocol: each
// stored or refused alone, in order, each refusal with the code and message the coordinator
// itself gives.
TEST_F(RpcTest, IndependentAppendsInOneMessageAreEachAnsweredAlone) {
  const BuildEvent unnamed = request_event("", BUILD_REQUEST_RECEIVED);
  const std::vector<BuildEvent> events{request_event("br-e", BUILD_REQUEST_RECEIVED), unnamed,
                                       request_event("br-e", BUILD_REQUEST_RECEIVED),
                                       partition_event("br-e", "data/e", PARTITION_REQUESTED)};
  caf::scoped_actor self{*system_};
  AppendOutcomes outcomes;
  Error failed = make_error(ErrorCode::internal, "no answer");
  self->request(remote_, std::chrono::seconds(30), append_atom::value, each_atom::value, events)
      .receive([&](const AppendOutcomes& got) { outcomes = got; },
               [&](const caf::error& e) { failed = from_caf_error(e); });
  ASSERT_EQ(outcomes.size(), events.size()) << failed.to_string();
  EXPECT_FALSE(outcomes[0].error) << caf::to_string(outcomes[0].error);
  EXPECT_EQ(outcomes[0].ack.idx(), 1);
  // The coordinator's own answer to the event appended alone: each append of the message is
  // judged as one, and named by no batch position.
  auto local = local_client_->append(unnamed);
  ASSERT_FALSE(local.ok());
  const Error remote_unnamed = from_caf_error(outcomes[1].error);
  EXPECT_EQ(remote_unnamed.code, local.error().code);
  EXPECT_EQ(remote_unnamed.message, local.error().message);
  EXPECT_EQ(remote_unnamed.message, "build_request_id is empty");
  EXPECT_EQ(from_caf_error(outcomes[2].error).code, ErrorCode::invalid_transition);
  EXPECT_NE(from_caf_error(outcomes[2].error).message.rfind("append #", 0), 0u);
  EXPECT_FALSE(outcomes[3].error) << caf::to_string(outcomes[3].error);
  EXPECT_EQ(outcomes[3].ack.idx(), 2);
  EXPECT_EQ(last_idx(), 2);
}

// Many questions in one message (bel_api.h, (query_atom, each_atom, queries);
// ApiClient::query_each), through the console protocol and in process: each outcome is the one
// the question gets when asked alone, in order, across the several messages a long list takes.
TEST_F(RpcTest, QuestionsInOneMessageAreEachAnsweredAsIfAskedAlone) {
  ASSERT_TRUE(local_client_
                  ->append(std::vector<BuildEvent>{
                      request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/1"}),
                      partition_event("br-1", "data/1", PARTITION_REQUESTED)})
                  .ok());
  const std::vector<Query> questions = mixed_questions();
  const auto remote = remote_client_->query_each(questions);
  const auto local = local_client_->query_each(questions);
  ASSERT_EQ(remote.size(), questions.size());
  ASSERT_EQ(local.size(), questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    const auto alone = local_client_->query(questions[i]);
    EXPECT_TRUE(same_outcome(remote[i], alone)) << "question " << i;
    EXPECT_TRUE(same_outcome(local[i], alone)) << "question " << i;
  }
  ASSERT_TRUE(remote[0].ok());
  EXPECT_EQ(remote[0]->build_summary().build_request_id(), "br-1");
  ASSERT_FALSE(remote[1].ok());
  EXPECT_EQ(remote[1].error().code, ErrorCode::not_found);
  ASSERT_FALSE(remote[2].ok());
  EXPECT_EQ(remote[2].error().code, ErrorCode::invalid_argument);
  ASSERT_TRUE(remote[5].ok());
  EXPECT_EQ(remote[5]->partition_status().partition_ref(), "data/1");

  // A question the client did not check first is refused by the coordinator, alone.
  caf::scoped_actor self{*system_};
  QueryOutcomes outcomes;
  self->request(remote_, std::chrono::seconds(30), query_atom::value, each_atom::value,
                std::vector<Query>{questions[2], questions[0]})
      .receive([&](QueryOutcomes& got) { outcomes = std::move(got); },
               [&](const caf::error& e) { ADD_FAILURE() << system_->render(e); });
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(from_caf_error(outcomes[0].error).code, ErrorCode::invalid_argument);
  EXPECT_EQ(from_caf_error(outcomes[0].error).message, local[2].error().message);
  EXPECT_FALSE(outcomes[1].error);
  EXPECT_EQ(outcomes[1].answer.build_summary().build_request_id(), "br-1");

  // More than a message may carry is refused whole.
  bool refused = false;
  self->request(remote_, std::chrono::seconds(30), query_atom::value, each_atom::value,
                std::vector<Query>(kMaxQueriesPerMessage + 1, questions[0]))
      .receive([&](const QueryOutcomes&) { ADD_FAILURE() << "answered"; },
               [&](const caf::error& e) {
                 refused = from_caf_error(e).code == ErrorCode::invalid_argument;
               });
  EXPECT_TRUE(refused);
}

// A coordinator of an earlier bel serves no query_each: the client asks it one question per call
// and gets the same outcomes.
TEST_F(RpcTest, ACoordinatorWithoutQueryEachIsAskedOneQuestionPerCall) {
  ASSERT_TRUE(local_client_->append(request_event("br-1", BUILD_REQUEST_RECEIVED)).ok());
  HttpServerOptions options;
  options.token = token_;
  HttpServer earlier(options);
  earlier.post(std::string(kRpcPath) + "hello",
               [](const httplib::Request&, const std::string&, httplib::Response& res) {
                 res.set_header("Bel-Protocol", kRpcProtocol);
                 HttpServer::reply(res, "bel.v1\n", "text/plain");
               });
  std::atomic<int> asked{0};
  earlier.post(std::string(kRpcPath) + "query",
               [&](const httplib::Request&, const std::string& body, httplib::Response& res) {
                 ++asked;
                 Query query;
                 ASSERT_TRUE(query.ParseFromString(body));
                 auto answer = local_client_->query(query);
                 if (!answer.ok()) return HttpServer::reply_error(res, answer.error());
                 HttpServer::reply(res, answer->SerializeAsString(), kProtobufType);
               });
  ASSERT_TRUE(earlier.listen().ok());
  auto channel = std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", earlier.port()}, token_);
  BelApi remote = spawn_remote_api(*system_, channel);
  {
    ApiClient client(*system_, remote);
    std::vector<Query> questions(2);
    questions[0].mutable_build_summary()->set_build_request_id("br-1");
    questions[1].mutable_build_summary()->set_build_request_id("br-none");
    for (int round = 0; round < 2; ++round) {
      const auto outcomes = client.query_each(questions);
      ASSERT_EQ(outcomes.size(), 2u);
      EXPECT_TRUE(same_outcome(outcomes[0], local_client_->query(questions[0])));
      EXPECT_TRUE(same_outcome(outcomes[1], local_client_->query(questions[1])));
    }
  }
  EXPECT_EQ(asked.load(), 4);
  channel->stop();
  caf::anon_send_exit(remote, caf::exit_reason::user_shutdown);
  earlier.stop();
}

TEST_F(RpcTest, ErrorsKeepTheirCodeAndMessage) {
  BuildEvent bad = request_event("", BUILD_REQUEST_RECEIVED);
  auto remote = remote_client_->append(bad);
  auto local = local_client_->append(bad);
  ASSERT_FALSE(remote.ok());
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(remote.error().code, local.error().code);
  EXPECT_EQ(remote.error().message, local.error().message);

  // Text that is not UTF-8 crosses the transport as the bytes it is and is refused as it would
  // be in process (the console's own commands refuse it before sending; a library caller may not).
  ASSERT_TRUE(local_client_->append(request_event("br-1", BUILD_REQUEST_RECEIVED)).ok());
  BuildEvent cancel;
  cancel.set_build_request_id("br-1");
  cancel.mutable_build_cancel_event()->set_reason("bad \xff reason");
  auto remote_cancel = remote_client_->append(cancel);
  auto local_cancel = local_client_->append(cancel);
  ASSERT_FALSE(remote_cancel.ok());
  ASSERT_FALSE(local_cancel.ok());
  EXPECT_EQ(remote_cancel.error().code, ErrorCode::invalid_event);
  EXPECT_EQ(remote_cancel.error().message, local_cancel.error().message);
  EXPECT_NE(remote_cancel.error().message.find(
                "build_cancel_event.reason is not valid UTF-8: byte 0xff at offset 4"),
            std::string::npos)
      << remote_cancel.error().message;
  EXPECT_EQ(last_idx(), 1);

  auto unknown = remote_client_->rebuild("no_such_view");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);

  caf::scoped_actor self{*system_};
  Error meta = make_error(ErrorCode::internal, "no answer");
  self->request(remote_, std::chrono::seconds(30), meta_atom::value, std::string("k"),
                std::string("v"))
      .receive([&](const std::string&) { meta = make_error(ErrorCode::internal, "answered"); },
               [&](const caf::error& e) { meta = from_caf_error(e); });
  EXPECT_EQ(meta.code, ErrorCode::invalid_argument) << meta.to_string();
}

TEST_F(RpcTest, RequestsWithoutTheTokenReachNoRouteAndAppendNothing) {
  ASSERT_EQ(last_idx(), 0);
  httplib::Client raw("127.0.0.1", server_->port());
  int refused = 0;
  for (const auto& [call, body] : every_route()) {
    for (const httplib::Headers& headers :
         {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer " + new_token()}},
          httplib::Headers{{"Authorization", "Bearer "}}}) {
      auto res = raw.Post((kRpcPath + call).c_str(), headers, body, kProtobufType);
      ASSERT_TRUE(res) << call;
      EXPECT_EQ(res->status, 401) << call;
      EXPECT_EQ(res->get_header_value("Bel-Error"), "unauthorized") << call;
      ++refused;
    }
  }
  EXPECT_EQ(server_->stats().unauthorized, refused);
  EXPECT_EQ(last_idx(), 0) << "a request without the token appended";
  // A console with a wrong token is refused at the greeting.
  RpcChannel wrong(Endpoint{"127.0.0.1", server_->port()}, new_token());
  auto hello = wrong.hello(std::chrono::seconds(5));
  ASSERT_FALSE(hello.ok());
  EXPECT_EQ(hello.error().code, ErrorCode::unauthorized);
}

// R5 at the transport: a batch over the per-request byte limit reaches a console as `overloaded`
// naming the limit (it never reaches the coordinator), and the connection serves on.
TEST_F(RpcTest, AnOversizeBatchIsOverloadedAtTheTransportAndAppendsNothing) {
  HttpServerOptions options;
  options.token = token_;
  options.max_body_bytes = 4096;
  HttpServer small(options);
  add_rpc_routes(small, *system_, api_);
  ASSERT_TRUE(small.listen().ok());
  auto channel = std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", small.port()}, token_);
  BelApi remote = spawn_remote_api(*system_, channel);
  {
    ApiClient client(*system_, remote);
    std::vector<BuildEvent> batch;
    for (int i = 0; i < 100; ++i) {
      batch.push_back(request_event("br-" + std::to_string(i), BUILD_REQUEST_RECEIVED,
                                    {"data/" + std::string(40, 'x')}));
    }
    auto acks = client.append(batch);
    ASSERT_FALSE(acks.ok());
    EXPECT_EQ(acks.error().code, ErrorCode::overloaded) << acks.error().to_string();
    EXPECT_NE(acks.error().message.find("limit of 4096 bytes"), std::string::npos)
        << acks.error().to_string();
    EXPECT_EQ(small.stats().overloaded, 1);
    EXPECT_EQ(small.stats().peak_inflight_bytes, 0);
    EXPECT_EQ(last_idx(), 0);
    auto one = client.append(request_event("br-small", BUILD_REQUEST_RECEIVED));
    ASSERT_TRUE(one.ok()) << one.error().to_string();
    EXPECT_EQ(one->idx(), 1);
  }
  channel->stop();
  caf::anon_send_exit(remote, caf::exit_reason::user_shutdown);
  small.stop();
}

TEST_F(RpcTest, APeerSpeakingCafBaspReachesNoActor) {
  // CAF's own remoting, as the old console transport used it: nothing is published, so the
  // handshake gets no actor.
  caf::actor_system_config peer_config;
  configure_actor_system(peer_config);
  peer_config.load<caf::io::middleman>();
  {
    caf::actor_system peer{peer_config};
    caf::scoped_actor self{peer};
    bool got_actor = false;
    self->request(peer.middleman().actor_handle(), std::chrono::seconds(5),
                  caf::connect_atom::value, std::string("127.0.0.1"), server_->port())
        .receive([&](const caf::node_id&, caf::strong_actor_ptr& remote,
                     const std::set<std::string>&) { got_actor = static_cast<bool>(remote); },
                 [&](const caf::error&) {});
    EXPECT_FALSE(got_actor);
  }
  // Raw bytes of a BASP message header (an actor id, an operation): answered as a bad HTTP
  // request, never as a call.
  const int fd = testing::connect_loopback(server_->port());
  ASSERT_GE(fd, 0);
  const unsigned char basp[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x02, 'a',  'p',  'p',  'e',  'n',  'd'};
  ASSERT_EQ(::write(fd, basp, sizeof(basp)), static_cast<ssize_t>(sizeof(basp)));
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, n);
  ::close(fd);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer;
  EXPECT_EQ(last_idx(), 0);
}

TEST_F(RpcTest, NothingListeningIsAStaleEndpointAndAStoppedChannelFailsAtOnce) {
  RpcChannel channel(Endpoint{"127.0.0.1", port_of_a_gone_server()}, token_);
  auto hello = channel.hello(std::chrono::seconds(5));
  ASSERT_TRUE(hello.ok()) << hello.error().to_string();
  EXPECT_FALSE(*hello);
  auto call = channel.call("stats", "", std::chrono::seconds(30));
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().code, ErrorCode::storage_unavailable);
  // In a session, nothing listening means the coordinator went away; nothing was sent.
  EXPECT_NE(call.error().message.find(
                ": the coordinator stopped or was killed; this request was not sent"),
            std::string::npos)
      << call.error().to_string();
  channel_->stop();
  auto stats = remote_client_->stats();
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, ErrorCode::storage_unavailable);
}

// Independent appends in one message, through a console whose coordinator is gone: the first
// finds nothing listening, the rest are not sent (each would wait out its own connect timeout)
// and are answered storage_unavailable at once, saying so.
TEST_F(RpcTest, AppendsInOneMessageAfterOneFindsNoCoordinatorAreNotSent) {
  BelApi remote = spawn_remote_api(
      *system_,
      std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", port_of_a_gone_server()}, token_));
  const std::vector<BuildEvent> events{request_event("br-g", BUILD_REQUEST_RECEIVED),
                                       partition_event("br-g", "data/g", PARTITION_REQUESTED),
                                       request_event("br-h", BUILD_REQUEST_RECEIVED)};
  caf::scoped_actor self{*system_};
  AppendOutcomes outcomes;
  Error failed = make_error(ErrorCode::internal, "no answer");
  self->request(remote, std::chrono::seconds(30), append_atom::value, each_atom::value, events)
      .receive([&](const AppendOutcomes& got) { outcomes = got; },
               [&](const caf::error& e) { failed = from_caf_error(e); });
  ASSERT_EQ(outcomes.size(), events.size()) << failed.to_string();
  const Error first = from_caf_error(outcomes[0].error);
  EXPECT_EQ(first.code, ErrorCode::storage_unavailable) << first.to_string();
  EXPECT_NE(first.message.find("cannot connect"), std::string::npos) << first.to_string();
  for (size_t i = 1; i < outcomes.size(); ++i) {
    const Error rest = from_caf_error(outcomes[i].error);
    EXPECT_EQ(rest.code, ErrorCode::storage_unavailable) << rest.to_string();
    EXPECT_NE(rest.message.find("not sent, an earlier append of the same message failed"),
              std::string::npos)
        << rest.to_string();
  }
  caf::anon_send_exit(remote, caf::exit_reason::user_shutdown);
  EXPECT_EQ(last_idx(), 0);
}

// R9: the coordinator process is killed while it holds a request; the client, waiting up to
// 30 s, gets storage_unavailable naming the call (the kernel closed the connection), not timeout.
TEST(RpcKillTest, ACoordinatorKilledDuringARequestIsStorageUnavailableNotATimeout) {
  const std::string token = new_token();
  int port_pipe[2], arrived_pipe[2];
  ASSERT_EQ(::pipe(port_pipe), 0);
  ASSERT_EQ(::pipe(arrived_pipe), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The coordinator: serves queries that never get an answer.
    caf::actor_system_config config;
    configure_actor_system(config);
    caf::actor_system system{config};
    const int arrived_fd = arrived_pipe[1];
    BelApi silent = system.spawn(silent_api, std::function<void()>([arrived_fd] {
                                   const char arrived = 'q';
                                   (void)!::write(arrived_fd, &arrived, 1);
                                 }));
    HttpServerOptions options;
    options.token = token;
    HttpServer server(options);
    add_rpc_routes(server, system, silent);
    if (!server.listen().ok()) ::_exit(2);
    const uint16_t port = server.port();
    (void)!::write(port_pipe[1], &port, sizeof(port));
    for (;;) ::pause();
  }
  uint16_t port = 0;
  ASSERT_EQ(::read(port_pipe[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));

  caf::actor_system_config config;
  configure_actor_system(config);
  caf::actor_system system{config};
  auto channel = std::make_shared<RpcChannel>(Endpoint{"127.0.0.1", port}, token);
  BelApi remote = spawn_remote_api(system, channel);
  Result<QueryResult> result = make_error(ErrorCode::internal, "not asked");
  {
    ApiClient client(system, remote, std::chrono::seconds(30));
    auto asked = std::async(std::launch::async, [&] {
      Query query;
      query.mutable_activity();
      return client.query(query);
    });
    char arrived = 0;
    ASSERT_EQ(::read(arrived_pipe[0], &arrived, 1), 1);  // the request is being served
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    result = asked.get();
  }
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::storage_unavailable) << result.error().to_string();
  EXPECT_NE(result.error().message.find("rpc query"), std::string::npos)
      << result.error().to_string();
  channel->stop();
  caf::anon_send_exit(remote, caf::exit_reason::user_shutdown);
  system.await_all_actors_done();
  for (int fd : {port_pipe[0], port_pipe[1], arrived_pipe[0], arrived_pipe[1]}) ::close(fd);
}

}  // namespace
}  // namespace bel::actors
