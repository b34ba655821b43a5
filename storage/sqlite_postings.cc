#include "storage/sqlite_postings.h"

#include <fmt/format.h>

namespace bel::storage {

Status parse_postings(std::string_view text, std::vector<int64_t>& out, const std::string& where) {
  auto damaged = [&](size_t at) {
    return make_error(
        ErrorCode::storage_corrupt,
        fmt::format("{}: the key index's postings \"{}\" are not a JSON array of idx (at byte {}); "
                    "bel check --repair rebuilds the index",
                    where, text.substr(0, 64), at));
  };
  size_t at = 0;
  auto skip_space = [&] {
    while (at < text.size() &&
           (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' || text[at] == '\r')) {
      ++at;
    }
  };
  skip_space();
  if (at >= text.size() || text[at] != '[') return damaged(at);
  ++at;
  skip_space();
  if (at < text.size() && text[at] == ']') return at + 1 == text.size() ? ok_status() : damaged(at);
  for (;;) {
    skip_space();
    int64_t idx = 0;
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), idx);
    if (ec != std::errc() || idx < 1) return damaged(at);
    out.push_back(idx);
    at = static_cast<size_t>(end - text.data());
    skip_space();
    if (at >= text.size()) return damaged(at);
    if (text[at] == ']') break;
    if (text[at] != ',') return damaged(at);
    ++at;
  }
  ++at;
  skip_space();
  return at == text.size() ? ok_status() : damaged(at);
}

}  // namespace bel::storage
