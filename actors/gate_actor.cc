#include "actors/gate_actor.h"

#include <random>

#include <spdlog/spdlog.h>

namespace bel::actors {
namespace {

struct GateState {
  BelApi api;
  std::string token;
  int64_t refused = 0;
  static inline const char* name = "bel.gate";
};

using GatePointer = GateActor::stateful_pointer<GateState>;

GateActor::behavior_type gate_actor(GatePointer self, BelApi api, std::string token) {
  assert(!token.empty());
  self->state.api = std::move(api);
  self->state.token = std::move(token);
  return {
      [=](login_atom, const std::string& presented) -> caf::result<BelApi> {
        if (!constant_time_equal(presented, self->state.token)) {
          ++self->state.refused;
          spdlog::warn("gate: refused a console with a {} token (refused={})",
                       presented.empty() ? "missing" : "wrong", self->state.refused);
          return to_caf_error(make_error(
              ErrorCode::unauthorized,
              "the coordinator refused the console's token (missing or wrong token file)"));
        }
        return self->state.api;
      },
  };
}

}  // namespace

GateActor spawn_gate_actor(caf::actor_system& system, BelApi api, std::string token) {
  return system.spawn(gate_actor, std::move(api), std::move(token));
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string new_token() {
  std::random_device device;
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (int i = 0; i < 8; ++i) {
    uint32_t word = device();
    for (int j = 0; j < 8; ++j) {
      out.push_back(kHex[word & 0xf]);
      word >>= 4;
    }
  }
  return out;
}

}  // namespace bel::actors
