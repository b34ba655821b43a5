// DraftSlots: strings rewritten in place until they are dropped, each in a numbered slot that is
// reused once freed: the messages of job runs in flight ("queued", "started on worker-7 ..."),
// nearly all unique and replaced before the run ends. Interned, each would stay in a pool for
// good; here a run's message costs one reused std::string while the run is open.
//
//   bel::projections::DraftSlots drafts;
//   uint32_t slot = drafts.set(DraftSlots::kNone, "queued");  // a free or new slot
//   slot = drafts.set(slot, "started on worker-7");           // the same slot, overwritten
//   std::string_view text = drafts.get(slot);                 // valid until the slot changes
//   drafts.free(slot);                                        // reused by the next set
//
// Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_DRAFT_SLOTS_H_
#define BEL_PROJECTIONS_DRAFT_SLOTS_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace bel::projections {

class DraftSlots {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

  // The slot now holding `s`: `slot` itself unless kNone, else a free or new one.
  uint32_t set(uint32_t slot, std::string_view s) {
    if (slot == kNone) {
      if (free_.empty()) {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
      } else {
        slot = free_.back();
        free_.pop_back();
      }
    }
    slots_[slot].assign(s.data(), s.size());
    return slot;
  }
  // REQUIRES: `slot` is held (set() returned it, not freed since).
  std::string_view get(uint32_t slot) const { return slots_[slot]; }
  // Frees `slot` for reuse (nothing for kNone). A slot keeps its room for the next message,
  // unless it held a long one.
  void free(uint32_t slot) {
    if (slot == kNone) return;
    if (slots_[slot].capacity() > kKeptCapacity) std::string().swap(slots_[slot]);
    free_.push_back(slot);
  }

 private:
  static constexpr size_t kKeptCapacity = 256;

  std::vector<std::string> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_DRAFT_SLOTS_H_
