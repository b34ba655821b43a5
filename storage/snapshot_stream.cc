// SnapshotDataStream (snapshot_stream.h): zstd's streaming decompression, or zlib's inflate for
// blobs written before, one window at a time.
#include "storage/snapshot_stream.h"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <climits>
#include <utility>

#include "storage/snapshot_codec.h"

namespace bel::storage {

struct SnapshotDataStream::Inflater {
  SnapshotCodec codec = SnapshotCodec::zstd;
  z_stream z{};
  bool open = false;  // z
  ZSTD_DStream* zstd = nullptr;
  ~Inflater() {
    if (open) inflateEnd(&z);
    ZSTD_freeDStream(zstd);  // null: nothing
  }
};

namespace {

constexpr const char* kNotZstd =
    "does not decompress: not a complete zstd frame, or its checksum differs";
constexpr const char* kNotZlib =
    "does not inflate: not a complete zlib stream, or its checksum differs";

}  // namespace

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
  released_to_ = stored.data();
  stored_ = (*parts)->stream;
  inflater_ = std::make_unique<Inflater>();
  inflater_->codec = (*parts)->codec;
  if (inflater_->codec == SnapshotCodec::zstd) {
    inflater_->zstd = ZSTD_createDStream();
    if (inflater_->zstd == nullptr) {
      fail("cannot be decompressed: out of memory");
      return;
    }
  } else {
    z_stream& z = inflater_->z;
    // zlib takes at most 4 GiB per call through avail_in; next_zlib() feeds larger streams on.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored_.data()));
    z.avail_in = 0;
    if (inflateInit(&z) != Z_OK) {
      fail("cannot be inflated: out of memory");
      return;
    }
    inflater_->open = true;
  }
  buffer_ = std::make_unique<char[]>(std::min<uint64_t>(window_, std::max<uint64_t>(size_, 1)));
  window_ = std::min<uint64_t>(window_, std::max<uint64_t>(size_, 1));
}

SnapshotDataStream::~SnapshotDataStream() = default;

bool SnapshotDataStream::fail(std::string what) {
  if (!error_) error_ = "compressed data " + std::move(what);
  return false;
}

bool SnapshotDataStream::next_zlib(size_t* got, bool* ended) {
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
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && stored_.empty()) return fail(kNotZlib);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return fail(kNotZlib);
  }
  *got = window_ - z.avail_out;
  *ended = rc == Z_STREAM_END;
  if (*ended) {
    // What the stream did not read is put back, for the check of bytes after it.
    const size_t after = z.avail_in + stored_.size();
    stored_ = std::string_view(reinterpret_cast<const char*>(z.next_in), after);
    z.avail_in = 0;
  }
  return true;
}

bool SnapshotDataStream::next_zstd(size_t* got, bool* ended) {
  ZSTD_outBuffer out{buffer_.get(), window_, 0};
  size_t left = 1;  // what the decoder says it still has to do; 0 once the frame is done
  while (out.pos < out.size) {
    ZSTD_inBuffer in{stored_.data(), stored_.size(), 0};
    const size_t before = out.pos;
    left = ZSTD_decompressStream(inflater_->zstd, &out, &in);
    stored_.remove_prefix(in.pos);
    if (ZSTD_isError(left)) return fail(kNotZstd);
    if (left == 0) break;
    if (in.pos == 0 && out.pos == before) return fail(kNotZstd);  // the input ended first
  }
  *got = out.pos;
  *ended = left == 0;
  return true;
}

void SnapshotDataStream::release_up_to(const char* read_to) {
#ifdef __linux__
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  // Whole pages only: the first and last may hold bytes of something else (the allocator's).
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(released_to_) + page - 1) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(read_to) & ~(page - 1);
  if (end < begin + kReleaseStep) return;
  // Pages of anonymous memory: they read as zeros afterwards. A failure keeps them: no harm.
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  released_to_ = reinterpret_cast<const char*>(end);
#else
  (void)read_to;
#endif
}

bool SnapshotDataStream::inflate_next() {
  size_t got = 0;
  bool ended = false;
  if (!(inflater_->codec == SnapshotCodec::zstd ? next_zstd(&got, &ended)
                                                : next_zlib(&got, &ended))) {
    return false;
  }
  if (release_) {
    // zlib may hold fed bytes it has not read yet (next_in); zstd has read all it took.
    release_up_to(inflater_->codec == SnapshotCodec::zstd
                      ? stored_.data()
                      : reinterpret_cast<const char*>(inflater_->z.next_in));
  }
  const bool zstd = inflater_->codec == SnapshotCodec::zstd;
  produced_ += got;
  if (produced_ > size_) {
    return fail(fmt::format("does not end within the {} bytes its header says", size_));
  }
  if (ended) {
    if (produced_ != size_) {
      return fail(fmt::format("{} to {} bytes, its header says {}",
                              zstd ? "decompresses" : "inflates", produced_, size_));
    }
    if (!stored_.empty()) {
      return fail(fmt::format("has {} bytes after its {}", stored_.size(),
                              zstd ? "zstd frame" : "zlib stream"));
    }
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
