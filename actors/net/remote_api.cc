#include "actors/net/remote_api.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wrappers.pb.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "actors/net/http_server.h"
#include "actors/net/rpc_server.h"
#include "actors/net/sigpipe.h"
#include "actors/write/event_structure.h"

namespace bel::actors {
namespace {

constexpr auto kConnectTimeout = std::chrono::milliseconds(5000);
constexpr const char* kSignInPath = "/api/v1/sign-in";
// The network wait of a call: a little longer than the server's own, so the server's `timeout`
// answer arrives rather than a broken connection.
constexpr auto kReadTimeout =
    std::chrono::milliseconds(kRpcCallTimeout) + std::chrono::seconds(15);
constexpr auto kRebuildReadTimeout =
    std::chrono::milliseconds(kRpcRebuildTimeout) + std::chrono::seconds(15);

// The error an answer with `status` carries: the code in Bel-Error, the message in the JSON body.
Error answered_error(const httplib::Response& res, const std::string& where) {
  auto code = parse_error_code(res.get_header_value("Bel-Error"));
  if (!code) {
    return make_error(ErrorCode::storage_unavailable,
                      where + " answered HTTP " + std::to_string(res.status) +
                          " without a bel error: not a bel coordinator, or another version");
  }
  google::protobuf::Struct doc;
  std::string message = res.body;
  if (google::protobuf::util::JsonStringToMessage(res.body, &doc).ok()) {
    auto it = doc.fields().find("message");
    if (it != doc.fields().end()) message = it->second.string_value();
  }
  return make_error(*code, message);
}

}  // namespace

RpcChannel::RpcChannel(Endpoint endpoint, std::string token)
    : endpoint_(std::move(endpoint)),
      text_(format_endpoint(endpoint_.host, endpoint_.port)),
      token_(std::move(token)),
      client_(std::make_unique<httplib::Client>(endpoint_.host, endpoint_.port)) {
  client_->set_keep_alive(true);
  client_->set_connection_timeout(kConnectTimeout);
  client_->set_write_timeout(std::chrono::seconds(30));
  client_->set_tcp_nodelay(true);
}

RpcChannel::~RpcChannel() = default;

Result<bool> RpcChannel::hello(std::chrono::milliseconds timeout) {
  auto answer = post("hello", std::string(), timeout, /*handshake=*/true);
  if (answer.ok()) return true;
  if (answer.error().code == ErrorCode::timeout) return false;
  return answer.error();
}

Result<std::string> RpcChannel::call(const std::string& call, const std::string& body,
                                     std::chrono::milliseconds read_timeout) {
  return post(call, body, read_timeout, /*handshake=*/false);
}

Result<std::string> RpcChannel::sign_in(std::chrono::milliseconds read_timeout) {
  auto answer = post(kSignInPath, std::string(), read_timeout, /*handshake=*/false);
  if (!answer.ok()) return answer.error();
  google::protobuf::Struct doc;
  std::string path;
  if (google::protobuf::util::JsonStringToMessage(*answer, &doc).ok()) {
    auto it = doc.fields().find("url_path");
    if (it != doc.fields().end()) path = it->second.string_value();
  }
  if (path.rfind("/login?once=", 0) != 0) {
    return make_error(ErrorCode::storage_unavailable,
                      std::string("POST ") + kSignInPath + " to the coordinator at " + text_ +
                          " answered no sign-in link: another program, or another version");
  }
  return path;
}

Result<std::string> RpcChannel::post(const std::string& call, const std::string& body,
                                     std::chrono::milliseconds read_timeout, bool handshake) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool is_path = !call.empty() && call[0] == '/';
  const std::string path = is_path ? call : kRpcPath + call;
  const std::string where =
      (is_path ? "POST " + call : "rpc " + call) + " to the coordinator at " + text_;
  {
    std::lock_guard<std::mutex> stop_lock(stop_mutex_);
    if (stopped_) return make_error(ErrorCode::storage_unavailable, where + ": the session ended");
  }
  client_->set_read_timeout(read_timeout);
  client_->set_connection_timeout(handshake ? std::min(read_timeout, kConnectTimeout)
                                            : kConnectTimeout);
  const httplib::Headers headers = {{"Authorization", "Bearer " + token_}};
  const auto start = std::chrono::steady_clock::now();
  SigpipeBlocked blocked;  // a write to a coordinator that has gone fails, it ends no process
  auto res = client_->Post(path.c_str(), headers, body, kProtobufType);
  if (!res && res.error() == httplib::Error::Write) {
    // The kept-alive connection was closed by the coordinator (its idle timeout) as the request
    // went out: a write fails only on a connection the other end had already closed, so it
    // never read this request. Once more, on a new connection.
    res = client_->Post(path.c_str(), headers, body, kProtobufType);
  }
  if (!res) {
    const auto error = res.error();
    const std::string cause = httplib::to_string(error);
    const std::string outcome =
        call.rfind("append", 0) == 0 ? std::string("; the append ") + kMayHaveBeenCommitted : "";
    if (error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout) {
      // Nothing listens there (or nothing accepts): for a handshake, a stale endpoint; in a
      // session, the coordinator went away between two requests. The request was never sent.
      return make_error(handshake ? ErrorCode::timeout : ErrorCode::storage_unavailable,
                        where + ": cannot connect (" + cause + ")" +
                            (handshake ? ""
                                       : ": the coordinator stopped or was killed; this request "
                                         "was not sent"));
    }
    if (std::chrono::steady_clock::now() - start >= read_timeout) {
      return make_error(ErrorCode::timeout, where + ": no answer within " +
                                                std::to_string(read_timeout.count()) + " ms" +
                                                outcome);
    }
    return make_error(ErrorCode::storage_unavailable,
                      where + ": the connection broke before the answer (" + cause +
                          "; the coordinator stopped or was killed)" + outcome);
  }
  if (res->status != 200) return answered_error(*res, where);
  if (handshake && res->get_header_value("Bel-Protocol") != kRpcProtocol) {
    return make_error(ErrorCode::storage_unavailable,
                      text_ + " does not speak this bel's console protocol (another program, or "
                              "a coordinator of another version)");
  }
  return std::move(res->body);
}

