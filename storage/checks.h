// Argument checks every backend applies the same way, so each answers bad input with the same
// code and message (SPEC 3.1, 7). Messages start with the storage URI.
//
//   BEL_RETURN_IF_ERROR(check_list_args(uri_, since_idx, filter, limit));
//   auto page = list_page(*reader, request);   // a bel_api ListEventsRequest, either order
//   if (read_only_) return read_only_error(uri_, "append_batch");
#ifndef BEL_STORAGE_CHECKS_H_
#define BEL_STORAGE_CHECKS_H_

#include <cstdint>
#include <string>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::storage {

class Storage;  // storage/storage.h

// The meta key holding the schema version; the storage writes it, set_meta refuses it.
inline constexpr const char* kSchemaVersionKey = "schema_version";
// The meta key holding the log's identity: a UUID the first writable open stores and nothing
// changes after (a copy of the file keeps it). A console given both --log and --connect compares
// it with the coordinator's, so that it never writes to another log than the one it names.
inline constexpr const char* kLogIdKey = "log_id";
// The meta key of the SQLite key index's watermark (storage/sqlite_indexer.h); refused likewise.
inline constexpr const char* kIndexedIdxKey = "indexed_idx";
// The meta key of the name an SQLite log's last writer opened it by, symlinks resolved
// (storage/sqlite_wal_names.h); refused likewise.
inline constexpr const char* kWriterPathKey = "writer_path";

// invalid_argument for a limit outside 1..kMaxListLimit, a negative since_idx or a filter that
// check_filter rejects: "memory://: list_events: limit 0 is out of range 1..10000".
Status check_list_args(const std::string& uri, int64_t since_idx, const EventFilter& filter,
                       int limit);

// check_list_args for list_events_backward: the same checks, naming that call and before_idx.
Status check_backward_args(const std::string& uri, int64_t before_idx, const EventFilter& filter,
                           int limit);

// The checks of a bel_api ListEventsRequest (limit 0 meaning kDefaultListLimit): those of
// list_events or list_events_backward by its order, and a descending request takes no since_idx.
Status check_list_request(const std::string& uri, const ListEventsRequest& request);

// Answers `request` from `storage`: list_events or list_events_backward by its order, with the
// errors of check_list_request and of the storage.
Result<EventPage> list_page(Storage& storage, const ListEventsRequest& request);

// invalid_argument "<uri>: <what>: opened read-only".
Error read_only_error(const std::string& uri, const char* what);

// invalid_argument for a key the storage manages itself (schema_version, indexed_idx) or an
// empty key.
Status check_meta_key(const std::string& uri, const std::string& key);

// duplicate_event_id "<uri>: append #<position + 1>: event_id "<id>" is not unique (...)";
// `position` counts from 0 like the batch vector; the message counts from 1 like LogWriter.
// The stored form of `event` (batch position `position`, 0-based) into `payload`: its protobuf
// bytes without idx, which lives in its own column. `scratch` is reused for events that carry
// an idx. internal naming the append when it does not serialize.
Status serialize_payload(const std::string& uri, size_t position, const BuildEvent& event,
                         BuildEvent& scratch, std::string& payload);

Error duplicate_event_id_error(const std::string& uri, size_t position,
                               const std::string& event_id);

}  // namespace bel::storage

#endif  // BEL_STORAGE_CHECKS_H_
