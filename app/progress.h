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

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace bel::app

#endif  // BEL_APP_PROGRESS_H_
