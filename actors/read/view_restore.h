// A view restored from its snapshot's data as the storage returned it (load_stored_snapshot):
// compressed data is decompressed as the restore reads it (storage/snapshot_stream.h), so the
// snapshot's plain bytes are never held whole beside the state being built. Handed over (an
// rvalue), the compressed bytes are also given back to the system as they are read, so that the
// end of a restore holds little of the blob beside the state. The coordinator's views and `bel
// check` restore through it.
//
//   auto loaded = storage.load_stored_snapshot(View::kName, View::kVersion);
//   auto view = restore_view<View>(std::move((*loaded)->data), (*loaded)->encoded);
//
// Errors: View::restore's (storage_corrupt naming the view), including the stream's own when the
// compressed data is damaged (snapshot_stream.h).
//
// The mirror, compressed_snapshot below: a view's snapshot compressed as it is serialized, so that
// its plain bytes are never held whole either. The coordinator's views, `bel views rebuild` and
// `bel append`'s snapshot refresh save through it.
#ifndef BEL_ACTORS_READ_VIEW_RESTORE_H_
#define BEL_ACTORS_READ_VIEW_RESTORE_H_

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "messages/error.h"
#include "projections/snapshot_reader.h"
#include "storage/snapshot_codec.h"
#include "storage/snapshot_stream.h"

namespace bel::actors {

namespace detail {
// Whether View restores from a SnapshotInput (every view of projections/ does; a test's view may
// restore from bytes only, which then are inflated whole first).
template <class View, class = void>
struct RestoresFromInput : std::false_type {};
template <class View>
struct RestoresFromInput<
    View, std::void_t<decltype(View::restore(std::declval<projections::SnapshotInput&>()))>>
    : std::true_type {};

// restore_view below, without turning running out of memory into an error.
template <class View>
Result<View> restore_view_or_throw(const std::string& data, bool encoded, int64_t* plain_size,
                                   bool release_read) {
  if (plain_size != nullptr) *plain_size = static_cast<int64_t>(data.size());
  if (!encoded) return View::restore(data);
  if constexpr (RestoresFromInput<View>::value) {
    storage::SnapshotDataStream stream(data, /*encoded=*/true);
    if (release_read) stream.release_read_bytes();
    if (plain_size != nullptr) *plain_size = static_cast<int64_t>(stream.size());
    projections::SnapshotInput in(&stream, stream.size(), [&](bool at_end) {
      return at_end ? stream.finish() : stream.damage();
    });
    return View::restore(in);
  } else {
    auto plain = storage::decode_snapshot_data(data);
    if (!plain.ok()) return plain.error();
    if (plain_size != nullptr) *plain_size = static_cast<int64_t>(plain->size());
    return View::restore(*plain);
  }
}

// restore_view below: running out of memory is an error of the snapshot.
template <class View>
Result<View> restore_view_caught(const std::string& data, bool encoded, int64_t* plain_size,
                                 bool release_read) {
  try {
    return restore_view_or_throw<View>(data, encoded, plain_size, release_read);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::storage_corrupt,
                      std::string(View::kName) + " snapshot: does not fit in memory");
  } catch (const std::length_error&) {
    return make_error(ErrorCode::storage_corrupt,
                      std::string(View::kName) + " snapshot: asks for a table too large");
  }
}

}  // namespace detail

// `plain_size`, when given, is set to the size of the snapshot's plain bytes. Running out of
// memory (a damaged count can ask for a table the snapshot cannot fill) is an error of the
// snapshot: the view then folds from idx 1. `data` is left as it was.
template <class View>
Result<View> restore_view(const std::string& data, bool encoded, int64_t* plain_size = nullptr) {
  return detail::restore_view_caught<View>(data, encoded, plain_size, /*release_read=*/false);
}

// The same, consuming `data`: its compressed bytes are given back to the system as the restore
// reads them (storage::SnapshotDataStream::release_read_bytes), and freed at the end.
template <class View>
Result<View> restore_view(std::string&& data, bool encoded, int64_t* plain_size = nullptr) {
  std::string consumed = std::move(data);  // read no more once its pages are given back
  return detail::restore_view_caught<View>(consumed, encoded, plain_size, /*release_read=*/true);
}

// `view`'s snapshot as the storage stores it (Snapshot::encoded): compressed a chunk at a time as
// the view serializes it (projections::SnapshotTarget, storage::SnapshotEncoder). `reserve`: the
// compressed bytes expected; `*plain_bytes` (may be null) gets the size before compression.
// Errors: internal, when there is no memory to compress (SnapshotEncoder::finish).
template <class View>
Result<std::string> compressed_snapshot(const View& view, size_t reserve, int64_t* plain_bytes) {
  storage::SnapshotEncoder encoder(reserve);
  // What serialize() returns is "" unless the view ignores the target (a test's, say).
  encoder.add(view.serialize(
      projections::SnapshotTarget([&](std::string_view chunk) { encoder.add(chunk); })));
  if (plain_bytes != nullptr) *plain_bytes = static_cast<int64_t>(encoder.plain_bytes());
  return encoder.finish();
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_VIEW_RESTORE_H_
