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
//   "\0belz"              5 bytes of magic. A protobuf message never starts with 0x00 (field 0
//                         does not exist) and neither does the checkpoint's "belTS", so no
//                         snapshot written before compression starts with it.
//   uncompressed length   8 bytes, little endian
//   zlib stream           deflate with zlib header and checksum (RFC 1950), written by libdeflate
//                         at kSnapshotCompressionLevel; any zlib stream reads back (blobs
//                         written by zlib itself, before libdeflate, load as they are)
//
// encode_snapshot_data keeps data that would not shrink as it is (a tiny blob stays smaller
// than its header), unless it starts with the magic itself; so decode(encode(x)) == x for any x.
// decode_snapshot_data returns data without the magic unchanged: logs written before
// compression load with no migration. Pure code, thread-safe.
#ifndef BEL_STORAGE_SNAPSHOT_CODEC_H_
#define BEL_STORAGE_SNAPSHOT_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel::storage {

// libdeflate's level 1: a 38 MB view state deflates in ~70 ms to about a sixth (zlib's level 3,
// used before, took ~175 ms for a slightly larger result); higher levels gain little and cost
// twice the time or more. docs/performance.md has the measurements.
inline constexpr int kSnapshotCompressionLevel = 1;

// The bytes to store for snapshot data `data`. Errors: internal only when there is no memory
// for the compressor and `data` starts with the magic (any other data is then stored as it is).
Result<std::string> encode_snapshot_data(std::string_view data);

// What a backend that compresses stores for snapshot data `data`: `data` itself when its caller
// encoded it already (`encoded`, Snapshot::encoded), else encode_snapshot_data(data), kept in
// `*scratch`. The view is valid while `data` and `*scratch` are.
Result<std::string_view> stored_snapshot_bytes(const std::string& data, bool encoded,
                                               std::string* scratch);

// The snapshot data `stored` holds. Errors: storage_corrupt when `stored` carries the magic
// but its header is cut short, its zlib stream does not inflate, or it inflates to another
// length than its header says. The message says what is wrong, not where: callers add the
// log and the snapshot's view and version.
Result<std::string> decode_snapshot_data(std::string stored);

// The parts of an encoded blob: what its data inflates to and its zlib stream; nullopt for plain
// data (no magic). storage_corrupt when the header is cut short or claims more bytes than deflate
// can produce from the stream. For readers that inflate as they go (snapshot_stream.h).
struct EncodedSnapshotParts {
  uint64_t size = 0;
  std::string_view zlib;
};
Result<std::optional<EncodedSnapshotParts>> split_encoded_snapshot(std::string_view stored);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SNAPSHOT_CODEC_H_
