// The text of one key_postings row (storage/sqlite_indexer.h): the idx of one key's events in one
// index batch, as a JSON array ("[12,40,41]"), which SQLite's json_each expands in the queries
// of storage/sqlite_query.h and the event_keys view.
//
//   std::string text;
//   append_postings(text, idxs.begin(), idxs.end(), [](int64_t i) { return i; });  // "[12,40,41]"
//   std::vector<int64_t> back;
//   auto parsed = parse_postings(text, back, uri);           // storage_corrupt if damaged
//
// JSON text rather than a binary encoding: SQL (the view, the filters with several keys or
// patterns, bel check) reads it with json_each, and it costs ~3 bytes per idx more than varints
// in a table a tenth the size of the rows it replaced.
#ifndef BEL_STORAGE_SQLITE_POSTINGS_H_
#define BEL_STORAGE_SQLITE_POSTINGS_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"

namespace bel::storage {

// Appends "[a,b,...]" of the idx produced by `idx_of(*it)` for it in [first, last).
template <class It, class IdxOf>
void append_postings(std::string& out, It first, It last, IdxOf idx_of) {
  out += '[';
  for (It it = first; it != last; ++it) {
    if (it != first) out += ',';
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, idx_of(*it)).ptr;
    out.append(digits, end);
  }
  out += ']';
}

// Appends to `out` the idx of a postings text as append_postings or SQLite's json_group_array
// writes it (JSON whitespace allowed); storage_corrupt, naming `where`, for anything else.
Status parse_postings(std::string_view text, std::vector<int64_t>& out, const std::string& where);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_POSTINGS_H_
