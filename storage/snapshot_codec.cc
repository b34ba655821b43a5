// The snapshot codec (snapshot_codec.h): a zlib stream behind a magic and the uncompressed
// length, written and read with libdeflate.
#include "storage/snapshot_codec.h"

#include <fmt/format.h>
#include <libdeflate.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace bel::storage {
namespace {

constexpr std::string_view kMagic("\0belz", 5);
constexpr size_t kHeaderSize = kMagic.size() + 8;
// deflate never compresses better than about 1032:1; a header promising more is corrupt, and
// checking it first keeps a damaged length from asking for a huge allocation.
constexpr uint64_t kMaxRatio = 1032;

bool has_magic(std::string_view data) { return data.substr(0, kMagic.size()) == kMagic; }

Error corrupt(std::string what) {
  return make_error(ErrorCode::storage_corrupt, "compressed data " + std::move(what));
}

// libdeflate's compressor and decompressor keep tables between calls and are not thread-safe:
// one of each per thread, made on first use (null when there was no memory).
struct FreeCompressor {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_compressor* compressor() {
  thread_local std::unique_ptr<libdeflate_compressor, FreeCompressor> c(
      libdeflate_alloc_compressor(kSnapshotCompressionLevel));
  return c.get();
}

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(
      libdeflate_alloc_decompressor());
  return d.get();
}

}  // namespace

Result<std::string> encode_snapshot_data(std::string_view data) {
  // Plain bytes are a valid encoding of themselves unless they look like an encoded blob; keep
  // them when compressing failed (no memory) or did not pay.
  const bool plain_ok = !has_magic(data);
  libdeflate_compressor* c = compressor();
  if (c == nullptr) {
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal, "snapshot data does not compress: out of memory");
  }
  const size_t bound = libdeflate_zlib_compress_bound(c, data.size());
  // Compressed into a buffer left uninitialized, as large as the worst case: zero-filling it
  // cost a write of every page (a view's snapshot is tens of MB), though a snapshot deflates
  // to about a sixth and the pages never written are never touched.
  std::unique_ptr<char[]> buffer(new (std::nothrow) char[kHeaderSize + bound]);
  if (buffer == nullptr) {
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal, "snapshot data does not compress: out of memory");
  }
  std::memcpy(buffer.get(), kMagic.data(), kMagic.size());
  const uint64_t size = data.size();
  for (size_t i = 0; i < 8; ++i) {
    buffer[kMagic.size() + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  const size_t written =
      libdeflate_zlib_compress(c, data.data(), data.size(), buffer.get() + kHeaderSize, bound);
  if (written == 0) {  // cannot happen with the bound's room; kept plain if it did
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal, "snapshot data does not compress");
  }
  if (plain_ok && kHeaderSize + written >= data.size()) return std::string(data);
  return std::string(buffer.get(), kHeaderSize + written);
}

Result<std::string_view> stored_snapshot_bytes(const std::string& data, bool encoded,
                                               std::string* scratch) {
  if (encoded) return std::string_view(data);
  auto stored = encode_snapshot_data(data);
  if (!stored.ok()) return stored.error();
  *scratch = std::move(*stored);
  return std::string_view(*scratch);
}

Result<std::optional<EncodedSnapshotParts>> split_encoded_snapshot(std::string_view stored) {
  if (!has_magic(stored)) return std::optional<EncodedSnapshotParts>();
  if (stored.size() < kHeaderSize) {
    return corrupt(
        fmt::format("is cut short: {} bytes, the header alone is {}", stored.size(), kHeaderSize));
  }
  uint64_t size = 0;
  for (size_t i = 0; i < 8; ++i) {
    size |= static_cast<uint64_t>(static_cast<unsigned char>(stored[kMagic.size() + i])) << (8 * i);
  }
  const std::string_view zlib = stored.substr(kHeaderSize);
  if (size > zlib.size() * kMaxRatio + 64) {
    return corrupt(fmt::format("claims {} bytes from {} compressed ones", size, zlib.size()));
  }
  return std::optional<EncodedSnapshotParts>(EncodedSnapshotParts{size, zlib});
}

Result<std::string> decode_snapshot_data(std::string stored) {
  auto parts = split_encoded_snapshot(stored);
  if (!parts.ok()) return parts.error();
  if (!parts->has_value()) return stored;
  const uint64_t size = (*parts)->size;
  const uint64_t compressed = (*parts)->zlib.size();
  libdeflate_decompressor* d = decompressor();
  if (d == nullptr) return make_error(ErrorCode::internal, "snapshot data: out of memory");
  std::string out(size, '\0');
  size_t consumed = 0;
  size_t produced = 0;
  const libdeflate_result rc = libdeflate_zlib_decompress_ex(
      d, &stored[kHeaderSize], compressed, out.data(), size, &consumed, &produced);
  // INSUFFICIENT_SPACE: the output is full and the stream goes on.
  if (rc == LIBDEFLATE_INSUFFICIENT_SPACE) {
    return corrupt(fmt::format("does not end within the {} bytes its header says", size));
  }
  if (rc != LIBDEFLATE_SUCCESS) {
    return corrupt("does not inflate: not a complete zlib stream, or its checksum differs");
  }
  if (produced != size) {
    return corrupt(fmt::format("inflates to {} bytes, its header says {}", produced, size));
  }
  if (consumed != compressed) {
    return corrupt(fmt::format("has {} bytes after its zlib stream", compressed - consumed));
  }
  return out;
}

}  // namespace bel::storage
