// CountedStringPool: strings a view names only for a while (the job run ids of in-flight claims),
// one copy each, named by a 32-bit id and freed when the last holder lets go.
//
//   bel::projections::CountedStringPool pool;
//   uint32_t a = pool.acquire("jr-1");        // new: one reference
//   uint32_t b = pool.acquire("jr-1");        // the same id, two references
//   pool.release(a);
//   if (pool.release(b)) { /* freed: the id may name another string later */ }
//   std::string_view none = pool.str(CountedStringPool::kNone);  // "": the empty string's id
//
// Why not StringPool: a StringPool never frees a string, and a 1M-event log names ~190k job run
// ids, each in flight for a few events; kept forever they would outweigh the rest of the view.
// Here the live strings cost their bytes, a 16-byte entry and ~12 bytes of hash slots; freed ids
// are reused and freed bytes are reclaimed by copying the live strings into a fresh buffer once
// the dead ones would make the buffer grow by a quarter.
//
// The empty string has the id kNone and holds no reference (acquire("") is kNone, release(kNone)
// does nothing). str() views are invalidated by the next acquire(string_view) (the buffer may be
// compacted or grow), not by moving the pool; ids stay valid while referenced.
//
// Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_COUNTED_STRING_POOL_H_
#define BEL_PROJECTIONS_COUNTED_STRING_POOL_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "projections/string_pool.h"

namespace bel::projections {

class CountedStringPool {
 public:
  using Id = uint32_t;
  // The empty string's id, and what find() answers for a string not held.
  static constexpr Id kNone = std::numeric_limits<Id>::max();

  // The id of `s` with one more reference, copying it when not held. REQUIRES: s does not point
  // into this pool.
  Id acquire(std::string_view s);
  // One more reference to `id` (kNone: nothing). REQUIRES: id is held.
  void acquire(Id id) {
    if (id != kNone) ++entries_[id].refs;
  }
  // Drops one reference; true when that was the last (the string is freed and `id` may name
  // another string later). kNone: nothing, false.
  bool release(Id id);
  // The id of `s` when it is held, else kNone.
  Id find(std::string_view s) const;
  std::string_view str(Id id) const {
    if (id == kNone) return {};
    return {chars_.data() + entries_[id].pos, entries_[id].len};
  }

  // Every held id is below this.
  size_t id_limit() const { return entries_.size(); }
  // How many strings are held.
  size_t size() const { return entries_.size() - free_.size(); }
  // Bytes held, for memory accounting.
  size_t bytes() const;

 private:
  static constexpr uint32_t kEmpty = pool_slots::kEmptySlot;
  struct Entry {
    uint64_t pos = 0;  // in chars_
    uint32_t len = 0;
    uint32_t refs = 0;  // 0: free
  };

  size_t slot_for(std::string_view s, size_t hash) const;  // the slot holding s, or its empty slot
  void grow_slots();
  void erase_slot(size_t slot);
  // Room for `more` bytes at the end of chars_, compacting the live strings first when dead ones
  // are at least a quarter of the buffer.
  void make_room(size_t more);

  std::vector<char> chars_;
  size_t dead_bytes_ = 0;
  std::vector<Entry> entries_;    // by id
  std::vector<uint32_t> hashes_;  // by id: the low 32 bits of each string's hash
  std::vector<Id> free_;          // ids to reuse
  std::vector<uint32_t> slots_;   // open addressing, power of two: ids, kEmpty
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_COUNTED_STRING_POOL_H_
