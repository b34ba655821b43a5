// PagesAhead: the pages of a large buffer that is being filled, mapped ahead of the writes in
// one system call per 256 KiB (Linux's MADV_POPULATE_WRITE) instead of one page fault per 4 KiB
// page as each is first written. Fresh pages come from the kernel each time a large buffer is
// allocated (the allocator returns large blocks to it at once), and on a VM each fault costs
// several times the write that caused it: a rebuild's profile had a sixth of its time in them.
// Only pages about to be written are mapped (at most 256 KiB past the write), so the memory held
// is the same.
//
//   PagesAhead pages;
//   pages.before_write(buf.data(), buf.size(), buf.capacity(), buf.size() + n);
//   ... write n bytes at buf.size() ...
//
// A hint: nothing happens for a buffer under 1 MiB or on a kernel without it. Not thread-safe;
// one owner per buffer. Pure code: a memory hint, no I/O.
#ifndef BEL_PROJECTIONS_PAGES_AHEAD_H_
#define BEL_PROJECTIONS_PAGES_AHEAD_H_

#include <cstddef>

namespace bel::projections {

class PagesAhead {
 public:
  static constexpr size_t kAhead = size_t{256} << 10;
  static constexpr size_t kLarge = size_t{1} << 20;

  // Before writing up to `end` bytes from `base` (a buffer of `capacity` bytes, the first `size`
  // of which are written): maps the pages up to end + kAhead (within the buffer) not yet mapped.
  // A buffer that moved (another `base`) has its first `size` bytes mapped by the copy.
  void before_write(char* base, size_t size, size_t capacity, size_t end) {
    if (base != base_) {
      base_ = base;
      mapped_ = size;
    }
    if (end > mapped_) map(capacity, end);
  }

 private:
  void map(size_t capacity, size_t end);

  char* base_ = nullptr;
  size_t mapped_ = 0;  // bytes from base_ whose pages are mapped (or were written)
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_PAGES_AHEAD_H_
