#include "actors/net/rpc_server.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <google/protobuf/wrappers.pb.h>

#include <map>
#include <optional>

#include "messages/escape.h"

namespace bel::actors {
namespace {

using Call = std::function<Result<std::string>(const std::string& body)>;

// Asks `api` and waits at most `timeout` for the answer.
template <class Reply, class... Args>
Result<Reply> ask(caf::actor_system& system, const BelApi& api, caf::duration timeout,
                  Args&&... args) {
  Result<Reply> out = make_error(ErrorCode::timeout, "no answer");
  caf::scoped_actor self{system};
  self->request(api, timeout, std::forward<Args>(args)...)
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& e) { out = from_caf_error(e); });
  return out;
}

template <class Message>
Result<Message> parse(const std::string& call, const std::string& body) {
  Message message;
  if (!message.ParseFromString(body)) {
    return make_error(ErrorCode::invalid_argument,
                      "rpc " + call + ": the body is not a " + Message::descriptor()->full_name() +
                          " (truncated or corrupt, or a string field that is not valid UTF-8)");
  }
  return message;
}

template <class Message>
Result<std::string> serialized(Result<Message> reply) {
  if (!reply.ok()) return reply.error();
  return reply->SerializeAsString();
}

// A call taking a `Request` and answered by `Reply`, sent to `api` as (atom, request).
template <class Request, class Reply, class Atom>
Call message_call(caf::actor_system& system, BelApi api, const std::string& name, Atom atom,
                  caf::duration timeout) {
  return [&system, api, name, atom, timeout](const std::string& body) -> Result<std::string> {
    auto request = parse<Request>(name, body);
    if (!request.ok()) return request.error();
    return serialized(ask<Reply>(system, api, timeout, atom, std::move(*request)));
  };
}

// The events of an AppendRequest's wire form, counted without decoding any (field 1, each a
// length-delimited BuildEvent); nullopt when the bytes are not a well-formed message.
std::optional<size_t> count_batch_events(const std::string& body) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()),
                                            static_cast<int>(body.size()));
  size_t events = 0;
  while (const uint32_t tag = in.ReadTag()) {
    if (tag == google::protobuf::internal::WireFormatLite::MakeTag(
                   AppendRequest::kEventsFieldNumber,
                   google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      ++events;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) return std::nullopt;
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return events;
}

std::map<std::string, Call> calls(caf::actor_system& system, BelApi api, size_t max_batch_events) {
  const caf::duration timeout{kRpcCallTimeout};
  std::map<std::string, Call> out;
  out["append"] = message_call<BuildEvent, AppendAck>(system, api, "append",
                                                      append_atom::value, timeout);
  out["query"] = message_call<Query, QueryResult>(system, api, "query", query_atom::value,
                                                  timeout);
  out["query_each"] = [&system, api](const std::string& body) -> Result<std::string> {
    auto batch = parse<v1::QueryBatch>("query_each", body);
    if (!batch.ok()) return batch.error();
    std::vector<Query> queries(std::make_move_iterator(batch->mutable_queries()->begin()),
                               std::make_move_iterator(batch->mutable_queries()->end()));
    const caf::duration wait{each_wait(kRpcCallTimeout, queries.size())};
    auto outcomes = ask<QueryOutcomes>(system, api, wait, query_atom::value, each_atom::value,
                                       std::move(queries));
    if (!outcomes.ok()) return outcomes.error();
    v1::QueryBatchOutcomes reply;
    reply.mutable_outcomes()->Reserve(static_cast<int>(outcomes->size()));
    for (auto& outcome : *outcomes) {
      auto* out = reply.add_outcomes();
      if (outcome.error) {
        const Error error = from_caf_error(outcome.error);
        out->set_error_code(to_string(error.code));
        out->set_error_message(utf8_escaped(error.message));  // a string field: UTF-8 only
      } else {
        *out->mutable_answer() = std::move(outcome.answer);
      }
    }
    return reply.SerializeAsString();
  };
  out["fallback"] = message_call<Query, QueryResult>(system, api, "fallback",
                                                     fallback_atom::value, timeout);
  out["list"] = message_call<ListEventsRequest, EventPage>(system, api, "list",
                                                           list_atom::value, timeout);
  out["append_batch"] = [&system, api, timeout,
                         max_batch_events](const std::string& body) -> Result<std::string> {
    // Decoded, a small event takes many times its encoded bytes (an empty one 2 bytes, a few
    // hundred decoded): a batch that can never be admitted is refused before it is decoded.
    if (max_batch_events > 0) {
      const auto events = count_batch_events(body);
      if (events && *events > max_batch_events) {
        return make_error(ErrorCode::overloaded,
                          "rpc append_batch: a batch of " + std::to_string(*events) +
                              " events is larger than the pending limit (" +
                              std::to_string(max_batch_events) + " events); split it");
      }
    }
    auto request = parse<AppendRequest>("append_batch", body);
    if (!request.ok()) return request.error();
    std::vector<BuildEvent> batch(std::make_move_iterator(request->mutable_events()->begin()),
                                  std::make_move_iterator(request->mutable_events()->end()));
    request->Clear();  // the batch holds the events now: do not keep two copies
    return serialized(ask<AppendAcks>(system, api, timeout, append_atom::value, std::move(batch)));
  };
  out["rebuild"] = [&system, api](const std::string& body) -> Result<std::string> {
    auto view = parse<google::protobuf::StringValue>("rebuild", body);
    if (!view.ok()) return view.error();
    return serialized(ask<ViewsStatus>(system, api, caf::duration{kRpcRebuildTimeout},
                                       rebuild_atom::value, view->value()));
  };
  out["views"] = [&system, api, timeout](const std::string&) -> Result<std::string> {
    return serialized(ask<ViewsStatus>(system, api, timeout, views_atom::value));
  };
  out["stats"] = [&system, api, timeout](const std::string&) -> Result<std::string> {
    return serialized(ask<StorageStats>(system, api, timeout, stats_atom::value));
  };
  out[kRpcMetaKey] = [&system, api, timeout](const std::string& body) -> Result<std::string> {
    auto value = parse<google::protobuf::StringValue>(kRpcMetaKey, body);
    if (!value.ok()) return value.error();
    auto set = ask<std::string>(system, api, timeout, meta_atom::value, std::string(kRpcMetaKey),
                                value->value());
    if (!set.ok()) return set.error();
    google::protobuf::StringValue reply;
    reply.set_value(*set);
    return reply.SerializeAsString();
  };
  return out;
}

}  // namespace

void add_rpc_routes(HttpServer& server, caf::actor_system& system, BelApi api,
                    size_t max_batch_events) {
  server.post(std::string(kRpcPath) + "hello",
              [](const httplib::Request&, const std::string&, httplib::Response& res) {
                res.set_header("Bel-Protocol", kRpcProtocol);
                HttpServer::reply(res, "bel.v1\n", "text/plain");
              });
  for (auto& [name, call] : calls(system, api, max_batch_events)) {
    server.post(std::string(kRpcPath) + name,
                [call = std::move(call)](const httplib::Request&, const std::string& body,
                                         httplib::Response& res) {
                  auto reply = call(body);
                  if (!reply.ok()) return HttpServer::reply_error(res, reply.error());
                  HttpServer::reply(res, std::move(*reply), kProtobufType);
                });
  }
}

}  // namespace bel::actors
