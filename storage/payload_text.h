// Stored payloads whose text is not UTF-8. Before appends refused such text (SPEC section 2's
// structure rules, schema 6), a string field could be stored with bytes that are not UTF-8; a
// proto3 string that is not UTF-8 does not parse, so every read of that event failed and with it
// every scan of the log. Reads now give such an event with each ill-formed byte of its text read
// as U+FFFD (the replacement character), as a browser shows undecodable text; the stored bytes
// are left as they are (the log is append-only), and `bel check` names the events.
//
//   std::string repaired;
//   std::string fields;
//   if (repair_payload_text(bytes, repaired, &fields)) parse(repaired);   // fields: "a.b, c"
//
// Thread-safety: reentrant.
#ifndef BEL_STORAGE_PAYLOAD_TEXT_H_
#define BEL_STORAGE_PAYLOAD_TEXT_H_

#include <string>
#include <string_view>

namespace bel::storage {

// Copies `in`, a serialized BuildEvent (or a stored payload of one, its column fields left out),
// into `out` (replaced) with every string field's bytes that are not well-formed UTF-8 replaced
// by U+FFFD, one per ill-formed byte, in nested messages and map entries too; every other byte
// and field (unknown ones included) is copied as it is. `fields`, when given, receives the
// dotted paths of the fields changed (each once, in order, comma-separated, e.g.
// "build_cancel_event.reason"). True when something was replaced; false when nothing was, or
// when `in` is not well-formed wire format (then nothing can be read of it).
bool repair_payload_text(std::string_view in, std::string& out, std::string* fields = nullptr);

}  // namespace bel::storage

#endif  // BEL_STORAGE_PAYLOAD_TEXT_H_
