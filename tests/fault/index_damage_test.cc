// Damaged pages in the derived structures of a real SQLite log (SPEC section 9, R8): the key index
// (key_postings, the postings behind the event_keys view, which hold the per-build keys too) and
// the event_id index. Pages are found through SQLite's
// dbstat table and overwritten in the file with the writer closed. Whenever SQLite's
// integrity_check sees the damage, `bel check` fails; whenever a filtered read gives another
// answer than a full scan, the "derived rows" check fails; after `bel check --repair` every
// check passes and every filtered read equals the full scan again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "actors/check/derived_check.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "storage/writer_lock.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel {
namespace {

using namespace bel::testing;

const std::string kBel = BEL_BINARY;

struct Db {
  explicit Db(const std::string& path) { sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr); }
  ~Db() { sqlite3_close_v2(db); }
  // The first column of every row of `sql`, as text.
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return {"error"};
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out.emplace_back(text != nullptr ? text : "");
    }
    if (rc != SQLITE_DONE) out.push_back("error: " + std::string(sqlite3_errmsg(db)));
    sqlite3_finalize(stmt);
    return out;
  }
  sqlite3* db = nullptr;
};

bool integrity_ok(const std::string& path) {
  return Db(path).column("PRAGMA integrity_check") == std::vector<std::string>{"ok"};
}

class IndexDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RandomStreamOptions options;
    options.num_events = 3000;
    options.partition_space = 400;
    auto events = random_stream(17, options);
    for (auto& e : events) {
      e.clear_idx();
      e.set_event_id(new_event_id());
    }
    auto log = storage::open_storage(uri(pristine_), {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    for (size_t at = 0; at < events.size(); at += 500) {
      std::vector<BuildEvent> batch(events.begin() + at,
                                    events.begin() + std::min(events.size(), at + 500));
      ASSERT_TRUE((*log)->append_batch(batch).ok());
    }
    while ((*log)->unindexed_events() > 0) ASSERT_TRUE((*log)->catch_up_indexes(100000).ok());
    // Closing the last connection checkpoints the WAL into the file, which the test then damages.
  }

  static std::string uri(const std::string& path) { return "sqlite://" + path; }

  // The pages of `structure` (a table or index name) that dbstat lists, leaves and interior.
  std::vector<int64_t> pages_of(const std::string& structure) {
    std::vector<int64_t> pages;
    for (const auto& p : Db(pristine_).column("SELECT pageno FROM dbstat WHERE name = '" +
                                              structure + "' AND pagetype != 'overflow'")) {
      pages.push_back(std::stoll(p));
    }
    return pages;
  }

  int64_t page_size() { return std::stoll(Db(pristine_).column("PRAGMA page_size").at(0)); }

  // Runs `sql` on the pristine log with the writer closed; the rows its last statement changed.
  int change_log(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(pristine_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    const int changed = sqlite3_changes(db);
    sqlite3_close(db);
    return changed;
  }

  // Overwrites part of page `page` of `path`: a run of random bytes in its cell area, its header,
  // or the whole page zeroed.
  void damage(const std::string& path, int64_t page, std::mt19937_64& rng) {
    const int64_t size = page_size();
    const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
    int64_t offset = 0, length = size;
    if (kind == 0) {
      length = std::uniform_int_distribution<int64_t>(4, 64)(rng);
      offset = std::uniform_int_distribution<int64_t>(size / 4, size - length)(rng);
    } else if (kind == 1) {
      length = 12;
    }
    std::string bytes(static_cast<size_t>(length), '\0');
    if (kind != 2) {
      for (auto& b : bytes) b = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((page - 1) * size + offset);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Whether every filtered read (each partition, job label, job run id, build request, and the
  // event_id lookups) answers what a full scan gives. A read that fails counts as not silently
  // wrong.
  bool filtered_reads_match_scan(const std::string& path) {
    storage::StorageOptions options;
    options.read_only = true;
    auto log = storage::open_storage(uri(path), options);
    if (!log.ok()) return true;
    std::vector<BuildEvent> all;
    for (int64_t since = 0;;) {
      auto page = (*log)->list_events(since, {}, storage::kMaxListLimit);
      if (!page.ok()) return true;
      all.insert(all.end(), page->events().begin(), page->events().end());
      if (!page->has_more()) break;
      since = page->next_idx();
    }
    std::map<std::pair<int, std::string>, std::vector<int64_t>> expected;
    std::vector<std::string> ids;
    for (const auto& e : all) {
      const auto keys = keys_of(e);
      for (const auto& p : keys.partitions) expected[{0, p}].push_back(e.idx());
      for (const auto& l : keys.job_labels) expected[{1, l}].push_back(e.idx());
      for (const auto& r : keys.job_run_ids) expected[{2, r}].push_back(e.idx());
      auto& builds = expected[{3, e.build_request_id()}];
      if (builds.empty() || builds.back() != e.idx()) builds.push_back(e.idx());
      ids.push_back(e.event_id());
    }
    for (const auto& [key, idxs] : expected) {
      EventFilter filter;
      if (key.first == 0) filter.add_partition_refs(key.second);
      if (key.first == 1) filter.add_job_labels(key.second);
      if (key.first == 2) filter.add_job_run_ids(key.second);
      if (key.first == 3) filter.add_build_request_ids(key.second);
      auto page = (*log)->list_events(0, filter, storage::kMaxListLimit);
      if (!page.ok()) continue;
      std::vector<int64_t> got;
      for (const auto& e : page->events()) got.push_back(e.idx());
      if (got != idxs) return false;
    }
    auto found = (*log)->find_by_event_ids(ids);
    if (found.ok()) {
      std::set<int64_t> idxs;
      for (const auto& s : *found) idxs.insert(s.idx);
      if (idxs.size() != all.size()) return false;
    }
    return true;
  }

  bool check_passes(const std::string& path) {
    auto r = run_command(shell_quote(kBel) + " check --log " + shell_quote(uri(path)));
    return r.exit_code == 0;
  }

  // Damages `structure` in `cases` seeded copies of the log and checks each as the header says.
  void run_cases(const std::string& structure, int cases) {
    const auto pages = pages_of(structure);
    ASSERT_GE(pages.size(), 3u) << structure << " should span several pages";
    std::mt19937_64 rng(std::hash<std::string>{}(structure));
    int seen_by_integrity = 0, wrong_reads = 0, seen_by_derived = 0;
    for (int c = 0; c < cases; ++c) {
      SCOPED_TRACE(structure + " case " + std::to_string(c));
      const std::string path = dir_.path() + "/damaged.db";
      std::filesystem::copy_file(pristine_, path,
                                 std::filesystem::copy_options::overwrite_existing);
      const int64_t page = pages[std::uniform_int_distribution<size_t>(0, pages.size() - 1)(rng)];
      damage(path, page, rng);
      const bool integrity = integrity_ok(path);
      const bool reads_right = filtered_reads_match_scan(path);
      bool derived_ok = true;
      for (const auto& r : check::check_sqlite_file(uri(path), path)) {
        if (r.name == "derived rows") derived_ok = r.ok;
      }
      seen_by_integrity += integrity ? 0 : 1;
      seen_by_derived += derived_ok ? 0 : 1;
      wrong_reads += reads_right ? 0 : 1;
      if (!reads_right) {
        EXPECT_FALSE(derived_ok) << "filtered reads are wrong but the derived rows pass";
      }
      if (!integrity) {
        EXPECT_FALSE(check_passes(path)) << "integrity_check fails on page " << page
                                         << " but bel check passes";
      }
      if (integrity && reads_right) continue;
      auto repaired = run_command(shell_quote(kBel) + " check --repair --log " +
                                  shell_quote(uri(path)));
      EXPECT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
      EXPECT_TRUE(integrity_ok(path));
      EXPECT_TRUE(filtered_reads_match_scan(path));
    }
    // The damage must have been real in most cases, or the test proves nothing.
    EXPECT_GE(seen_by_integrity, cases / 2) << structure;
    std::printf(
        "%s: %d damaged pages, %d seen by integrity_check, %d by the derived rows check, %d "
        "with wrong filtered reads\n",
        structure.c_str(), cases, seen_by_integrity, seen_by_derived, wrong_reads);
  }

  TempDir dir_;
  std::string pristine_ = dir_.path() + "/bel.db";
};

TEST_F(IndexDamageTest, PristineLogPassesEveryCheck) {
  EXPECT_TRUE(integrity_ok(pristine_));
  for (const auto& r : check::check_sqlite_file(uri(pristine_), pristine_)) {
    EXPECT_TRUE(r.ok) << r.name << ": " << r.detail;
  }
  EXPECT_TRUE(filtered_reads_match_scan(pristine_));
  EXPECT_TRUE(check_passes(pristine_));
}

TEST_F(IndexDamageTest, DamagedKeyIndexFailsTheCheckAndRepairRestoresFilteredReads) {
  run_cases("key_postings", 10);
}

TEST_F(IndexDamageTest, DamagedEventIdIndexFailsTheCheckAndRepairRestoresLookups) {
  run_cases("sqlite_autoindex_events_1", 10);
}

TEST_F(IndexDamageTest, RowsThatDisagreeWithPayloadsFailTheCheckWithoutAnyIntegrityError) {
  // A key row SQLite finds well-formed but no event's payload gives, and lost ones.
  ASSERT_EQ(change_log("DELETE FROM key_postings WHERE (kind, key, last_idx) = (SELECT kind,"
                       " key, last_idx FROM key_postings LIMIT 1);"
                       " INSERT INTO key_postings VALUES(0, 'data/not/there', 5, 5, '[5]')"),
            1);
  EXPECT_TRUE(integrity_ok(pristine_));
  bool derived_ok = true;
  for (const auto& r : check::check_sqlite_file(uri(pristine_), pristine_)) {
    if (r.name == "derived rows") {
      derived_ok = r.ok;
      EXPECT_NE(r.detail.find("key index"), std::string::npos) << r.detail;
    }
  }
  EXPECT_FALSE(derived_ok);
  EXPECT_FALSE(check_passes(pristine_));
  auto repaired = run_command(shell_quote(kBel) + " check --repair --log " +
                              shell_quote(uri(pristine_)));
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
  EXPECT_TRUE(filtered_reads_match_scan(pristine_));
}

// Rows written before schema 5 also carry event_id in the payload: the check compares it with the
// column, which a later writer keeps as 16 bytes.
TEST_F(IndexDamageTest, PayloadThatCarriesItsOwnEventIdMustAgreeWithTheColumn) {
  // Prepends field 1 (event_id) holding `id` to the payload of idx `idx`.
  auto set_payload_id = [&](int64_t idx, const std::function<std::string(const std::string&)>& id) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(pristine_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* read = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT event_id, payload FROM events WHERE idx = ?", -1,
                                 &read, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(read, 1, idx);
    ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_type(read, 0), SQLITE_BLOB);
    const std::string column(static_cast<const char*>(sqlite3_column_blob(read, 0)),
                             static_cast<size_t>(sqlite3_column_bytes(read, 0)));
    const std::string text = id(uuid_from_bytes(column));
    std::string payload = {0x0a, static_cast<char>(text.size())};
    payload += text;
    payload.append(static_cast<const char*>(sqlite3_column_blob(read, 1)),
                   static_cast<size_t>(sqlite3_column_bytes(read, 1)));
    sqlite3_finalize(read);
    sqlite3_stmt* write = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db, "UPDATE events SET payload = ? WHERE idx = ?", -1, &write, nullptr),
        SQLITE_OK);
    sqlite3_bind_blob(write, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_bind_int64(write, 2, idx);
    ASSERT_EQ(sqlite3_step(write), SQLITE_DONE);
    sqlite3_finalize(write);
    sqlite3_close(db);
  };
  auto derived = [&]() -> check::CheckResult {
    for (auto& r : check::check_sqlite_file(uri(pristine_), pristine_, false)) {
      if (r.name == "derived rows") return r;
    }
    return {};
  };
  // `bel check` reads the events once for its scan and this check (DerivedRowsPass pages).
  auto command = [&] {
    return run_command(shell_quote(kBel) + " check --skip-integrity --format json --log " +
                       shell_quote(uri(pristine_)));
  };
  const std::string kDiffers = "idx 9: the event_id or build_request_id column differs";
  set_payload_id(7, [](const std::string& same) { return same; });
  const auto agreeing = derived();
  EXPECT_TRUE(agreeing.ok) << agreeing.detail;
  const auto agreeing_command = command();
  EXPECT_EQ(agreeing_command.exit_code, 0) << agreeing_command.out << agreeing_command.err;

  set_payload_id(9, [](const std::string&) { return new_event_id(); });
  const auto differing = derived();
  EXPECT_FALSE(differing.ok);
  EXPECT_NE(differing.detail.find(kDiffers), std::string::npos) << differing.detail;
  const auto differing_command = command();
  EXPECT_EQ(differing_command.exit_code, 1) << differing_command.err;
  EXPECT_NE(differing_command.out.find(kDiffers), std::string::npos) << differing_command.out;
}

// The type filters of the reads select on the event_type column: one that disagrees with its
// payload's type hides the event from them. The check names it; the repair derives the column
// from the payload again.
TEST_F(IndexDamageTest, EventTypeColumnThatDisagreesWithItsPayloadFailsTheCheckAndIsRepaired) {
  constexpr int64_t kIdx = 1234;
  const std::string original =
      Db(pristine_).column("SELECT event_type FROM events WHERE idx = 1234").at(0);
  auto with_its_type = [&]() -> std::optional<bool> {
    auto log = storage::open_storage(uri(pristine_), {});
    if (!log.ok()) return std::nullopt;
    auto one = (*log)->list_events(kIdx - 1, EventFilter(), 1);
    if (!one.ok() || one->events_size() != 1) return std::nullopt;
    EventFilter filter;
    filter.add_event_types(std::string(event_type_name(one->events(0))));
    auto page = (*log)->list_events(kIdx - 1, filter, 1);
    if (!page.ok()) return std::nullopt;
    return page->events_size() == 1 && page->events(0).idx() == kIdx;
  };
  ASSERT_EQ(with_its_type(), std::optional<bool>(true));
  const int wrong = std::stoi(original) == 1 ? 2 : 1;
  ASSERT_EQ(
      change_log("UPDATE events SET event_type = " + std::to_string(wrong) + " WHERE idx = 1234"),
      1);
  EXPECT_TRUE(integrity_ok(pristine_));
  EXPECT_EQ(with_its_type(), std::optional<bool>(false)) << "the damage should hide the event";

  const std::string kNamed =
      "idx 1234: the event_type column holds " + std::to_string(wrong) + " where the payload is a";
  bool derived_ok = true;
  for (const auto& r : check::check_sqlite_file(uri(pristine_), pristine_, false)) {
    if (r.name != "derived rows") continue;
    derived_ok = r.ok;
    EXPECT_NE(r.detail.find(kNamed), std::string::npos) << r.detail;
  }
  EXPECT_FALSE(derived_ok);
  auto checked = run_command(shell_quote(kBel) + " check --skip-integrity --format json --log " +
                             shell_quote(uri(pristine_)));
  EXPECT_EQ(checked.exit_code, 1) << checked.err;
  EXPECT_NE(checked.out.find(kNamed), std::string::npos) << checked.out;

  auto repaired =
      run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
  EXPECT_EQ(Db(pristine_).column("SELECT event_type FROM events WHERE idx = 1234"),
            std::vector<std::string>{original});
  EXPECT_EQ(with_its_type(), std::optional<bool>(true));
  EXPECT_TRUE(check_passes(pristine_));
}

// The pass a local `bel check` reads its events through hands out the events the storage's own
// scan gives, page by page, and reports the same "derived rows" wherever its pages stopped.
TEST_F(IndexDamageTest, DerivedRowsPassHandsOutTheLogsEventsAndReportsAlikeWhereverItsPagesStop) {
  const auto alone = check::check_sqlite_file(uri(pristine_), pristine_, false);
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_TRUE(alone[0].ok) << alone[0].detail;
  storage::StorageOptions read_only;
  read_only.read_only = true;
  auto log = storage::open_storage(uri(pristine_), read_only);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  for (int pages : {0, 1, 3, 1000}) {
    SCOPED_TRACE(std::to_string(pages) + " pages");
    auto pass = check::DerivedRowsPass::open(uri(pristine_), pristine_);
    ASSERT_TRUE(pass.ok()) << pass.error().to_string();
    EXPECT_EQ((*pass)->last_idx(), 3000);
    int64_t since = 0;
    for (int p = 0; p < pages; ++p) {
      EventPage got, want;
      ASSERT_TRUE((*pass)->read_page(since, 700, &got).ok());
      ASSERT_TRUE(
          (*log)
              ->list_events_into(since, EventFilter(), 700, &want, storage::EventDetail::full)
              .ok());
      ASSERT_EQ(got.SerializeAsString(), want.SerializeAsString()) << "page after idx " << since;
      if (!got.has_more()) break;
      since = got.next_idx();
    }
    // A page asked out of order is refused rather than read from the wrong place.
    if (pages == 1) {
      EventPage wrong;
      EXPECT_FALSE((*pass)->read_page(since + 1, 700, &wrong).ok());
    }
    const auto result = (*pass)->result();
    EXPECT_EQ(result.ok, alone[0].ok);
    EXPECT_EQ(result.detail, alone[0].detail);
  }
  // Through the local check: its one scan reads the pages; a scan per view reads none, and the
  // pass then reads the events itself beside it.
  for (int64_t one_scan_events : {int64_t{1000000}, int64_t{0}}) {
    SCOPED_TRACE("one_scan_events " + std::to_string(one_scan_events));
    auto pass = check::DerivedRowsPass::open(uri(pristine_), pristine_);
    ASSERT_TRUE(pass.ok()) << pass.error().to_string();
    check::LogCheckOptions options;
    options.log_uri = uri(pristine_);
    options.one_scan_events = one_scan_events;
    auto report = check::run_local_log_check(**log, options, pass->get());
    ASSERT_TRUE(report.ok()) << report.error().to_string();
    EXPECT_EQ(report->last_idx, 3000);
    for (const auto& c : report->checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    const auto result = (*pass)->result();
    EXPECT_EQ(result.ok, alone[0].ok);
    EXPECT_EQ(result.detail, alone[0].detail);
  }
}

// The key index's rows name their lowest and highest idx, which filtered reads skip rows by: the
// check compares them with the idx each row holds.
TEST_F(IndexDamageTest, PostingsWhoseIdxBoundsDisagreeWithTheirIdxFailTheCheck) {
  ASSERT_EQ(change_log("UPDATE key_postings SET first_idx = first_idx + 1 WHERE (kind, key,"
                       " last_idx) = (SELECT kind, key, last_idx FROM key_postings"
                       " WHERE first_idx < last_idx LIMIT 1)"),
            1);
  EXPECT_TRUE(integrity_ok(pristine_));
  const auto alone = check::check_sqlite_file(uri(pristine_), pristine_, false);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_FALSE(alone[0].ok);
  EXPECT_NE(alone[0].detail.find("1 rows whose first_idx or last_idx"), std::string::npos)
      << alone[0].detail;
  EXPECT_FALSE(check_passes(pristine_));
  auto repaired =
      run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
  EXPECT_TRUE(check_passes(pristine_));
}

// A payload that does not parse stops the scan of `bel check`, which reads through the
// derived-rows check's pass: both checks fail naming it, and the other checks still report.
TEST_F(IndexDamageTest, PayloadThatDoesNotParseFailsTheScanAndTheDerivedRowsAlike) {
  ASSERT_EQ(change_log("UPDATE events SET payload = x'ffffffff' WHERE idx = 1500"), 1);
  auto r = run_command(shell_quote(kBel) + " check --skip-integrity --format json --log " +
                       shell_quote(uri(pristine_)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string kNamed = "the payload of idx 1500 does not parse";
  for (const char* name : {"\"idx contiguity\"", "\"derived rows\""}) {
    const size_t at = r.out.find(name);
    ASSERT_NE(at, std::string::npos) << name << " in " << r.out;
    const std::string entry = r.out.substr(at, r.out.find('}', at) - at);
    EXPECT_NE(entry.find("\"ok\": false"), std::string::npos) << entry;
    EXPECT_NE(entry.find(kNamed), std::string::npos) << entry;
  }
  // The repair cannot rebuild an event from nothing: it stops naming it and leaves the log.
  const auto before = std::filesystem::last_write_time(pristine_);
  auto repair =
      run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  EXPECT_EQ(repair.exit_code, 1) << repair.out;
  EXPECT_NE(repair.err.find("storage_corrupt"), std::string::npos) << repair.err;
  EXPECT_NE(repair.err.find(kNamed), std::string::npos) << repair.err;
  EXPECT_EQ(std::filesystem::last_write_time(pristine_), before) << "the log was rewritten";
}

constexpr const char* kChildUriVariable = "BEL_INDEX_DAMAGE_CHILD_URI";

// The helper mode of the test below: a writer that appends 50 events to the log named in the
// environment and exits as a killed one would (no close, no checkpoint). Nothing in a normal run.
TEST(IndexDamageChild, AppendsToTheLogNamedByTheEnvironmentAndExitsWithoutClosing) {
  const char* named = std::getenv(kChildUriVariable);
  if (named == nullptr) GTEST_SKIP() << "helper for a cross-process test";
  RandomStreamOptions options;
  options.num_events = 50;
  auto events = random_stream(5, options);
  for (auto& e : events) {
    e.clear_idx();
    e.set_event_id(new_event_id());
  }
  auto log = storage::open_storage(named, {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  ASSERT_TRUE((*log)->append_batch(events).ok());
  std::printf("appended %zu\n", events.size());
  std::fflush(stdout);
  std::_Exit(0);
}

// A repair keeps the log's file, whatever name it is given: a symlink stays a symlink to the
// repaired file, a hard link still names it (no second log that a second writer could open), its
// mode is kept, and the commits a killed writer left beside another name (a hard link's WAL) are
// folded in first, not dropped. Its fresh copy is made in a directory of its own: a file another
// user made at a name beside the log is left alone, and nothing is left behind.
TEST_F(IndexDamageTest, RepairKeepsTheFileItsNamesAndCommitsLeftBesideAnotherName) {
  ASSERT_EQ(::chmod(pristine_.c_str(), 0640), 0);
  const std::string hard = dir_.path() + "/hard.db";
  std::filesystem::create_hard_link(pristine_, hard);
  std::filesystem::create_directory(dir_.path() + "/names");
  const std::string link = dir_.path() + "/names/link.db";
  std::filesystem::create_symlink(pristine_, link);
  const std::string planted = pristine_ + ".repair";
  std::ofstream(planted) << "another user's file";
  struct stat before {};
  ASSERT_EQ(::stat(pristine_.c_str(), &before), 0);
  ASSERT_EQ(change_log("DELETE FROM key_postings WHERE (kind, key, last_idx) = (SELECT kind,"
                       " key, last_idx FROM key_postings LIMIT 1)"),
            1);

  // A writer by the hard link's name, killed after its commit: 50 events in hard.db-wal only.
  std::error_code ec;
  auto killed = run_command(std::string(kChildUriVariable) + "=" + shell_quote(uri(hard)) + " " +
                            shell_quote(std::filesystem::read_symlink("/proc/self/exe", ec)) +
                            " --gtest_filter=IndexDamageChild.*");
  ASSERT_NE(killed.out.find("appended 50"), std::string::npos) << killed.out << killed.err;
  ASSERT_GT(std::filesystem::file_size(hard + "-wal"), 0u);

  auto repaired =
      run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(link)));
  ASSERT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
  EXPECT_NE(repaired.err.find("from 3050 events"), std::string::npos) << repaired.err;

  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_TRUE(std::filesystem::equivalent(hard, pristine_));
  struct stat after {};
  ASSERT_EQ(::stat(pristine_.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 07777, 0640u);
  for (const std::string& name : {pristine_, hard, link}) {
    storage::StorageOptions read_only;
    read_only.read_only = true;
    auto log = storage::open_storage(uri(name), read_only);
    ASSERT_TRUE(log.ok()) << name << ": " << log.error().to_string();
    EXPECT_EQ(*(*log)->last_idx(), 3050) << name;
  }
  // The repaired pages went through this name's WAL: this name is the writer's name recorded,
  // which a writer by another name folds in before it writes.
  EXPECT_EQ(Db(pristine_).column("SELECT value FROM meta WHERE key = 'writer_path'"),
            std::vector<std::string>{std::filesystem::canonical(pristine_).string()});
  EXPECT_TRUE(check_passes(pristine_));
  EXPECT_TRUE(filtered_reads_match_scan(pristine_));
  std::ifstream kept(planted);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "another user's file");
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".repair-"), std::string::npos)
        << entry.path() << " was left behind";
  }
}

// A killed repair leaves its directory, a copy of the log: the next repair, holding the writer
// lock every repair holds, removes it and says so. What only looks like one is left alone: a
// symlink (nor what it names), a file, another user's directory, one holding other files or a
// directory named as the copy, one of another mode than mkdtemp's, a name of another shape.
TEST_F(IndexDamageTest, RepairRemovesTheDirectoryAKilledRepairLeft) {
  const std::string killed = pristine_ + ".repair-Ab3xZ9";
  std::filesystem::create_directory(killed);
  ASSERT_EQ(::chmod(killed.c_str(), 0700), 0);
  std::ofstream(killed + "/log.db") << "a half-made copy";
  const std::string target = dir_.path() + "/kept";
  std::filesystem::create_directory(target);
  std::ofstream(target + "/file") << "kept";
  std::filesystem::create_directory_symlink(target, pristine_ + ".repair-q1w2e3");
  std::ofstream(pristine_ + ".repair-F1LE00") << "a file";
  std::filesystem::create_directory(pristine_ + ".repair-longer0");
  const std::string operators = pristine_ + ".repair-backup";  // the shape, but other files
  std::filesystem::create_directory(operators);
  ASSERT_EQ(::chmod(operators.c_str(), 0700), 0);
  std::ofstream(operators + "/log.db") << "a copy";
  std::ofstream(operators + "/notes.txt") << "why I kept it";
  const std::string nested = pristine_ + ".repair-n35ted";  // log.db is a directory there
  std::filesystem::create_directories(nested + "/log.db");
  ASSERT_EQ(::chmod(nested.c_str(), 0700), 0);
  std::ofstream(nested + "/log.db/kept") << "kept";
  const std::string open_mode = pristine_ + ".repair-0pen00";  // not mkdtemp's 0700
  std::filesystem::create_directory(open_mode);
  ASSERT_EQ(::chmod(open_mode.c_str(), 0755), 0);
  std::ofstream(open_mode + "/log.db") << "a copy";
  const std::string theirs = pristine_ + ".repair-Th31r5";  // another user's, when root can
  const bool root = ::geteuid() == 0;
  if (root) {
    std::filesystem::create_directory(theirs);
    ASSERT_EQ(::chown(theirs.c_str(), 4242, 4242), 0) << std::strerror(errno);
  }

  auto r = run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("removed " + killed + ", which a killed repair left"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(killed));
  EXPECT_TRUE(std::filesystem::is_symlink(pristine_ + ".repair-q1w2e3"));
  EXPECT_TRUE(std::filesystem::exists(target + "/file"));
  EXPECT_TRUE(std::filesystem::is_regular_file(pristine_ + ".repair-F1LE00"));
  EXPECT_TRUE(std::filesystem::is_directory(pristine_ + ".repair-longer0"));
  EXPECT_TRUE(std::filesystem::exists(operators + "/notes.txt"));
  EXPECT_TRUE(std::filesystem::exists(nested + "/log.db/kept"));
  EXPECT_TRUE(std::filesystem::exists(open_mode + "/log.db"));
  EXPECT_EQ(std::filesystem::is_directory(theirs), root);
  EXPECT_EQ(r.err.find("removed", r.err.find("removed") + 1), std::string::npos) << r.err;
  EXPECT_TRUE(check_passes(pristine_));
}

// Every event of the log at `path`, serialized, in idx order (read-only).
std::vector<std::string> every_event(const std::string& path) {
  storage::StorageOptions options;
  options.read_only = true;
  auto log = storage::open_storage("sqlite://" + path, options);
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  std::vector<std::string> out;
  if (!log.ok()) return out;
  for (int64_t since = 0;;) {
    auto page = (*log)->list_events(since, {}, storage::kMaxListLimit);
    EXPECT_TRUE(page.ok()) << page.error().to_string();
    if (!page.ok()) return out;
    for (const auto& e : page->events()) out.push_back(e.SerializeAsString());
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  return out;
}

// A repair killed (SIGKILL) at any point loses and changes no event, and leaves a log that the
// next repair repairs and no copy behind: while it builds its copy, while it copies the pages
// back into the log's WAL (a transaction not committed yet), and while it checkpoints them. Each
// kill point is a number of bytes the repair has written, which the test waits for (polled).
TEST_F(IndexDamageTest, ARepairKilledAtAnyPointLosesNoEventAndTheNextOneRepairs) {
  {
    RandomStreamOptions options;
    options.num_events = 27000;  // copies that take long enough to be caught half made
    options.partition_space = 4000;
    auto events = random_stream(23, options);
    auto log = storage::open_storage(uri(pristine_), {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    for (size_t at = 0; at < events.size(); at += 1000) {
      std::vector<BuildEvent> batch(events.begin() + static_cast<std::ptrdiff_t>(at),
                                    events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), at + 1000)));
      for (auto& e : batch) {
        e.clear_idx();
        e.set_event_id(new_event_id());
      }
      ASSERT_TRUE((*log)->append_batch(batch).ok());
    }
    while ((*log)->unindexed_events() > 0) ASSERT_TRUE((*log)->catch_up_indexes(100000).ok());
  }
  ASSERT_EQ(change_log("DELETE FROM key_postings WHERE (kind, key, last_idx) IN (SELECT kind,"
                       " key, last_idx FROM key_postings LIMIT 50)"),
            50);
  const auto expected = every_event(pristine_);
  ASSERT_EQ(expected.size(), 30000u);
  const auto db_size = std::filesystem::file_size(pristine_);
  auto copy_dir = [](const std::string& log) -> std::string {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(log).parent_path())) {
      const std::string name = entry.path().string();
      if (name.rfind(log + ".repair-", 0) == 0) return name;
    }
    return "";
  };
  // How many bytes the process has written (write and pwrite calls): the kill points are spread
  // over a repair's writes (its copy, the pages back into the log, their checkpoint: about three
  // times the log), whatever the files it writes them to.
  auto written_by = [](pid_t pid) -> std::optional<std::uintmax_t> {
    std::ifstream io("/proc/" + std::to_string(pid) + "/io");
    std::string field;
    std::uintmax_t value = 0;
    while (io >> field >> value) {
      if (field == "wchar:") return value;
    }
    return std::nullopt;
  };
  if (!written_by(::getpid())) GTEST_SKIP() << "no /proc/PID/io (I/O accounting) here";
  const std::vector<double> points = {0.25, 0.75, 1.25, 1.75, 2.25, 2.75};
  // "" when the log holds exactly the expected events, else what differs first.
  auto difference = [&](const std::string& log) -> std::string {
    const auto got = every_event(log);
    for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
      if (got[i] != expected[i]) return "the event at idx " + std::to_string(i + 1) + " differs";
    }
    if (got.size() == expected.size()) return "";
    return std::to_string(got.size()) + " events where " + std::to_string(expected.size()) +
           " were";
  };
  int killed = 0;
  for (const double point : points) {
    SCOPED_TRACE("killed after writing " + std::to_string(point) + " times the log's size");
    const std::string log = dir_.path() + "/killed.db";
    for (const char* side : {"", "-wal", "-shm"}) std::filesystem::remove(log + side);
    std::filesystem::copy_file(pristine_, log);
    const std::string log_uri = uri(log);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(kBel.c_str(), kBel.c_str(), "check", "--repair", "--skip-integrity", "--log",
              log_uri.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Waits for that many bytes written, or for the repair to end by itself first; a deadline
    // turns a hang into a failure.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    int status = 0;
    pid_t ended = 0;
    const auto kill_at = static_cast<std::uintmax_t>(point * static_cast<double>(db_size));
    bool late = false;
    for (;;) {
      ended = ::waitpid(child, &status, WNOHANG);
      if (ended < 0 && errno == EINTR) continue;
      if (ended != 0) break;
      if (written_by(child).value_or(0) >= kill_at) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        late = true;
        break;
      }
      std::this_thread::yield();
    }
    ASSERT_NE(ended, -1) << std::strerror(errno);
    if (ended == 0) {
      ::kill(child, SIGKILL);
      while ((ended = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
      }
      ASSERT_EQ(ended, child);
    }
    ASSERT_FALSE(late) << "the repair neither ended nor wrote that much within the deadline";
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      EXPECT_EQ(WEXITSTATUS(status), 0) << "the repair ended before the kill, and failed";
    }
    EXPECT_EQ(difference(log), "") << "after the killed repair";
    auto again = run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(log)));
    ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
    EXPECT_TRUE(copy_dir(log).empty()) << copy_dir(log) << " was left behind";
    EXPECT_TRUE(check_passes(log));
    EXPECT_TRUE(integrity_ok(log));
    EXPECT_EQ(difference(log), "") << "after the next repair";
  }
  // A repair of 30,000 events takes far longer than the polling: the kills landed.
  EXPECT_GE(killed, 4) << "too few repairs were caught before they ended";
}

