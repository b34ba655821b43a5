#include "projections/pages_ahead.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

namespace bel::projections {

void PagesAhead::map(size_t capacity, size_t end) {
  const size_t to = std::min(capacity, end + kAhead);
#ifdef MADV_POPULATE_WRITE
  if (capacity >= kLarge && to > mapped_) {
    // madvise wants a page-aligned start: the whole pages of [mapped_, to).
    constexpr uintptr_t kPage = 4096;
    const auto from = reinterpret_cast<uintptr_t>(base_ + mapped_);
    const uintptr_t start = (from + kPage - 1) & ~(kPage - 1);
    const uintptr_t stop = reinterpret_cast<uintptr_t>(base_ + to) & ~(kPage - 1);
    if (stop > start) {
      (void)madvise(reinterpret_cast<void*>(start), stop - start, MADV_POPULATE_WRITE);
    }
  }
#endif
  mapped_ = std::max(mapped_, to);
}

}  // namespace bel::projections
