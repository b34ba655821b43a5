// Reading and writing a view snapshot without holding it whole. A view's snapshot on a 10M-event
// log is hundreds of megabytes (tens once compressed), and its parsed protobuf form several times
// that. A restore reads it once, front to back (SnapshotInput below): the header fields (view,
// version, as_of_idx, counts) first, then each entry of the repeated message fields parsed into one
// reused message. Read from a stream that inflates the stored blob as it goes
// (storage/snapshot_stream.h), only a window of the plain bytes is ever held.
//
// Writing is the mirror (SnapshotWriter): the header message (entries empty) first, then each
// entry as one reused message, appended as it is made. A header field whose number is above the
// entries' (entry_count) is thus written before them, not in field-number order: protobuf reads
// the fields in any order, and a one-pass reader needs the header first.
//
//   snap::JobRunsSnapshot header;
//   header.set_entry_count(runs_.size());
//   SnapshotWriter out = start_snapshot(kName, kVersion, header, target);  // views.h
//   out.add_each<snap::JobRunState>(snap::JobRunsSnapshot::kRunsFieldNumber, runs_,
//                                   [](const Run& run, snap::JobRunState* r) { ...; });
//   return out.take();
//
// Errors: snapshot_error(name, "bytes do not parse") for bytes that are not a valid message, the
// header check's errors (views.h, parse_snapshot), the stream's, and whatever a visitor returns
// (reading stops at the first error). Pure code: no I/O.
#ifndef BEL_PROJECTIONS_SNAPSHOT_READER_H_
#define BEL_PROJECTIONS_SNAPSHOT_READER_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "messages/error.h"
#include "projections/pages_ahead.h"
#include "projections/views.h"

namespace bel::projections {

// One top-level field of a serialized message: its number, wire type, where its bytes start and
// end in the message (tag included), and for a length-delimited field its payload.
struct SnapshotField {
  int number = 0;
  int wire_type = 0;
  size_t begin = 0;
  size_t end = 0;
  const char* payload = nullptr;
  int payload_size = 0;
};

// A snapshot read once, front to back: from its bytes, or from a stream (a stored blob inflated as
// it is read, storage/snapshot_stream.h), so that a restore never needs the bytes whole. The
// header fields come first (as SnapshotWriter writes them); then the entries, each read once, in
// the order they were written. Every restore() reads its snapshot through one.
//
//   SnapshotInput in(bytes);                             // or from a stream, see below
//   snap::JobRunsSnapshot header;
//   BEL_RETURN_IF_ERROR(in.read_header(kName, kVersion, &header));
//   snap::JobRunState run;
//   BEL_RETURN_IF_ERROR(in.for_each(Snapshot::kRunsFieldNumber, &run,
//                                   [&](snap::JobRunState& r) -> Status { ...; }));
//
// A stream comes with `check`: check(false) tells whether the stream has met damage so far (an
// entry that does not parse is then reported with the stream's own words), check(true), called
// once the last field was read, whether the stream was whole. A damaged stream ends early, which
// to a protobuf reader looks like a well-formed end: without check(true) a cut snapshot would
// restore a prefix of itself.
//
// Errors, all snapshot_error(name, ...) (storage_corrupt): "bytes do not parse" for bytes that
// are no message or an entry that does not parse as its message, the header check's errors, the
// stream's, and whatever a visitor returns. Not thread-safe.
class SnapshotInput {
 public:
  explicit SnapshotInput(const std::string& bytes);
  // `size`: what the stream holds in all (bounds what a header's counts may reserve).
  SnapshotInput(google::protobuf::io::ZeroCopyInputStream* stream, uint64_t size,
                std::function<Status(bool at_end)> check);
  ~SnapshotInput();
  SnapshotInput(const SnapshotInput&) = delete;
  SnapshotInput& operator=(const SnapshotInput&) = delete;

  // Reads the fields before the first repeated message field of Snapshot into `snapshot` and
  // checks its view and version as parse_snapshot() does. Call first, once.
  template <class Snapshot>
  Status read_header(std::string_view name, int32_t version, Snapshot* snapshot) {
    name_ = std::string(name);
    std::string header;
    if (!read_header_bytes(Snapshot::descriptor(), &header)) return damage();
    // A stream damaged before its first entry ends early, leaving a header of nothing: say why.
    if (auto stream = check_(false); !stream.ok()) {
      return snapshot_error(name, stream.error().message);
    }
    return parse_snapshot(name, version, header, snapshot);
  }

  // How many entries to make room for: `declared` (a count the header carries, 0 when it has
  // none), else, from bytes, the number of field `number`'s entries; at most one per eight bytes
  // of the snapshot, whatever a damaged header says.
  size_t entries_hint(int64_t declared, int number) const;

  // The field number of the next entry, 0 after the last one (the stream checked whole).
  Result<int> next_entry();
  // Parses the entry next_entry() just found into `entry`.
  Status parse_entry(google::protobuf::MessageLite* entry);
  // Passes over it (a field this reader does not use).
  Status skip_entry();

