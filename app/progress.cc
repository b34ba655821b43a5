#include "app/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace bel::app {

Progress::Progress(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, int64_t total) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  if (total > 0) {
    const double frac = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0,
                                   1.0);
    const int filled = static_cast<int>(frac * kWidth);
    std::fprintf(stderr, "\r%s [%s%s] %3d%%  %lld/%lld\033[K", label_.c_str(),
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(),
                 static_cast<int>(frac * 100), static_cast<long long>(done),
                 static_cast<long long>(total));
  } else {
    std::fprintf(stderr, "\r%s  %lld\033[K", label_.c_str(), static_cast<long long>(done));
  }
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

RebuildProgress rebuild_progress(const ViewsStatus& views, const std::string& name) {
  RebuildProgress out;
  out.total = views.last_idx();
  int64_t folded = 0, counted = 0;
  bool folding = false, unsaved = false;
  for (const auto& v : views.views()) {
    if (!name.empty() && v.view() != name) continue;
    ++counted;
    if (v.state() == v1::VIEW_REBUILDING || v.state() == v1::VIEW_LOADING) {
      folding = true;
      folded += std::min(v.applied_idx(), out.total);
    } else {
      folded += out.total;  // folded (or failed, which ends its rebuild)
      unsaved = unsaved || (v.state() == v1::VIEW_HEALTHY && v.snapshot_idx() == 0);
    }
  }
  out.folded = counted > 0 ? folded / counted : 0;
  out.saving = counted > 0 && !folding && unsaved && out.total > 0;
  return out;
}

}  // namespace bel::app
