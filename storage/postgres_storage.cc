#include "storage/postgres_storage.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "messages/filter_match.h"
#include "storage/checks.h"
#include "storage/event_detail.h"
#include "storage/postgres_lock.h"
#include "storage/postgres_query.h"
#include "storage/snapshot_codec.h"

namespace bel::storage {
namespace {

// PostgreSQL's identifiers, and so its channel names, hold at most 63 bytes.
constexpr size_t kMaxIdentifierBytes = 63;

// `name` as the server keeps an identifier: at most 63 bytes, cut at a character's start (UTF-8).
std::string server_cut(const std::string& name) {
  if (name.size() <= kMaxIdentifierBytes) return name;
  size_t n = kMaxIdentifierBytes;
  while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
  return name.substr(0, n);
}

// The first schema a search_path setting names, read as PostgreSQL reads it (its
// SplitIdentifierString): a quoted name as written ("" standing for a quote), an unquoted one
// folded to lower case (ASCII letters). "" when the setting names none. A name over 63 bytes is
// left for the server to cut, in its own encoding, as it cuts the name it looks up.
std::string first_schema_of(std::string_view setting) {
  auto space = [](char c) {  // PostgreSQL's scanner_isspace
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  };
  size_t i = 0;
  while (i < setting.size() && space(setting[i])) ++i;
  std::string name;
  if (i < setting.size() && setting[i] == '"') {
    for (++i; i < setting.size(); ++i) {
      if (setting[i] != '"') {
        name += setting[i];
      } else if (i + 1 < setting.size() && setting[i + 1] == '"') {
        name += '"';
        ++i;
      } else {
        break;
      }
    }
  } else {
    for (; i < setting.size() && setting[i] != ',' && !space(setting[i]); ++i) {
      const char c = setting[i];
      name += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  return name;
}

// Created in the connection's current schema; keys and ids compare bytewise (COLLATE "C"), as
// SQLite's BINARY does, so prefix ranges find exactly the refs that start with the prefix.
constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  idx bigint PRIMARY KEY,
  event_uuid uuid UNIQUE,
  event_text text COLLATE "C" UNIQUE,
  timestamp bigint NOT NULL,
  build_request_id text COLLATE "C" NOT NULL,
  event_type smallint NOT NULL,
  payload bytea NOT NULL,
  CHECK ((event_uuid IS NULL) <> (event_text IS NULL)));
CREATE INDEX IF NOT EXISTS events_by_build_request ON events(build_request_id, idx);
CREATE TABLE IF NOT EXISTS event_keys(
  kind smallint NOT NULL, key text COLLATE "C" NOT NULL, idx bigint NOT NULL,
  PRIMARY KEY(kind, key, idx));
CREATE TABLE IF NOT EXISTS snapshots(
  view text COLLATE "C" NOT NULL, version integer NOT NULL, applied_idx bigint NOT NULL,
  data bytea NOT NULL, PRIMARY KEY(view, version));
)sql";

}  // namespace

PostgresStorage::PostgresStorage(std::string uri, StorageOptions options)
    : StorageBackend(shown_uri(uri), std::move(options)), db_(std::move(uri)) {}

Result<std::unique_ptr<PostgresStorage>> PostgresStorage::open(const std::string& uri,
                                                               StorageOptions options) {
  std::unique_ptr<PostgresStorage> storage(new PostgresStorage(uri, std::move(options)));
  BEL_RETURN_IF_ERROR(storage->db_.connect());
  return storage;
}

Result<std::string> PostgresStorage::schema_name() {
  if (!schema_.empty()) return schema_;
  // A URI that sets search_path (options=-csearch_path%3Dteam_b,public: source "client") names
  // its log's schema first ("$user" aside, which names the user's schema only where one exists;
  // "pg_" names are the server's): PostgreSQL's current_schema() is the first schema that exists
  // and this user may use, so with team_b missing it would be public's log, another than the one
  // asked for. A path from the server's settings (the database's, the role's) keeps
  // current_schema(), as it always did; its first schema is created only when none exists.
  auto r = db_.exec(
      "SELECT current_schema(), current_setting('search_path'), "
      "(SELECT source FROM pg_settings WHERE name = 'search_path')",
      {}, "initialize");
  if (!r.ok()) return r.error();
  const std::string name = first_schema_of(pg_cell(r->get(), 0, 1));
  const bool from_uri = pg_cell(r->get(), 0, 2) == "client";
  const bool exists = pq().PQntuples(r->get()) == 1 && !pq().PQgetisnull(r->get(), 0, 0);
  const bool named = exists && pg_cell(r->get(), 0, 0) == server_cut(name);
  const bool ours = !name.empty() && name != "$user" && name.rfind("pg_", 0) != 0;
  if (ours && from_uri && !named && options().read_only) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: no bel log in schema {} yet (search_path names it first "
                                  "and it does not exist); a coordinator or `bel append` on "
                                  "this URI makes one",
                                  uri(), name));
  }
  if (ours && (from_uri ? !named : !exists) && !options().read_only) {
    // A writer creates it (a log of its own in a shared database).
    char* quoted = pq().PQescapeIdentifier(db_.raw(), name.data(), name.size());
    if (quoted == nullptr) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("{}: schema name \"{}\" cannot be quoted", uri(), name));
    }
    const std::string sql = std::string("CREATE SCHEMA IF NOT EXISTS ") + quoted;
    pq().PQfreemem(quoted);
    Status created = db_.command(sql, "initialize: create schema " + name);
    // Another coordinator starting at the same moment created it between IF NOT EXISTS's look
    // and its insert (a unique violation in the catalog): it exists, which is all we asked.
    if (!created.ok() && db_.last_sqlstate() != "23505" && db_.last_sqlstate() != "42P06") {
      return created.error();
    }
    r = db_.exec("SELECT current_schema()", {}, "initialize");
    if (!r.ok()) return r.error();
    // It existed already, but this user may not use it: current_schema() passed it by.
    if (from_uri && (pq().PQntuples(r->get()) != 1 || pq().PQgetisnull(r->get(), 0, 0) ||
                     pg_cell(r->get(), 0, 0) != server_cut(name))) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: search_path names schema {} first, which this user may "
                                    "not use (no USAGE on it)",
                                    uri(), name));
    }
  }
  if (pq().PQntuples(r->get()) != 1 || pq().PQgetisnull(r->get(), 0, 0)) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: the connection has no current schema (does the schema in "
                                  "search_path exist?)",
                                  uri()));
  }
  schema_ = pg_cell(r->get(), 0, 0);
  return schema_;
}

