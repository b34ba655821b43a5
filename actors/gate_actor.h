// The gate (SPEC section 6, R6): the one actor a coordinator publishes on its console endpoint.
// A console presents the coordinator's token and gets the bel_api handle; anything else gets
// `unauthorized` and nothing more.
//
//   GateActor gate = spawn_gate_actor(system, api, token);
//   auto port = system.middleman().publish(gate, 0, "127.0.0.1");
//   // console side:
//   auto gate = system.middleman().remote_actor<GateActor>("127.0.0.1", port);
//   self->request(*gate, kTimeout, login_atom::value, token).receive(
//       [&](const BelApi& api) { ... }, [&](const caf::error& e) { /* unauthorized */ });
#ifndef BEL_ACTORS_GATE_ACTOR_H_
#define BEL_ACTORS_GATE_ACTOR_H_

#include <string>

#include <caf/all.hpp>

#include "actors/bel_api.h"

namespace bel::actors {

using GateActor = caf::typed_actor<caf::replies_to<login_atom, std::string>::with<BelApi>>;

// REQUIRES: !token.empty()
GateActor spawn_gate_actor(caf::actor_system& system, BelApi api, std::string token);

// True when `a` equals `b`, in time that depends only on their lengths.
bool constant_time_equal(const std::string& a, const std::string& b);

// A new random token: 32 bytes from the system's random device, as 64 hex digits.
std::string new_token();

}  // namespace bel::actors

#endif  // BEL_ACTORS_GATE_ACTOR_H_
