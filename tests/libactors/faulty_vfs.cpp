#include "faulty_vfs.hpp"

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <sqlite3.h>

namespace actors::test::faulty_vfs {

namespace {

std::atomic<int> mode{0};
std::atomic<std::int64_t> budget{0};
std::atomic<std::int64_t> failed{0};

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs wrapper_vfs;
sqlite3_io_methods wrapper_io;

/// Our file: SQLite allocates szOsFile bytes; the real file follows our header.
struct file {
  sqlite3_file base;
  bool faultable; ///< main database or WAL
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

file* cast(sqlite3_file* f) { return reinterpret_cast<file*>(f); }

/// The error a write of `n` bytes gets now, or SQLITE_OK.
int write_fault(std::int64_t n) {
  switch (static_cast<fault>(mode.load())) {
    case fault::none:
      return SQLITE_OK;
    case fault::disk_full:
      if (budget.fetch_sub(n) >= n)
        return SQLITE_OK;
      budget.store(0);
      ++failed;
      return SQLITE_FULL;
    case fault::io_error:
      ++failed;
      return SQLITE_IOERR_WRITE;
    case fault::slow_write:
      if (auto ms = budget.exchange(0); ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds{ms}); // the fault itself: a slow disk
      return SQLITE_OK;
  }
  return SQLITE_OK;
}

int x_close(sqlite3_file* f) {
  auto* r = cast(f)->real();
  int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
  return rc;
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  auto* r = cast(f)->real();
  return r->pMethods->xRead(r, buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  auto* r = cast(f)->real();
  if (cast(f)->faultable)
    if (int rc = write_fault(n); rc != SQLITE_OK)
      return rc;
  return r->pMethods->xWrite(r, buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* r = cast(f)->real();
  return r->pMethods->xTruncate(r, size);
}
int x_sync(sqlite3_file* f, int flags) {
  auto* r = cast(f)->real();
  if (cast(f)->faultable && static_cast<fault>(mode.load()) == fault::io_error) {
    ++failed;
    return SQLITE_IOERR_FSYNC;
  }
  return r->pMethods->xSync(r, flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* r = cast(f)->real();
  return r->pMethods->xFileSize(r, size);
}
int x_lock(sqlite3_file* f, int lock) {
  auto* r = cast(f)->real();
  return r->pMethods->xLock(r, lock);
}
int x_unlock(sqlite3_file* f, int lock) {
  auto* r = cast(f)->real();
  return r->pMethods->xUnlock(r, lock);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  auto* r = cast(f)->real();
  return r->pMethods->xCheckReservedLock(r, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  auto* r = cast(f)->real();
  return r->pMethods->xFileControl(r, op, arg);
}
int x_sector_size(sqlite3_file* f) {
  auto* r = cast(f)->real();
  return r->pMethods->xSectorSize(r);
}
int x_device_characteristics(sqlite3_file* f) {
  auto* r = cast(f)->real();
  return r->pMethods->xDeviceCharacteristics(r);
}
int x_shm_map(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** out) {
  auto* r = cast(f)->real();
  return r->pMethods->xShmMap(r, pg, pgsz, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* r = cast(f)->real();
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  auto* r = cast(f)->real();
  r->pMethods->xShmBarrier(r);
}
int x_shm_unmap(sqlite3_file* f, int del) {
  auto* r = cast(f)->real();
  return r->pMethods->xShmUnmap(r, del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  auto* r = cast(f)->real();
  return r->pMethods->xFetch(r, off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  auto* r = cast(f)->real();
  return r->pMethods->xUnfetch(r, off, p);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ours = cast(f);
  std::memset(ours, 0, sizeof(file));
  int rc = real_vfs->xOpen(real_vfs, name, ours->real(), flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only if pMethods is set: leave it null, the real file is not open.
    return rc;
  }
  ours->faultable = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
  ours->base.pMethods = &wrapper_io;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync) {
  return real_vfs->xDelete(real_vfs, name, sync);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return real_vfs->xDlOpen(real_vfs, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* msg) {
  real_vfs->xDlError(real_vfs, n, msg);
}
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return real_vfs->xDlSym(real_vfs, h, sym);
}
void x_dl_close(sqlite3_vfs*, void* h) {
  real_vfs->xDlClose(real_vfs, h);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xRandomness(real_vfs, n, out);
}
int x_sleep(sqlite3_vfs*, int us) {
  return real_vfs->xSleep(real_vfs, us);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return real_vfs->xCurrentTime(real_vfs, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

} // namespace

void install() {
  static std::once_flag once;
  std::call_once(once, [] {
    real_vfs = sqlite3_vfs_find(nullptr);
    wrapper_io = sqlite3_io_methods{};
    wrapper_io.iVersion = 3;
    wrapper_io.xClose = x_close;
    wrapper_io.xRead = x_read;
    wrapper_io.xWrite = x_write;
    wrapper_io.xTruncate = x_truncate;
    wrapper_io.xSync = x_sync;
    wrapper_io.xFileSize = x_file_size;
    wrapper_io.xLock = x_lock;
    wrapper_io.xUnlock = x_unlock;
    wrapper_io.xCheckReservedLock = x_check_reserved_lock;
    wrapper_io.xFileControl = x_file_control;
    wrapper_io.xSectorSize = x_sector_size;
    wrapper_io.xDeviceCharacteristics = x_device_characteristics;
    wrapper_io.xShmMap = x_shm_map;
    wrapper_io.xShmLock = x_shm_lock;
    wrapper_io.xShmBarrier = x_shm_barrier;
    wrapper_io.xShmUnmap = x_shm_unmap;
    wrapper_io.xFetch = x_fetch;
    wrapper_io.xUnfetch = x_unfetch;
    wrapper_vfs = sqlite3_vfs{};
    wrapper_vfs.iVersion = 2;
    wrapper_vfs.szOsFile = static_cast<int>(sizeof(file)) + real_vfs->szOsFile;
    wrapper_vfs.mxPathname = real_vfs->mxPathname;
    wrapper_vfs.zName = name;
    wrapper_vfs.xOpen = x_open;
    wrapper_vfs.xDelete = x_delete;
    wrapper_vfs.xAccess = x_access;
    wrapper_vfs.xFullPathname = x_full_pathname;
    wrapper_vfs.xDlOpen = x_dl_open;
    wrapper_vfs.xDlError = x_dl_error;
    wrapper_vfs.xDlSym = x_dl_sym;
    wrapper_vfs.xDlClose = x_dl_close;
    wrapper_vfs.xRandomness = x_randomness;
    wrapper_vfs.xSleep = x_sleep;
    wrapper_vfs.xCurrentTime = x_current_time;
    wrapper_vfs.xGetLastError = x_get_last_error;
    wrapper_vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&wrapper_vfs, 0);
  });
}

void inject(fault f, std::int64_t bytes) {
  budget.store(bytes);
  mode.store(static_cast<int>(f));
}

void clear() {
  mode.store(static_cast<int>(fault::none));
}

std::int64_t failures() {
  return failed.load();
}

} // namespace actors::test::faulty_vfs
