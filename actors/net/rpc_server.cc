#include "actors/net/rpc_server.h"

#include <google/protobuf/wrappers.pb.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "messages/decoded_size.h"
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

// The decoded bytes the bodies being decoded may take at once, estimated from their wire bytes
// (messages/decoded_size.h): a body is decoded only once its estimate is reserved here, and
// released once its messages are handed on (the coordinator's pending limit counts them then).
class DecodeBudget {
 public:
  explicit DecodeBudget(size_t capacity) : capacity_(capacity) {}
  size_t capacity() const { return capacity_; }
  bool reserve(size_t bytes) {
    size_t used = used_.load();
    do {
      if (used + bytes > capacity_) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void release(size_t bytes) { used_ -= bytes; }

 private:
  const size_t capacity_;
  std::atomic<size_t> used_{0};
};

// A reservation of `bytes` of `budget`, released when it ends.
class Reserved {
 public:
  Reserved(DecodeBudget* budget, size_t bytes) : budget_(budget), bytes_(bytes) {}
  Reserved(const Reserved&) = delete;
  Reserved& operator=(const Reserved&) = delete;
  ~Reserved() {
    if (budget_ != nullptr) budget_->release(bytes_);
  }

 private:
  DecodeBudget* budget_;
  size_t bytes_;
};

// Reserves what decoding `body`, a `Message`, will take (`size`, its estimate, when already
// made); overloaded when the budget has no room for it now ("retry later") or ever ("split it").
// A body that is not a well-formed message reserves nothing: the parse refuses it.
template <class Message>
Result<std::unique_ptr<Reserved>> reserve_decoding(DecodeBudget* budget, const std::string& call,
                                                   const std::string& body,
                                                   std::optional<DecodedSize> size = {}) {
  if (budget == nullptr) return std::make_unique<Reserved>(nullptr, 0);
  if (!size) size = estimate_decoded_size(*Message::descriptor(), body);
  if (!size) return std::make_unique<Reserved>(nullptr, 0);
  if (budget->reserve(size->bytes)) return std::make_unique<Reserved>(budget, size->bytes);
  const bool never = size->bytes > budget->capacity();
  return make_error(ErrorCode::overloaded,
                    "rpc " + call + ": the body holds " + std::to_string(size->messages) +
                        " messages, about " + std::to_string(size->bytes >> 20) + " MiB decoded, " +
                        (never ? "more than the " + std::to_string(budget->capacity() >> 20) +
                                     " MiB the coordinator decodes at once (8 times its pending "
                                     "limit's bytes); split it, or send smaller events"
                               : "and the coordinator is decoding other bodies; retry later"));
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
                  caf::duration timeout, std::shared_ptr<DecodeBudget> budget) {
  return
      [&system, api, name, atom, timeout, budget](const std::string& body) -> Result<std::string> {
        auto reserved = reserve_decoding<Request>(budget.get(), name, body);
        if (!reserved.ok()) return reserved.error();
        auto request = parse<Request>(name, body);
        if (!request.ok()) return request.error();
        return serialized(ask<Reply>(system, api, timeout, atom, std::move(*request)));
      };
}

std::map<std::string, Call> calls(caf::actor_system& system, BelApi api, size_t max_batch_events,
                                  const std::shared_ptr<DecodeBudget>& budget) {
  const caf::duration timeout{kRpcCallTimeout};
  std::map<std::string, Call> out;
  out["append"] = message_call<BuildEvent, AppendAck>(system, api, "append", append_atom::value,
                                                      timeout, budget);
  out["query"] =
      message_call<Query, QueryResult>(system, api, "query", query_atom::value, timeout, budget);
  out["query_each"] = [&system, api, budget](const std::string& body) -> Result<std::string> {
    auto reserved = reserve_decoding<v1::QueryBatch>(budget.get(), "query_each", body);
    if (!reserved.ok()) return reserved.error();
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
  out["fallback"] = message_call<Query, QueryResult>(system, api, "fallback", fallback_atom::value,
                                                     timeout, budget);
  out["list"] = message_call<ListEventsRequest, EventPage>(system, api, "list", list_atom::value,
                                                           timeout, budget);
  out["append_batch"] = [&system, api, timeout, max_batch_events,
                         budget](const std::string& body) -> Result<std::string> {
    // Decoded, a small event takes many times its encoded bytes (an empty one 2 bytes, a few
    // hundred decoded): a batch that can never be admitted is refused before it is decoded.
    const auto size = estimate_decoded_size(*AppendRequest::descriptor(), body);
    if (max_batch_events > 0) {
      const auto events = size ? std::optional<size_t>(size->children) : std::nullopt;
      if (events && *events > max_batch_events) {
        return make_error(ErrorCode::overloaded,
                          "rpc append_batch: a batch of " + std::to_string(*events) +
                              " events is larger than the pending limit (" +
                              std::to_string(max_batch_events) + " events); split it");
      }
    }
    auto reserved = reserve_decoding<AppendRequest>(budget.get(), "append_batch", body, size);
    if (!reserved.ok()) return reserved.error();
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
                    size_t max_batch_events, size_t max_decoded_bytes) {
  // Shared by the routes that use it, and as long-lived.
  const auto budget =
      max_decoded_bytes > 0 ? std::make_shared<DecodeBudget>(max_decoded_bytes) : nullptr;
  server.post(std::string(kRpcPath) + "hello",
              [](const httplib::Request&, const std::string&, httplib::Response& res) {
                res.set_header("Bel-Protocol", kRpcProtocol);
                HttpServer::reply(res, "bel.v1\n", "text/plain");
              });
  for (auto& [name, call] : calls(system, api, max_batch_events, budget)) {
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
