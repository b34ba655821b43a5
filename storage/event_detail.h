// Reading events with less than every field (EventDetail, storage.h): the scans that feed the
// views leave out what no view reads, and skip parsing it. Also the wire walk that cuts fields out
// of a serialized event.
//
//   const EventDetail parsed = parse_detail(detail, filter);  // what the filter allows
//   if (!parse_event_payload(bytes, parsed, &event)) return corrupt(idx);
//   if (!event_matches(filter, event)) continue;
//   if (parsed != detail) drop_detail(detail, &event);        // storage.h
//
// Thread-safety: the functions are reentrant (parse_event_payload keeps a thread-local buffer).
#ifndef BEL_STORAGE_EVENT_DETAIL_H_
#define BEL_STORAGE_EVENT_DETAIL_H_

#include <string>
#include <string_view>

#include "messages/types.h"
#include "storage/storage.h"

namespace bel::storage {

// The detail a scan with `filter` can parse events with and still match them: `wanted`, or full
// when the filter names partitions (a JobGraphEvent names them in its job graph).
EventDetail parse_detail(EventDetail wanted, const EventFilter& filter);

// Parses `bytes`, a stored payload (a serialized BuildEvent, possibly without the fields a row
// keeps in columns), into `*event` with `detail`: with EventDetail::views the fields it leaves
// out are skipped on the wire and never parsed. False when the bytes do not parse. Whatever
// parses in full parses with EventDetail::views too, giving the full event without what it
// leaves out; damage inside a left-out field (bytes that are not a message) goes unseen by it,
// since those bytes are never read: full reads, and `bel check`'s scan, still report that event
// as not parsing. A payload whose text is not UTF-8 (stored before
// appends refused it) parses with U+FFFD in place of each ill-formed byte (payload_text.h); the
// fields so read are then named in `*repaired_fields` (emptied otherwise), when given.
bool parse_event_payload(std::string_view bytes, EventDetail detail, BuildEvent* event,
                         std::string* repaired_fields = nullptr);

// Appends to `out` the top-level fields of the serialized message `in` whose numbers are outside
// first..last (of any wire type), in their order and bytes. False when `in` is not well-formed
// wire format. The payload a row stores is the event without its column fields
// (sqlite_support.h, stored_payload).
bool copy_fields_outside(std::string_view in, int first, int last, std::string& out);

// The event's body: its serialized bytes without event_id, timestamp, build_request_id and idx
// (fields 1..4), exactly copy_fields_outside(its bytes, 1, 4), into `out` (replaced): what an
// SQLite row stores as its payload. Known fields serialize in field-number order, so it only
// drops the leading ones; an event with unknown fields takes the whole walk. False when the
// event does not serialize.
bool serialize_event_body(const BuildEvent& event, std::string& out);

}  // namespace bel::storage

#endif  // BEL_STORAGE_EVENT_DETAIL_H_