// A writer that opens a log of an older schema says, before the migration's one transaction,
// that it migrates (on a large log the first open takes a while); the log then takes appends.
TEST_F(IndexDamageTest, AWriterSaysItMigratesAnOlderLog) {
  change_log(
      "CREATE TABLE old_keys(kind INTEGER NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL,"
      " PRIMARY KEY(kind, key, idx)) WITHOUT ROWID;"
      "INSERT INTO old_keys SELECT kind, key, idx FROM event_keys;"
      "DROP VIEW event_keys; DROP TABLE key_postings; ALTER TABLE old_keys RENAME TO event_keys;"
      "UPDATE meta SET value = '5' WHERE key = 'schema_version'");
  ASSERT_EQ(Db(pristine_).column("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::vector<std::string>{"5"});
  const std::string rebuilt = dir_.path() + "/rebuilt.db";  // `views rebuild` opens its own writer
  std::filesystem::copy_file(pristine_, rebuilt);
  auto views = run_command(shell_quote(kBel) + " views rebuild --log " + shell_quote(uri(rebuilt)));
  ASSERT_EQ(views.exit_code, 0) << views.err << views.out;
  EXPECT_NE(views.err.find(uri(rebuilt) + ": migrating the log from schema 5"), std::string::npos)
      << views.err;
  const std::string event = R"({"build_request_id":"br-m","build_request_event":{"status_code":1,)"
                            R"("requested_partitions":[{"str":"m/1"}]}})";
  auto r =
      run_command(shell_quote(kBel) + " append --log " + shell_quote(uri(pristine_)), event + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find(uri(pristine_) + ": migrating the log from schema 5 to " +
                       std::to_string(storage::kSchemaVersion)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("\"idx\":\"3001\""), std::string::npos) << r.out;
  r = run_command(shell_quote(kBel) + " append --log " + shell_quote(uri(pristine_)), event + "\n");
  EXPECT_EQ(r.err.find("migrating"), std::string::npos) << r.err;  // once
}

// The repair writes every page of the log into its WAL: one that is a symlink (or another user's
// file) is refused, naming it, and receives nothing.
TEST_F(IndexDamageTest, RepairRefusesAWalThatIsNotTheLogsOwn) {
  const std::string elsewhere = dir_.path() + "/elsewhere";
  std::ofstream(elsewhere).flush();
  std::filesystem::create_symlink(elsewhere, pristine_ + "-wal");
  auto r = run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(pristine_ + "-wal is a symlink"), std::string::npos) << r.err;
  EXPECT_EQ(std::filesystem::file_size(elsewhere), 0u);
}

TEST_F(IndexDamageTest, RepairIsRefusedWhileAnotherWriterHoldsTheLog) {
  auto lock = storage::WriterLock::acquire(uri(pristine_));
  ASSERT_TRUE(lock.ok()) << lock.error().to_string();
  auto before = std::filesystem::last_write_time(pristine_);
  auto r = run_command(shell_quote(kBel) + " check --repair --log " + shell_quote(uri(pristine_)));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("storage_unavailable"), std::string::npos) << r.err;
  EXPECT_EQ(std::filesystem::last_write_time(pristine_), before) << "the log was rewritten";
}

}  // namespace
}  // namespace bel