  // Reads every entry to the end: visit(*scratch) -> Status for each of field `number`, parsed
  // into `scratch`, in order, stopping at the first error; other fields are passed over.
  template <class Entry, class Visit>
  Status for_each(int number, Entry* scratch, Visit visit) {
    while (true) {
      auto next = next_entry();
      if (!next.ok()) return next.error();
      if (*next == 0) return ok_status();
      if (*next != number) {
        BEL_RETURN_IF_ERROR(skip_entry());
        continue;
      }
      BEL_RETURN_IF_ERROR(parse_entry(scratch));
      BEL_RETURN_IF_ERROR(visit(*scratch));
    }
  }

 private:
  bool read_header_bytes(const google::protobuf::Descriptor* descriptor, std::string* out);
  // After ReadTag() returned 0: whether that was the end of the bytes, not a zero byte.
  bool at_end();
  // "bytes do not parse", or the stream's own error when it met damage.
  Error damage() const;

  std::string name_;
  const std::string* bytes_ = nullptr;  // when read from bytes
  uint64_t size_ = 0;
  std::function<Status(bool)> check_;
  std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> array_;
  std::unique_ptr<google::protobuf::io::CodedInputStream> in_;
  uint32_t tag_ = 0;          // the tag of the entry next_entry() found
  bool tag_pending_ = false;  // read_header read it already
};

// Calls visit(field) for each top-level field of `bytes`, in order, while it returns true.
// False when the bytes are not a well-formed message (a visit returning false is not an error).
bool walk_snapshot_fields(const std::string& bytes,
                          const std::function<bool(const SnapshotField&)>& visit);

// How many entries field `number` has in `bytes` (0 for bytes that do not parse).
size_t count_snapshot_entries(const std::string& bytes, int number);

template <class Snapshot>
Status ViewPosition::read_header(const char* name, int version, SnapshotInput& in,
                                 Snapshot* snapshot) {
  BEL_RETURN_IF_ERROR(in.read_header(name, version, snapshot));
  as_of_idx_ = snapshot->as_of_idx();
  return ok_status();
}

// Builds a snapshot's bytes entry by entry (see above), for the target's string or its chunks
// (views.h, SnapshotTarget). `reserve`: the bytes expected (0: none), taken up front, so that a
// snapshot of that size is not copied into a larger buffer each time it outgrows one (untouched
// room costs address space, not memory). With chunks, one buffer of about kChunk bytes is filled
// and handed over again and again, so it stays in the CPU's cache and the snapshot is never whole.
class SnapshotWriter {
 public:
  static constexpr size_t kChunk = size_t{128} << 10;

  explicit SnapshotWriter(const google::protobuf::MessageLite& header, SnapshotTarget target = {})
      : chunks_(std::move(target.chunks)) {
    out_.reserve(chunks_ ? kChunk + kChunk / 4 : target.reserve);
    header.AppendToString(&out_);
  }
  // Appends `entry` as one element of the repeated message field `number`.
  void add(int number, const google::protobuf::MessageLite& entry);
  // Appends one entry of field `number` per item of `items`, in order, each made by
  // fill(item, &entry) in one reused (cleared) Entry.
  template <class Entry, class Items, class Fill>
  void add_each(int number, const Items& items, Fill fill) {
    Entry entry;
    for (const auto& item : items) {
      entry.Clear();
      fill(item, &entry);
      add(number, entry);
    }
  }
  // The bytes; with chunks, "" once the last chunk is handed over.
  std::string take() {
    if (!chunks_) return std::move(out_);
    flush();
    return {};
  }

 private:
  void flush() {
    if (out_.empty()) return;
    chunks_(std::string_view(out_));
    out_.clear();
  }

  SnapshotChunks chunks_;
  std::string out_;
  PagesAhead pages_;  // a snapshot's bytes are written once, into fresh pages
};

template <class Snapshot, class Entry, class List, class Index, class Visit>
Status ViewPosition::restore_entry_list(const char* name, int version, SnapshotInput& in,
                                        int number, List* list, Index* index, Visit visit) {
  Snapshot header;
  BEL_RETURN_IF_ERROR(read_header(name, version, in, &header));
  list->reserve(in.entries_hint(header.entry_count(), number));
  index->reserve(list->capacity());
  SnapshotEntryOrder order(name, as_of_idx_);
  Entry scratch;
  return in.for_each(number, &scratch, [&](Entry& entry) { return visit(entry, order); });
}

template <class Snapshot>
SnapshotWriter ViewPosition::start_snapshot(const char* name, int version, Snapshot header,
                                            SnapshotTarget target) const {
  header.set_view(name);
  header.set_version(version);
  header.set_as_of_idx(as_of_idx_);
  return SnapshotWriter(header, std::move(target));
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_SNAPSHOT_READER_H_
