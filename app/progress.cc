#include "app/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "app/output.h"

namespace bel::app {

std::string progress_line(const std::string& label, int64_t done, int64_t total, int columns) {
  constexpr size_t kWidest = 30;
  const size_t room = columns > 1 ? static_cast<size_t>(columns) - 1 : 0;
  std::string tail;
  if (total > 0) {
    const double frac =
        std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    char numbers[64];
    std::snprintf(numbers, sizeof(numbers), " %3d%%  %lld/%lld", static_cast<int>(frac * 100),
                  static_cast<long long>(done), static_cast<long long>(total));
    tail = numbers;
    // " [" and "]" around the bar; a bar narrower than 10 says too little to be drawn.
    const size_t fixed = label.size() + 3 + tail.size();
    const size_t width = room > fixed ? std::min(kWidest, room - fixed) : 0;
    if (width >= 10) {
      const auto filled = static_cast<size_t>(frac * static_cast<double>(width));
      return label + " [" + std::string(filled, '#') + std::string(width - filled, ' ') + "]" +
             tail;
    }
  } else {
    tail = "  " + std::to_string(done);
  }
  // Too long still: the label is cut before the numbers are (labels are bel's own ASCII).
  std::string line = label.substr(0, room > tail.size() ? room - tail.size() : 0) + tail;
  if (line.size() > room) line.resize(room);
  return line;
}

Progress::Progress(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, int64_t total) {
  if (!enabled_) return;
  // The width asked each time: a terminal may be resized while the work goes on.
  const std::string line = progress_line(label_, done, total, terminal_columns(STDERR_FILENO));
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
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
