// What lets bel's types travel in CAF messages: atoms, an inspect overload for every bel.v1
// protobuf message, and the conversion between bel::Error and caf::error.
//
//   self->request(storage, kTimeout, append_atom::value, event)
//       .then([=](const bel::AppendAck& ack) { ... },
//             [=](const caf::error& e) { bel::Error err = bel::actors::from_caf_error(e); });
#ifndef BEL_ACTORS_CAF_SUPPORT_H_
#define BEL_ACTORS_CAF_SUPPORT_H_

#include <string>
#include <type_traits>

#include <caf/all.hpp>
#include <google/protobuf/message.h>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::v1 {

namespace detail {

// The result of `inspect` for a protobuf message T on an inspector's `side` (reads_state or
// writes_state); no overload otherwise.
template <class Inspector, class T, bool side>
using proto_inspect_t =
    typename std::enable_if<side && std::is_base_of<google::protobuf::Message, T>::value,
                            typename Inspector::result_type>::type;

// The name CAF records for message type T: its protobuf full name.
template <class T>
auto proto_type_name() {
  return caf::meta::type_name(T::descriptor()->full_name().c_str());
}

}  // namespace detail

// Serializing side (serializer, deep_to_string): the message as protobuf bytes. Found by ADL for
// every generated class of package bel.v1.
template <class Inspector, class T>
detail::proto_inspect_t<Inspector, T, Inspector::reads_state> inspect(Inspector& f, T& x) {
  std::string bytes;
  x.SerializeToString(&bytes);
  return f(detail::proto_type_name<T>(), bytes);
}

// Deserializing side: parse the bytes back; a parse failure is an invalid_argument CAF error.
template <class Inspector, class T>
detail::proto_inspect_t<Inspector, T, Inspector::writes_state> inspect(Inspector& f, T& x) {
  std::string bytes;
  auto parse = caf::meta::load_callback([&]() -> caf::error {
    return x.ParseFromString(bytes) ? caf::error{} : caf::make_error(caf::sec::invalid_argument);
  });
  return f(detail::proto_type_name<T>(), bytes, parse);
}

}  // namespace bel::v1

namespace bel::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
// Marks an append whose events passed LogWriter::check_event already (the supervisor's).
using checked_atom = caf::atom_constant<caf::atom("checked")>;
// Independent appends in one message (BelApi, Appender).
using each_atom = caf::atom_constant<caf::atom("each")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
// The storage actor's note to itself to bring the log's derived indexes up to date.
using index_atom = caf::atom_constant<caf::atom("index")>;
using follow_atom = caf::atom_constant<caf::atom("follow")>;
// Asks the storage actor for the commits it holds back from its subscribers (publish_interval):
// its own note when the interval is up, and a view's when a query waits for them.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
// Storage statistics (StorageStats) of the storage actor and the API.
using stats_atom = caf::atom_constant<caf::atom("stats")>;
// The log's last committed idx, as a reader sees it.
using last_idx_atom = caf::atom_constant<caf::atom("last_idx")>;
// How many queries the query actor answered from a fallback scan.
using fallbacks_atom = caf::atom_constant<caf::atom("fallbacks")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using fallback_atom = caf::atom_constant<caf::atom("fallback")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using scan_atom = caf::atom_constant<caf::atom("scan")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
// A view's turn to restore its snapshot (read/restore_turns.h).
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using rebuild_atom = caf::atom_constant<caf::atom("rebuild")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using set_atom = caf::atom_constant<caf::atom("set")>;
using views_atom = caf::atom_constant<caf::atom("views")>;
using login_atom = caf::atom_constant<caf::atom("login")>;
using meta_atom = caf::atom_constant<caf::atom("meta")>;

// The CAF error category of bel errors.
inline constexpr caf::atom_value kErrorCategory = caf::atom("bel");

// A caf::error carrying `error`'s code and message.
caf::error to_caf_error(const Error& error);

// The bel::Error inside `error`; CAF's own errors map to the closest code (a request timeout to
// timeout, an unreachable or dead actor to storage_unavailable, anything else to internal).
Error from_caf_error(const caf::error& error);

// The error a failed request to `what` returns: a bel error unchanged, since it already says what
// and where; CAF's own (a deadline passed, the actor down, ...) with `what` named, since theirs do
// not: "bel_api query partition_status(data/a): no answer within 300 ms" (`wait`: "300 ms").
Error call_error(const caf::error& error, const std::string& what, const std::string& wait);

// Registers the bel error category so CAF renders bel errors readably.
void add_error_category(caf::actor_system_config& config);

// Announces every type bel sends between processes (remote console, gate), with the error
// category. Both ends of a connection must call it.
void add_bel_types(caf::actor_system_config& config);

}  // namespace bel::actors

#endif  // BEL_ACTORS_CAF_SUPPORT_H_
