// snapshots (tests/fuzz/harnesses.h).
#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "projections/queries.h"
#include "storage/snapshot_codec.h"
#include "storage/snapshot_stream.h"
#include "tests/fuzz/harnesses.h"

namespace bel::fuzz {
namespace {

using projections::AllViews;
using projections::ViewKind;

// Everything `stream` yields.
std::string read_all(storage::SnapshotDataStream& stream) {
  std::string out;
  const void* block = nullptr;
  int size = 0;
  while (stream.Next(&block, &size)) out.append(static_cast<const char*>(block), size);
  return out;
}

// The codec on `stored`: the whole decode and the stream agree, at the window `window`; what
// decodes encodes and decodes back to itself. The decoded data, or `stored` when it does not
// decode.
std::string codec(const std::string& stored, size_t window) {
  auto decoded = storage::decode_snapshot_data(stored);
  if (!decoded.ok()) {
    require(decoded.error().code == ErrorCode::storage_corrupt,
            "decode_snapshot_data failed with a code other than storage_corrupt");
  }
  storage::SnapshotDataStream stream(stored, /*encoded=*/true, window);
  const std::string streamed = read_all(stream);
  const Status finished = stream.finish();
  require(finished.ok() == decoded.ok(), "the stream and the whole decode disagree on damage");
  if (!finished.ok()) {
    require(finished.error().code == ErrorCode::storage_corrupt,
            "the stream failed with a code other than storage_corrupt");
    return stored;
  }
  require(streamed == *decoded, "the stream and the whole decode give other bytes");
  auto encoded = storage::encode_snapshot_data(*decoded);
  require(encoded.ok(), "data that decoded does not encode");
  auto again = storage::decode_snapshot_data(*encoded);
  require(again.ok() && *again == *decoded, "encoded data does not decode to itself");
  return std::move(*decoded);
}

// A question of each kind, about names a seed snapshot may hold, lists included.
const std::vector<Query>& questions() {
  static const std::vector<Query> all = [] {
    std::vector<Query> out(10);
    out[0].mutable_partition_status()->set_partition_ref("data/a");
    out[1].mutable_active_builds()->set_partition_ref("data/a");
    out[2].mutable_partitions_list()->set_limit(100);
    out[3].mutable_build_summary()->set_build_request_id("br-1");
    out[4].mutable_builds_list()->set_limit(100);
    out[5].mutable_job_run()->set_job_run_id("run-1");
    out[6].mutable_job_runs_list()->set_limit(100);
    out[7].mutable_job_metrics()->set_job_label("//jobs:a");
    out[8].mutable_job_metrics_list();
    out[9].mutable_activity();
    return out;
  }();
  return all;
}

// A view of `kind` restored from `bytes`: an error or a view, whose snapshot restores to a view
// with the same snapshot, and which answers its questions.
void restore(ViewKind kind, const std::string& bytes) {
  static const AllViews kTypes;  // for the view's type only
  AllViews::with_view(kTypes, kind, [&](const auto& type) {
    using View = std::decay_t<decltype(type)>;
    auto view = View::restore(bytes);
    if (!view.ok()) {
      require(view.error().code == ErrorCode::storage_corrupt,
              "a view's restore failed with a code other than storage_corrupt");
      return;
    }
    const std::string snapshot = view->serialize();
    auto again = View::restore(snapshot);
    require(again.ok(), "a restored view's snapshot does not restore");
    require(again->serialize() == snapshot, "a restored view's snapshot restores to another");
    for (const Query& query : questions()) {
      if (projections::view_for(query) != kind) continue;
      auto answered = projections::answer(*view, query);  // an answer or not_found, never a crash
      require(answered.ok() || answered.error().code == ErrorCode::not_found,
              "a restored view answered with an error other than not_found");
    }
  });
}

}  // namespace

int snapshots(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string stored(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t window = 1 + (selector >> 2) * 997;  // 1 byte .. ~62 KiB
  const std::string bytes = codec(stored, window);
  restore(projections::kAllViews[selector % projections::kViewCount], bytes);
  return 0;
}

}  // namespace bel::fuzz
