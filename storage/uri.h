// Storage URIs (SPEC 3.3): which backend a URI names and where it points.
//
//   auto parsed = bel::storage::parse_storage_uri("sqlite:///var/lib/bel/bel.db");
//   if (!parsed.ok()) return parsed.error();   // unsupported_uri, naming the URI
//   // parsed->scheme == UriScheme::sqlite, parsed->path == "/var/lib/bel/bel.db"
//
// Accepted forms:
//   sqlite:///abs/path.db   absolute path /abs/path.db
//   sqlite://rel/path.db    path relative to the working directory (passed to SQLite as
//                           ./rel/path.db, so ":memory:" and "file:" keep no special meaning)
//   path.db, /abs/path.db   a bare path (no ':' in it) is an SQLite file, as above
//   memory://[name]         a fresh in-process log; the name is allowed and ignored
//   stdout                  a fresh in-process log that prints each committed event
//   postgres://..., postgresql://...   a PostgreSQL log (storage/postgres_storage.h); the path
//                           is the URI, which libpq parses
// The path is taken verbatim: no query parameters, no percent-decoding.
#ifndef BEL_STORAGE_URI_H_
#define BEL_STORAGE_URI_H_

#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel::storage {

enum class UriScheme { sqlite, memory, stdout_sink, postgres };

// Whether a log of `scheme` lives in its process only (memory://, stdout): no other process,
// and no later command, can read it.
inline bool lives_in_process(UriScheme scheme) {
  return scheme == UriScheme::memory || scheme == UriScheme::stdout_sink;
}

struct StorageUri {
  UriScheme scheme = UriScheme::memory;
  std::string uri;   // as given, for messages
  std::string path;  // sqlite: the file path to open; postgres: the conninfo URI; else empty
};

// The supported URI forms, for messages: "sqlite:///abs/path.db, sqlite://rel/path.db, ...".
const char* supported_uri_forms();

// Parses `uri`. unsupported_uri, naming the URI and listing supported_uri_forms(), for an
// unknown scheme or an sqlite:// URI without a path.
Result<StorageUri> parse_storage_uri(std::string_view uri);

// What the message "no log at PATH yet: ..." says of a file that a creation of the log left
// unfinished (an empty file, a database with no tables): a reader finds no log there, and a
// command that may create the log makes it there.
inline constexpr const char* kUnfinishedLog = "left by a creation that did not finish";

// `uri` as messages and banners show it: the password of a URI with an authority (PostgreSQL's,
// or any scheme://user:PASSWORD@ but sqlite:// and memory://) or of a ?password=... parameter
// replaced by "***"; an SQLite file and a bare path unchanged.
std::string shown_uri(std::string_view uri);

}  // namespace bel::storage

#endif  // BEL_STORAGE_URI_H_
