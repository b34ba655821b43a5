// The snapshot codec (snapshot_codec.h): a zstd frame (or, in blobs written before, a zlib stream)
// behind a magic and the uncompressed length. Decoding goes through SnapshotDataStream, which
// reads both.
#include "storage/snapshot_codec.h"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "storage/snapshot_stream.h"

namespace bel::storage {
namespace {

constexpr std::string_view kZstdMagic("\0belZ", 5);
constexpr std::string_view kZlibMagic("\0belz", 5);
constexpr size_t kMagicSize = 5;
constexpr size_t kHeaderSize = kMagicSize + 8;
static_assert(kHeaderSize == kSnapshotHeaderBytes, "the header is the magic and the length");
// deflate never compresses better than about 1032:1, nor zstd better than 32768:1 (a run-length
// block: up to 128 KiB from 4 bytes); a header promising more is corrupt, and checking it first
// keeps a damaged length from asking for a huge allocation.
constexpr uint64_t kMaxZlibRatio = 1032;
constexpr uint64_t kMaxZstdRatio = 32768;

std::optional<SnapshotCodec> codec_of(std::string_view data) {
  const std::string_view magic = data.substr(0, kMagicSize);
  if (magic == kZstdMagic) return SnapshotCodec::zstd;
  if (magic == kZlibMagic) return SnapshotCodec::zlib;
  return std::nullopt;
}

// The header of a zstd blob at `out` (kHeaderSize bytes): the magic, then `plain_size`.
void write_zstd_header(uint64_t plain_size, char* out) {
  std::memcpy(out, kZstdMagic.data(), kMagicSize);
  for (size_t i = 0; i < 8; ++i) {
    out[kMagicSize + i] = static_cast<char>((plain_size >> (8 * i)) & 0xff);
  }
}

Error corrupt(std::string what) {
  return make_error(ErrorCode::storage_corrupt, "compressed data " + std::move(what));
}

// A zstd compression context keeps its tables between calls and is not thread-safe: one per
// thread, made on first use with the level and a checksum (null when there was no memory).
struct FreeCompressor {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

ZSTD_CCtx* compressor() {
  thread_local std::unique_ptr<ZSTD_CCtx, FreeCompressor> c([] {
    ZSTD_CCtx* made = ZSTD_createCCtx();
    if (made != nullptr && (ZSTD_isError(ZSTD_CCtx_setParameter(made, ZSTD_c_compressionLevel,
                                                                kSnapshotCompressionLevel)) ||
                            ZSTD_isError(ZSTD_CCtx_setParameter(made, ZSTD_c_checksumFlag, 1)))) {
      ZSTD_freeCCtx(made);
      made = nullptr;
    }
    return made;
  }());
  return c.get();
}

}  // namespace

Result<std::string> encode_snapshot_data(std::string_view data) {
  // Plain bytes are a valid encoding of themselves unless they look like an encoded blob; keep
  // them when compressing failed (no memory) or did not pay.
  const bool plain_ok = !codec_of(data).has_value();
  ZSTD_CCtx* c = compressor();
  const size_t bound = ZSTD_compressBound(data.size());
  // Compressed into a buffer left uninitialized, as large as the worst case: zero-filling it
  // would write every page of it (a view's snapshot is tens of MB), though a snapshot compresses
  // to a fourth or less and the pages never written are never touched.
  std::unique_ptr<char[]> buffer(
      c == nullptr || ZSTD_isError(bound) ? nullptr : new (std::nothrow) char[kHeaderSize + bound]);
  if (buffer == nullptr) {
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal, "snapshot data does not compress: out of memory");
  }
  write_zstd_header(data.size(), buffer.get());
  const size_t written =
      ZSTD_compress2(c, buffer.get() + kHeaderSize, bound, data.data(), data.size());
  if (ZSTD_isError(written)) {  // cannot happen with the bound's room; kept plain if it did
    if (plain_ok) return std::string(data);
    return make_error(ErrorCode::internal, std::string("snapshot data does not compress: ") +
                                               ZSTD_getErrorName(written));
  }
  if (plain_ok && kHeaderSize + written >= data.size()) return std::string(data);
  return std::string(buffer.get(), kHeaderSize + written);
}

SnapshotEncoder::SnapshotEncoder(size_t reserve) {
  out_.reserve(std::max(reserve, size_t{256}));
  out_.append(kHeaderSize, '\0');  // written by finish(), with the plain size
  ZSTD_CCtx* c = compressor();
  scratch_.reset(new (std::nothrow) char[kScratch]);
  if (c == nullptr || scratch_ == nullptr) {
    error_ = "no memory for the compressor";
    return;
  }
  // A frame of its own, from the level and checksum the context was made with; whatever an
  // earlier frame left unfinished (an encoder dropped before finish) is discarded.
  ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
}

SnapshotEncoder::~SnapshotEncoder() = default;

void SnapshotEncoder::add(std::string_view plain) {
  plain_bytes_ += plain.size();
  if (error_.empty() && !plain.empty()) compress(plain, /*end=*/false);
}

void SnapshotEncoder::compress(std::string_view plain, bool end) {
  ZSTD_CCtx* c = compressor();
  ZSTD_inBuffer in{plain.data(), plain.size(), 0};
  for (;;) {
    // Into a buffer of zstd's block size that stays in the cache, then appended: the string
    // doubles as it grows and each compressed byte is copied once.
    ZSTD_outBuffer out{scratch_.get(), kScratch, 0};
    const size_t left = ZSTD_compressStream2(c, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) {
      error_ = ZSTD_getErrorName(left);
      return;
    }
    out_.append(scratch_.get(), out.pos);
    if (end ? left == 0 : in.pos == in.size) return;
  }
}

Result<std::string> SnapshotEncoder::finish() {
  if (error_.empty()) compress({}, /*end=*/true);
  if (!error_.empty()) {
    return make_error(ErrorCode::internal, "snapshot data does not compress: " + error_);
  }
  write_zstd_header(plain_bytes_, out_.data());
  return std::move(out_);
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
  const std::optional<SnapshotCodec> codec = codec_of(stored);
  if (!codec) return std::optional<EncodedSnapshotParts>();
  if (stored.size() < kHeaderSize) {
    return corrupt(
        fmt::format("is cut short: {} bytes, the header alone is {}", stored.size(), kHeaderSize));
  }
  const uint64_t size = *header_plain_size(stored);
  const std::string_view stream = stored.substr(kHeaderSize);
  const uint64_t max_ratio = *codec == SnapshotCodec::zstd ? kMaxZstdRatio : kMaxZlibRatio;
  if (size > stream.size() * max_ratio + 64) {
    return corrupt(fmt::format("claims {} bytes from {} compressed ones", size, stream.size()));
  }
  if (*codec == SnapshotCodec::zstd) {
    // The frame's own header and block headers, read without decompressing: where it ends and
    // what it holds.
    const size_t frame = ZSTD_findFrameCompressedSize(stream.data(), stream.size());
    if (ZSTD_isError(frame)) {
      return corrupt("does not decompress: not a complete zstd frame, or its checksum differs");
    }
    if (frame < stream.size()) {
      return corrupt(fmt::format("has {} bytes after its zstd frame", stream.size() - frame));
    }
    // A frame compressed as its data was made does not say its size (SnapshotEncoder); the
    // stream then checks what it decompresses to against the header as it goes.
    const unsigned long long content = ZSTD_getFrameContentSize(stream.data(), stream.size());
    if (content == ZSTD_CONTENTSIZE_ERROR) {
      return corrupt("does not decompress: its zstd frame header is damaged");
    }
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != size) {
      return corrupt(fmt::format("decompresses to {} bytes, its header says {}", content, size));
    }
  }
  return std::optional<EncodedSnapshotParts>(EncodedSnapshotParts{size, *codec, stream});
}

