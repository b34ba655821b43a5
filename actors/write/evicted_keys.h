// bel::write::EvictedKeys: a scalable Bloom filter of the keys the transition state has dropped
// from memory (transition_rules.h). may_contain(k) is false only for a key never added, so the
// state looks a key up in the log only when it may be there: a brand-new build request or job
// run costs no read. False positives (about 0.1% per layer) cost one indexed read that finds
// nothing.
//
//   EvictedKeys keys;
//   keys.add("b", "br-1");
//   keys.may_contain("b", "br-1");  // true
//
// The filter grows by layers of doubling capacity (3 bytes per key; layers restored from format
// 1 keep their 1.75), so it never needs the keys again. Hashes are stable across builds and
// machines: the filter is stored in the write-side checkpoint. Pure code; not thread-safe.
#ifndef BEL_ACTORS_WRITE_EVICTED_KEYS_H_
#define BEL_ACTORS_WRITE_EVICTED_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bel::write {

class EvictedKeys {
 public:
  // `kind` separates key spaces (a build request and a job run may share an id). Afterwards
  // may_contain(kind, key) is true; a key it already claims is not counted again.
  void add(std::string_view kind, std::string_view key);
  bool may_contain(std::string_view kind, std::string_view key) const;

  size_t keys() const;
  size_t bytes() const;  // memory held by the bits

  // Appends the filter to `out` in format kFormat; decode reads a filter of format `format` (1
  // or kFormat) back from `in` (advancing it), false when `in` does not hold a well-formed one.
  // Format 2 records each layer's bits per key; format 1 layers all had 14.
  static constexpr int kFormat = 2;
  void encode(std::string& out) const;
  bool decode(std::string_view& in, int format);

 private:
  struct Layer {
    uint64_t capacity = 0;
    uint64_t count = 0;
    uint64_t bits_per_key = 0;
    std::vector<uint64_t> bits;
  };
  std::vector<Layer> layers_;
};

// Little-endian varint and length-prefixed string coding shared by the checkpoint encoders.
void put_varint(std::string& out, uint64_t v);
void put_bytes(std::string& out, std::string_view bytes);
bool get_varint(std::string_view& in, uint64_t& v);
bool get_bytes(std::string_view& in, std::string& out);

// FNV-1a (64 bit): a stable hash for filters and checksums.
uint64_t stable_hash(std::string_view data, uint64_t seed = 1469598103934665603ULL);

}  // namespace bel::write

#endif  // BEL_ACTORS_WRITE_EVICTED_KEYS_H_
