#include "actors/check/scan_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <tuple>

#include "actors/write/event_structure.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "storage/checks.h"
#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"

namespace bel::check {
namespace {

using projections::ViewKind;

// "\"<id>\" at idx A and B": an event_id read at idx A and again at idx B.
std::string repeat_note(const std::string& id, int64_t first, int64_t again) {
  return "\"" + id + "\" at idx " + std::to_string(first) + " and " + std::to_string(again);
}

std::string range_text(const std::pair<int64_t, int64_t>& r) {
  return r.first == r.second ? std::to_string(r.first)
                             : std::to_string(r.first) + ".." + std::to_string(r.second);
}

}  // namespace

// ---- schema ----

CheckResult check_schema(const std::string& log_uri) {
  CheckResult out{"schema", false, ""};
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok()) {
    out.detail = parsed.error().to_string();
    return out;
  }
  if (storage::lives_in_process(parsed->scheme)) {
    out.ok = true;
    out.detail = "n/a (in-process log)";
    return out;
  }

  storage::StorageOptions options;
  options.read_only = true;
  // Opening read-only checks the version already (newer and older ones are refused): the error
  // then names the version found.
  auto log = storage::open_storage(log_uri, options);
  if (!log.ok()) {
    out.detail = log.error().to_string();
    return out;
  }
  auto version = (*log)->get_meta(storage::kSchemaVersionKey);
  if (!version.ok()) {
    out.detail = version.error().to_string();
    return out;
  }
  if (!version->has_value()) {
    out.detail = std::string("meta has no ") + storage::kSchemaVersionKey;
    return out;
  }
  const std::string want = std::to_string(storage::kSchemaVersion);
  if (**version != want) {
    out.detail = std::string(storage::kSchemaVersionKey) + " " + **version +
                 ", but this bel reads and writes version " + want;
    return out;
  }
  out.ok = true;
  out.detail = std::string(storage::kSchemaVersionKey) + " " + want + " (this bel's)";
  return out;
}

// ---- idx contiguity ----

void ScanChecker::note_missing(int64_t from, int64_t to) {
  missing_count_ += to - from + 1;
  ++missing_ranges_;
  if (missing_.size() < kMaxNamed) missing_.emplace_back(from, to);
}

void ScanChecker::add(const BuildEvent& event) {
  BuildEvent copy = event;
  add(&copy);
}

void ScanChecker::add(BuildEvent* stored) {
  const BuildEvent& event = *stored;
  ++events_;
  const int64_t idx = event.idx();
  if (idx >= next_idx_) {
    if (idx > next_idx_) note_missing(next_idx_, idx - 1);
    next_idx_ = idx + 1;
  } else {
    ++repeats_;
    if (repeat_notes_.size() < kMaxNamed) {
      repeat_notes_.push_back("idx " + std::to_string(idx) + " after idx " +
                              std::to_string(next_idx_ - 1));
    }
  }

  // A stored event is one that was appended: it must pass the append checks once its idx, which
  // the log assigned, is taken away again. The log also assigned its event_id.
  stored->clear_idx();
  Status valid = write::check_structure(event);
  stored->set_idx(idx);
  if (valid.ok() && event.event_id().empty()) {
    valid = make_error(ErrorCode::invalid_event, "event_id is empty");
  }
  if (!valid.ok()) {
    ++invalid_;
    if (invalid_notes_.size() < kMaxNamed) {
      invalid_notes_.push_back("idx " + std::to_string(idx) + ": " + valid.error().to_string());
    }
  }

  if (event.event_id().empty()) return;
  UuidIdx entry{{}, idx};
  if (uuid_to_bytes(event.event_id(), entry.bytes)) {
    uuid_ids_.push_back(entry);
    return;
  }
  auto [it, inserted] = other_ids_.emplace(event.event_id(), idx);
  if (!inserted) {
    ++duplicate_ids_;
    if (duplicate_notes_.size() < kMaxNamed) {
      duplicate_notes_.emplace_back(idx, repeat_note(event.event_id(), it->second, idx));
    }
  }
}

std::string ScanChecker::scan_stopped(const Error& error) const {
  std::string out = "the scan stopped: " + error.to_string();
  if (highest_idx() > 0) {
    out += " (the events up to idx " + std::to_string(highest_idx()) + " were checked)";
  }
  return out;
}