void RpcChannel::stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mutex_);
  stopped_ = true;
  client_->stop();
}

namespace {

// Sends `request` as `call` and parses the answer as a `Reply`.
template <class Reply>
Result<Reply> call_rpc(RpcChannel& channel, const std::string& call,
                       const google::protobuf::Message* request,
                       std::chrono::milliseconds read_timeout = kReadTimeout) {
  auto body = channel.call(call, request ? request->SerializeAsString() : std::string(),
                           read_timeout);
  if (!body.ok()) return body.error();
  Reply reply;
  if (!reply.ParseFromString(*body)) {
    return make_error(ErrorCode::internal, "rpc " + call + " to the coordinator at " +
                                               channel.endpoint() + ": the answer is not a " +
                                               Reply::descriptor()->full_name());
  }
  return reply;
}

// call_rpc, answered as a bel_api request.
template <class Reply>
caf::result<Reply> forward(RpcChannel& channel, const std::string& call,
                           const google::protobuf::Message* request,
                           std::chrono::milliseconds read_timeout = kReadTimeout) {
  auto reply = call_rpc<Reply>(channel, call, request, read_timeout);
  if (!reply.ok()) return to_caf_error(reply.error());
  return std::move(*reply);
}

// The structure rules (write::check_structure), checked before an append leaves this process:
// the coordinator checks them again and would refuse the same events, but a string that is not
// UTF-8 cannot cross as protobuf at all (the coordinator would only see a body that does not
// parse), so here it is named with its field. `position`: the event's place in its batch; none
// for an append sent by itself (the coordinator names none then either).
Status check_before_sending(const BuildEvent& event, std::optional<size_t> position) {
  auto checked = write::check_structure(event);
  if (checked.ok() || !position) return checked;
  return checked.error().with_context("append #" + std::to_string(*position + 1));
}

// One call per outcome, in order: `call(i)` fills out[i] and returns the error it failed with, if
// any. Once a call finds the coordinator unreachable or silent (storage_unavailable, timeout), the
// rest are not made (each would wait out its own connect or read timeout): they are answered
// `not_made(that error)` at once.
template <class Outcomes, class Call, class NotMade>
void call_each(Outcomes& out, Call call, NotMade not_made) {
  std::optional<caf::error> skipped;
  for (size_t i = 0; i < out.size(); ++i) {
    if (skipped) {
      out[i].error = *skipped;
      continue;
    }
    std::optional<Error> failed = call(i);
    if (!failed) continue;
    out[i].error = to_caf_error(*failed);
    if (failed->code == ErrorCode::storage_unavailable || failed->code == ErrorCode::timeout) {
      skipped = not_made(*failed);
    }
  }
}

// (query_atom, each_atom, queries) over the console protocol: one query_each call. A coordinator
// of an earlier bel has no such route (not_found for the call itself; a question's own not_found
// comes inside its outcome): it is then asked one question per call, from then on
// (`one_by_one`), and once a call finds it unreachable or silent the rest are not asked
// (call_each). A call that fails as a whole (unreachable, too many questions) fails the message.
caf::result<QueryOutcomes> ask_each(RpcChannel& channel, const std::vector<Query>& queries,
                                    bool& one_by_one) {
  QueryOutcomes out(queries.size());
  if (!one_by_one) {
    v1::QueryBatch batch;
    batch.mutable_queries()->Reserve(static_cast<int>(queries.size()));
    for (const auto& q : queries) *batch.add_queries() = q;
    // The server waits each_wait(kRpcCallTimeout, n): its `timeout` answer comes before this.
    auto reply = call_rpc<v1::QueryBatchOutcomes>(
        channel, "query_each", &batch,
        each_wait(std::chrono::milliseconds(kRpcCallTimeout), queries.size()) +
            (kReadTimeout - std::chrono::milliseconds(kRpcCallTimeout)));
    if (reply.ok() && static_cast<size_t>(reply->outcomes_size()) != queries.size()) {
      reply = make_error(ErrorCode::internal,
                         "rpc query_each to the coordinator at " + channel.endpoint() +
                             ": answered " + std::to_string(reply->outcomes_size()) +
                             " outcomes to " + std::to_string(queries.size()) + " questions");
    }
    if (reply.ok()) {
      for (size_t i = 0; i < out.size(); ++i) {
        auto& outcome = *reply->mutable_outcomes(static_cast<int>(i));
        if (outcome.error_code().empty()) {
          out[i].answer = std::move(*outcome.mutable_answer());
        } else {
          const auto code = parse_error_code(outcome.error_code());
          out[i].error = to_caf_error(make_error(code.value_or(ErrorCode::internal),
                                                 std::move(*outcome.mutable_error_message())));
        }
      }
      return out;
    }
    if (reply.error().code != ErrorCode::not_found) return to_caf_error(reply.error());
    one_by_one = true;
  }
  call_each(
      out,
      [&](size_t i) -> std::optional<Error> {
        auto answer = call_rpc<QueryResult>(channel, "query", &queries[i]);
        if (!answer.ok()) return answer.error();
        out[i].answer = std::move(*answer);
        return std::nullopt;
      },
      [](const Error& failed) { return to_caf_error(failed); });
  return out;
}

BelApi::behavior_type remote_api_actor(BelApi::pointer self, std::shared_ptr<RpcChannel> channel) {
  self->attach_functor([channel] { channel->stop(); });
  auto one_by_one = std::make_shared<bool>(false);  // ask_each
  return {
      [=](append_atom, const BuildEvent& event) -> caf::result<AppendAck> {
        if (auto checked = check_before_sending(event, std::nullopt); !checked.ok()) {
          return to_caf_error(checked.error());
        }
        return forward<AppendAck>(*channel, "append", &event);
      },
      [=](append_atom, const std::vector<BuildEvent>& batch) -> caf::result<AppendAcks> {
        for (size_t i = 0; i < batch.size(); ++i) {
          if (auto checked = check_before_sending(batch[i], i); !checked.ok()) {
            return to_caf_error(checked.error());
          }
        }
        AppendRequest request;
        request.mutable_events()->Reserve(static_cast<int>(batch.size()));
        for (const auto& e : batch) *request.add_events() = e;
        return forward<AppendAcks>(*channel, "append_batch", &request);
      },
      [=](append_atom, each_atom,
          const std::vector<BuildEvent>& events) -> caf::result<AppendOutcomes> {
        // Over the console protocol each is its own call, in order: a console sends few. Each is
        // checked as the single append it is (its errors name no position, as the coordinator's).
        // Those after a call that found the coordinator unreachable or silent are not sent
        // (call_each): they are answered storage_unavailable at once, and are not in the log.
        AppendOutcomes out(events.size());
        call_each(
            out,
            [&](size_t i) -> std::optional<Error> {
              if (auto checked = check_before_sending(events[i], std::nullopt); !checked.ok()) {
                return checked.error();
              }
              auto ack = call_rpc<AppendAck>(*channel, "append", &events[i]);
              if (!ack.ok()) return ack.error();
              out[i].ack = std::move(*ack);
              return std::nullopt;
            },
            [&](const Error& failed) {
              return to_caf_error(
                  make_error(ErrorCode::storage_unavailable,
                             "append to the coordinator at " + channel->endpoint() +
                                 ": not sent, an earlier append of the same message failed (" +
                                 failed.message + ")"));
            });
        return out;
      },
      [=](query_atom, const Query& query) -> caf::result<QueryResult> {
        return forward<QueryResult>(*channel, "query", &query);
      },
      [=](query_atom, each_atom, const std::vector<Query>& queries) -> caf::result<QueryOutcomes> {
        return ask_each(*channel, queries, *one_by_one);
      },
      [=](fallback_atom, const Query& query) -> caf::result<QueryResult> {
        return forward<QueryResult>(*channel, "fallback", &query);
      },
      [=](list_atom, const ListEventsRequest& request) -> caf::result<EventPage> {
        return forward<EventPage>(*channel, "list", &request);
      },
      [=](views_atom) -> caf::result<ViewsStatus> {
        return forward<ViewsStatus>(*channel, "views", nullptr);
      },
      [=](rebuild_atom, const std::string& view) -> caf::result<ViewsStatus> {
        google::protobuf::StringValue name;
        name.set_value(view);
        return forward<ViewsStatus>(*channel, "rebuild", &name, kRebuildReadTimeout);
      },
      [=](stats_atom) -> caf::result<StorageStats> {
        return forward<StorageStats>(*channel, "stats", nullptr);
      },
      [=](meta_atom, const std::string& key, const std::string& value) -> caf::result<std::string> {
        if (key != kRpcMetaKey) {
          return to_caf_error(make_error(
              ErrorCode::invalid_argument,
              "meta " + key + ": not served by the console endpoint of " + channel->endpoint()));
        }
        google::protobuf::StringValue request;
        request.set_value(value);
        auto reply = call_rpc<google::protobuf::StringValue>(*channel, kRpcMetaKey, &request);
        if (!reply.ok()) return to_caf_error(reply.error());
        return reply->value();
      },
  };
}

}  // namespace

BelApi spawn_remote_api(caf::actor_system& system, std::shared_ptr<RpcChannel> channel) {
  return system.spawn<caf::detached>(remote_api_actor, std::move(channel));
}

}  // namespace bel::actors