std::string commit_channel(const std::string& schema) {
  std::string channel = "bel_log_" + schema;
  if (channel.size() <= kMaxIdentifierBytes) return channel;
  // FNV-1a: the same name from every bel, whatever its build.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : schema) hash = (hash ^ c) * 1099511628211ull;
  return fmt::format("bel_log_{:016x}", hash);
}

Status PostgresStorage::lock_log(std::string_view what) {
  Status locked = db_.command(pg_lock_sql(options()), what);
  if (!locked.ok() && db_.last_sqlstate() == "55P03") {
    // A holder stopped in its COPY is past the server's stall timeout: end its session, so that
    // the next attempt (this one fails all the same: its transaction is aborted) takes the lock.
    db_.rollback();
    const bool ended = end_stalled_lock_holder(db_, options());
    return make_error(
        ErrorCode::storage_unavailable,
        fmt::format("{}: {}: another writer of this log has held it for over {} ms (a "
                    "coordinator stopped or stalled in its transaction, whose session {}); "
                    "{}, a retry is safe",
                    uri(), what, options().postgres_lock_wait.count(),
                    ended ? "was stalled in a COPY and is now ended" : "the server soon ends",
                    kNothingWritten));
  }
  return locked;
}

namespace {

// The meta row's schema_version: ok when this bel reads it; a log whose row holds anything but a
// version number is not bel's, one newer than this bel's is schema_too_new.
Status pg_check_schema_version(const std::string& uri, const std::string& value) {
  int version = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), version);
  if (ec != std::errc() || end != value.data() + value.size() || version < 1) {
    return make_error(ErrorCode::storage_corrupt,
                      fmt::format("{}: not a bel log: schema_version \"{}\" is not a version "
                                  "number",
                                  uri, value));
  }
  if (version > kSchemaVersion) {
    return make_error(ErrorCode::schema_too_new,
                      fmt::format("{}: log schema version {} is newer than this bel's ({})", uri,
                                  version, kSchemaVersion));
  }
  return ok_status();
}

}  // namespace

