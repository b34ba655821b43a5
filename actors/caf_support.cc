#include "actors/caf_support.h"

#include "actors/bel_api.h"

namespace bel::actors {

caf::error to_caf_error(const Error& error) {
  return caf::error(static_cast<uint8_t>(error.code), kErrorCategory,
                    caf::make_message(error.message));
}

Error from_caf_error(const caf::error& error) {
  if (error.category() == kErrorCategory) {
    Error out;
    out.code = static_cast<ErrorCode>(error.code());
    const auto& ctx = error.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
      out.message = ctx.get_as<std::string>(0);
    }
    return out;
  }
  if (error.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(error.code())) {
      case caf::sec::request_timeout:
        return make_error(ErrorCode::timeout, "request timed out");
      case caf::sec::request_receiver_down:
        return make_error(ErrorCode::storage_unavailable,
                          "the actor answering the request is down");
      default:
        break;
    }
  }
  return make_error(ErrorCode::internal, "actor error: " + caf::to_string(error));
}

Error call_error(const caf::error& error, const std::string& what, const std::string& wait) {
  if (error.category() == kErrorCategory) return from_caf_error(error);
  if (error.category() == caf::atom("system") &&
      error.code() == static_cast<uint8_t>(caf::sec::request_timeout)) {
    return make_error(ErrorCode::timeout, what + ": no answer within " + wait);
  }
  return from_caf_error(error).with_context(what);
}

void add_error_category(caf::actor_system_config& config) {
  config.add_error_category(kErrorCategory, [](uint8_t code, caf::atom_value,
                                               const caf::message& ctx) -> std::string {
    std::string text = bel::to_string(static_cast<ErrorCode>(code));
    if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
      text += ": " + ctx.get_as<std::string>(0);
    }
    return text;
  });
}

}  // namespace bel::actors

namespace bel::actors {

void add_bel_types(caf::actor_system_config& config) {
  add_error_category(config);
  config.add_message_type<BuildEvent>("bel.v1.BuildEvent");
  config.add_message_type<std::vector<BuildEvent>>("std::vector<bel.v1.BuildEvent>");
  config.add_message_type<AppendAck>("bel.v1.AppendAck");
  config.add_message_type<AppendAcks>("bel.v1.AppendAcks");
  config.add_message_type<AppendOutcome>("bel.AppendOutcome");
  config.add_message_type<AppendOutcomes>("std::vector<bel.AppendOutcome>");
  config.add_message_type<Query>("bel.v1.Query");
  config.add_message_type<QueryResult>("bel.v1.QueryResult");
  config.add_message_type<std::vector<Query>>("std::vector<bel.v1.Query>");
  config.add_message_type<QueryOutcome>("bel.QueryOutcome");
  config.add_message_type<QueryOutcomes>("std::vector<bel.QueryOutcome>");
  config.add_message_type<ListEventsRequest>("bel.v1.ListEventsRequest");
  config.add_message_type<EventPage>("bel.v1.EventPage");
  config.add_message_type<ViewsStatus>("bel.v1.ViewsStatus");
  config.add_message_type<StorageStats>("bel.v1.StorageStats");
  config.add_message_type<ViewStatus>("bel.v1.ViewStatus");
  config.add_message_type<BelApi>("bel.BelApi");
}

}  // namespace bel::actors
