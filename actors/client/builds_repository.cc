#include "actors/client/builds_repository.h"

#include <optional>
#include <utility>

#include "messages/status_names.h"

namespace bel::actors {

Result<AppendAck> BuildsRepository::cancel(const std::string& build_request_id,
                                           const std::string& reason,
                                           const std::string& event_id) const {
  auto event = make_build_cancel_event(build_request_id, reason, event_id);
  if (!event.ok()) return event.error();
  return append_unless_ended(std::move(*event), build_request_id, 0,
                             [&](const BuildRequestSummary& summary) -> std::optional<std::string> {
                               if (!is_terminal_build_status(summary.status_code()))
                                 return std::nullopt;
                               return build_request_id + " already " +
                                      short_status_name(summary.status_name()) + " at idx " +
                                      std::to_string(summary.last_idx());
                             });
}

}  // namespace bel::actors
