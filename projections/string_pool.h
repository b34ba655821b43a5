// StringPool: one copy of each string a view keeps (partition refs, build request and job run
// ids, job labels, messages), each named by a dense 32-bit id, 0, 1, 2, ... in the order the
// strings were first interned.
//
//   bel::projections::StringPool pool;
//   uint32_t a = pool.intern("data/a");             // 0: new
//   uint32_t b = pool.intern("data/a");             // 0 again: the same string, one copy
//   std::string_view s = pool.str(a);               // "data/a", valid as long as the pool
//   if (pool.find("data/b") == StringPool::kNone) { /* never interned */ }
//   std::vector<uint32_t> pos_by_id;                // per-id data: a vector indexed by id
//
// Why: a view of a 1M-event log keeps ~100k refs and ~85k build ids, each named from several
// structures. A std::string of a 36-character id costs its 32 bytes plus a 48-byte heap chunk per
// copy, a std::unordered_map node on top of that, and a malloc and free per copy made or dropped;
// the folds spent a quarter of their time in malloc. Here a string costs its bytes and a length
// byte or two before them, a 4-byte place, a 4-byte hash and 5–11 bytes of hash slots; the
// characters sit in 64 KiB blocks that never move (so a string_view into the pool stays valid
// until the pool is destroyed or moved-from). A 16-byte string_view per string, as the pool kept
// before, was 100 MB of a coordinator's ~1 GiB over a 10M-event log (its pools hold ~6.5M
// strings).
//
// Strings are never removed: a view that stops naming one leaves it in the pool, which grows
// with the number of distinct strings interned. Views intern what they keep for good (ids, refs,
// labels); strings that are soon replaced (the messages of runs and partitions in flight) live in
// structures that reclaim them (docs/query-tier.md, "How the views hold their state"). What
// stays behind: a build request's own messages (interned as they come, a few per build) and a
// message replaced after its run has ended (rare).
//
// Limits: fewer than kNone strings, and at most 2 GiB of strings shorter than 16 KiB (32 768
// blocks); intern() throws std::length_error beyond that (a view that throws fails, and its
// queries go to the fallback scan). Longer strings are allocated one by one and not counted.
//
// Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_STRING_POOL_H_
#define BEL_PROJECTIONS_STRING_POOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

namespace bel::projections {

// Open addressing shared by StringPool and CountedStringPool: a power-of-two table of ids, linear
// probing from a string's hash, kEmptySlot for a free slot.
namespace pool_slots {
inline constexpr uint32_t kEmptySlot = std::numeric_limits<uint32_t>::max();
inline size_t hash_of(std::string_view s) { return std::hash<std::string_view>()(s); }
// The slot holding the id for which same(id) is true, or the free slot that ends its probe run.
template <class Same>
size_t probe(const std::vector<uint32_t>& slots, size_t hash, Same same) {
  const size_t mask = slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (slots[i] == kEmptySlot || same(slots[i])) return i;
  }
}
// Puts `id`, whose hash is `hash`, in the first free slot of its probe run.
inline void place(std::vector<uint32_t>& slots, size_t hash, uint32_t id) {
  slots[probe(slots, hash, [](uint32_t) { return false; })] = id;
}
}  // namespace pool_slots

class StringPool {
 public:
  using Id = uint32_t;
  // No string: what find() answers for a string never interned, and what a view may store for
  // "none" in a field that holds an id.
  static constexpr Id kNone = std::numeric_limits<Id>::max();

  StringPool() = default;
  StringPool(StringPool&&) noexcept = default;
  StringPool& operator=(StringPool&&) noexcept = default;
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;

  // The id of `s`, interning a copy of it when new. REQUIRES: fewer than kNone strings.
  Id intern(std::string_view s);
  // The id of `s`, or kNone when it was never interned.
  Id find(std::string_view s) const;
  // The string of `id`. REQUIRES: id < size().
  std::string_view str(Id id) const {
    const uint32_t place = places_[id];
    if ((place & kLongPlace) != 0) return longs_[place & ~kLongPlace];
    // A short string: its length (one byte below 128, else two, 7 bits each, low bits first),
    // then its characters, at its offset in its block.
    const auto* at = reinterpret_cast<const unsigned char*>(blocks_[place >> kOffsetBits].get()) +
                     (place & kOffsetMask);
    size_t length = at[0];
    if (length < 0x80) return {reinterpret_cast<const char*>(at + 1), length};
    length = (length & 0x7f) | (size_t{at[1]} << 7);
    return {reinterpret_cast<const char*>(at + 2), length};
  }

  // How many distinct strings are interned; ids are 0 .. size() - 1.
  size_t size() const { return places_.size(); }
  // Bytes held (characters, places, hashes and slots), for memory accounting.
  size_t bytes() const;
  // Reserves room for `count` strings (a snapshot's entries) so that restoring does not rehash.
  void reserve(size_t count);

 private:
  static constexpr uint32_t kOffsetBits = 16;
  static constexpr size_t kBlockBytes = size_t{1} << kOffsetBits;  // 64 KiB
  static constexpr uint32_t kOffsetMask = kBlockBytes - 1;
  // A place with this bit is an index into longs_; without it, a block's index and an offset.
  static constexpr uint32_t kLongPlace = uint32_t{1} << 31;
  static constexpr size_t kMaxBlocks = size_t{1} << (31 - kOffsetBits);  // 2 GiB of blocks
  // Strings at least this long get an allocation of their own (two length bytes hold less).
  static constexpr size_t kLongBytes = 16 * 1024;
  static constexpr uint32_t kEmpty = pool_slots::kEmptySlot;

  // Copies `s` into the pool; its place (places_).
  uint32_t place(std::string_view s);
  void grow_slots(size_t at_least);
  // Whether `count` strings would fill more than three quarters of `capacity` slots.
  static bool over_load(size_t count, size_t capacity) { return count * 4 > capacity * 3; }
  size_t slot_for(std::string_view s, size_t hash) const;  // the slot holding s, or its empty slot
  // The bits of a hash kept in its slot above the id, to tell strings apart without reading
  // their entries (a probe then touches one cache line per slot instead of three).
  uint32_t tag_of(size_t hash) const { return static_cast<uint32_t>(hash) & ~id_mask_; }

  std::vector<std::unique_ptr<char[]>> blocks_;  // kBlockBytes each: short strings
  size_t block_used_ = kBlockBytes;  // bytes used in blocks_.back(); full when there is none
  std::vector<std::unique_ptr<char[]>> long_chars_;  // one per long string
  std::vector<std::string_view> longs_;              // the long strings, into long_chars_
  size_t char_bytes_ = 0;                            // bytes allocated for characters
  std::vector<uint32_t> places_;                     // by id: where its string is
  std::vector<uint32_t> hashes_;                     // by id: the low 32 bits of each string's hash
  // Open addressing, power of two: kEmpty, or an id in the bits under id_mask_ with the tag of
  // its string's hash above them. Ids stay below slots_.size() * 3 / 4 (over_load), so the bits
  // of an id in use are never all ones and a slot in use never equals kEmpty.
  std::vector<uint32_t> slots_;
  uint32_t id_mask_ = 0;  // slots_.size() - 1
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_STRING_POOL_H_
