#include "bench/pure_append_actor.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "actors/bel_api.h"
#include "actors/caf_support.h"
#include "bench/raw_sqlite.h"
#include "messages/types.h"
#include "storage/sqlite_support.h"

namespace bel::bench {
namespace {

using actors::append_atom;
using actors::AppendOutcomes;
using actors::each_atom;
using actors::stats_atom;
using actors::tick_atom;

struct PureState {
  std::string where;
  sqlite3* db = nullptr;
  storage::Statement insert;       // one row
  storage::Statement insert_rows;  // kRowsPerStatement rows, as bel's append_batch writes them
  bool with_ids = false;           // PureRows::with_ids
  bool open_transaction = false;
  int64_t next_idx = 1;
  // The rows not yet inserted (fewer than kRowsPerStatement), reused.
  std::vector<std::string> payloads = std::vector<std::string>(kRowsPerStatement);
  std::vector<std::string> ids = std::vector<std::string>(kRowsPerStatement);
  size_t held = 0;
  std::vector<std::pair<int64_t, caf::typed_response_promise<AppendAck>>> waiting;
  // Messages of several appends (the Appender's): each answered with its outcomes after COMMIT.
  struct Several {
    caf::typed_response_promise<AppendOutcomes> promise;
    int64_t first_idx = 0;
    size_t count = 0;
  };
  std::vector<Several> waiting_several;
  size_t waiting_events = 0;  // in waiting and waiting_several
  Error failure;  // of the open transaction's inserts, if any
  bool failed = false;
  StorageStats stats;

  PureState() = default;
  PureState(const PureState&) = delete;
  PureState& operator=(const PureState&) = delete;
  ~PureState() {
    insert = storage::Statement();
    insert_rows = storage::Statement();
    sqlite3_close(db);
  }

  Status exec(const char* sql) { return storage::exec_sql(db, where, sql, sql); }

  // Inserts the rows held (numbered up to next_idx - 1): kRowsPerStatement in one statement, fewer
  // each in its own. A failure fails the open transaction.
  void insert_held() {
    const int columns = with_ids ? 3 : 2;
    auto bind_row = [&](sqlite3_stmt* s, size_t slot, size_t row) {
      const int p = static_cast<int>(slot) * columns;
      sqlite3_bind_int64(s, p + 1, next_idx - static_cast<int64_t>(held - row));
      sqlite3_bind_blob(s, p + 2, payloads[row].data(), static_cast<int>(payloads[row].size()),
                        SQLITE_STATIC);
      if (with_ids) storage::bind_event_id(s, p + 3, ids[row]);
    };
    auto step = [&](sqlite3_stmt* s) {
      const int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE && !failed) {
        failed = true;
        failure = storage::sqlite_error(where, db, rc, "insert");
      }
    };
    if (held == kRowsPerStatement) {
      for (size_t row = 0; row < held; ++row) bind_row(insert_rows.get(), row, row);
      step(insert_rows.get());
    } else {
      for (size_t row = 0; row < held; ++row) {
        bind_row(insert.get(), 0, row);
        step(insert.get());
      }
    }
    held = 0;
  }

  // Answers everything held with the COMMIT's outcome.
  void commit() {
    insert_held();
    Status done = failed ? Status(failure) : exec("COMMIT");
    if (!done.ok() && !sqlite3_get_autocommit(db)) (void)exec("ROLLBACK");
    open_transaction = false;
    failed = false;
    if (done.ok()) {
      stats.set_commits(stats.commits() + 1);
      stats.set_events_appended(stats.events_appended() + static_cast<int64_t>(waiting_events));
      stats.set_max_group_events(
          std::max<int64_t>(stats.max_group_events(), static_cast<int64_t>(waiting_events)));
      stats.set_last_idx(next_idx - 1);
    } else {
      stats.set_failed_commits(stats.failed_commits() + 1);
    }
    for (auto& [idx, promise] : waiting) {
      if (done.ok()) {
        AppendAck ack;
        ack.set_idx(idx);
        promise.deliver(std::move(ack));
      } else {
        promise.deliver(actors::to_caf_error(done.error()));
      }
    }
    waiting.clear();
    for (auto& several : waiting_several) {
      if (!done.ok()) {
        several.promise.deliver(actors::to_caf_error(done.error()));
        continue;
      }
      AppendOutcomes outcomes(several.count);
      for (size_t k = 0; k < several.count; ++k) {
        outcomes[k].ack.set_idx(several.first_idx + static_cast<int64_t>(k));
      }
      several.promise.deliver(std::move(outcomes));
    }
    waiting_several.clear();
    waiting_events = 0;
  }

