#include "actors/write/storage_answers.h"

#include "actors/caf_support.h"

namespace bel::actors::storage_answers {

void fail(Outbox& out, Waiter& w, const Error& error) {
  auto err = to_caf_error(error);
  switch (w.kind) {
    case Waiter::Kind::one:
      w.one.deliver(err);
      break;
    case Waiter::Kind::many:
      w.many.deliver(err);
      break;
    case Waiter::Kind::flight:
      out.add(w, {}, std::move(err));
      break;
  }
}

void deliver(Outbox& out, Waiter& w, Result<std::vector<AppendAck>>& acks) {
  if (!acks.ok()) {
    fail(out, w, acks.error());
    return;
  }
  switch (w.kind) {
    case Waiter::Kind::one:
      w.one.deliver(std::move((*acks)[0]));
      break;
    case Waiter::Kind::many: {
      AppendAcks many;
      for (auto& a : *acks) *many.add_acks() = std::move(a);
      w.many.deliver(std::move(many));
      break;
    }
    case Waiter::Kind::flight:
      out.add(w, std::move(*acks), caf::error{});
      break;
  }
}

}  // namespace bel::actors::storage_answers