Status PostgresStorage::initialize() {
  auto schema = schema_name();
  if (!schema.ok()) return schema.error();
  if (options().read_only) {
    auto version = get_meta(kSchemaVersionKey);
    if (!version.ok() && version.error().code != ErrorCode::storage_corrupt) {
      return version.error();  // the server or this user's rights, not the log
    }
    if (!version.ok() && db_.last_sqlstate() == "42P01") {  // undefined_table: nothing here yet
      BEL_RETURN_IF_ERROR(pg_check_not_foreign(db_, *schema));
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: no bel log in schema {} yet (it has no meta table); "
                                    "a coordinator or `bel append` on this URI makes one",
                                    uri(), *schema));
    }
    if (!version.ok()) {
      return make_error(ErrorCode::storage_corrupt,
                        fmt::format("{}: not a bel log: {}", uri(), version.error().message));
    }
    if (!version->has_value()) {
      return make_error(ErrorCode::storage_corrupt,
                        fmt::format("{}: not a bel log: no schema_version", uri()));
    }
    return pg_check_schema_version(uri(), **version);
  }
  // Several coordinators may initialize the same log at once: the log's lock orders them.
  auto created = [&]() -> Status {
    BEL_RETURN_IF_ERROR(db_.command("BEGIN", "initialize"));
    BEL_RETURN_IF_ERROR(lock_log("initialize: lock"));
    BEL_RETURN_IF_ERROR(pg_check_not_foreign(db_, *schema));
    BEL_RETURN_IF_ERROR(db_.command(kSchemaSql, "initialize: create tables"));
    auto version = get_meta(kSchemaVersionKey);
    if (!version.ok()) return version.error();
    if (version->has_value()) BEL_RETURN_IF_ERROR(pg_check_schema_version(uri(), **version));
    // The tables above are every version's so far: migrating is recording the version.
    auto set = db_.exec(
        "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
        "excluded.value",
        {std::string(kSchemaVersionKey), std::to_string(kSchemaVersion)}, "initialize");
    if (!set.ok()) return set.error();
    auto id = db_.exec("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT (key) DO NOTHING",
                       {std::string(kLogIdKey), new_event_id()}, "initialize: the log's id");
    if (!id.ok()) return id.error();
    return db_.command("COMMIT", "initialize: commit");
  }();
  if (!created.ok()) db_.rollback();
  return created;
}

Result<int64_t> PostgresStorage::insert_locked(const std::vector<BuildEvent>& events,
                                               const AppendCondition* condition) {
  BEL_RETURN_IF_ERROR(lock_log("append: lock"));
  BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::begin));
  int64_t last = 0;
  if (condition != nullptr && !condition->meta_key.empty()) {
    auto r = db_.exec_prepared("bel_last_idx_and_meta",
                               "SELECT coalesce(max(idx), 0), coalesce((SELECT value FROM meta"
                               " WHERE key = $1), '') FROM events",
                               {condition->meta_key}, "append: reading the log's end");
    if (!r.ok()) return r.error();
    last = pg_cell_int(r->get(), 0, 0);
    if (pg_cell(r->get(), 0, 1) != condition->meta_value) return int64_t{0};
  } else {
    auto found = last_idx();
    if (!found.ok()) return found.error();
    last = *found;
  }
  if (condition != nullptr && last != condition->last_idx) return int64_t{0};
  const int64_t first_idx = last + 1;
  std::string event_rows;
  std::string key_rows;
  std::string payload;
  BuildEvent without_idx;
  for (size_t i = 0; i < events.size(); ++i) {
    BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::insert));
    const BuildEvent* event = &events[i];
    BEL_RETURN_IF_ERROR(serialize_payload(uri(), i, *event, without_idx, payload));
    const std::string idx = std::to_string(first_idx + static_cast<int64_t>(i));
    const bool canonical = uuid_to_bytes(event->event_id()).has_value();
    event_rows += idx;
    event_rows += '\t';
    if (canonical) pg_copy_append(event_rows, event->event_id()); else event_rows += "\\N";
    event_rows += '\t';
    if (canonical) event_rows += "\\N"; else pg_copy_append(event_rows, event->event_id());
    event_rows += '\t';
    event_rows += std::to_string(event->timestamp());
    event_rows += '\t';
    pg_copy_append(event_rows, event->build_request_id());
    event_rows += '\t';
    event_rows += std::to_string(event_type_number(*event));
    event_rows += '\t';
    pg_copy_append(event_rows, pg_bytea_hex(payload));
    event_rows += '\n';
    for_each_key(*event, [&](KeyKind kind, std::string_view key) {
      key_rows += std::to_string(static_cast<int>(kind));
      key_rows += '\t';
      pg_copy_append(key_rows, key);
      key_rows += '\t';
      key_rows += idx;
      key_rows += '\n';
    });
  }
  auto copied = db_.copy_in(
      "COPY events(idx, event_uuid, event_text, timestamp, build_request_id, event_type, "
      "payload) FROM STDIN",
      event_rows, "append: insert events");
  if (!copied.ok()) {
    if (db_.last_sqlstate() == "23505") return duplicate_error(events);
    return copied.error();
  }
  if (!key_rows.empty()) {
    BEL_RETURN_IF_ERROR(db_.copy_in("COPY event_keys(kind, key, idx) FROM STDIN", key_rows,
                                    "append: insert keys"));
  }
  const int64_t last_new = first_idx + static_cast<int64_t>(events.size()) - 1;
  auto schema = schema_name();
  if (!schema.ok()) return schema.error();
  auto notified = db_.exec("SELECT pg_notify($1, $2)",
                           {commit_channel(*schema), std::to_string(last_new)}, "append: notify");
  if (!notified.ok()) return notified.error();
  return first_idx;
}

