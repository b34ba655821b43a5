// End-to-end: `bel serve` as a real process, console commands going through it (SPEC section 6,
// R6), and its clean shutdown.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/io/all.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "actors/client/api_client.h"
#include "actors/client/builds_repository.h"
#include "actors/client/session.h"
#include "actors/coordinator.h"
#include "actors/web/console_endpoint.h"
#include "messages/json.h"
#include "messages/types.h"
#include "storage/storage_factory.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/postgres.h"
#include "tests/support/run_command.h"
#include "tests/support/serve_process.h"

namespace bel {
namespace {

using namespace bel::testing;
using namespace bel::v1;

constexpr auto kDeadline = std::chrono::seconds(60);

class ServeTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/bel.db"; }
  std::string log_uri() const { return "sqlite://" + path(); }
  CommandResult bel(const std::string& args, const std::string& input = "") {
    return run_command(shell_quote(kBel) + " " + args + " --log " + shell_quote(log_uri()), input);
  }
  template <class Message>
  Message parse(const CommandResult& r) {
    Message m;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(from_json(r.out, &m).ok()) << r.out;
    return m;
  }
  ViewStatus view_status(const std::string& name) {
    auto views = parse<ViewsStatus>(bel("views status --format json"));
    for (const auto& v : views.views()) {
      if (v.view() == name) return v;
    }
    ADD_FAILURE() << "no view " << name;
    return {};
  }

