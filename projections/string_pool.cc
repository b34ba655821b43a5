#include "projections/string_pool.h"

#include <cassert>
#include <cstring>
#include <stdexcept>

namespace bel::projections {

using pool_slots::hash_of;

size_t StringPool::slot_for(std::string_view s, size_t hash) const {
  // A slot whose tag differs holds another string: no need to look at that string's entry.
  const uint32_t tag = tag_of(hash);
  return pool_slots::probe(slots_, hash, [&](uint32_t slot) {
    return (slot & ~id_mask_) == tag && str(slot & id_mask_) == s;
  });
}

StringPool::Id StringPool::find(std::string_view s) const {
  if (slots_.empty()) return kNone;
  const uint32_t slot = slots_[slot_for(s, hash_of(s))];
  return slot == kEmpty ? kNone : slot & id_mask_;
}

StringPool::Id StringPool::intern(std::string_view s) {
  // Keep the table at most three quarters full: probes stay short (the tags make a probe cost
  // one read of a slot, and most runs end within the cache line they start in) and a miss ends
  // at an empty slot.
  if (over_load(places_.size() + 1, slots_.size())) grow_slots(places_.size() + 1);
  const size_t hash = hash_of(s);
  const size_t slot = slot_for(s, hash);
  if (slots_[slot] != kEmpty) return slots_[slot] & id_mask_;
  assert(places_.size() < kNone);
  const auto id = static_cast<Id>(places_.size());
  places_.push_back(place(s));
  hashes_.push_back(static_cast<uint32_t>(hash));
  slots_[slot] = tag_of(hash) | id;
  return id;
}

uint32_t StringPool::place(std::string_view s) {
  if (s.size() >= kLongBytes) {
    auto own = std::unique_ptr<char[]>(new char[s.size()]);  // not zero-filled
    std::memcpy(own.get(), s.data(), s.size());
    longs_.emplace_back(own.get(), s.size());
    long_chars_.push_back(std::move(own));
    char_bytes_ += s.size();
    return kLongPlace | static_cast<uint32_t>(longs_.size() - 1);  // fewer than kNone strings
  }
  const size_t length_bytes = s.size() < 0x80 ? 1 : 2;
  if (block_used_ + length_bytes + s.size() > kBlockBytes) {
    if (blocks_.size() == kMaxBlocks) {
      throw std::length_error("string pool: more than 2 GiB of strings");
    }
    blocks_.push_back(std::unique_ptr<char[]>(new char[kBlockBytes]));  // not zero-filled
    char_bytes_ += kBlockBytes;
    block_used_ = 0;
  }
  const auto out = static_cast<uint32_t>(((blocks_.size() - 1) << kOffsetBits) | block_used_);
  auto* at = reinterpret_cast<unsigned char*>(blocks_.back().get() + block_used_);
  if (length_bytes == 1) {
    at[0] = static_cast<unsigned char>(s.size());
  } else {
    at[0] = static_cast<unsigned char>(0x80 | (s.size() & 0x7f));
    at[1] = static_cast<unsigned char>(s.size() >> 7);
  }
  if (!s.empty()) std::memcpy(at + length_bytes, s.data(), s.size());
  block_used_ += length_bytes + s.size();
  return out;
}

void StringPool::grow_slots(size_t at_least) {
  size_t capacity = slots_.empty() ? 16 : slots_.size();
  while (over_load(at_least, capacity)) capacity *= 2;
  if (capacity == slots_.size()) return;
  slots_.assign(capacity, kEmpty);
  id_mask_ = static_cast<uint32_t>(capacity - 1);  // a power of two, at most 2^32
  // Rehashing needs only the kept low 32 bits of each hash: the slot's index comes from the
  // bits under id_mask_, the tag from those above it.
  for (Id id = 0; id < places_.size(); ++id) {
    pool_slots::place(slots_, hashes_[id], tag_of(hashes_[id]) | id);
  }
}

void StringPool::reserve(size_t count) {
  places_.reserve(count);
  hashes_.reserve(count);
  grow_slots(count);
}

size_t StringPool::bytes() const {
  return char_bytes_ + places_.capacity() * sizeof(uint32_t) +
         hashes_.capacity() * sizeof(uint32_t) + slots_.capacity() * sizeof(uint32_t) +
         (blocks_.capacity() + long_chars_.capacity()) * sizeof(std::unique_ptr<char[]>) +
         longs_.capacity() * sizeof(std::string_view);
}

}  // namespace bel::projections