  // Begins the group's transaction unless one is open (its tick then commits it).
  template <class Self>
  Status begin(Self* self) {
    if (open_transaction) return ok_status();
    BEL_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
    open_transaction = true;
    // Arrives after the appends already queued: the group is what the mailbox held.
    self->send(self, tick_atom::value);
    return ok_status();
  }

  // Holds `event`'s row for the open transaction; returns its idx.
  int64_t add(const BuildEvent& event) {
    const int64_t idx = next_idx++;
    event.SerializeToString(&payloads[held]);
    if (with_ids) ids[held] = event.event_id();
    if (++held == kRowsPerStatement) insert_held();
    ++waiting_events;
    return idx;
  }
};

// The actor's state: the connection, opened on the caller's thread, used on the actor's only.
struct PureActorState {
  std::shared_ptr<PureState> pure;
  static inline const char* name = "bel.bench.pure_append";
};

}  // namespace

Result<caf::actor> spawn_pure_append_actor(caf::actor_system& system, const std::string& path,
                                           bool durability_full, PureRows rows) {
  const std::string where = path + ": pure-append actor";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return make_error(ErrorCode::invalid_argument, where + ": the file exists already");
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto state = std::make_shared<PureState>();
  state->where = where;
  state->db = db;  // closed by the state, even when opening fails
  if (rc != SQLITE_OK) return storage::sqlite_error(where, db, rc, "opening");
  for (const char* sql :
       {"PRAGMA journal_mode = WAL",
        durability_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        rows == PureRows::payload
            ? "CREATE TABLE pure(idx INTEGER PRIMARY KEY, payload BLOB NOT NULL)"
            : "CREATE TABLE pure(idx INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE,"
              " payload BLOB NOT NULL)"}) {
    BEL_RETURN_IF_ERROR(state->exec(sql));
  }
  state->with_ids = rows == PureRows::with_ids;
  const std::string_view row = state->with_ids ? "(?, ?, ?)" : "(?, ?)";
  const std::string_view sql = state->with_ids ? "INSERT INTO pure(idx, payload, event_id) VALUES"
                                               : "INSERT INTO pure(idx, payload) VALUES";
  auto insert = storage::prepare(db, where, storage::with_repeated(sql, row, 1));
  if (!insert.ok()) return insert.error();
  state->insert = std::move(*insert);
  auto insert_rows =
      storage::prepare(db, where, storage::with_repeated(sql, row, kRowsPerStatement));
  if (!insert_rows.ok()) return insert_rows.error();
  state->insert_rows = std::move(*insert_rows);
  return system.spawn<caf::detached>(
      [state](caf::stateful_actor<PureActorState>* self) -> caf::behavior {
        self->state.pure = state;
        return {
            [self](append_atom, const BuildEvent& event) -> caf::result<AppendAck> {
              auto& st = *self->state.pure;
              if (auto begun = st.begin(self); !begun.ok()) {
                return actors::to_caf_error(begun.error());
              }
              const int64_t idx = st.add(event);
              st.waiting.emplace_back(idx, self->make_response_promise<AppendAck>());
              return st.waiting.back().second;
            },
            // As bel_api's: the Appender's single-event appends, several to a message.
            [self](append_atom, each_atom,
                   const std::vector<BuildEvent>& events) -> caf::result<AppendOutcomes> {
              auto& st = *self->state.pure;
              if (auto begun = st.begin(self); !begun.ok()) {
                return actors::to_caf_error(begun.error());
              }
              PureState::Several several{self->make_response_promise<AppendOutcomes>(), st.next_idx,
                                         events.size()};
              for (const BuildEvent& event : events) st.add(event);
              st.waiting_several.push_back(std::move(several));
              return st.waiting_several.back().promise;
            },
            [self](tick_atom) { self->state.pure->commit(); },
            [self](stats_atom) { return self->state.pure->stats; },
        };
      });
}

}  // namespace bel::bench
