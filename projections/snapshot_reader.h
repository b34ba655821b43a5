// Reading and writing a view snapshot without holding it parsed whole. A view's snapshot on a 1M-event log is tens of
// megabytes, and its parsed protobuf form several times that: restore() parsing the whole message
// held the bytes, the parsed message and the view being built at once, which set the peak memory
// of every process that loads views. Here the header fields (view, version, as_of_idx, counts) are
// parsed on their own, and the entries of a repeated message field are visited one at a time, each
// parsed into one reused message. The bytes are the same as before: serialize() is unchanged.
//
//   snap::JobRunsSnapshot header;                              // its entries are left empty
//   BEL_RETURN_IF_ERROR(parse_snapshot_header(kName, kVersion, bytes, &header));
//   snap::JobRunState run;                                     // reused for every entry
//   BEL_RETURN_IF_ERROR(for_each_snapshot_entry(kName, bytes,
//       snap::JobRunsSnapshot::kRunsFieldNumber, &run, [&](snap::JobRunState& r) -> Status {
//         ...;                                                // may move strings out of r
//         return ok_status();
//       }));
//
// Writing is the mirror (SnapshotWriter): the header message (entries empty) first, then each
// entry as one reused message, appended as it is made; the bytes equal serializing the whole
// message when the entries are added in field-number order.
//
//   SnapshotWriter out = start_snapshot<snap::JobRunsSnapshot>(kName, kVersion);
//   out.add_each<snap::JobRunState>(snap::JobRunsSnapshot::kRunsFieldNumber, runs_,
//                                   [](const Run& run, snap::JobRunState* r) { ...; });
//   return out.take();
//
// Errors: snapshot_error(name, "bytes do not parse") for bytes that are not a valid message, the
// header check's errors (views.h, parse_snapshot), and whatever the visitor returns (visiting stops
// at the first error). Pure code: no I/O.
#ifndef BEL_PROJECTIONS_SNAPSHOT_READER_H_
#define BEL_PROJECTIONS_SNAPSHOT_READER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message_lite.h>

#include "messages/error.h"
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

// Calls visit(field) for each top-level field of `bytes`, in order, while it returns true.
// False when the bytes are not a well-formed message (a visit returning false is not an error).
bool walk_snapshot_fields(const std::string& bytes,
                          const std::function<bool(const SnapshotField&)>& visit);

// The bytes of `bytes` without its repeated message fields (per `descriptor`).
bool snapshot_header_bytes(const std::string& bytes, const google::protobuf::Descriptor* descriptor,
                           std::string* out);

// Parses the fields of `bytes` other than its repeated message fields into `snapshot` and checks
// its view and version as parse_snapshot() does.
template <class Snapshot>
Status parse_snapshot_header(std::string_view name, int32_t version, const std::string& bytes,
                             Snapshot* snapshot) {
  std::string header;
  if (!snapshot_header_bytes(bytes, Snapshot::descriptor(), &header)) {
    return snapshot_error(name, "bytes do not parse");
  }
  return parse_snapshot(name, version, header, snapshot);
}

template <class Snapshot>
Status ViewPosition::read_header(const char* name, int version, const std::string& bytes,
                                 Snapshot* snapshot) {
  BEL_RETURN_IF_ERROR(parse_snapshot_header(name, version, bytes, snapshot));
  as_of_idx_ = snapshot->as_of_idx();
  return ok_status();
}

// How many entries field `number` has in `bytes` (0 for bytes that do not parse).
size_t count_snapshot_entries(const std::string& bytes, int number);

// Parses each entry of the repeated message field `number` of `bytes` into `*scratch` and calls
// visit(*scratch) -> Status, in order, stopping at the first error.
template <class Entry, class Visit>
Status for_each_snapshot_entry(std::string_view name, const std::string& bytes, int number,
                               Entry* scratch, Visit visit) {
  Status status = ok_status();
  const bool parsed = walk_snapshot_fields(bytes, [&](const SnapshotField& f) {
    if (f.number != number) return true;
    if (f.payload == nullptr || !scratch->ParseFromArray(f.payload, f.payload_size)) {
      status = snapshot_error(name, "bytes do not parse");
      return false;
    }
    status = visit(*scratch);
    return status.ok();
  });
  if (!status.ok()) return status;
  if (!parsed) return snapshot_error(name, "bytes do not parse");
  return ok_status();
}

// The same, each entry parsed into an Entry of its own making.
template <class Entry, class Visit>
Status for_each_snapshot_entry(std::string_view name, const std::string& bytes, int number,
                               Visit visit) {
  Entry scratch;
  return for_each_snapshot_entry(name, bytes, number, &scratch, visit);
}

// Builds a snapshot's bytes entry by entry (see above).
class SnapshotWriter {
 public:
  explicit SnapshotWriter(const google::protobuf::MessageLite& header) {
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
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

template <class Snapshot, class Entry, class List, class Index, class Visit>
Status ViewPosition::restore_entry_list(const char* name, int version, const std::string& bytes,
                                        int number, List* list, Index* index, Visit visit) {
  Snapshot header;
  BEL_RETURN_IF_ERROR(read_header(name, version, bytes, &header));
  list->reserve(count_snapshot_entries(bytes, number));
  index->reserve(list->capacity());
  SnapshotEntryOrder order(name, as_of_idx_);
  return for_each_snapshot_entry<Entry>(name, bytes, number,
                                        [&](Entry& entry) { return visit(entry, order); });
}

template <class Snapshot>
SnapshotWriter ViewPosition::start_snapshot(const char* name, int version, Snapshot header) const {
  header.set_view(name);
  header.set_version(version);
  header.set_as_of_idx(as_of_idx_);
  return SnapshotWriter(header);
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_SNAPSHOT_READER_H_
