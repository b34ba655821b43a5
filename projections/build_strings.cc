#include "projections/build_strings.h"

#include <cstring>

namespace bel::projections {

namespace {

uint64_t load_up_to_8(const char* p, size_t n) {
  uint64_t v = 0;
  if (n > 0) std::memcpy(&v, p, n < 8 ? n : 8);
  return v;
}

// A cheap hash of `s` for the cache: its length and up to 24 of its bytes (start, middle, end),
// where ids and refs differ. Strings it confuses only share a cache entry.
size_t cache_slot(std::string_view s, int bits) {
  const size_t n = s.size();
  uint64_t h = load_up_to_8(s.data(), n) * 0x9E3779B97F4A7C15ull;
  if (n > 8) {
    h ^= load_up_to_8(s.data() + n - 8, 8) * 0xC2B2AE3D27D4EB4Full;
    h ^= load_up_to_8(s.data() + (n - 8) / 2, 8) * 0x165667B19E3779F9ull;
  }
  h = (h ^ n) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> (64 - bits));
}

}  // namespace

std::string_view BuildStrings::keep(std::string_view s) {
  if (s.empty()) return {};
  ++kept_count_;
  if (s.size() > kBlockBytes / 4) {
    // A long string gets a block of its own, placed before the current one, which keeps filling.
    auto own = std::make_unique<char[]>(s.size());
    std::memcpy(own.get(), s.data(), s.size());
    const char* out = own.get();
    kept_.insert(kept_.empty() ? kept_.end() : kept_.end() - 1, std::move(own));
    return {out, s.size()};
  }
  if (kept_used_ + s.size() > kBlockBytes) {
    kept_.push_back(std::unique_ptr<char[]>(new char[kBlockBytes]));
    kept_used_ = 0;
  }
  char* out = kept_.back().get() + kept_used_;
  std::memcpy(out, s.data(), s.size());
  kept_used_ += s.size();
  return {out, s.size()};
}

std::string_view BuildStrings::share(std::string_view s) {
  if (s.empty()) return {};
  if (shared_.empty()) shared_.resize(size_t{1} << kCacheBits);
  std::string_view& e = shared_[cache_slot(s, kCacheBits)];
  if (e != s) e = keep(s);
  return e;
}

BuildStrings::Id BuildStrings::intern(std::string_view s) {
  if (cache_.empty()) cache_.resize(size_t{1} << kCacheBits);
  Entry& e = cache_[cache_slot(s, kCacheBits)];
  if (e.id != StringPool::kNone && e.size == s.size() &&
      std::memcmp(e.data, s.data(), s.size()) == 0) {
    return e.id;
  }
  const Id id = pool_.intern(s);
  const std::string_view kept = pool_.str(id);
  e = Entry{kept.data(), static_cast<uint32_t>(kept.size()), id};
  return id;
}

}  // namespace bel::projections
