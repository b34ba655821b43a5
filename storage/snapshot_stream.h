// SnapshotDataStream: the snapshot data a stored blob holds (snapshot_codec.h), decompressed as
// it is read. A view restored from the whole data (decode_snapshot_data()) would hold it, whole,
// beside the state it builds. Read through this stream instead, a restore holds the compressed
// blob and one window (kWindow bytes) of its data at a time: on a 10M-event log the last view's
// restore no longer holds its 76 MB of snapshot data beside every other view's state
// (docs/performance.md, "Views restore as they inflate"). Both codecs read: zstd frames, and the
// zlib streams of blobs written before.
//
//   auto loaded = storage.load_stored_snapshot("job_runs", 2);   // the blob, not decompressed
//   storage::SnapshotDataStream stream((*loaded)->data, (*loaded)->encoded);
//   ... a protobuf reader takes &stream (a ZeroCopyInputStream) and reads it to its end ...
//   if (auto done = stream.finish(); !done.ok()) return done;     // damaged: refuse what was read
//
// Errors: the stream ends early (Next() returns false) at the first damage: a header cut short or
// claiming more than the codec can produce, a stream that does not decompress or whose checksum
// differs, more or fewer bytes than the header says, bytes after the stream. finish() then says
// which, as storage_corrupt, with the same words as decode_snapshot_data(); a reader must call it
// once it has read everything it wanted, since an early end looks like the end of the data to the
// reader. finish() on a stream not read to its end is an error too ("not read to its end").
// Not thread-safe; `stored` must outlive the stream.
#ifndef BEL_STORAGE_SNAPSHOT_STREAM_H_
#define BEL_STORAGE_SNAPSHOT_STREAM_H_

#include <google/protobuf/io/zero_copy_stream.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel::storage {

class SnapshotDataStream final : public google::protobuf::io::ZeroCopyInputStream {
 public:
  // Inflated bytes handed out per Next(): a window this size is all of the data held at once.
  static constexpr size_t kWindow = 256 * 1024;

  // `stored` as a storage returned it: `encoded` is Snapshot::encoded (false: plain data, which may
  // start with the codec's magic; true: encode_snapshot_data's output, plain or compressed).
  SnapshotDataStream(std::string_view stored, bool encoded, size_t window = kWindow);
  ~SnapshotDataStream() override;
  SnapshotDataStream(const SnapshotDataStream&) = delete;
  SnapshotDataStream& operator=(const SnapshotDataStream&) = delete;

  bool Next(const void** data, int* size) override;
  void BackUp(int count) override;
  bool Skip(int count) override;
  int64_t ByteCount() const override;

  // ok when every byte was read and the data was whole (see above).
  Status finish() const;
  // The damage met so far, ok when none (yet): a reader that failed to parse asks whether the
  // stream was the cause.
  Status damage() const;
  // What the data decompresses to, as its header says (plain data: its size).
  uint64_t size() const { return size_; }

  // From now on, the pages of compressed `stored` that the stream has decompressed are given back
  // to the system as it goes (Linux's madvise(MADV_DONTNEED), in steps of kReleaseStep): a restore
  // then holds, at its end, little of the blob beside the state it built. Those bytes read as
  // zeros afterwards, so the owner of `stored` must not read it again (it may free it). Plain
  // data, which Next() hands out in place, is never released.
  void release_read_bytes() { release_ = true; }
  static constexpr size_t kReleaseStep = 1 << 20;

 private:
  struct Inflater;
  bool fail(std::string what);
  // Decompresses the next window into buffer_; false at the end of the data or on damage.
  bool inflate_next();
  // inflate_next() for each codec: the bytes of the window filled, and whether the stream ended;
  // false on damage.
  bool next_zlib(size_t* got, bool* ended);
  bool next_zstd(size_t* got, bool* ended);
  // Gives back the whole pages of stored bytes read before `read_to` (release_read_bytes).
  void release_up_to(const char* read_to);

  std::string_view stored_;
  const char* released_to_ = nullptr;  // stored bytes before this are given back
  bool release_ = false;
  bool plain_ = true;
  uint64_t size_ = 0;      // what the data decompresses to, from the header (plain: its size)
  uint64_t produced_ = 0;  // decompressed (plain: handed out) so far
  std::unique_ptr<Inflater> inflater_;
  std::unique_ptr<char[]> buffer_;
  size_t window_;
  const char* last_ = nullptr;  // the last block Next() handed out
  int last_size_ = 0;
  int backed_up_ = 0;  // of it, given back by BackUp()
  int64_t count_ = 0;  // bytes read: handed out minus backed up
  bool ended_ = false;
  std::optional<std::string> error_;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_SNAPSHOT_STREAM_H_
