#include "actors/client/appender.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace bel::actors {

struct Appender::State {
  caf::event_based_actor* self = nullptr;
  BelApi api;
  AppenderOptions options;
  std::vector<BuildEvent> waiting;  // appended, not sent yet
  std::vector<Done> waiting_done;
  size_t messages_in_flight = 0;
  size_t in_flight = 0;  // appends sent or waiting, not answered
  int64_t messages_sent = 0;
  bool delivering = false;  // answers are being delivered: appends made now wait for the end
};

namespace {

using StatePtr = std::shared_ptr<Appender::State>;

void send_waiting(const StatePtr& st);

// Delivers one message's answers, then sends what the callbacks appended meanwhile.
void deliver(const StatePtr& st, std::vector<Appender::Done>& done, AppendOutcomes* outcomes,
             const caf::error* error) {
  --st->messages_in_flight;
  st->in_flight -= done.size();
  Error mismatch;
  if (outcomes != nullptr && outcomes->size() != done.size()) {
    mismatch = make_error(ErrorCode::internal,
                          "append: the coordinator answered " + std::to_string(outcomes->size()) +
                              " outcomes for " + std::to_string(done.size()) + " appends");
  }
  const bool nested = st->delivering;
  st->delivering = true;
  // CAF's own errors (the message's deadline passed, the coordinator gone) name the call.
  Error failed;
  if (error != nullptr) {
    failed = call_error(*error,
                        "bel_api append of " + std::to_string(done.size()) +
                            (done.size() == 1 ? " event" : " events") + " (an Appender's message)",
                        caf::to_string(st->options.timeout));
  }
  for (size_t i = 0; i < done.size(); ++i) {
    if (!done[i]) continue;
    if (error != nullptr) {
      done[i](failed);
    } else if (!mismatch.message.empty()) {
      done[i](mismatch);
    } else if ((*outcomes)[i].error) {
      done[i](from_caf_error((*outcomes)[i].error));
    } else {
      done[i](std::move((*outcomes)[i].ack));
    }
  }
  st->delivering = nested;
  if (!nested) send_waiting(st);
}

// Sends every waiting append, at most max_batch to a message.
void send_waiting(const StatePtr& st) {
  const size_t max_batch = std::max<size_t>(1, st->options.max_batch);
  while (!st->waiting.empty()) {
    std::vector<BuildEvent> events;
    auto done = std::make_shared<std::vector<Appender::Done>>();
    if (st->waiting.size() <= max_batch) {
      events.swap(st->waiting);
      done->swap(st->waiting_done);
    } else {
      const auto cut = static_cast<std::ptrdiff_t>(max_batch);
      events.assign(std::make_move_iterator(st->waiting.begin()),
                    std::make_move_iterator(st->waiting.begin() + cut));
      done->assign(std::make_move_iterator(st->waiting_done.begin()),
                   std::make_move_iterator(st->waiting_done.begin() + cut));
      st->waiting.erase(st->waiting.begin(), st->waiting.begin() + cut);
      st->waiting_done.erase(st->waiting_done.begin(), st->waiting_done.begin() + cut);
    }
    ++st->messages_in_flight;
    ++st->messages_sent;
    st->self
        ->request(st->api, st->options.timeout, append_atom::value, each_atom::value,
                  std::move(events))
        .then([st, done](AppendOutcomes& outcomes) { deliver(st, *done, &outcomes, nullptr); },
              [st, done](const caf::error& error) { deliver(st, *done, nullptr, &error); });
  }
}

}  // namespace

Appender::Appender(caf::event_based_actor* self, BelApi api, AppenderOptions options)
    : state_(std::make_shared<State>()) {
  state_->self = self;
  state_->api = std::move(api);
  state_->options = options;
}

void Appender::append(BuildEvent event, Done done) {
  auto& st = *state_;
  st.waiting.push_back(std::move(event));
  st.waiting_done.push_back(std::move(done));
  ++st.in_flight;
  if (!st.delivering &&
      st.messages_in_flight < std::max<size_t>(1, st.options.max_messages_in_flight)) {
    send_waiting(state_);
  }
}

size_t Appender::in_flight() const { return state_->in_flight; }

int64_t Appender::messages_sent() const { return state_->messages_sent; }

}  // namespace bel::actors
