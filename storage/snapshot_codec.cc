// The snapshot codec (snapshot_codec.h): zlib behind a magic and the uncompressed length.
#include "storage/snapshot_codec.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstdint>
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

}  // namespace

Result<std::string> encode_snapshot_data(std::string_view data) {
  uLongf bound = compressBound(static_cast<uLong>(data.size()));
  std::string out(kHeaderSize + bound, '\0');
  out.replace(0, kMagic.size(), kMagic);
  uint64_t size = data.size();
  for (size_t i = 0; i < 8; ++i) {
    out[kMagic.size() + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  uLongf written = bound;
  int rc = compress2(reinterpret_cast<Bytef*>(&out[kHeaderSize]), &written,
                     reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                     kSnapshotCompressionLevel);
  // Plain bytes are a valid encoding of themselves unless they look like an encoded blob; keep
  // them when compressing failed (zlib found no memory) or did not pay.
  bool plain_ok = !has_magic(data);
  if (rc != Z_OK) {
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal,
                      fmt::format("snapshot data does not compress: {}", zError(rc)));
  }
  out.resize(kHeaderSize + written);
  if (plain_ok && out.size() >= data.size()) return std::string(data);
  out.shrink_to_fit();  // it was sized for the worst case: as large as the data
  return out;
}

Result<std::string_view> stored_snapshot_bytes(const std::string& data, bool encoded,
                                               std::string* scratch) {
  if (encoded) return std::string_view(data);
  auto stored = encode_snapshot_data(data);
  if (!stored.ok()) return stored.error();
  *scratch = std::move(*stored);
  return std::string_view(*scratch);
}

Result<std::string> decode_snapshot_data(std::string stored) {
  if (!has_magic(stored)) return stored;
  if (stored.size() < kHeaderSize) {
    return corrupt(
        fmt::format("is cut short: {} bytes, the header alone is {}", stored.size(), kHeaderSize));
  }
  uint64_t size = 0;
  for (size_t i = 0; i < 8; ++i) {
    size |= static_cast<uint64_t>(static_cast<unsigned char>(stored[kMagic.size() + i])) << (8 * i);
  }
  uint64_t compressed = stored.size() - kHeaderSize;
  if (size > compressed * kMaxRatio + 64) {
    return corrupt(fmt::format("claims {} bytes from {} compressed ones", size, compressed));
  }
  std::string out(size, '\0');
  uLongf produced = static_cast<uLongf>(size);
  uLong consumed = static_cast<uLong>(compressed);
  int rc = uncompress2(reinterpret_cast<Bytef*>(out.data()), &produced,
                       reinterpret_cast<const Bytef*>(&stored[kHeaderSize]), &consumed);
  // Z_BUF_ERROR: the output is full and the stream goes on (or stops short of its end).
  if (rc == Z_BUF_ERROR) {
    return corrupt(fmt::format("does not end within the {} bytes its header says", size));
  }
  if (rc != Z_OK) return corrupt(fmt::format("does not inflate: {}", zError(rc)));
  if (produced != size) {
    return corrupt(fmt::format("inflates to {} bytes, its header says {}", produced, size));
  }
  if (consumed != compressed) {
    return corrupt(fmt::format("has {} bytes after its zlib stream", compressed - consumed));
  }
  return out;
}

}  // namespace bel::storage
