// A log file reached by more than one name (hard links): the commits a killed writer left in the
// write-ahead log beside its own name (SPEC section 9, R7; section 2).
//
// SQLite keeps a log's WAL and shared-memory files beside the name it opened, symlinks resolved,
// hard links not: a writer through `b.db` (a hard link of `a.db`) writes `b.db-wal`. When it
// stops without closing, its last commits are in `b.db-wal` only, and a writer opening `a.db`
// would neither see them nor know of them: it would hand their idx out again, and its
// checkpoints would rewrite pages that `b.db-wal`, replayed later by a reader of `b.db`, would
// overwrite (a forked log and a damaged file). So every writer records the name it writes by in
// the file itself (meta.writer_path, copied into the file at once), and every open looks, before
// it reads, for a WAL with commits beside the name the last writer recorded:
//
//   // any open, before its own connection opens (a reader takes the writer lock for this):
//   if (auto other = other_name_with_commits(path, vfs)) {
//     BEL_RETURN_IF_ERROR(fold_in_wal_of(uri, path, *other, vfs));
//   }
//   // in a writer's first transaction:
//   auto changed = record_writer_path(db, uri, path);   // then checkpoint when *changed
//
// The fold holds the writer lock, so nobody writes the file meanwhile, and SQLite replays a WAL
// only into the file it belongs to. SQLite shares a file's shared-memory index between the
// connections of one process, whatever name each opened: a process with the file open already
// would fold the other name's WAL against its own index, so it does not fold (the open is refused
// naming the other name; a fresh process folds). A name that no longer exists, now names another
// file (a copy, a moved log) or whose WAL is this name's own (one directory by two paths, a bind
// mount) is ignored.
#ifndef BEL_STORAGE_SQLITE_WAL_NAMES_H_
#define BEL_STORAGE_SQLITE_WAL_NAMES_H_

#include <sqlite3.h>

#include <optional>
#include <string>

#include "messages/error.h"
#include "storage/checks.h"  // kWriterPathKey

namespace bel::storage {

// The name meta.writer_path records, when it is another name of `path`'s file and the WAL beside
// it is not empty: a writer by that name stopped without closing, and its last commits may be
// there only. nullopt for a new log, a file SQLite cannot read, or nothing to fold.
std::optional<std::string> other_name_with_commits(const std::string& path,
                                                   const std::string& vfs);

// Folds the WAL beside `other` into the file. REQUIRES: the caller holds the writer lock, and no
// SqliteStorage of this process has the file open (open_in_this_process below).
// storage_unavailable when it cannot (a reader by that name holds the WAL), or when this name
// has a WAL with frames too (two writers wrote by two names without this check: folding either
// would lose the other's commits).
Status fold_in_wal_of(const std::string& uri, const std::string& path, const std::string& other,
                      const std::string& vfs);

// storage_unavailable for an open that cannot fold (the writer lock is taken, or this process has
// the file open already): read it by `other`, or open it in a fresh process.
Error cannot_fold(const std::string& uri, const std::string& other, const std::string& why);

// storage_unavailable naming the file when the WAL or shared-memory file SQLite would use beside
// `path` is a symlink, or belongs to a user who may not read the log: not its owner, not this
// process's user, nor (for a log its group may read) a file of the log's group. SQLite would
// write the log's pages into it, where that user reads them (a file planted in a shared
// directory). SQLite gives the files it makes the log's owner when it runs as root, and a writer
// of a group-shared log leaves files of its own, so a log's own files pass.
Status check_side_files(const std::string& uri, const std::string& path);

// How many SqliteStorage handles of this process have the file at `path` open (by any name), as
// counted by the CountedOpen each of them holds.
int open_in_this_process(const std::string& path);

// Counts the file at `path` as open in this process for as long as it lives.
class CountedOpen {
 public:
  explicit CountedOpen(const std::string& path);  // counts nothing when there is no such file
  ~CountedOpen();
  CountedOpen(const CountedOpen&) = delete;
  CountedOpen& operator=(const CountedOpen&) = delete;

 private:
  bool counted_ = false;
  unsigned long long device_ = 0;
  unsigned long long inode_ = 0;
};

// In the caller's write transaction: sets meta.writer_path to this open's name. True when it
// changed, so the caller copies it into the file (a checkpoint) once committed.
Result<bool> record_writer_path(sqlite3* db, const std::string& uri, const std::string& path);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_WAL_NAMES_H_
