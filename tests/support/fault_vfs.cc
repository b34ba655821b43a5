#include "tests/support/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace bel::testing {
namespace {

std::atomic<int> g_fault{static_cast<int>(DiskFault::none)};
std::atomic<int64_t> g_injected{0};
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

// Our file: the real VFS's file lives right behind it.
struct FaultFile {
  sqlite3_file base;
  int flags;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

FaultFile* fault_file(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }

bool on(DiskFault fault) { return g_fault.load() == static_cast<int>(fault); }

int inject(int rc) {
  ++g_injected;
  return rc;
}

int x_close(sqlite3_file* f) { return fault_file(f)->real()->pMethods->xClose(fault_file(f)->real()); }
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return fault_file(f)->real()->pMethods->xRead(fault_file(f)->real(), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  const bool data = (fault_file(f)->flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
  if (data && on(DiskFault::write_error)) return inject(SQLITE_IOERR_WRITE);
  if (data && on(DiskFault::disk_full)) return inject(SQLITE_FULL);
  return fault_file(f)->real()->pMethods->xWrite(fault_file(f)->real(), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return fault_file(f)->real()->pMethods->xTruncate(fault_file(f)->real(), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (on(DiskFault::fsync_error)) return inject(SQLITE_IOERR_FSYNC);
  return fault_file(f)->real()->pMethods->xSync(fault_file(f)->real(), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return fault_file(f)->real()->pMethods->xFileSize(fault_file(f)->real(), size);
}
int x_lock(sqlite3_file* f, int level) {
  if (level >= SQLITE_LOCK_RESERVED && on(DiskFault::busy)) return inject(SQLITE_BUSY);
  return fault_file(f)->real()->pMethods->xLock(fault_file(f)->real(), level);
}
int x_unlock(sqlite3_file* f, int level) {
  return fault_file(f)->real()->pMethods->xUnlock(fault_file(f)->real(), level);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return fault_file(f)->real()->pMethods->xCheckReservedLock(fault_file(f)->real(), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return fault_file(f)->real()->pMethods->xFileControl(fault_file(f)->real(), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return fault_file(f)->real()->pMethods->xSectorSize(fault_file(f)->real());
}
int x_device_characteristics(sqlite3_file* f) {
  return fault_file(f)->real()->pMethods->xDeviceCharacteristics(fault_file(f)->real());
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return fault_file(f)->real()->pMethods->xShmMap(fault_file(f)->real(), region, size, extend,
                                                  out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  // Slot 0 is the WAL write lock.
  const bool write_lock = offset == 0 && (flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE);
  if (write_lock && on(DiskFault::busy)) return inject(SQLITE_BUSY);
  return fault_file(f)->real()->pMethods->xShmLock(fault_file(f)->real(), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { fault_file(f)->real()->pMethods->xShmBarrier(fault_file(f)->real()); }
int x_shm_unmap(sqlite3_file* f, int del) {
  return fault_file(f)->real()->pMethods->xShmUnmap(fault_file(f)->real(), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return fault_file(f)->real()->pMethods->xFetch(fault_file(f)->real(), off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return fault_file(f)->real()->pMethods->xUnfetch(fault_file(f)->real(), off, p);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ff = fault_file(f);
  ff->flags = flags;
  const int rc = g_real->xOpen(g_real, name, ff->real(), flags, out_flags);
  // SQLite calls xClose only when pMethods is set: set it only for an open real file.
  ff->base.pMethods = (rc == SQLITE_OK && ff->real()->pMethods != nullptr) ? &g_methods : nullptr;
  return rc;
}

}  // namespace

void FaultVfs::install() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs = *g_real;
    g_vfs.zName = kName;
    g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
    g_vfs.pNext = nullptr;
    g_vfs.xOpen = x_open;
    // Every other VFS call (delete, access, randomness, time...) is the real VFS's own, which
    // reads only its own pAppData: the copy above carries it.
    g_methods = sqlite3_io_methods{3,
                                   x_close,
                                   x_read,
                                   x_write,
                                   x_truncate,
                                   x_sync,
                                   x_file_size,
                                   x_lock,
                                   x_unlock,
                                   x_check_reserved,
                                   x_file_control,
                                   x_sector_size,
                                   x_device_characteristics,
                                   x_shm_map,
                                   x_shm_lock,
                                   x_shm_barrier,
                                   x_shm_unmap,
                                   x_fetch,
                                   x_unfetch};
    sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
  });
}

void FaultVfs::set(DiskFault fault) { g_fault.store(static_cast<int>(fault)); }

int64_t FaultVfs::injected() { return g_injected.load(); }

}  // namespace bel::testing
