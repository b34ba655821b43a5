// A progress bar on standard error for long work (SPEC section 6), drawn only when standard
// error is a terminal; otherwise every call does nothing.
//
//   Progress p("rebuilding views");
//   while (working) p.update(done, total);
//   p.finish();
#ifndef BEL_APP_PROGRESS_H_
#define BEL_APP_PROGRESS_H_

#include <cstdint>
#include <string>

#include "messages/types.h"

namespace bel::app {

class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  bool enabled() const { return enabled_; }
  // Redraws "label [#####     ]  45%  450000/1000000"; total 0 shows the count only.
  void update(int64_t done, int64_t total);
  // Clears the bar's line.
  void finish();
  // The label of the next update.
  void set_label(std::string label) { label_ = std::move(label); }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

// The line Progress draws for `columns` terminal columns: "label [#####     ]  45%  450/1000", its
// bar narrowed (at most 30) so that the line takes fewer than `columns` (a line that fills the
// last column wraps on some terminals, and a wrapped line's \r redraws only its last row), then
// without the bar, then cut at the end; total 0: "label  450".
std::string progress_line(const std::string& label, int64_t done, int64_t total, int columns);

// What `bel views rebuild` through a coordinator shows while it waits, from the views' status:
// the events folded so far out of the log's, averaged over the views rebuilt (`name`, or every
// view for ""), so that the count is the log's events once, not once per view; and whether every
// view has folded while one still saves its snapshot (its snapshot_idx is 0 from the start of
// its rebuild until the new snapshot is saved), the wait after the bar reaches the end.
struct RebuildProgress {
  int64_t folded = 0;
  int64_t total = 0;  // the log's last idx
  bool saving = false;
};
RebuildProgress rebuild_progress(const ViewsStatus& views, const std::string& name);

}  // namespace bel::app

#endif  // BEL_APP_PROGRESS_H_
