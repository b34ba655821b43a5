// TextArena: short-lived pairs of strings (a status's job run id and message) packed end to end
// in one buffer, each named by its offset. Its owner reclaims the space of dropped pairs by
// copying the live ones into a fresh arena, because only the owner knows where the handles are.
//
//   bel::projections::TextArena texts;
//   const size_t need = TextArena::record_size(job.size(), message.size());
//   if (!texts.fits(need)) texts.grow(need);  // or compact: see below
//   TextArena::Handle h = texts.add(job, message);
//   std::string_view j = texts.first(h), m = texts.second(h);
//   texts.drop(h);                               // its bytes are dead until compaction
//   // compaction: TextArena fresh(texts.live_bytes() + need); for each live handle h:
//   //   h = fresh.add(texts.first(h), texts.second(h)); then texts = std::move(fresh);
//
// Why: a partition's message is nearly always new (a 1M-event log has ~240k distinct ones) and
// lives until the next status replaces it. Interned, each would also cost an entry, a hash and
// hash slots (~30 bytes, as much as its characters); here a pair costs its characters and a
// length byte each, and the handle its holder keeps.
//
// A large buffer's pages are mapped just ahead of the writes (pages_ahead.h), so that a
// compaction's copies into a fresh arena do not fault one page at a time.
//
// Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_TEXT_ARENA_H_
#define BEL_PROJECTIONS_TEXT_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "projections/pages_ahead.h"

namespace bel::projections {

class TextArena {
 public:
  using Handle = uint64_t;
  // Two empty strings, taking no room.
  static constexpr Handle kNone = std::numeric_limits<Handle>::max();

  TextArena() = default;
  explicit TextArena(size_t capacity);
  TextArena(TextArena&& other) noexcept;
  TextArena& operator=(TextArena&& other) noexcept;
  TextArena(const TextArena&) = delete;
  TextArena& operator=(const TextArena&) = delete;

  // The bytes add(first, second) takes.
  static size_t record_size(size_t first, size_t second);
  // Whether `bytes` more fit without growing the buffer.
  bool fits(size_t bytes) const { return size_ + bytes <= capacity_; }
  // Makes room for `bytes` more, growing the buffer by half at least.
  void grow(size_t bytes);

  // Appends the pair. REQUIRES: fits(record_size(first.size(), second.size())). The strings may
  // point into this arena (nothing moves while it copies). Two empty strings give kNone.
  Handle add(std::string_view first, std::string_view second);
  // The pair's strings; valid until the arena grows (a move hands the buffer over). kNone: "".
  std::string_view first(Handle h) const;
  std::string_view second(Handle h) const;
  // Counts the pair's bytes as dead. kNone: nothing.
  void drop(Handle h);

  size_t size() const { return size_; }  // bytes used, live and dead
  size_t dead_bytes() const { return dead_; }
  size_t live_bytes() const { return size_ - dead_; }
  size_t bytes() const { return capacity_; }  // bytes held, for memory accounting

 private:
  // The length at `pos` and where its characters start.
  std::pair<size_t, size_t> read_length(size_t pos) const;

  // malloc'ed, so that grow() is a realloc: a large buffer (an mmap) then grows in place or is
  // remapped, never held twice while copied (the peak of a restore on a 10M-event log).
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> chars_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t dead_ = 0;
  PagesAhead pages_;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_TEXT_ARENA_H_
