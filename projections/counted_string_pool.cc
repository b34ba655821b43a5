#include "projections/counted_string_pool.h"

#include <algorithm>
#include <cassert>

namespace bel::projections {

using pool_slots::hash_of;

size_t CountedStringPool::slot_for(std::string_view s, size_t hash) const {
  const auto low = static_cast<uint32_t>(hash);
  return pool_slots::probe(slots_, hash,
                           [&](uint32_t id) { return hashes_[id] == low && str(id) == s; });
}

CountedStringPool::Id CountedStringPool::find(std::string_view s) const {
  if (s.empty() || slots_.empty()) return kNone;
  const uint32_t id = slots_[slot_for(s, hash_of(s))];
  return id == kEmpty ? kNone : id;
}

CountedStringPool::Id CountedStringPool::acquire(std::string_view s) {
  if (s.empty()) return kNone;
  // At most half full: probes stay short and every miss ends at an empty slot.
  if ((size() + 1) * 2 > slots_.size()) grow_slots();
  const size_t hash = hash_of(s);
  const size_t slot = slot_for(s, hash);
  if (slots_[slot] != kEmpty) {
    ++entries_[slots_[slot]].refs;
    return slots_[slot];
  }
  make_room(s.size());
  Id id;
  if (free_.empty()) {
    assert(entries_.size() < kNone);
    id = static_cast<Id>(entries_.size());
    entries_.emplace_back();
    hashes_.push_back(0);
  } else {
    id = free_.back();
    free_.pop_back();
  }
  entries_[id] = Entry{chars_.size(), static_cast<uint32_t>(s.size()), 1};
  hashes_[id] = static_cast<uint32_t>(hash);
  chars_.insert(chars_.end(), s.begin(), s.end());
  slots_[slot] = id;
  return id;
}

bool CountedStringPool::release(Id id) {
  if (id == kNone) return false;
  Entry& e = entries_[id];
  assert(e.refs > 0);
  if (--e.refs > 0) return false;
  const size_t mask = slots_.size() - 1;
  size_t slot = hashes_[id] & mask;
  while (slots_[slot] != id) slot = (slot + 1) & mask;
  erase_slot(slot);
  dead_bytes_ += e.len;
  free_.push_back(id);
  return true;
}

void CountedStringPool::erase_slot(size_t slot) {
  // Backward-shift deletion: later entries of the probe run move into the hole when their home
  // slot is not cyclically after it, so that lookups never need tombstones.
  const size_t mask = slots_.size() - 1;
  size_t hole = slot;
  for (size_t i = (hole + 1) & mask; slots_[i] != kEmpty; i = (i + 1) & mask) {
    const size_t home = hashes_[slots_[i]] & mask;
    const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
    if (stays) continue;
    slots_[hole] = slots_[i];
    hole = i;
  }
  slots_[hole] = kEmpty;
}

void CountedStringPool::grow_slots() {
  size_t capacity = slots_.empty() ? 16 : slots_.size();
  while (capacity < (size() + 1) * 2) capacity *= 2;
  if (capacity == slots_.size()) return;
  slots_.assign(capacity, kEmpty);
  for (Id id = 0; id < entries_.size(); ++id) {
    if (entries_[id].refs > 0) pool_slots::place(slots_, hashes_[id], id);
  }
}

void CountedStringPool::make_room(size_t more) {
  if (chars_.size() + more <= chars_.capacity()) return;
  if (dead_bytes_ * 4 >= chars_.size()) {
    // Copy the live strings into a fresh buffer: each copy is paid for by the bytes appended
    // since the last one, as the buffer is then at least a third larger than what it holds.
    const size_t live = chars_.size() - dead_bytes_;
    std::vector<char> fresh;
    fresh.reserve(std::max<size_t>(256, (live + more) * 3 / 2));
    for (Entry& e : entries_) {
      if (e.refs == 0) continue;
      const char* from = chars_.data() + e.pos;
      e.pos = fresh.size();
      fresh.insert(fresh.end(), from, from + e.len);
    }
    chars_.swap(fresh);
    dead_bytes_ = 0;
    return;
  }
  chars_.reserve(std::max(chars_.size() + more, chars_.size() * 3 / 2));
}

size_t CountedStringPool::bytes() const {
  return chars_.capacity() + entries_.capacity() * sizeof(Entry) +
         hashes_.capacity() * sizeof(uint32_t) + free_.capacity() * sizeof(Id) +
         slots_.capacity() * sizeof(uint32_t);
}

}  // namespace bel::projections
