// An order-independent digest of a multiset of (kind, text, idx) rows, for the "derived rows"
// checks (derived_check.h, postgres_check.h): the rows the events give and the rows an index
// holds are each added as they are read, in any order, and the two digests compared. Equal
// multisets give equal digests; a row missing, added or changed changes them (but for a 64-bit
// hash collision).
//
//   RowDigest expected, found;
//   expected.add(kind, key, idx);   // per key of each event
//   found.add(kind, key, idx);      // per row of the index
//   if (!(found == expected)) ...
#ifndef BEL_ACTORS_CHECK_ROW_DIGEST_H_
#define BEL_ACTORS_CHECK_ROW_DIGEST_H_

#include <cstdint>
#include <functional>
#include <string_view>

namespace bel::check {

struct RowDigest {
  int64_t rows = 0;
  uint64_t sum = 0;
  uint64_t xors = 0;

  static uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  // A row whose text is `kind` then `text` (a key row's kind, an id column's storage class):
  // the two sides of a comparison must add their rows the same way.
  void add(uint64_t kind, std::string_view text, int64_t idx) {
    const uint64_t h =
        mix(std::hash<std::string_view>{}(text) ^ mix(kind) ^ mix(mix(static_cast<uint64_t>(idx))));
    ++rows;
    sum += h;
    xors ^= mix(h);
  }
  bool operator==(const RowDigest& o) const {
    return rows == o.rows && sum == o.sum && xors == o.xors;
  }
};

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_ROW_DIGEST_H_
