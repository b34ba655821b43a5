// BuildStrings: the strings of build summaries (BuildSummaryView, and ActivityView's recent
// builds), four kinds, each stored the way their fold is fastest with:
//  - intern(): a StringPool with a small direct-mapped cache in front. The fold interns the same
//    few strings again and again (the ids and refs of the builds in flight, labels, messages), and
//    the cache answers those from 32 KiB where the pool's hash table, megabytes wide at 1M events,
//    costs a cache miss or more per look-up.
//  - keep(): job run ids, each naming one run of one build: copied into blocks, with no hash
//    table entry (which would cost more than the id).
//  - share(): messages of ended job runs, kept like run ids but shared with an equal one seen
//    recently: most are unique ("wrote 2,925,227 rows in 2m30s") and the rest repeat in bursts.
//  - drafts: messages of job runs in flight (most unique, e.g. "started on worker-7 ...", and
//    dead once the run ends), in slots reused once freed, so that they never reach the pool.
//
//   BuildStrings strings;
//   StringPool::Id label = strings.intern("//jobs:a");        // strings.str(label) == "//jobs:a"
//   std::string_view run = strings.keep("jr-7");              // a copy, not shared
//   std::string_view done = strings.share("exit 1");          // a copy, or one made just before
//   uint32_t slot = strings.set_draft(StringPool::kNone, "started");
//   slot = strings.set_draft(slot, "started on worker-7");   // the same slot, overwritten
//   strings.free_draft(slot);                                 // reused by the next set_draft
//
// Views into kept strings and the cache point into blocks that moves keep in place, so they stay
// valid when the owner is moved. Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_BUILD_STRINGS_H_
#define BEL_PROJECTIONS_BUILD_STRINGS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "projections/draft_slots.h"
#include "projections/string_pool.h"

namespace bel::projections {

class BuildStrings {
 public:
  using Id = StringPool::Id;
  // As StringPool's.
  Id intern(std::string_view s);
  Id find(std::string_view s) const { return pool_.find(s); }
  std::string_view str(Id id) const { return pool_.str(id); }
  size_t size() const { return pool_.size(); }
  // How many strings were interned or kept, for an owner that rebuilds a pool as it grows.
  size_t held() const { return pool_.size() + kept_count_; }

  // A copy of `s`, not deduplicated, valid for the life of this object (moves included).
  std::string_view keep(std::string_view s);
  // keep(s), or the copy of an equal string share() returned recently (a small cache, like
  // intern()'s, finds it): messages of ended runs repeat in bursts ("output X already available
  // from br-7" for each build wanting X), when they repeat at all.
  std::string_view share(std::string_view s);

  // The draft slot now holding `s`: `slot` itself unless kNone, else a free or new one.
  uint32_t set_draft(uint32_t slot, std::string_view s) { return drafts_.set(slot, s); }
  // REQUIRES: `slot` is held (set_draft() returned it, not freed since).
  std::string_view draft(uint32_t slot) const { return drafts_.get(slot); }
  // Frees `slot` for reuse; nothing for kNone.
  void free_draft(uint32_t slot) { drafts_.free(slot); }

 private:
  struct Entry {
    const char* data = nullptr;
    uint32_t size = 0;
    Id id = StringPool::kNone;  // kNone: an empty entry
  };
  static constexpr int kCacheBits = 11;
  static constexpr size_t kBlockBytes = 16 * 1024;  // keep()'s

  StringPool pool_;
  std::vector<Entry> cache_;                   // 1 << kCacheBits entries from the first intern()
  std::vector<std::string_view> shared_;       // share()'s cache, as large, from the first share()
  std::vector<std::unique_ptr<char[]>> kept_;  // keep()'s blocks
  size_t kept_used_ = kBlockBytes;             // bytes used in kept_.back(); full when none
  size_t kept_count_ = 0;
  DraftSlots drafts_;
};

// The string of `id` in `strings`, empty for StringPool::kNone (as the snapshots write it).
inline std::string_view str_of(const BuildStrings& strings, StringPool::Id id) {
  return id == StringPool::kNone ? std::string_view() : strings.str(id);
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_BUILD_STRINGS_H_
