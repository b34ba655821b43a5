// bel::write::TransitionCheckpoint: the transition state (transition_rules.h) as bytes, for the
// write-side checkpoint the log writer keeps in the log's snapshot table (view kName, version
// kVersion). It holds what is in memory (open work) and the evicted-keys filter, not the whole
// history, so writing one costs in proportion to open work plus about a byte per key ever dropped.
//
//   std::string data = TransitionCheckpoint::encode(state);   // REQUIRES: state.journal_size() ==
//   0 write::TransitionState restored(mode); if (auto ok = TransitionCheckpoint::decode(data,
//   restored); !ok.ok()) full_replay(ok.error());
//
// Format: "belTS" | varint format version | 8-byte FNV-1a of the rest | maps | filter. decode
// refuses (storage_corrupt naming what) a wrong magic, another format version, a checksum
// mismatch or a malformed body, and then leaves `state` untouched. Pure code.
#ifndef BEL_ACTORS_WRITE_TRANSITION_CHECKPOINT_H_
#define BEL_ACTORS_WRITE_TRANSITION_CHECKPOINT_H_

#include <string>
#include <string_view>

#include "actors/write/transition_rules.h"
#include "messages/error.h"

namespace bel::write {

class TransitionCheckpoint {
 public:
  static constexpr const char* kName = "write.transitions";  // reserved snapshot view name
  static constexpr int kVersion = 1;  // the snapshot's version: unchanged by format 2
  // The format versions decode reads; encode writes kFormat. Format 2 changed the evicted-keys
  // filter only (EvictedKeys::kFormat), so a format-1 checkpoint still spares a full replay,
  // while an older bel refuses a format-2 one and replays (docs/storage-and-write-path.md).
  static constexpr int kFirstFormat = 1;
  static constexpr int kFormat = 2;

  static std::string encode(const TransitionState& state);
  // Replaces `state`'s entries and filter with those of `data`; keeps its mode and source.
  static Status decode(std::string_view data, TransitionState& state);
  // encode with another format version in its header, the body as kFormat (tests of the
  // fallback).
  static std::string encode_as_version(const TransitionState& state, int version);
};

}  // namespace bel::write

#endif  // BEL_ACTORS_WRITE_TRANSITION_CHECKPOINT_H_
