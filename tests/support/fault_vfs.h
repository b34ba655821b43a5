// A fault-injecting SQLite VFS for tests (SPEC section 9, R3): it wraps the default VFS under its
// own name and, while a fault is switched on, fails what a sick disk fails, below everything of
// bel's: the storage actor and the SQLite backend see real SQLite errors.
//
//   bel::testing::FaultVfs::install();                        // once; not the default VFS
//   storage::StorageOptions options;
//   options.sqlite_vfs = bel::testing::FaultVfs::kName;       // this log's connections use it
//   ...
//   bel::testing::FaultVfs::set(bel::testing::DiskFault::disk_full);   // appends now fail
//   bel::testing::FaultVfs::set(bel::testing::DiskFault::none);        // and work again
//
// Faults, on every connection opened through the VFS:
//  - write_error: writes to the database and WAL files fail with SQLITE_IOERR_WRITE;
//  - disk_full:   the same writes fail with SQLITE_FULL;
//  - fsync_error: syncs fail with SQLITE_IOERR_FSYNC (the data may have reached the file);
//  - busy:        the WAL write lock (and a rollback journal's RESERVED lock and above) is
//                 refused with SQLITE_BUSY, as if another process held it; SQLite's busy handler
//                 retries until its timeout first.
// Reads never fail, so queries keep working during any fault.
//
// Thread-safety: set() and injected() may be called from any thread; install() is idempotent.
#ifndef BEL_TESTS_SUPPORT_FAULT_VFS_H_
#define BEL_TESTS_SUPPORT_FAULT_VFS_H_

#include <cstdint>

namespace bel::testing {

enum class DiskFault { none, write_error, disk_full, fsync_error, busy };

class FaultVfs {
 public:
  static constexpr const char* kName = "bel_fault";
  static void install();
  static void set(DiskFault fault);
  // Calls failed by the VFS since the process started.
  static int64_t injected();
};

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_FAULT_VFS_H_