CheckResult ScanChecker::finish(int64_t last_idx) const {
  CheckResult out{"idx contiguity", false, ""};
  int64_t missing_count = missing_count_;
  int64_t missing_ranges = missing_ranges_;
  auto missing = missing_;
  if (next_idx_ <= last_idx) {  // the scan ended before the log's last idx
    missing_count += last_idx - next_idx_ + 1;
    ++missing_ranges;
    if (missing.size() < kMaxNamed) missing.emplace_back(next_idx_, last_idx);
  }
  const int64_t highest = std::max(last_idx, next_idx_ - 1);

  std::vector<std::string> problems;
  if (missing_count > 0) {
    std::vector<std::string> named;
    for (const auto& r : missing) named.push_back(range_text(r));
    std::string text = "missing idx " + fmt::to_string(fmt::join(named, ", "));
    if (missing_ranges > static_cast<int64_t>(missing.size())) {
      text += " and " + std::to_string(missing_ranges - static_cast<int64_t>(missing.size())) +
              " more ranges";
    }
    text += " (" + std::to_string(missing_count) + " of 1.." + std::to_string(highest) + ")";
    problems.push_back(text);
  }
  if (repeats_ > 0) {
    problems.push_back(std::to_string(repeats_) + " repeated or out of order: " +
                       fmt::to_string(fmt::join(repeat_notes_, ", ")));
  }
  if (invalid_ > 0) {
    problems.push_back(std::to_string(invalid_) +
                       " invalid: " + fmt::to_string(fmt::join(invalid_notes_, "; ")));
  }
  // Repeated UUID ids: equal bytes sort together, the first idx first. Compared as two words
  // (any order groups equal ids): a byte-wise compare of signed chars took most of the sort.
  std::sort(uuid_ids_.begin(), uuid_ids_.end(), [](const UuidIdx& a, const UuidIdx& b) {
    uint64_t wa[2], wb[2];
    std::memcpy(wa, a.bytes.data(), sizeof wa);
    std::memcpy(wb, b.bytes.data(), sizeof wb);
    return std::tie(wa[0], wa[1], a.idx) < std::tie(wb[0], wb[1], b.idx);
  });
  // (idx of the repeat, idx of the first, position in uuid_ids_) of each repeated UUID id.
  std::vector<std::array<int64_t, 3>> uuid_repeats;
  for (size_t i = 1, first = 0; i < uuid_ids_.size(); ++i) {
    if (uuid_ids_[i].bytes != uuid_ids_[first].bytes) {
      first = i;
      continue;
    }
    uuid_repeats.push_back({uuid_ids_[i].idx, uuid_ids_[first].idx, static_cast<int64_t>(i)});
  }
  const int64_t duplicate_ids = duplicate_ids_ + static_cast<int64_t>(uuid_repeats.size());
  if (duplicate_ids > 0) {
    // The first kMaxNamed repeats in the log's order, whichever kind of id they have.
    std::sort(uuid_repeats.begin(), uuid_repeats.end());
    auto repeats = duplicate_notes_;
    for (size_t i = 0; i < uuid_repeats.size() && i < kMaxNamed; ++i) {
      const auto& id = uuid_ids_[static_cast<size_t>(uuid_repeats[i][2])].bytes;
      repeats.emplace_back(uuid_repeats[i][0],
                           repeat_note(uuid_from_bytes(std::string_view(id.data(), id.size())),
                                       uuid_repeats[i][1], uuid_repeats[i][0]));
    }
    std::sort(repeats.begin(), repeats.end());
    if (repeats.size() > kMaxNamed) repeats.resize(kMaxNamed);
    std::vector<std::string> notes;
    for (auto& r : repeats) notes.push_back(std::move(r.second));
    problems.push_back(std::to_string(duplicate_ids) +
                       " repeated event_id: " + fmt::to_string(fmt::join(notes, ", ")));
  }
  if (!problems.empty()) {
    out.detail = fmt::to_string(fmt::join(problems, "; "));
    return out;
  }
  out.ok = true;
  out.detail = highest == 0 ? std::string("the log is empty")
                            : "idx 1.." + std::to_string(highest) + " without gaps or repeats; " +
                                  std::to_string(events_) + " valid events, as many event_ids";
  return out;
}

// ---- the full-scan fold ----

void ScanKeys::add(const BuildEvent& event) {
  for (ViewKind kind : projections::kAllViews) add(event, kind);
}

void ScanKeys::add(const BuildEvent& event, ViewKind kind) {
  switch (kind) {
    case ViewKind::partition_status:
      for_each_key(event, [&](KeyKind key_kind, std::string_view key) {
        if (key_kind == KeyKind::partition) refs_.add(key);
      });
      break;
    case ViewKind::build_summary:
      builds_.add(event.build_request_id());
      break;
    case ViewKind::job_runs:
      if (event.has_job_event()) {
        runs_.add(event.job_event().job_run_id());
        labels_.add(event.job_event().job_label().label());
      }
      break;
    case ViewKind::activity:
      break;
  }
}

void FullScanFold::apply(const BuildEvent& event) {
  views_.apply(event);
  last_idx_ = event.idx();
  keys_.add(event);
}

Result<QueryResult> FullScanFold::answer(const Query& query) const { return views_.answer(query); }

// ---- reading the log ----

LogScan::LogScan(const actors::ApiClient& client, ScanChecker* checker, FullScanFold* fold)
    : client_(client), checker_(checker), fold_(fold), read_idx_(fold->last_idx()) {}

Status LogScan::advance_to(int64_t idx, const std::function<void(int64_t)>& progress) {
  while (fold_->last_idx() < idx) {
    if (buffered_pos_ < buffered_.size()) {
      const BuildEvent& e = buffered_[buffered_pos_];
      if (e.idx() > idx) return ok_status();
      // A repeated or out-of-order idx is the checker's to report; the fold takes each idx once.
      if (e.idx() > fold_->last_idx()) fold_->apply(e);
      ++buffered_pos_;
      continue;
    }
    buffered_.clear();
    buffered_pos_ = 0;
    ListEventsRequest request;
    request.set_since_idx(read_idx_);
    request.set_limit(static_cast<int32_t>(std::clamp<int64_t>(idx - read_idx_, 1, kPageLimit)));
    auto page = client_.list_events(request);
    if (!page.ok()) return page.error();
    if (page->events().empty()) return ok_status();  // the log ends before idx
    if (page->next_idx() <= read_idx_) {
      return make_error(ErrorCode::storage_corrupt,
                        "list_events since idx " + std::to_string(read_idx_) +
                            " answered next_idx " + std::to_string(page->next_idx()));
    }
    for (auto& e : *page->mutable_events()) checker_->add(&e);
    read_idx_ = page->next_idx();
    buffered_.assign(std::make_move_iterator(page->mutable_events()->begin()),
                     std::make_move_iterator(page->mutable_events()->end()));
    if (progress) progress(read_idx_);
  }
  return ok_status();
}

}  // namespace bel::check
