#include "actors/write/evicted_keys.h"

namespace bel::write {
namespace {

constexpr uint64_t kFirstCapacity = 4096;
// Bits per key of a new layer: with kHashes probes, a full layer answers about 0.0035% of the
// keys never added with a false "may contain", each an indexed read of the log that finds
// nothing; a writer checks every new build request and job run against every layer. Filters of
// format 1 used 14 (about 0.12% per layer), which profiles of P1 showed as a fifth of the
// appending thread's time once a log had a few hundred thousand events.
constexpr uint64_t kBitsPerKey = 24;
constexpr uint64_t kFormatOneBitsPerKey = 14;
constexpr uint64_t kMaxBitsPerKey = 64;
constexpr int kHashes = 9;
constexpr uint64_t kMaxLayers = 48;

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct Probe {
  uint64_t h1, h2;
};

Probe probe(std::string_view kind, std::string_view key) {
  uint64_t h = stable_hash(kind);
  h = stable_hash("\n", h);
  h = stable_hash(key, h);
  return Probe{mix(h), mix(h ^ 0x9e3779b97f4a7c15ULL) | 1};
}

}  // namespace

uint64_t stable_hash(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void EvictedKeys::add(std::string_view kind, std::string_view key) {
  if (may_contain(kind, key)) return;  // a key dropped again (or a false positive) costs nothing
  if (layers_.empty() || layers_.back().count >= layers_.back().capacity) {
    Layer layer;
    layer.capacity = layers_.empty() ? kFirstCapacity : layers_.back().capacity * 2;
    layer.bits_per_key = kBitsPerKey;
    layer.bits.assign((layer.capacity * kBitsPerKey + 63) / 64, 0);
    layers_.push_back(std::move(layer));
  }
  Layer& layer = layers_.back();
  const Probe p = probe(kind, key);
  const uint64_t nbits = layer.bits.size() * 64;
  for (int i = 0; i < kHashes; ++i) {
    const uint64_t bit = (p.h1 + static_cast<uint64_t>(i) * p.h2) % nbits;
    layer.bits[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  ++layer.count;
}

bool EvictedKeys::may_contain(std::string_view kind, std::string_view key) const {
  if (layers_.empty()) return false;
  const Probe p = probe(kind, key);
  for (const Layer& layer : layers_) {
    const uint64_t nbits = layer.bits.size() * 64;
    bool all = true;
    for (int i = 0; i < kHashes && all; ++i) {
      const uint64_t bit = (p.h1 + static_cast<uint64_t>(i) * p.h2) % nbits;
      all = (layer.bits[bit / 64] >> (bit % 64)) & 1;
    }
    if (all) return true;
  }
  return false;
}

size_t EvictedKeys::keys() const {
  size_t n = 0;
  for (const Layer& layer : layers_) n += layer.count;
  return n;
}

size_t EvictedKeys::bytes() const {
  size_t n = 0;
  for (const Layer& layer : layers_) n += layer.bits.size() * sizeof(uint64_t);
  return n;
}

void EvictedKeys::encode(std::string& out) const {
  put_varint(out, layers_.size());
  for (const Layer& layer : layers_) {
    put_varint(out, layer.capacity);
    put_varint(out, layer.count);
    put_varint(out, layer.bits_per_key);
    for (uint64_t word : layer.bits) {
      for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((word >> (8 * b)) & 0xFF));
    }
  }
}

bool EvictedKeys::decode(std::string_view& in, int format) {
  if (format != 1 && format != kFormat) return false;
  uint64_t n = 0;
  if (!get_varint(in, n) || n > kMaxLayers) return false;
  std::vector<Layer> layers(n);
  uint64_t expected = kFirstCapacity;
  for (Layer& layer : layers) {
    if (!get_varint(in, layer.capacity) || !get_varint(in, layer.count)) return false;
    if (layer.capacity != expected || layer.count > layer.capacity) return false;
    expected *= 2;
    layer.bits_per_key = kFormatOneBitsPerKey;
    if (format >= 2 && !get_varint(in, layer.bits_per_key)) return false;
    if (layer.bits_per_key == 0 || layer.bits_per_key > kMaxBitsPerKey) return false;
    const uint64_t words = (layer.capacity * layer.bits_per_key + 63) / 64;
    if (in.size() / 8 < words) return false;
    layer.bits.resize(words);
    for (uint64_t& word : layer.bits) {
      word = 0;
      for (int b = 0; b < 8; ++b) word |= uint64_t{static_cast<unsigned char>(in[b])} << (8 * b);
      in.remove_prefix(8);
    }
  }
  layers_ = std::move(layers);
  return true;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_varint(out, bytes.size());
  out.append(bytes);
}

bool get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool get_bytes(std::string_view& in, std::string& out) {
  uint64_t n = 0;
  if (!get_varint(in, n) || n > in.size()) return false;
  out.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

}  // namespace bel::write