std::optional<uint64_t> header_plain_size(std::string_view head) {
  if (!codec_of(head) || head.size() < kHeaderSize) return std::nullopt;
  uint64_t size = 0;
  for (size_t i = 0; i < 8; ++i) {
    size |= static_cast<uint64_t>(static_cast<unsigned char>(head[kMagicSize + i])) << (8 * i);
  }
  return size;
}

int64_t snapshot_plain_size(std::string_view stored, bool encoded) {
  const std::optional<uint64_t> header = encoded ? header_plain_size(stored) : std::nullopt;
  return static_cast<int64_t>(header ? *header : stored.size());
}

Result<std::string> decode_snapshot_data(std::string stored) {
  if (!codec_of(stored)) return stored;
  // Decompressed a window at a time into the one string returned; the stream checks the header
  // (split_encoded_snapshot) and says what is damaged.
  SnapshotDataStream stream(stored, /*encoded=*/true);
  if (auto damaged = stream.damage(); !damaged.ok()) return damaged.error();
  std::string out;
  out.reserve(stream.size());
  const void* data = nullptr;
  int size = 0;
  while (stream.Next(&data, &size)) out.append(static_cast<const char*>(data), size);
  if (auto done = stream.finish(); !done.ok()) return done.error();
  return out;
}

}  // namespace bel::storage