Error PostgresStorage::duplicate_error(const std::vector<BuildEvent>& events) {
  // The failed transaction is gone: find the first id already in the log or earlier in the batch.
  db_.rollback();
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.event_id());
  std::unordered_set<std::string> stored;
  if (auto found = find_by_event_ids(ids); found.ok()) {
    for (const auto& s : *found) stored.insert(s.event.event_id());
  }
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (stored.count(ids[i]) > 0 || !seen.insert(ids[i]).second) {
      return duplicate_event_id_error(uri(), i, ids[i]);
    }
  }
  // Another writer committed one of these ids between the failure and the lookup's snapshot
  // cannot happen (ids never leave the log); report the batch as a whole.
  return duplicate_event_id_error(uri(), 0, ids.front());
}

Result<std::optional<std::vector<int64_t>>> PostgresStorage::append_batch_if(
    const AppendCondition& condition, const std::vector<BuildEvent>& events) {
  return append_checked(events, &condition);
}

Result<int64_t> PostgresStorage::commit_batch(const std::vector<BuildEvent>& events,
                                              const AppendCondition* condition) {
  bool committing = false;  // COMMIT sent: a failure from then on may follow its effect
  auto written = [&]() -> Result<int64_t> {
    BEL_RETURN_IF_ERROR(db_.command("BEGIN", "append: begin"));
    auto first_idx = insert_locked(events, condition);
    if (!first_idx.ok() || *first_idx == 0) return first_idx;
    BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::commit));
    committing = true;
    BEL_RETURN_IF_ERROR(db_.command("COMMIT", "append: commit"));
    return first_idx;
  }();
  // Nothing stored on error, nor when the log moved on (0).
  if (!written.ok() || *written == 0) db_.rollback();
  if (!written.ok() && !committing && written.error().code == ErrorCode::storage_unavailable &&
      written.error().message.find(kNothingWritten) == std::string::npos) {
    // Lost before its COMMIT was sent: the server rolled it back. Said, not left in doubt.
    Error lost = written.error();
    lost.message += fmt::format("; {} (no commit was sent), a retry is safe", kNothingWritten);
    return lost;
  }
  return written;
}

Status PostgresStorage::scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter,
                             int limit, EventPage* out, EventDetail detail) {
  const bool backward = order == ScanOrder::descending;
  // The SQL narrows the events down (an index where the filter allows); event_matches decides.
  // Rows come in chunks until limit + 1 events match (has_more) or the range is exhausted.
  EventPage& page = *out;
  page.set_next_idx(bound_idx);
  PgScanCursor cursor{bound_idx, backward};
  // Parsed with what event_matches needs, then cut to `detail`.
  const EventDetail parsed = parse_detail(detail, filter);
  int64_t chunk = limit + 1;
  for (;;) {
    const PgQuery query = pg_list_events_query(cursor, filter, chunk);
    auto rows = db_.exec(query.sql, query.params, "list_events");
    if (!rows.ok()) return rows.error();
    const int n = pq().PQntuples(rows->get());
    for (int row = 0; row < n; ++row) {
      const int64_t idx = pg_cell_int(rows->get(), row, 0);
      cursor.bound = idx;
      auto payload = pg_bytea_from_text(pg_cell(rows->get(), row, 1));
      // Parsed in place (on the page's arena, when it has one); dropped again when it does not
      // match or the page is full.
      BuildEvent* event = page.add_events();
      if (!payload || !parse_event_payload(*payload, parsed, event)) {
        return make_error(
            ErrorCode::storage_corrupt,
            fmt::format("{}: list_events: the payload of idx {} does not parse", uri(), idx));
      }
      if (!event_matches(filter, *event)) {
        page.mutable_events()->RemoveLast();
        continue;
      }
      if (parsed != detail) drop_detail(detail, event);
      if (page.events_size() > limit) {
        page.mutable_events()->RemoveLast();
        page.set_has_more(true);
        return ok_status();
      }
      event->set_idx(idx);
      page.set_next_idx(idx);
    }
    if (n < chunk || (backward && cursor.bound <= 1)) return ok_status();
    chunk = std::min<int64_t>(chunk * 4, kMaxListLimit);
  }
}

