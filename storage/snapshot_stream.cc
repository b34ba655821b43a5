// SnapshotDataStream (snapshot_stream.h): zlib's inflate, one window at a time. libdeflate, which
// compresses the snapshots and inflates whole blobs, has no streaming decompressor.
#include "storage/snapshot_stream.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "storage/snapshot_codec.h"

namespace bel::storage {

struct SnapshotDataStream::Inflater {
  z_stream z{};
  bool open = false;
  ~Inflater() {
    if (open) inflateEnd(&z);
  }
};

SnapshotDataStream::SnapshotDataStream(std::string_view stored, bool encoded, size_t window)
    : stored_(stored), window_(std::clamp<size_t>(window, 1, INT_MAX)) {
  if (!encoded) {
    size_ = stored.size();
    return;
  }
  auto parts = split_encoded_snapshot(stored);
  if (!parts.ok()) {
    error_ = parts.error().message;  // the codec's own words ("compressed data ...")
    return;
  }
  if (!parts->has_value()) {
    size_ = stored.size();
    return;
  }
  plain_ = false;
  size_ = (*parts)->size;
  inflater_ = std::make_unique<Inflater>();
  z_stream& z = inflater_->z;
  // zlib takes at most 4 GiB per call through avail_in; inflate_next() feeds larger streams on.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>((*parts)->zlib.data()));
  z.avail_in = 0;
  stored_ = (*parts)->zlib;
  if (inflateInit(&z) != Z_OK) {
    fail("cannot be inflated: out of memory");
    return;
  }
  inflater_->open = true;
  buffer_ = std::make_unique<char[]>(std::min<uint64_t>(window_, std::max<uint64_t>(size_, 1)));
  window_ = std::min<uint64_t>(window_, std::max<uint64_t>(size_, 1));
}

SnapshotDataStream::~SnapshotDataStream() = default;

bool SnapshotDataStream::fail(std::string what) {
  if (!error_) error_ = "compressed data " + std::move(what);
  return false;
}

bool SnapshotDataStream::inflate_next() {
  z_stream& z = inflater_->z;
  z.next_out = reinterpret_cast<Bytef*>(buffer_.get());
  z.avail_out = static_cast<uInt>(window_);
  int rc = Z_OK;
  while (z.avail_out > 0) {
    if (z.avail_in == 0 && !stored_.empty()) {
      const size_t feed = std::min<size_t>(stored_.size(), UINT_MAX);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored_.data()));
      z.avail_in = static_cast<uInt>(feed);
      stored_.remove_prefix(feed);
    }
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && stored_.empty()) {
      return fail("does not inflate: not a complete zlib stream, or its checksum differs");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return fail("does not inflate: not a complete zlib stream, or its checksum differs");
    }
  }
  const uint64_t got = window_ - z.avail_out;
  produced_ += got;
  if (produced_ > size_) {
    return fail(fmt::format("does not end within the {} bytes its header says", size_));
  }
  if (rc == Z_STREAM_END) {
    if (produced_ != size_) {
      return fail(fmt::format("inflates to {} bytes, its header says {}", produced_, size_));
    }
    const uint64_t after = z.avail_in + stored_.size();
    if (after > 0) return fail(fmt::format("has {} bytes after its zlib stream", after));
    ended_ = true;
  }
  last_ = buffer_.get();
  last_size_ = static_cast<int>(got);
  return got > 0;
}

bool SnapshotDataStream::Next(const void** data, int* size) {
  if (backed_up_ > 0) {
    *data = last_ + (last_size_ - backed_up_);
    *size = backed_up_;
    count_ += backed_up_;
    backed_up_ = 0;
    return true;
  }
  if (error_ || ended_) return false;
  if (plain_) {
    const size_t n = std::min<size_t>(stored_.size(), INT_MAX);
    if (n == 0) {
      ended_ = true;
      return false;
    }
    last_ = stored_.data();
    last_size_ = static_cast<int>(n);
    stored_.remove_prefix(n);
    produced_ += n;
  } else if (!inflate_next()) {
    return false;
  }
  *data = last_;
  *size = last_size_;
  count_ += last_size_;
  return true;
}

void SnapshotDataStream::BackUp(int count) {
  count = std::clamp(count, 0, last_size_ - backed_up_);
  backed_up_ += count;
  count_ -= count;
}

bool SnapshotDataStream::Skip(int count) {
  const void* data = nullptr;
  int size = 0;
  while (count > 0) {
    if (!Next(&data, &size)) return false;
    if (size > count) {
      BackUp(size - count);
      return true;
    }
    count -= size;
  }
  return true;
}

int64_t SnapshotDataStream::ByteCount() const { return count_; }

Status SnapshotDataStream::damage() const {
  if (error_) return make_error(ErrorCode::storage_corrupt, *error_);
  return ok_status();
}

Status SnapshotDataStream::finish() const {
  if (error_) return make_error(ErrorCode::storage_corrupt, *error_);
  const bool read_all = static_cast<uint64_t>(count_) == size_ && backed_up_ == 0;
  if (!read_all || (!plain_ && !ended_)) {
    return make_error(
        ErrorCode::storage_corrupt,
        fmt::format("snapshot data not read to its end: {} of {} bytes", count_, size_));
  }
  return ok_status();
}

}  // namespace bel::storage
