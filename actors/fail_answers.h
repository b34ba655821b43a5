// A failing actor answers every request it holds (SPEC section 9, R9). CAF 0.17 stops an actor
// whose handler throws and sends nothing for the promises it parked (they are destroyed with its
// state), so a client would wait out its timeout. answer_on_failure sets an exception handler
// that answers the request being handled and, through `answer_pending`, every parked promise,
// with `code` naming the actor and the exception; the actor then stops with that error (its
// supervisor restarts it), and the requests still in its mailbox are bounced by CAF.
//
//   answer_on_failure(self, ErrorCode::storage_unavailable, "the storage actor",
//                     [self](const caf::error& e) { for (auto& w : self->state.waiters) ... });
//
// Thread-safety: the handler runs on the actor's own thread, like its message handlers.
#ifndef BEL_ACTORS_FAIL_ANSWERS_H_
#define BEL_ACTORS_FAIL_ANSWERS_H_

#include <exception>
#include <string>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_support.h"
#include "messages/error.h"

namespace bel::actors {

// What an exception says, for messages.
inline std::string describe_exception(const std::exception_ptr& eptr) {
  try {
    if (eptr) std::rethrow_exception(eptr);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "an exception that is not a std::exception";
}

template <class Self, class AnswerPending>
void answer_on_failure(Self* self, ErrorCode code, std::string who,
                       AnswerPending answer_pending) {
  self->set_exception_handler(
      [self, code, who, answer_pending](caf::scheduled_actor*, std::exception_ptr& eptr) {
        std::string message = who + " failed (" + describe_exception(eptr) + ") before answering";
        if (code == ErrorCode::storage_unavailable) {
          message += "; an append it held may or may not be stored: retry it with the same "
                     "event_id (a stored one is answered as a duplicate)";
        }
        const Error failure = make_error(code, std::move(message));
        spdlog::error("{}", failure.to_string());
        const caf::error err = to_caf_error(failure);
        // The request being handled, unless it was answered or parked already.
        auto current = self->make_response_promise();
        if (current.pending()) current.deliver(err);
        answer_pending(err);
        return err;
      });
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_FAIL_ANSWERS_H_