Result<std::vector<StoredEvent>> PostgresStorage::find_by_event_ids(
    const std::vector<std::string>& event_ids) {
  std::vector<StoredEvent> found;
  std::unordered_set<int64_t> seen;
  constexpr size_t kPerLookup = 500;
  for (size_t start = 0; start < event_ids.size(); start += kPerLookup) {
    const size_t n = std::min(kPerLookup, event_ids.size() - start);
    std::vector<std::string> uuids;
    std::vector<std::string> texts;
    for (size_t i = start; i < start + n; ++i) {
      (uuid_to_bytes(event_ids[i]) ? uuids : texts).push_back(event_ids[i]);
    }
    const PgQuery query = pg_find_by_event_ids_query(uuids, texts);
    auto rows = db_.exec(query.sql, query.params, "find_by_event_ids");
    if (!rows.ok()) return rows.error();
    for (int row = 0; row < pq().PQntuples(rows->get()); ++row) {
      const int64_t idx = pg_cell_int(rows->get(), row, 0);
      if (!seen.insert(idx).second) continue;
      StoredEvent stored;
      stored.idx = idx;
      auto payload = pg_bytea_from_text(pg_cell(rows->get(), row, 1));
      if (!payload || !parse_event_payload(*payload, EventDetail::full, &stored.event)) {
        return make_error(ErrorCode::storage_corrupt,
                          fmt::format("{}: the payload of idx {} does not parse", uri(), idx));
      }
      stored.event.set_idx(idx);
      found.push_back(std::move(stored));
    }
  }
  return found;
}

Result<int64_t> PostgresStorage::last_idx() {
  auto r = db_.exec_prepared("bel_last_idx", "SELECT coalesce(max(idx), 0) FROM events", {},
                             "last_idx");
  if (!r.ok()) return r.error();
  return pg_cell_int(r->get(), 0, 0);
}

Result<std::optional<std::string>> PostgresStorage::get_meta(const std::string& key) {
  auto r = db_.exec("SELECT value FROM meta WHERE key = $1", {key}, "get_meta");
  if (!r.ok()) return r.error();
  if (pq().PQntuples(r->get()) == 0) return std::optional<std::string>();
  return std::optional<std::string>(pg_cell(r->get(), 0, 0));
}

Status PostgresStorage::write_meta(const std::string& key, const std::string& value) {
  auto written = [&]() -> Status {
    BEL_RETURN_IF_ERROR(db_.command("BEGIN", "set_meta: begin"));
    BEL_RETURN_IF_ERROR(lock_log("set_meta: lock"));
    auto r = db_.exec(
        "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
        "excluded.value",
        {key, value}, "set_meta");
    if (!r.ok()) return r.error();
    // The other writers' commit watchers wake and follow: they take a new validation mode now,
    // not at their next append.
    auto schema = schema_name();
    if (!schema.ok()) return schema.error();
    auto notified =
        db_.exec("SELECT pg_notify($1, 'meta')", {commit_channel(*schema)}, "set_meta: notify");
    if (!notified.ok()) return notified.error();
    return db_.command("COMMIT", "set_meta: commit");
  }();
  if (!written.ok()) db_.rollback();
  return written;
}

