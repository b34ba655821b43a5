#include "projections/text_arena.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace bel::projections {

namespace {

// Lengths are LEB128 varints: one byte below 128.
size_t varint_size(size_t n) {
  size_t bytes = 1;
  for (; n >= 0x80; n >>= 7) ++bytes;
  return bytes;
}

char* write_varint(char* out, size_t n) {
  for (; n >= 0x80; n >>= 7) *out++ = static_cast<char>((n & 0x7f) | 0x80);
  *out++ = static_cast<char>(n);
  return out;
}

char* allocate(size_t capacity) {
  void* p = std::malloc(capacity);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

TextArena::TextArena(size_t capacity)
    : chars_(capacity > 0 ? allocate(capacity) : nullptr), capacity_(capacity) {}

TextArena::TextArena(TextArena&& other) noexcept
    : chars_(std::move(other.chars_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      dead_(std::exchange(other.dead_, 0)),
      pages_(std::exchange(other.pages_, PagesAhead())) {}

TextArena& TextArena::operator=(TextArena&& other) noexcept {
  chars_ = std::move(other.chars_);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  dead_ = std::exchange(other.dead_, 0);
  pages_ = std::exchange(other.pages_, PagesAhead());
  return *this;
}

size_t TextArena::record_size(size_t first, size_t second) {
  if (first == 0 && second == 0) return 0;
  return varint_size(first) + first + varint_size(second) + second;
}

void TextArena::grow(size_t bytes) {
  const size_t capacity = std::max({size_ + bytes, capacity_ + capacity_ / 2, size_t{256}});
  void* grown = std::realloc(chars_.get(), capacity);
  if (grown == nullptr) throw std::bad_alloc();
  chars_.release();
  chars_.reset(static_cast<char*>(grown));
  capacity_ = capacity;
}

TextArena::Handle TextArena::add(std::string_view first, std::string_view second) {
  if (first.empty() && second.empty()) return kNone;
  const size_t need = record_size(first.size(), second.size());
  assert(fits(need));
  const Handle h = size_;
  pages_.before_write(chars_.get(), size_, capacity_, size_ + need);
  // The sources lie below size_ when they are in the arena, so the copies never overlap them.
  char* out = write_varint(chars_.get() + size_, first.size());
  if (!first.empty()) std::memcpy(out, first.data(), first.size());
  out = write_varint(out + first.size(), second.size());
  if (!second.empty()) std::memcpy(out, second.data(), second.size());
  size_ = static_cast<size_t>(out + second.size() - chars_.get());
  return h;
}

std::pair<size_t, size_t> TextArena::read_length(size_t pos) const {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(chars_.get()[pos++]);
    n |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return {n, pos};
  }
}

std::string_view TextArena::first(Handle h) const {
  if (h == kNone) return {};
  const auto [len, at] = read_length(h);
  return {chars_.get() + at, len};
}

std::string_view TextArena::second(Handle h) const {
  if (h == kNone) return {};
  const auto [first_len, first_at] = read_length(h);
  const auto [len, at] = read_length(first_at + first_len);
  return {chars_.get() + at, len};
}

void TextArena::drop(Handle h) {
  if (h == kNone) return;
  dead_ += record_size(first(h).size(), second(h).size());
}

}  // namespace bel::projections
