// Snapshot data at rest: the SQLite and PostgreSQL backends store a snapshot's bytes compressed,
// so that callers (views, `bel views rebuild`, the write-side checkpoint) save and load plain
// bytes and never see the difference.
//
//   auto stored = encode_snapshot_data(snapshot.data);
//   if (!stored.ok()) return stored.error();
//   bind_blob(stmt, 4, *stored);
//   auto data = decode_snapshot_data(column_string(stmt, 1));
//   if (!data.ok()) return data.error().with_context("sqlite:///x.db: snapshot job_runs v2");
//
// Format of an encoded blob:
//   magic                 5 bytes: "\0belZ", a zstd frame follows; or "\0belz", a zlib stream
//                         follows (what bel wrote before it moved to zstd: still read, no longer
//                         written). A protobuf message never starts with 0x00 (field 0 does not
//                         exist) and neither does the checkpoint's "belTS", so no snapshot
//                         written before compression starts with either.
//   uncompressed length   8 bytes, little endian
//   zstd frame            Zstandard (RFC 8878) at kSnapshotCompressionLevel, with its checksum
//                         and, unless compressed as it was made (SnapshotEncoder), the content
//                         size in its header (equal to the length above)
//   or zlib stream        deflate with zlib header and checksum (RFC 1950)
//
// encode_snapshot_data keeps data that would not shrink as it is (a tiny blob stays smaller
// than its header), unless it starts with a magic itself; so decode(encode(x)) == x for any x.
// decode_snapshot_data returns data without a magic unchanged: logs written before
// compression load with no migration. Pure code, thread-safe.
#ifndef BEL_STORAGE_SNAPSHOT_CODEC_H_
#define BEL_STORAGE_SNAPSHOT_CODEC_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel::storage {

// zstd's level 1: on a 1M-event log's snapshots (7.5 to 38.6 MB each) it compresses at 540-730
// MB/s to a fourth to a seventh, about 1.8 times as fast as libdeflate's level 1, which wrote
// them before, and to 8-15% fewer bytes; docs/performance.md has the measurements.
inline constexpr int kSnapshotCompressionLevel = 1;

// The bytes to store for snapshot data `data`. Errors: internal only when there is no memory
// for the compressor and `data` starts with the magic (any other data is then stored as it is).
Result<std::string> encode_snapshot_data(std::string_view data);

// encode_snapshot_data as the data is made, a chunk at a time, so that it is never held whole:
// a view serializing its snapshot hands each chunk to add() (projections/views.h,
// SnapshotTarget), and only the compressed bytes are kept. finish() gives the blob: the same
// format, always compressed (a zstd frame, its content size left out of the frame header since
// it is not known when the frame starts; the blob's own header has it).
//
//   SnapshotEncoder encoder(expected_stored_bytes);
//   view.serialize(projections::SnapshotTarget(
//       [&](std::string_view chunk) { encoder.add(chunk); }));
//   Result<std::string> stored = encoder.finish();  // Snapshot::encoded
//
// Errors (from finish): internal, when there was no memory for the compressor or its output.
// One thread at a time; an encoder is used once.
class SnapshotEncoder {
 public:
  // `reserve`: the compressed bytes expected (the last blob's size, say), taken up front.
  explicit SnapshotEncoder(size_t reserve = 0);
  ~SnapshotEncoder();
  SnapshotEncoder(const SnapshotEncoder&) = delete;
  SnapshotEncoder& operator=(const SnapshotEncoder&) = delete;

  void add(std::string_view plain);
  Result<std::string> finish();
  // The plain bytes added so far.
  uint64_t plain_bytes() const { return plain_bytes_; }

 private:
  void compress(std::string_view plain, bool end);

  static constexpr size_t kScratch = size_t{128} << 10;
  std::unique_ptr<char[]> scratch_;
  std::string out_;
  uint64_t plain_bytes_ = 0;
  std::string error_;  // the first failure, reported by finish()
};

// What a backend that compresses stores for snapshot data `data`: `data` itself when its caller
// encoded it already (`encoded`, Snapshot::encoded), else encode_snapshot_data(data), kept in
// `*scratch`. The view is valid while `data` and `*scratch` are.
Result<std::string_view> stored_snapshot_bytes(const std::string& data, bool encoded,
                                               std::string* scratch);

// The snapshot data `stored` holds. Errors: storage_corrupt when `stored` carries a magic
// but its header is cut short, its stream does not decompress (or fails its checksum), or it
// decompresses to another length than its header says. The message says what is wrong, not
// where: callers add the log and the snapshot's view and version.
Result<std::string> decode_snapshot_data(std::string stored);

// How an encoded blob's data is compressed.
enum class SnapshotCodec { zstd, zlib };

// The parts of an encoded blob: what its data decompresses to, its codec and its compressed bytes;
// nullopt for plain data (no magic). storage_corrupt when the header is cut short or claims more
// bytes than the codec can produce from the stream, and, for zstd, when the frame is cut short, is
// followed by other bytes, or says another size than the header. For readers that decompress as
// they go (snapshot_stream.h).
struct EncodedSnapshotParts {
  uint64_t size = 0;
  SnapshotCodec codec = SnapshotCodec::zstd;
  std::string_view stream;
};
Result<std::optional<EncodedSnapshotParts>> split_encoded_snapshot(std::string_view stored);

// The size a stored blob's header says its data decompresses to, from the blob's first bytes
// `head` (kSnapshotHeaderBytes of them, or the whole blob when shorter); nothing for a blob
// without a header (plain data, whose size is its own). Not checked against the data: a hint.
std::optional<uint64_t> header_plain_size(std::string_view head);
inline constexpr size_t kSnapshotHeaderBytes = 13;
// The size of the plain data of `stored`, a snapshot's data as a storage returned it (`encoded`
// as Snapshot::encoded), from its header when it has one.
int64_t snapshot_plain_size(std::string_view stored, bool encoded);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SNAPSHOT_CODEC_H_