Status PostgresStorage::save_snapshot(const Snapshot& snapshot) {
  if (options().read_only) return read_only_error(uri(), "save_snapshot");
  std::string scratch;  // compressed here unless the caller did (snapshot_codec.h)
  auto stored = stored_snapshot_bytes(snapshot.data, snapshot.encoded, &scratch);
  if (!stored.ok()) {
    return stored.error().with_context(
        fmt::format("{}: snapshot {} v{}", uri(), snapshot.view, snapshot.version));
  }
  auto r = db_.exec(
      "INSERT INTO snapshots(view, version, applied_idx, data) VALUES($1, $2, $3, $4) "
      "ON CONFLICT (view, version) DO UPDATE SET applied_idx = excluded.applied_idx, "
      "data = excluded.data",
      {snapshot.view, std::to_string(snapshot.version), std::to_string(snapshot.applied_idx),
       pg_bytea_hex(*stored)},
      "save_snapshot");
  if (!r.ok()) return r.error();
  return ok_status();
}

Status PostgresStorage::drop_older_snapshots(const std::string& view, int version) {
  if (options().read_only) return read_only_error(uri(), "drop_older_snapshots");
  auto r = db_.exec("DELETE FROM snapshots WHERE view = $1 AND version < $2",
                    {view, std::to_string(version)}, "drop_older_snapshots");
  if (!r.ok()) return r.error();
  return ok_status();
}

Result<std::optional<Snapshot>> PostgresStorage::load_stored_snapshot(const std::string& view,
                                                                      int version) {
  auto r = db_.exec("SELECT applied_idx, data FROM snapshots WHERE view = $1 AND version = $2",
                    {view, std::to_string(version)}, "load_snapshot");
  if (!r.ok()) return r.error();
  if (pq().PQntuples(r->get()) == 0) return std::optional<Snapshot>();
  Snapshot s;
  s.view = view;
  s.version = version;
  s.applied_idx = pg_cell_int(r->get(), 0, 0);
  auto data = pg_bytea_from_text(pg_cell(r->get(), 0, 1));
  if (!data) {
    return make_error(ErrorCode::storage_corrupt,
                      fmt::format("{}: snapshot {} v{} is not bytea", uri(), view, version));
  }
  s.data = std::move(*data);
  s.encoded = true;  // as stored: decode_snapshot_data reads plain blobs too
  return std::optional<Snapshot>(std::move(s));
}

Result<std::optional<Snapshot>> PostgresStorage::load_snapshot(const std::string& view,
                                                               int version) {
  return load_decoded_snapshot(view, version);
}

Result<std::unique_ptr<Storage>> PostgresStorage::open_reader() {
  StorageOptions options;
  options.read_only = true;
  auto reader = PostgresStorage::open(db_.conninfo(), options);
  if (!reader.ok()) return reader.error();
  return std::unique_ptr<Storage>(std::move(*reader));
}

Result<bool> PostgresStorage::wait_for_commit(std::chrono::milliseconds timeout) {
  if (!listening_ || listen_generation_ != db_.generation()) {
    auto schema = schema_name();
    if (!schema.ok()) return schema.error();
    const std::string channel = commit_channel(*schema);
    // Quoting takes a connection (its encoding): after a failed attempt to connect there is none,
    // and none would ever be made again before the LISTEN (which would make one).
    if (!db_.connected()) BEL_RETURN_IF_ERROR(db_.connect());
    char* quoted = pq().PQescapeIdentifier(db_.raw(), channel.data(), channel.size());
    if (quoted == nullptr) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: listen: the channel name cannot be quoted", uri()));
    }
    const std::string listen = std::string("LISTEN ") + quoted;
    pq().PQfreemem(quoted);
    BEL_RETURN_IF_ERROR(db_.command(listen, "listen"));
    listening_ = true;
    listen_generation_ = db_.generation();
  }
  PGconn* conn = db_.raw();
  auto drained = [&] {
    bool any = false;
    pq().PQconsumeInput(conn);
    while (PGnotify* n = pq().PQnotifies(conn)) {
      any = true;
      pq().PQfreemem(n);
    }
    return any;
  };
  const auto lost = [&] {
    listening_ = false;  // the next wait reconnects and listens again
    return make_error(
        ErrorCode::storage_unavailable,
        fmt::format("{}: waiting for commits: lost the connection to PostgreSQL", db_.uri()));
  };
  if (drained()) return true;
  if (pq().PQstatus(conn) != CONNECTION_OK) return lost();
  pollfd fd{pq().PQsocket(conn), POLLIN, 0};
  const int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
  if (ready > 0 && drained()) return true;
  if (ready < 0 || pq().PQstatus(conn) != CONNECTION_OK) return lost();
  return false;
}

}  // namespace bel::storage