  // A FIFO at `fifo` for a console's standard input, opened for reading and writing: opening it
  // never waits for the console, and closing it is the console's EOF. -1 when it cannot be made.
  static int open_lines(const std::string& fifo) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) return -1;
    return ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  }
  static bool send_line(int lines, const std::string& line) {
    const std::string text = line + "\n";
    return ::write(lines, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }
  // Appends build request `id`'s received event (for data/a) in-process; false when it fails.
  bool received(const std::string& id) {
    auto r = bel("append -", to_json(request_event(id, BUILD_REQUEST_RECEIVED, {"data/a"})) + "\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0;
  }
  std::string token() const {
    std::ifstream in(path() + ".token");
    std::string t;
    in >> t;
    return t;
  }
  int64_t events_logged() {
    auto page = parse<EventPage>(bel("events list --format json"));
    return page.events_size();
  }

  TempDir dir_;
};

// SPEC R6: a client that skips the token reaches nothing. Raw HTTP to every console route,
// without the token or with a wrong one, and a peer speaking CAF's BASP (the old transport, which
// handed any connected peer the actors): all refused, nothing appended.
TEST_F(ServeTest, AClientThatSkipsTheTokenReachesNothingAndAppendsNothing) {
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n").exit_code, 0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  const int port = serve.endpoint_port();
  ASSERT_GT(port, 0) << serve.err();

  const std::string event =
      request_event("br-intruder", BUILD_REQUEST_RECEIVED).SerializeAsString();
  httplib::Client raw("127.0.0.1", port);
  for (const char* call : {"hello", "append", "append_batch", "query", "fallback", "list", "views",
                           "rebuild", "stats", "meta", "validation_mode"}) {
    const std::string wrong = "Bearer " + std::string(64, '0');
    for (const httplib::Headers& headers :
         {httplib::Headers{}, httplib::Headers{{"Authorization", wrong}}}) {
      auto res = raw.Post((std::string("/rpc/v1/") + call).c_str(), headers, event,
                          "application/x-protobuf");
      ASSERT_TRUE(res) << call << ": " << httplib::to_string(res.error());
      EXPECT_EQ(res->status, 401) << call;
      EXPECT_EQ(res->get_header_value("Bel-Error"), "unauthorized") << call;
    }
  }
  {
    caf::actor_system_config config;
    actors::configure_actor_system(config);
    config.load<caf::io::middleman>();
    caf::actor_system peer{config};
    caf::scoped_actor self{peer};
    bool got_actor = false;
    self->request(peer.middleman().actor_handle(), std::chrono::seconds(5),
                  caf::connect_atom::value, std::string("127.0.0.1"),
                  static_cast<uint16_t>(port))
        .receive([&](const caf::node_id&, caf::strong_actor_ptr& remote,
                     const std::set<std::string>&) { got_actor = static_cast<bool>(remote); },
                 [&](const caf::error&) {});
    EXPECT_FALSE(got_actor) << "a BASP peer got an actor handle from the console endpoint";
  }
  EXPECT_EQ(events_logged(), 1);
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  EXPECT_EQ(events_logged(), 1);
}

// The token never goes through a path another user could create first (issue 11: a planted
// "<log>.token.tmp" received it).
TEST_F(ServeTest, APlantedTokenTmpNeverReceivesTheToken) {
  const std::string captured = dir_.path() + "/captured";
  { std::ofstream(captured) << ""; }
  ::chmod(captured.c_str(), 0666);
  ASSERT_EQ(::symlink(captured.c_str(), (path() + ".token.tmp").c_str()), 0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  std::ifstream in(captured);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "") << "the token was written through the planted symlink";
  struct stat st;
  ASSERT_EQ(::lstat((path() + ".token").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(token().size(), 64u);
  EXPECT_EQ(bel("builds list --format json").exit_code, 0);
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

TEST_F(ServeTest, ATokenFileUnder128BitsIsRefusedNamingTheFileAndTheRule) {
  const std::string tiny = dir_.path() + "/tiny.token";
  { std::ofstream(tiny) << "x\n"; }
  ::chmod(tiny.c_str(), 0600);
  ServeProcess serve(kBel,
                     {"serve", "--log", log_uri(), "--listen", "0.0.0.0:0", "--token-file", tiny});
  EXPECT_FALSE(serve.wait_for("running")) << "served with a 1-byte token";
  EXPECT_EQ(serve.stop(SIGTERM), 1) << serve.err();
  EXPECT_NE(serve.err().find(tiny), std::string::npos) << serve.err();
  EXPECT_NE(serve.err().find("at least 32 hex digits (128 bits)"), std::string::npos)
      << serve.err();
  // The file's own error, not one of the address it would have served on.
  EXPECT_EQ(serve.err().find("--listen 0.0.0.0:0:"), std::string::npos) << serve.err();
}

// `events tail` follows until interrupted: a coordinator that stops answering and comes back on
// its endpoint (with the same token) is asked again, and the tail goes on where it was.
TEST_F(ServeTest, ATailFollowsACoordinatorRestartedOnItsEndpoint) {
  const std::string token = dir_.path() + "/serve.token";
  { std::ofstream(token) << "0123456789abcdef0123456789abcdef\n"; }
  ::chmod(token.c_str(), 0600);
  auto first = std::make_unique<ServeProcess>(
      kBel, std::vector<std::string>{"serve", "--log", log_uri(), "--listen", "127.0.0.1:0",
                                     "--token-file", token});
  ASSERT_TRUE(first->wait_for("running")) << first->err();
  const std::string endpoint = "127.0.0.1:" + std::to_string(first->endpoint_port());
  const std::string through =
      " --connect " + endpoint + " --token-file " + shell_quote(token) + " --format json";
  auto append = [&](const std::string& id) {
    return bel("append -" + through, to_json(request_event(id, BUILD_REQUEST_RECEIVED)) + "\n");
  };
  ASSERT_EQ(append("br-1").exit_code, 0);
  // Its events go to standard error too, where the test reads them.
  ServeProcess tail("/bin/sh",
                    {"-c", "exec " + shell_quote(kBel) + " events tail --since 0 --count 2 --log " +
                               shell_quote(log_uri()) + through + " 1>&2"});
  ASSERT_TRUE(tail.wait_for("br-1")) << tail.err();
  ASSERT_EQ(first->stop(SIGTERM), 0) << first->err();
  ASSERT_TRUE(tail.wait_for("asking again until it answers")) << tail.err();

  ServeProcess second(kBel,
                      {"serve", "--log", log_uri(), "--listen", endpoint, "--token-file", token});
  ASSERT_TRUE(second.wait_for("running")) << second.err();
  ASSERT_EQ(append("br-2").exit_code, 0);
  EXPECT_TRUE(tail.wait_for("answered again")) << tail.err();
  EXPECT_TRUE(tail.wait_for("br-2")) << tail.err();
  EXPECT_EQ(tail.stop(0), 0) << tail.err();  // ends by itself after its second event
  EXPECT_EQ(second.stop(SIGTERM), 0) << second.err();
}

// A console whose coordinator stops goes on: the line that fails says so, and the next lines go
// to the log opened again (in-process here, as no coordinator runs), seeing what was committed.
TEST_F(ServeTest, AConsoleWhoseCoordinatorStopsOpensTheLogAgain) {
  ASSERT_TRUE(received("br-1"));
  auto serve =
      std::make_unique<ServeProcess>(kBel, std::vector<std::string>{"serve", "--log", log_uri()});
  ASSERT_TRUE(serve->wait_for("running")) << serve->err();
  const std::string fifo = dir_.path() + "/lines";
  const int lines = open_lines(fifo);
  ASSERT_GE(lines, 0);
  auto send = [lines](const std::string& line) { return send_line(lines, line); };
  ServeProcess console("/bin/sh",
                       {"-c", "exec " + shell_quote(kBel) + " console --format json" + " --log " +
                                  shell_quote(log_uri()) + " < " + shell_quote(fifo) + " 1>&2"});
  ASSERT_TRUE(send("builds cancel br-1 --reason first"));
  ASSERT_TRUE(console.wait_for("\"idx\":\"2\"")) << console.err();
  ASSERT_EQ(serve->stop(SIGTERM), 0) << serve->err();

  ASSERT_TRUE(send("builds show br-1"));
  ASSERT_TRUE(console.wait_for("does not answer; the next lines go to the log ")) << console.err();
  EXPECT_NE(console.err().find("(in-process)"), std::string::npos) << console.err();
  ASSERT_TRUE(send("builds show br-1"));
  EXPECT_TRUE(console.wait_for("BUILD_REQUEST_CANCELLED")) << console.err();
  ::close(lines);
  EXPECT_EQ(console.stop(0), 1) << console.err();  // the exit code of the line that failed
}

// A coordinator restarted on the same endpoint draws a new token: a console and a tail reached it
// with the old one. Both open the log again as at start, read the new token and go on.
TEST_F(ServeTest, AConsoleAndATailGoOnWithACoordinatorRestartedOnItsEndpointWithANewToken) {
  ASSERT_TRUE(received("br-1"));
  auto first =
      std::make_unique<ServeProcess>(kBel, std::vector<std::string>{"serve", "--log", log_uri()});
  ASSERT_TRUE(first->wait_for("running")) << first->err();
  const std::string endpoint = "127.0.0.1:" + std::to_string(first->endpoint_port());
  // --connect: while the coordinator is away they keep asking there, so the first answer they
  // get after the restart is the new coordinator's refusal of the old token.
  const std::string through = " --connect " + endpoint + " --log " + shell_quote(log_uri());
  const std::string fifo = dir_.path() + "/lines";
  const int lines = open_lines(fifo);
  ASSERT_GE(lines, 0);
  auto send = [lines](const std::string& line) { return send_line(lines, line); };
  ServeProcess console("/bin/sh", {"-c", "exec " + shell_quote(kBel) + " console --format json" +
                                             through + " < " + shell_quote(fifo) + " 1>&2"});
  ServeProcess tail(
      "/bin/sh", {"-c", "exec " + shell_quote(kBel) +
                            " events tail --since 0 --count 3 --format json" + through + " 1>&2"});
  ASSERT_TRUE(tail.wait_for("br-1")) << tail.err();
  ASSERT_TRUE(send("builds cancel br-1 --reason first"));
  ASSERT_TRUE(console.wait_for("\"idx\":\"2\"")) << console.err();
  ASSERT_TRUE(tail.wait_for("\"reason\":\"first\"")) << tail.err();
  ASSERT_EQ(first->stop(SIGTERM), 0) << first->err();
  ASSERT_TRUE(tail.wait_for("asking again until it answers")) << tail.err();

  ServeProcess second(kBel, {"serve", "--log", log_uri(), "--listen", endpoint});
  ASSERT_TRUE(second.wait_for("running")) << second.err();
  ASSERT_TRUE(send("builds show br-1"));
  ASSERT_TRUE(console.wait_for("now takes another token (it was restarted); the next lines go to"))
      << console.err();
  ASSERT_TRUE(send("partitions invalidate data/a --reason stale-after-restart"));
  EXPECT_TRUE(console.wait_for("\"idx\":\"3\"")) << console.err();
  ::close(lines);
  EXPECT_EQ(console.stop(0), 1) << console.err();  // the exit code of the line that failed
  // The tail's third event is the invalidation; it ends by itself once it has printed it.
  EXPECT_EQ(tail.stop(0), 0) << tail.err();
  EXPECT_NE(tail.err().find("stale-after-restart"), std::string::npos) << tail.err();
  EXPECT_EQ(second.stop(SIGTERM), 0) << second.err();
}

// A program that embeds the coordinator starts its console endpoint as `bel serve` does: a `bel`
// command that writes goes through it instead of meeting the coordinator's writer lock, and a
// stopped endpoint is no longer advertised.
TEST_F(ServeTest, AnEmbeddedCoordinatorsConsoleEndpointTakesTheOperatorsWrites) {
  ASSERT_TRUE(received("br-1"));
  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};
  auto api = actors::start_coordinator(system, log_uri());
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  auto endpoint = actors::ConsoleEndpoint::start(system, *api, log_uri());
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  EXPECT_EQ((*endpoint)->token_path(), path() + ".token");
  EXPECT_EQ(
      (*endpoint)->sign_in_url().rfind("http://" + (*endpoint)->endpoint() + "/login?once=", 0),
      0u);

  auto cancelled = bel("builds cancel br-1 --reason from-the-console --format json");
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_NE(cancelled.out.find("\"idx\":\"2\""), std::string::npos) << cancelled.out;
  actors::ApiClient client(system, *api);
  auto shown = actors::BuildsRepository(client).show("br-1", 2);
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  EXPECT_EQ(shown->status_code(), BUILD_REQUEST_CANCELLED);

  // The writer lock's record names the endpoint while it serves, and no longer once it stopped
  // (the coordinator still running): a refused writer is not sent to a closed port.
  auto record = [&] {
    std::string text;
    std::getline(std::ifstream(path() + ".lock"), text);
    return text;
  };
  const std::string named = "console endpoint " + (*endpoint)->endpoint();
  EXPECT_NE(record().find(named), std::string::npos) << record();
  (*endpoint)->stop();
  EXPECT_EQ(record().find("console endpoint"), std::string::npos) << record();
  EXPECT_NE(record().find("pid " + std::to_string(::getpid())), std::string::npos) << record();
  actors::stop_coordinator(*api);
  system.await_all_actors_done();
  // Withdrawn: the next command opens the log itself, at once.
  auto after = bel("builds show br-1 --format json");
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("from-the-console"), std::string::npos) << after.out;
}

// A coordinator killed before it could withdraw its endpoint leaves it in the log. The next
// command that writes in-process holds the writer lock, so the endpoint would look live to every
// command after it, which would present the log's token to whatever listens there by then: it
// clears the endpoint. (A reader finds the log unlocked and passes the stale endpoint over.)
TEST_F(ServeTest, AnInProcessWriterClearsAStaleEndpoint) {
  const std::string received = to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n";
  ASSERT_EQ(bel("append -", received).exit_code, 0);
  auto meta = [&]() -> std::string {
    storage::StorageOptions read_only;
    read_only.read_only = true;
    auto log = storage::open_storage(log_uri(), read_only);
    if (!log.ok()) return "error: " + log.error().to_string();
    auto value = (*log)->get_meta(actors::kEndpointKey);
    if (!value.ok()) return "error: " + value.error().to_string();
    return value->value_or("");
  };
  {
    auto log = storage::open_storage(log_uri(), {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    ASSERT_TRUE((*log)->set_meta(actors::kEndpointKey, "127.0.0.1:1").ok());
  }
  ASSERT_EQ(meta(), "127.0.0.1:1");
  auto read = bel("builds show br-1 --format json");
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(meta(), "127.0.0.1:1");  // a reader cannot clear it, and needs not
  auto cancel = bel("builds cancel br-1 --reason r --format json");
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(meta(), "");
}

// --log and --connect together name one log: a coordinator that serves another is refused before
// anything is written; the coordinator of the named log is reached through them alike; --connect
// alone (the log named by $BEL_LOG or the default only) goes where it says.
TEST_F(ServeTest, LogAndConnectThatNameTwoLogsAreRefusedBeforeAnythingIsWritten) {
  const std::string other = "sqlite://" + dir_.path() + "/other.db";
  const std::string received = to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n";
  ASSERT_EQ(bel("append -", received).exit_code, 0);
  ASSERT_EQ(
      run_command(shell_quote(kBel) + " append - --log " + shell_quote(other), received).exit_code,
      0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  const std::string through = " --connect 127.0.0.1:" + std::to_string(serve.endpoint_port()) +
                              " --token-file " + shell_quote(path() + ".token");
  const std::string cancel = shell_quote(kBel) + " builds cancel br-1 --reason r --format json";

  auto refused = run_command(cancel + through + " --log " + shell_quote(other));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("reaches the coordinator of another log than --log " + other),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("drop --connect to reach"), std::string::npos) << refused.err;
  // The endpoint from the environment is named as such: the user typed no --connect.
  auto refused_by_env = run_command(
      "BEL_CONNECT=127.0.0.1:" + std::to_string(serve.endpoint_port()) + " " + cancel +
      " --token-file " + shell_quote(path() + ".token") + " --log " + shell_quote(other));
  EXPECT_EQ(refused_by_env.exit_code, 1);
  EXPECT_NE(refused_by_env.err.find("$BEL_CONNECT 127.0.0.1:"), std::string::npos)
      << refused_by_env.err;
  EXPECT_NE(refused_by_env.err.find("drop $BEL_CONNECT to reach"), std::string::npos)
      << refused_by_env.err;
  EXPECT_EQ(refused_by_env.err.find("--connect"), std::string::npos) << refused_by_env.err;
  EXPECT_EQ(events_logged(), 1);

  auto same = run_command(cancel + through + " --log " + shell_quote(log_uri()));
  EXPECT_EQ(parse<AppendAck>(same).idx(), 2);
  auto by_env = run_command("BEL_LOG=" + shell_quote(other) + " " + shell_quote(kBel) +
                            " builds show br-1 --format json" + through);
  EXPECT_EQ(parse<BuildRequestSummary>(by_env).status_code(), BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  // The other log was never written.
  auto untouched = run_command(shell_quote(kBel) + " builds show br-1 --format json --log " +
                               shell_quote(other));
  EXPECT_EQ(parse<BuildRequestSummary>(untouched).status_code(), BUILD_REQUEST_RECEIVED);
}

// --durability normal says what it risks where this process writes the log, and that it does
// not apply where a coordinator does.
TEST_F(ServeTest, DurabilityNormalWarnsOnlyWhereThisProcessWrites) {
  auto event = [](const std::string& id) {
    return to_json(request_event(id, BUILD_REQUEST_RECEIVED)) + "\n";
  };
  auto alone = bel("append - --durability normal", event("br-1"));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_NE(alone.err.find("power loss may lose"), std::string::npos) << alone.err;
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  auto through = bel("append - --durability normal", event("br-2"));
  ASSERT_EQ(through.exit_code, 0) << through.err;
  EXPECT_NE(through.err.find("--durability normal does not apply"), std::string::npos)
      << through.err;
  EXPECT_EQ(through.err.find("power loss"), std::string::npos) << through.err;
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  // A log that is no SQLite file is not tuned by it: no risk is claimed.
  auto memory = run_command(shell_quote(kBel) + " append - --durability normal --log memory://",
                            event("br-3"));
  ASSERT_EQ(memory.exit_code, 0) << memory.err;
  EXPECT_NE(memory.err.find("--durability normal does not apply to memory://"), std::string::npos)
      << memory.err;
  EXPECT_EQ(memory.err.find("power loss"), std::string::npos) << memory.err;
}

TEST_F(ServeTest, Ipv6LoopbackIsLoopback) {
  ServeProcess serve(kBel, {"serve", "--log", log_uri(), "--listen", "[::1]:0"});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  EXPECT_NE(serve.err().find("console endpoint [::1]:"), std::string::npos) << serve.err();
  // Commands reach it through the advertised IPv6 endpoint.
  auto r = bel("append -", to_json(request_event("br-6", BUILD_REQUEST_RECEIVED)) + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  EXPECT_NE(serve.err().find("the log ends at idx 1"), std::string::npos) << serve.err();
}

// Stopped with a console connection open, the coordinator closes it first, leaving it in
// TIME_WAIT on its port; a restart on that port must not fail for a minute.
TEST_F(ServeTest, ARestartTakesTheSamePortAtOnce) {
  ServeProcess first(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(first.wait_for("running")) << first.err();
  const int port = first.endpoint_port();
  ASSERT_GT(port, 0) << first.err();
  httplib::Client console("127.0.0.1", port);
  console.set_keep_alive(true);
  auto res = console.Post("/rpc/v1/hello", {{"Authorization", "Bearer " + token()}}, "",
                          "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(first.stop(SIGTERM), 0) << first.err();

  const std::string listen = "127.0.0.1:" + std::to_string(port);
  ServeProcess again(kBel, {"serve", "--log", log_uri(), "--listen", listen});
  ASSERT_TRUE(again.wait_for("running")) << again.err();
  EXPECT_NE(again.err().find("console endpoint " + listen), std::string::npos) << again.err();
  EXPECT_EQ(bel("builds list --format json").exit_code, 0);
  EXPECT_EQ(again.stop(SIGTERM), 0) << again.err();
}

// A port that is taken stops `serve` before it opens the log: no new log, lock record or token
// for a coordinator that never ran (a typo in a port must not make `bel activity` find a log).
TEST_F(ServeTest, APortThatIsTakenStopsServeBeforeItMakesALog) {
  httplib::Server holder;
  const int port = holder.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  const std::string fresh = dir_.path() + "/fresh.db";
  auto r = run_command(shell_quote(kBel) + " serve --log " + shell_quote("sqlite://" + fresh) +
                       " --listen 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--listen 127.0.0.1:" + std::to_string(port) + ": cannot listen"),
            std::string::npos)
      << r.err;
  for (const char* suffix : {"", "-wal", "-shm", ".lock", ".token"}) {
    EXPECT_FALSE(std::filesystem::exists(fresh + suffix)) << fresh + suffix;
  }
}

// A second `serve` of a log on the first one's own address: the port is taken, and the message
// says which coordinator answers there.
TEST_F(ServeTest, ASecondServeOnTheSameAddressNamesTheCoordinatorThatAnswers) {
  ServeProcess first(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(first.wait_for("running")) << first.err();
  const int port = first.endpoint_port();
  ASSERT_GT(port, 0) << first.err();
  auto second = bel("serve --listen 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("answers: bel commands on this log go through it"), std::string::npos)
      << second.err;
  EXPECT_EQ(first.stop(SIGTERM), 0) << first.err();
}

TEST_F(ServeTest, ConsoleCommandsGoThroughTheLiveCoordinatorWhichStopsCleanly) {
  std::string lines;
  for (const auto& e : {request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/a"}),
                        partition_event("br-1", "data/a", PARTITION_REQUESTED)}) {
    lines += to_json(e) + "\n";
  }
  ASSERT_EQ(bel("append -", lines).exit_code, 0);

  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  // The token file is private to the user running the coordinator.
  struct stat st;
  ASSERT_EQ(::stat((path() + ".token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The coordinator holds the writer lock: a write that succeeds went through it.
  auto ack = parse<AppendAck>(
      bel("partitions invalidate data/a --reason 'late data' --build br-1 --format json"));
  EXPECT_EQ(ack.idx(), 3);
  // Read-your-writes against the coordinator's in-memory view: the view takes the question (its
  // count of questions answered, by itself or handed to a fallback scan when the machine is too
  // slow for its wait budget, grows across separate commands; an in-process session would start
  // from zero).
  auto taken = [](const ViewStatus& v) { return v.answered() + v.fallbacks(); };
  const int64_t taken_before = taken(view_status("partition_status"));
  auto shown = bel("partitions show data/a --format json");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("PARTITION_INVALIDATED"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("late data"), std::string::npos) << shown.out;
  const auto after = view_status("partition_status");
  EXPECT_GT(taken(after), taken_before);
  EXPECT_EQ(after.state(), VIEW_HEALTHY);
  EXPECT_EQ(after.applied_idx(), 3);

  auto cancelled = parse<AppendAck>(bel("builds cancel br-1 --reason done --format json"));
  EXPECT_EQ(cancelled.idx(), 4);
  auto summary = parse<BuildRequestSummary>(bel("builds show br-1 --format json"));
  EXPECT_EQ(summary.status_code(), BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(summary.cancel_reason(), "done");

  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  EXPECT_NE(serve.err().find("stopped; the log ends at idx 4"), std::string::npos) << serve.err();
  // Stopped: the endpoint is cleared, commands open the log in-process and see every write.
  auto later = parse<BuildRequestSummary>(bel("builds show br-1 --format json"));
  EXPECT_EQ(later.status_code(), BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(later.event_count(), 4);
}

// A coordinator serving a log by a symlink is reached by every name that resolves to it: the
// token is kept beside the file itself. A hard link resolves to another name, whose write-ahead
// file SQLite would look for in vain: a command through it is refused, naming the log's name.
TEST_F(ServeTest, ConsolesReachTheCoordinatorByEveryNameOfTheLog) {
  ASSERT_TRUE(received("br-1"));
  const std::string link = dir_.path() + "/link.db";
  const std::string hard = dir_.path() + "/hard.db";
  std::filesystem::create_symlink(path(), link);
  std::filesystem::create_hard_link(path(), hard);
  ServeProcess serve(kBel, {"serve", "--log", link});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  EXPECT_TRUE(std::filesystem::exists(path() + ".token"));
  EXPECT_FALSE(std::filesystem::exists(link + ".token"));

  // The coordinator holds the writer lock: a write that succeeds by the file's own name went
  // through it.
  auto ack = parse<AppendAck>(bel("builds cancel br-1 --reason done --format json"));
  EXPECT_EQ(ack.idx(), 2);
  auto by_link =
      run_command(shell_quote(kBel) + " builds show br-1 --format json --log " + shell_quote(link));
  EXPECT_EQ(parse<BuildRequestSummary>(by_link).status_code(), BUILD_REQUEST_CANCELLED);

  auto by_hard_link =
      run_command(shell_quote(kBel) + " builds show br-1 --format json --log " + shell_quote(hard));
  EXPECT_EQ(by_hard_link.exit_code, 1);
  EXPECT_NE(by_hard_link.err.find("under another name (" + path() + ")"), std::string::npos)
      << by_hard_link.err;
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

// SPEC section 2: the validation mode is set per log. Set through a running coordinator, it
// judges that coordinator's next append; it stays with the log for the next writer.
TEST_F(ServeTest, TheValidationModeSwitchesTheRunningWriterAndStaysWithTheLog) {
  const std::string received = to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n";
  ASSERT_EQ(bel("append -", received).exit_code, 0);
  auto mode = [&] { return bel("validation --format json").out; };
  EXPECT_EQ(mode(), "{\"validation_mode\":\"strict\"}\n");

  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  auto again = bel("append -", received);  // RECEIVED twice: statuses only move forward
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("invalid_transition"), std::string::npos) << again.err;
  auto set = bel("validation lenient --format json");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "{\"validation_mode\":\"lenient\"}\n");
  EXPECT_EQ(mode(), "{\"validation_mode\":\"lenient\"}\n");
  auto lenient = parse<AppendAck>(bel("append - --format json", received));
  EXPECT_EQ(lenient.idx(), 2);
  ASSERT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  EXPECT_NE(serve.err().find("lenient transition warning"), std::string::npos) << serve.err();

  // In-process writers read it from the log, and set it there.
  EXPECT_EQ(mode(), "{\"validation_mode\":\"lenient\"}\n");
  EXPECT_EQ(bel("append -", received).exit_code, 0);
  ASSERT_EQ(bel("validation strict").exit_code, 0);
  EXPECT_EQ(bel("append -", received).exit_code, 1);
  EXPECT_EQ(events_logged(), 3);
}

// A protobuf string must be UTF-8: a console command's text that is not is refused with its
// field, in-process and through a coordinator alike, and the log stays readable (such an event,
// once stored, would fail to parse on every later read).
TEST_F(ServeTest, TextThatIsNotUtf8IsRefusedWithItsFieldAndTheLogStaysReadable) {
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n").exit_code, 0);
  // The arguments a command makes an event of are held to the structure rules before anything
  // is sent: bad usage naming the argument, with or without a coordinator.
  auto refused = [&](const std::string& where) {
    auto cancel = bel("builds cancel br-1 --reason " + shell_quote("bad \xff reason"));
    EXPECT_EQ(cancel.exit_code, 2) << where;
    EXPECT_NE(
        cancel.err.find("invalid_argument: --reason is not valid UTF-8: byte 0xff at offset 4"),
        std::string::npos)
        << where << ": " << cancel.err;
    auto invalidate = bel("partitions invalidate " + shell_quote("raw/\xc3") + " --reason typo");
    EXPECT_EQ(invalidate.exit_code, 2) << where;
    EXPECT_NE(invalidate.err.find("invalid_argument: REF is not valid UTF-8"), std::string::npos)
        << where << ": " << invalidate.err;
    EXPECT_EQ(invalidate.err.find("libprotobuf"), std::string::npos) << where << invalidate.err;
    EXPECT_EQ(bel("builds list").exit_code, 0) << where;
  };
  refused("in-process");
  {
    ServeProcess serve(kBel, {"serve", "--log", log_uri()});
    ASSERT_TRUE(serve.wait_for("running")) << serve.err();
    refused("through the coordinator");
    ASSERT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  }
  EXPECT_EQ(events_logged(), 1);
  EXPECT_EQ(bel("check --skip-integrity").exit_code, 0);
}

TEST_F(ServeTest, AConsoleWithAWrongOrMissingTokenIsUnauthorizedAndLearnsNothing) {
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-secret", BUILD_REQUEST_RECEIVED)) + "\n").exit_code,
      0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();

  const std::string wrong = dir_.path() + "/wrong.token";
  { std::ofstream(wrong) << "0123456789abcdef\n"; }
  for (const std::string& token_flag :
       {" --token-file " + shell_quote(wrong),
        " --token-file " + shell_quote(dir_.path() + "/missing.token")}) {
    for (const std::string cmd : {"builds list --format json", "activity --format json",
                                  "builds cancel br-secret --reason x --format json"}) {
      auto r = bel(cmd + token_flag);
      EXPECT_EQ(r.exit_code, 1) << cmd << token_flag << "\n" << r.err;
      EXPECT_NE(r.err.find("unauthorized"), std::string::npos) << r.err;
      // A token file that cannot be read is said to be that, not a wrong token.
      if (token_flag.find("missing.token") != std::string::npos) {
        EXPECT_NE(r.err.find("this console has no token to present (token file " + dir_.path() +
                             "/missing.token: No such file or directory); pass the "
                             "coordinator's token file with --token-file"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(r.err.find("wrong token"), std::string::npos) << r.err;
      }
      EXPECT_EQ(r.out, "") << "learned something: " << r.out;
      EXPECT_EQ(r.err.find("br-secret"), std::string::npos) << r.err;
    }
  }
  // The right token (beside the log) still works, and nothing was cancelled.
  auto summary = parse<BuildRequestSummary>(bel("builds show br-secret --format json"));
  EXPECT_EQ(summary.status_code(), BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(serve.stop(SIGINT), 0) << serve.err();
}

TEST_F(ServeTest, AStoppedCoordinatorDoesNotHangConsoleCommands) {
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n").exit_code, 0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  // Frozen: its port still accepts connections, but nothing answers the handshake.
  serve.signal(SIGSTOP);
  auto r = bel("builds show br-1 --format json");
  // A write cannot take the lock the frozen coordinator holds: it says so, and why it did not go
  // through that coordinator (it said only "another process is writing this log", after 15 s).
  auto w = bel("builds cancel br-1 --reason frozen");
  serve.signal(SIGCONT);
  EXPECT_EQ(w.exit_code, 1) << w.err;
  EXPECT_NE(w.err.find("another process is writing this log"), std::string::npos) << w.err;
  EXPECT_NE(w.err.find("; the log's writer lock is held, but the coordinator at 127.0.0.1:"),
            std::string::npos)
      << w.err;
  EXPECT_NE(w.err.find(" did not answer the greeting within 5000 ms"), std::string::npos) << w.err;
  EXPECT_EQ(w.err.find("answering from the log"), std::string::npos) << w.err;
  // The command gave up on the endpoint and answered from the log in-process, and said so.
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BUILD_REQUEST_RECEIVED"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("bel: warning: the log's writer lock is held, but the coordinator at "
                       "127.0.0.1:"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" did not answer the greeting within 5000 ms (it is stopped or stuck, or "
                       "nothing listens there); answering from the log in this process"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(bel("builds show br-1 --format json").out.find("frozen"), std::string::npos);
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

// A coordinator killed while a command greets it: the connection breaks, its writer lock frees,
// and the command answers from the log in this process (it once failed, storage_unavailable).
// The coordinator here is a child that locks the log, takes the greeting's connection and exits.
TEST_F(ServeTest, ACoordinatorKilledDuringTheGreetingLeavesTheLogToTheCommand) {
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n").exit_code, 0);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string endpoint = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  {
    auto log = storage::open_storage(log_uri(), storage::StorageOptions{});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    ASSERT_TRUE((*log)->set_meta(actors::kEndpointKey, endpoint).ok());
  }
  int locked[2];
  ASSERT_EQ(::pipe2(locked, O_CLOEXEC), 0);
  const std::string db = path();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open(db.c_str(), O_RDONLY);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(3);
    const char one = 1;
    if (::write(locked[1], &one, 1) != 1) ::_exit(4);
    const int connection = ::accept(listener, nullptr, nullptr);
    char request[64];
    if (connection < 0 || ::read(connection, request, sizeof request) <= 0) ::_exit(5);
    ::_exit(0);  // mid-greeting: the connection breaks and the lock frees
  }
  ::close(listener);
  ::close(locked[1]);
  char one = 0;
  ASSERT_EQ(::read(locked[0], &one, 1), 1);  // the child holds the log's writer lock
  ::close(locked[0]);
  auto r = bel("builds show br-1 --format json");
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BUILD_REQUEST_RECEIVED"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("bel: warning: the coordinator at " + endpoint +
                       " went away during the greeting ("),
            std::string::npos)
      << r.err;
}

// A coordinator ignores SIGPIPE (its output pipe closing must not end it), where the libraries
// leave the disposition as the process had it: read from the kernel's view of the process.
// True when `signal` is in the mask that the line `field` ("SigIgn:", "SigBlk:") of
// /proc/PID/status shows (the main thread's).
bool in_signal_mask(pid_t pid, const std::string& field, int signal) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line, mask;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) mask = line.substr(field.size());
  }
  EXPECT_FALSE(mask.empty()) << field;
  return !mask.empty() && (std::stoull(mask, nullptr, 16) & (1ULL << (signal - 1))) != 0;
}

TEST_F(ServeTest, ACoordinatorIgnoresSigpipe) {
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  EXPECT_TRUE(in_signal_mask(serve.pid(), "SigIgn:", SIGPIPE));
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

// A hangup (its terminal or ssh session closed) stops a coordinator in order, as SIGTERM does;
// one started under nohup keeps serving through it (a blocked signal would be queued though
// ignored: it is not blocked then, and not taken).
TEST_F(ServeTest, AHangupStopsACoordinatorInOrderUnlessItRunsUnderNohup) {
  {
    // The coordinator as a shell starts it, whatever this test runs under (a runner that
    // ignores SIGHUP would pass that on).
    struct sigaction as_default {
    }, before{};
    as_default.sa_handler = SIG_DFL;
    ASSERT_EQ(sigaction(SIGHUP, &as_default, &before), 0);
    ServeProcess serve(kBel, {"serve", "--log", log_uri()});
    sigaction(SIGHUP, &before, nullptr);
    ASSERT_TRUE(serve.wait_for("running")) << serve.err();
    EXPECT_EQ(serve.stop(SIGHUP), 0) << serve.err();
    EXPECT_NE(serve.err().find("stopping (Hangup)"), std::string::npos) << serve.err();
    EXPECT_NE(serve.err().find("stopped; the log ends at idx"), std::string::npos) << serve.err();
  }
  if (access("/usr/bin/nohup", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/nohup";
  ServeProcess kept("/usr/bin/nohup", {kBel, "serve", "--log", log_uri()});
  ASSERT_TRUE(kept.wait_for("running")) << kept.err();
  EXPECT_TRUE(in_signal_mask(kept.pid(), "SigIgn:", SIGHUP));
  // A queued hangup would be taken before the SIGTERM (sigwait takes the lowest signal first).
  kept.signal(SIGHUP);
  EXPECT_EQ(kept.stop(SIGTERM), 0) << kept.err();
  EXPECT_NE(kept.err().find("stopping (Terminated)"), std::string::npos) << kept.err();
}

TEST_F(ServeTest, ASecondCoordinatorOnTheSameLogIsRefused) {
  ServeProcess first(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(first.wait_for("running")) << first.err();
  auto second = bel("serve");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another process is writing this log"), std::string::npos)
      << second.err;
  // It names the live holder: its pid, its command, since when, and its console endpoint.
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid()) + " (bel serve"),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find(") since 20"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("console endpoint 127.0.0.1:"), std::string::npos) << second.err;
  // And that it answers, which is what an operator starting a second one needs to hear.
  EXPECT_NE(second.err.find("answers: bel commands on this log go through it"), std::string::npos)
      << second.err;
  EXPECT_EQ(first.stop(SIGTERM), 0) << first.err();
}

TEST_F(ServeTest, ListeningBeyondLoopbackNeedsAPrivateTokenFile) {
  auto r = bel("serve --listen 0.0.0.0:0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--token-file"), std::string::npos) << r.err;
  const std::string token = dir_.path() + "/open.token";
  { std::ofstream(token) << "secret\n"; }
  ::chmod(token.c_str(), 0644);
  auto open = bel("serve --listen 0.0.0.0:0 --token-file " + shell_quote(token));
  EXPECT_EQ(open.exit_code, 1) << open.err;
  EXPECT_NE(open.err.find("chmod 600"), std::string::npos) << open.err;
}

// An address asked for is served or refused, never dropped: an in-process or PostgreSQL log has
// no file to keep a token beside, and an error about the address names the flag that gave it
// (and the log without its password).
TEST_F(ServeTest, AnAddressAskedForIsServedOrRefusedNamingItsFlag) {
  auto run = [&](const std::string& args) {
    return run_command(shell_quote(kBel) + " serve " + args);
  };
  auto memory = run("--log memory:// --http 127.0.0.1:0");
  EXPECT_EQ(memory.exit_code, 2) << memory.err;
  EXPECT_NE(memory.err.find("--http 127.0.0.1:0: memory:// is not a log file on this host"),
            std::string::npos)
      << memory.err;
  EXPECT_EQ(memory.out.find("coordinator on"), std::string::npos) << memory.out;
  // Given, --listen is asked for even at the default's value (a coordinator that started instead
  // would serve until the timeout).
  auto listen = run_command("timeout 60 " + shell_quote(kBel) +
                            " serve --log memory:// --listen 127.0.0.1:0");
  EXPECT_EQ(listen.exit_code, 2) << listen.err;
  EXPECT_NE(listen.err.find("--listen 127.0.0.1:0: memory:// is not a log file on this host"),
            std::string::npos)
      << listen.err;
  auto postgres =
      run("--log 'postgresql://bel:S3cretPW@/bel?host=/nonexistent' --http "
          "127.0.0.1:0");
  EXPECT_EQ(postgres.exit_code, 2) << postgres.err;
  EXPECT_NE(postgres.err.find("postgresql://bel:***@/bel"), std::string::npos) << postgres.err;
  EXPECT_EQ(postgres.err.find("S3cretPW"), std::string::npos) << postgres.err;
  auto port = bel("serve --http 127.0.0.1:99999");
  EXPECT_EQ(port.exit_code, 2);
  EXPECT_NE(port.err.find("--http: endpoint"), std::string::npos) << port.err;
  EXPECT_EQ(port.err.find("--listen"), std::string::npos) << port.err;
}

TEST_F(ServeTest, SimulatedWorkersDriveBuildsUntilStopped) {
  ServeProcess serve(kBel, {"serve", "--log", log_uri(), "--simulate", "--workers", "2", "--seed",
                            "3", "--rate", "0"});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  // Wait until the workers have logged a few builds (reads through the coordinator).
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  int64_t builds = 0;
  while (builds < 5 && std::chrono::steady_clock::now() < end) {
    auto activity = parse<ActivityResponse>(bel("activity --format json"));
    builds = activity.total_build_requests() - activity.active_builds_count();
  }
  EXPECT_GE(builds, 5);
  EXPECT_EQ(serve.stop(SIGINT), 0) << serve.err();
  EXPECT_NE(serve.err().find("simulation stopped"), std::string::npos) << serve.err();
  EXPECT_NE(serve.err().find(" 0 errors"), std::string::npos) << serve.err();
  // Every build the workers started reached a terminal status before the coordinator stopped.
  auto activity = parse<ActivityResponse>(bel("activity --format json"));
  EXPECT_EQ(activity.active_builds_count(), 0);
  auto check = bel("check --format json");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// `check --connect` without --log checks the coordinator's log through it, and no file here:
// not the default ./bel.db of the directory it runs in, which may be another log. The checks
// only a named log allows say they were not run.
TEST_F(ServeTest, CheckThroughACoordinatorWithoutItsLogChecksNoLocalFile) {
  ASSERT_TRUE(received("br-1"));
  const std::string elsewhere = dir_.path() + "/elsewhere";
  ASSERT_TRUE(std::filesystem::create_directory(elsewhere));
  ASSERT_EQ(run_command("cd " + shell_quote(elsewhere) + " && " + shell_quote(kBel) +
                            " append - --log bel.db",
                        to_json(request_event("br-other", BUILD_REQUEST_RECEIVED)) + "\n")
                .exit_code,
            0);
  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  auto check = run_command(
      "cd " + shell_quote(elsewhere) + " && " + shell_quote(kBel) +
      " check --format table --connect 127.0.0.1:" + std::to_string(serve.endpoint_port()) +
      " --token-file " + shell_quote(path() + ".token"));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  for (const char* row : {"schema", "derived rows"}) {
    const size_t at = check.out.find(std::string("\n") + row + " ");
    ASSERT_NE(at, std::string::npos) << row << " in " << check.out;
    const std::string line = check.out.substr(at + 1, check.out.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find("n/a (the coordinator's log is not named here"), std::string::npos) << line;
  }
  EXPECT_EQ(check.out.find("integrity"), std::string::npos) << check.out;
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

// --builds bounds a paced simulation: it stops by itself, the coordinator keeps serving.
TEST_F(ServeTest, ABoundedSimulationStopsByItselfAndTheCoordinatorServesOn) {
  ServeProcess serve(kBel, {"serve", "--log", log_uri(), "--simulate", "--workers", "2", "--builds",
                            "3", "--rate", "500"});
  ASSERT_TRUE(serve.wait_for("500 events/s, 3 build requests")) << serve.err();
  ASSERT_TRUE(serve.wait_for("simulation stopped: ")) << serve.err();
  ASSERT_TRUE(serve.wait_for(" errors")) << serve.err();
  auto builds = parse<BuildsListResponse>(bel("builds list --format json"));
  EXPECT_EQ(builds.total_count(), 3);
  auto activity = parse<ActivityResponse>(bel("activity --format json"));
  EXPECT_EQ(activity.active_builds_count(), 0);
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
  EXPECT_NE(serve.err().find(" 0 errors"), std::string::npos) << serve.err();
}

// The web view (docs/web.md) is served by the console's server: `--http` names its address, the
// printed one-time link signs a browser in, and the token guards every route.
TEST(ServeWebTest, TheOneTimeLinkSignsABrowserInOnTheConsolesServer) {
  TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  ServeProcess serve(kBel, {"serve", "--log", uri, "--http", "127.0.0.1:0", "--simulate",
                            "--builds", "3", "--rate", "0"});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  const std::string& err = serve.err();
  const auto at = err.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << err;
  const std::string url = err.substr(at, err.find('\n', at) - at);
  const int port = std::stoi(url.substr(17, url.find('/', 17) - 17));
  EXPECT_NE(err.find("console endpoint 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << "one server for the console and the web: " << err;
  httplib::Client browser("127.0.0.1", port);
  auto signed_in = browser.Get(url.substr(url.find("/login")));
  ASSERT_TRUE(signed_in);
  ASSERT_EQ(signed_in->status, 303) << signed_in->body;
  const std::string cookie = signed_in->get_header_value("Set-Cookie");
  auto home = browser.Get("/", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_NE(home->body.find("Recent builds"), std::string::npos);
  EXPECT_EQ(browser.Get("/")->status, 401);
  EXPECT_EQ(browser.Get(url.substr(url.find("/login")))->status, 401);  // used once already
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

TEST(ServeWebTest, HttpAndListenNameOneServer) {
  TempDir dir;
  auto r = run_command(shell_quote(kBel) + " serve --log " +
                       shell_quote("sqlite://" + dir.path() + "/bel.db") +
                       " --http 127.0.0.1:7001 --listen 127.0.0.1:7002");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("share one server"), std::string::npos) << r.err;
  // --listen given at its default's value is an address asked for all the same (a coordinator
  // that started instead would serve until the timeout).
  r = run_command("timeout 60 " + shell_quote(kBel) + " serve --log " +
                  shell_quote("sqlite://" + dir.path() + "/bel.db") +
                  " --http 127.0.0.1:7001 --listen 127.0.0.1:0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("share one server"), std::string::npos) << r.err;
}

// bel sign-in: a fresh link from the running coordinator signs one browser in, once; a console
// command without a coordinator says that none serves the log.
TEST_F(ServeTest, SignInPrintsALinkThatSignsABrowserInOnce) {
  ASSERT_TRUE(received("br-1"));
  auto none = bel("sign-in");
  EXPECT_EQ(none.exit_code, 1) << none.err;
  EXPECT_NE(none.err.find("bel: not_found: no coordinator serves " + log_uri()), std::string::npos)
      << none.err;

  ServeProcess serve(kBel, {"serve", "--log", log_uri()});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  const int port = serve.endpoint_port();
  ASSERT_GT(port, 0) << serve.err();
  auto table = bel("sign-in --format table");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const std::string prefix = "http://127.0.0.1:" + std::to_string(port) + "/login?once=";
  EXPECT_EQ(table.out.rfind(prefix, 0), 0u) << table.out;
  EXPECT_NE(table.out.find("within 60 minutes"), std::string::npos) << table.out;

  auto json = bel("sign-in --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const size_t at = json.out.find(prefix);
  ASSERT_NE(at, std::string::npos) << json.out;
  const std::string url = json.out.substr(at, json.out.find('"', at) - at);
  EXPECT_NE(json.out.find("\"valid_for_s\":3600"), std::string::npos) << json.out;
  const std::string link = url.substr(url.find("/login"));
  httplib::Client browser("127.0.0.1", port);
  auto signed_in = browser.Get(link);
  ASSERT_TRUE(signed_in) << httplib::to_string(signed_in.error());
  EXPECT_EQ(signed_in->status, 303);
  const std::string cookie = signed_in->get_header_value("Set-Cookie");
  ASSERT_EQ(cookie.rfind("bel_session_" + std::to_string(port) + "=", 0), 0u) << cookie;
  auto page = browser.Get("/api/v1/activity", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200) << page->body;
  auto again = browser.Get(link);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  EXPECT_NE(again->body.find("bel sign-in"), std::string::npos) << again->body;
  // Every link is new: the one the table printed still works.
  auto other = browser.Get(
      table.out.substr(table.out.find("/login"), table.out.find('\n') - table.out.find("/login")));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 303);
  // A coordinator that holds the log but does not answer: said so, and the log is not opened
  // here (no link could come of it).
  serve.signal(SIGSTOP);
  auto stuck = bel("sign-in");
  serve.signal(SIGCONT);
  EXPECT_EQ(stuck.exit_code, 1) << stuck.err;
  EXPECT_EQ(stuck.err.rfind("bel: timeout: the log's writer lock is held, but the coordinator at "
                            "127.0.0.1:",
                            0),
            0u)
      << stuck.err;
  EXPECT_EQ(stuck.err.find("answering from the log"), std::string::npos) << stuck.err;
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.err();
}

// bel check reads a PostgreSQL log named by --log itself (its schema, its derived rows): through
// a coordinator of another log it is refused, as any command is for an SQLite log, rather than
// report two logs as one; a --log naming no log there cannot be compared and is refused too.
TEST_F(ServeTest, CheckThroughTheCoordinatorOfAnotherPostgresLogIsRefused) {
  const auto served = testing::fresh_postgres_uri();
  if (!served) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  const auto other = testing::fresh_postgres_uri();
  const auto none = testing::fresh_postgres_uri();
  ASSERT_TRUE(other && none);
  const std::string received = to_json(request_event("br-1", BUILD_REQUEST_RECEIVED)) + "\n";
  for (const std::string& uri : {*served, *other}) {
    auto appended =
        run_command(shell_quote(kBel) + " append - --log " + shell_quote(uri), received);
    ASSERT_EQ(appended.exit_code, 0) << appended.err;
  }
  const std::string token = dir_.path() + "/serve.token";
  { std::ofstream(token) << "0123456789abcdef0123456789abcdef\n"; }
  ::chmod(token.c_str(), 0600);
  ServeProcess serve(kBel, {"serve", "--log", *served, "--token-file", token});
  ASSERT_TRUE(serve.wait_for("running")) << serve.err();
  auto check = [&](const std::string& uri) {
    return run_command(shell_quote(kBel) + " check --format json --log " + shell_quote(uri) +
                       " --connect 127.0.0.1:" + std::to_string(serve.endpoint_port()) +
                       " --token-file " + shell_quote(token));
  };
  auto same = check(*served);
  EXPECT_EQ(same.exit_code, 0) << same.err << same.out;
  auto refused = check(*other);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("reaches the coordinator of another log than --log"),
            std::string::npos)
      << refused.err;
  // A PostgreSQL log advertises no coordinator: the advice is --connect, not dropping it.
  EXPECT_NE(refused.err.find("give --connect a coordinator of that log (a PostgreSQL log "
                             "advertises none)"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.out, "");
  // Nor does a sign-in find the running coordinator through the log: it says how to reach one.
  auto sign_in = run_command(shell_quote(kBel) + " sign-in --log " + shell_quote(*served));
  EXPECT_EQ(sign_in.exit_code, 1) << sign_in.err;
  EXPECT_NE(sign_in.err.find("a PostgreSQL log advertises none of its coordinators: give one "
                             "with --connect HOST:PORT"),
            std::string::npos)
      << sign_in.err;
  auto unread = check(*none);
  EXPECT_EQ(unread.exit_code, 1);
  EXPECT_NE(unread.err.find("cannot be compared with the log of the coordinator --connect "
                            "127.0.0.1:"),
            std::string::npos)
      << unread.err;
  EXPECT_EQ(unread.out, "");
}

// A coordinator takes the log's writer lock as it starts and advertises its endpoint only once
// it serves: a command that writes meanwhile waits for the endpoint and goes through it, rather
// than for a lock held as long as that coordinator runs (it used to fail after 10 s, "another
// process is writing this log").
TEST_F(ServeTest, AWriteWhileACoordinatorStartsGoesThroughItOnceItServes) {
  ASSERT_TRUE(received("br-1"));
  caf::actor_system_config config;
  actors::configure_actor_system(config);
  caf::actor_system system{config};
  auto api = actors::start_coordinator(system, log_uri());  // the lock held, no endpoint yet
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  // Stopped on every path, a failed assertion's too (the system's destructor waits for it).
  auto stop = [&api](caf::actor_system*) { actors::stop_coordinator(*api); };
  std::unique_ptr<caf::actor_system, decltype(stop)> stopping(&system, stop);
  ServeProcess cancel("/bin/sh", {"-c", "BEL_LOG_LEVEL=info exec " + shell_quote(kBel) +
                                            " builds cancel br-1 --reason while-starting --log " +
                                            shell_quote(log_uri())});
  ASSERT_TRUE(cancel.wait_for("advertises no coordinator yet")) << cancel.err();
  auto endpoint = actors::ConsoleEndpoint::start(system, *api, log_uri());
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  EXPECT_EQ(cancel.stop(0), 0) << cancel.err();
  actors::ApiClient client(system, *api);
  auto shown = actors::BuildsRepository(client).show("br-1", 2);
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  EXPECT_EQ(shown->status_code(), BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(shown->cancel_reason(), "while-starting");
}

// A token file that cannot be written (here a directory in its place; a full disk does the same)
// is the token file's error, naming it: it was put on --listen, whose address was fine.
TEST_F(ServeTest, ATokenFileThatCannotBeWrittenIsNotBlamedOnListen) {
  std::filesystem::create_directory(path() + ".token");
  // Bounded, should the coordinator start after all.
  auto r =
      run_command("timeout 60 " + shell_quote(kBel) + " serve --log " + shell_quote(log_uri()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("bel: storage_unavailable: token file " + path() +
                       ".token: cannot be "
                       "written"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("--listen"), std::string::npos) << r.err;
}
}  // namespace
}  // namespace bel
