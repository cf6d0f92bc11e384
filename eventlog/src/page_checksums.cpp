#include "page_checksums.hpp"

#include <cstring>
#include <string>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <endian.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sqlite3.h>


namespace actors::eventlog::internal {

std::uint64_t page_checksum(const unsigned char* page, std::size_t size, std::uint64_t pgno) noexcept {
  // Fletcher's two running sums over 32-bit little-endian words, without the modulo: over at most
  // 16 Ki words neither sum can wrap a 64-bit counter, so each keeps every change of a word (first sum)
  // and of the words' order (second sum). Seeded with the page number.
  std::uint64_t a = pgno;
  std::uint64_t b = 0;
  const auto words = (size - checksum_reserve) / 4;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t w;
    std::memcpy(&w, page + 4 * i, 4);
    a += le32toh(w);
    b += a;
  }
  return (a & 0xffffffffu) | (b << 32);
}

bool page_checksum_ok(const unsigned char* page, std::size_t size, std::uint64_t pgno) noexcept {
  std::uint64_t stored;
  std::memcpy(&stored, page + size - checksum_reserve, sizeof(stored));
  return le64toh(stored) == page_checksum(page, size, pgno);
}

namespace {

thread_local std::optional<std::string> last_fault;

constexpr const char* shim_name = "actors-checksum";

/// A file of the shim. SQLite allocates `szOsFile` bytes: this header, then the base VFS's file.
struct checksum_file {
  sqlite3_file head;         ///< pMethods = &methods
  const char* name = nullptr; ///< the path, for fault messages (owned by SQLite, lives as long)
  bool enabled = false;       ///< the file's header reserves checksum_reserve bytes per page
  bool known = false;         ///< `enabled` was read from a header (an empty file has none yet)
  bool verify = true;         ///< reads verify checksums (PRAGMA actors_checksum_verification)
};
constexpr std::size_t base_offset = (sizeof(checksum_file) + 15) / 16 * 16;

checksum_file* cast(sqlite3_file* f) {
  return reinterpret_cast<checksum_file*>(f);
}
sqlite3_file* base_of(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + base_offset);
}
sqlite3_vfs* base_vfs(sqlite3_vfs* v) {
  return static_cast<sqlite3_vfs*>(v->pAppData);
}

bool is_page(int amount, sqlite3_int64 offset) {
  return amount >= 512 && amount <= 65536 && (amount & (amount - 1)) == 0 && offset % amount == 0;
}

/// Reads the header of page 1: whether the file reserves room for checksums.
void note_header(checksum_file* f, const void* data, int amount, sqlite3_int64 offset) {
  static constexpr char magic[] = "SQLite format 3";
  if (offset == 0 && amount >= 100 && std::memcmp(data, magic, sizeof(magic)) == 0) {
    f->enabled = static_cast<const unsigned char*>(data)[20] == checksum_reserve;
    f->known = true;
  }
}

/// Learns `enabled` from the file's header if it is not known yet: a connection that opened the file
/// while it was empty must not write pages without checksums after another connection wrote page 1.
void learn_header(checksum_file* f, sqlite3_file* base) {
  if (f->known)
    return;
  unsigned char header[100];
  if (base->pMethods->xRead(base, header, sizeof(header), 0) == SQLITE_OK)
    note_header(f, header, sizeof(header), 0);
}

int x_close(sqlite3_file* f) {
  auto* b = base_of(f);
  return b->pMethods != nullptr ? b->pMethods->xClose(b) : SQLITE_OK;
}

int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  auto* b = base_of(f);
  auto rc = b->pMethods->xRead(b, buf, amount, offset);
  if (rc != SQLITE_OK)
    return rc; // a short read zero-fills past the end: nothing to verify
  auto* self = cast(f);
  note_header(self, buf, amount, offset);
  if (offset != 0 && is_page(amount, offset))
    learn_header(self, b);
  if (self->enabled && self->verify && is_page(amount, offset)) {
    auto pgno = static_cast<std::uint64_t>(offset / amount) + 1;
    if (!page_checksum_ok(static_cast<const unsigned char*>(buf), static_cast<std::size_t>(amount), pgno)) {
      last_fault = "page " + std::to_string(pgno) + " (offset " + std::to_string(offset) + ") of " +
                   (self->name != nullptr ? self->name : "the journal") + ": checksum mismatch";
      sqlite3_log(SQLITE_IOERR_DATA, "%s", last_fault->c_str());
      return SQLITE_IOERR_DATA;
    }
  }
  return SQLITE_OK;
}

int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  auto* b = base_of(f);
  auto* self = cast(f);
  note_header(self, buf, amount, offset);
  if (offset != 0 && is_page(amount, offset))
    learn_header(self, b);
  if (!self->enabled || !is_page(amount, offset))
    return b->pMethods->xWrite(b, buf, amount, offset);
  // Checksum a copy: SQLite's page buffer stays as SQLite left it.
  thread_local std::vector<unsigned char> copy;
  copy.assign(static_cast<const unsigned char*>(buf), static_cast<const unsigned char*>(buf) + amount);
  auto pgno = static_cast<std::uint64_t>(offset / amount) + 1;
  auto sum = htole64(page_checksum(copy.data(), copy.size(), pgno));
  std::memcpy(copy.data() + amount - checksum_reserve, &sum, sizeof(sum));
  return b->pMethods->xWrite(b, copy.data(), amount, offset);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* b = base_of(f);
  return b->pMethods->xTruncate(b, size);
}
int x_sync(sqlite3_file* f, int flags) {
  auto* b = base_of(f);
  return b->pMethods->xSync(b, flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* b = base_of(f);
  return b->pMethods->xFileSize(b, size);
}
int x_lock(sqlite3_file* f, int lock) {
  auto* b = base_of(f);
  return b->pMethods->xLock(b, lock);
}
int x_unlock(sqlite3_file* f, int lock) {
  auto* b = base_of(f);
  return b->pMethods->xUnlock(b, lock);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  auto* b = base_of(f);
  return b->pMethods->xCheckReservedLock(b, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  auto* b = base_of(f);
  if (op == SQLITE_FCNTL_PRAGMA) {
    // PRAGMA actors_checksum_verification[=on|off]: reads verify checksums (for a connection that
    // inspects or repairs a damaged journal); checksums are written either way.
    auto** args = static_cast<char**>(arg);
    if (sqlite3_stricmp(args[1], "actors_checksum_verification") == 0) {
      if (args[2] != nullptr)
        cast(f)->verify = sqlite3_stricmp(args[2], "off") != 0 && sqlite3_stricmp(args[2], "0") != 0;
      args[0] = sqlite3_mprintf("%d", cast(f)->enabled && cast(f)->verify ? 1 : 0);
      return SQLITE_OK;
    }
  }
  auto rc = b->pMethods->xFileControl(b, op, arg);
  if (rc == SQLITE_OK && op == SQLITE_FCNTL_VFSNAME)
    *static_cast<char**>(arg) = sqlite3_mprintf("%s/%z", shim_name, *static_cast<char**>(arg));
  return rc;
}
int x_sector_size(sqlite3_file* f) {
  auto* b = base_of(f);
  return b->pMethods->xSectorSize(b);
}
int x_device_characteristics(sqlite3_file* f) {
  auto* b = base_of(f);
  return b->pMethods->xDeviceCharacteristics(b);
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  auto* b = base_of(f);
  if (b->pMethods->iVersion < 2)
    return SQLITE_IOERR_SHMMAP;
  return b->pMethods->xShmMap(b, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* b = base_of(f);
  return b->pMethods->iVersion < 2 ? SQLITE_IOERR_SHMLOCK : b->pMethods->xShmLock(b, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  auto* b = base_of(f);
  if (b->pMethods->iVersion >= 2)
    b->pMethods->xShmBarrier(b);
}
int x_shm_unmap(sqlite3_file* f, int remove) {
  auto* b = base_of(f);
  return b->pMethods->iVersion < 2 ? SQLITE_OK : b->pMethods->xShmUnmap(b, remove);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  auto* b = base_of(f);
  if (cast(f)->enabled || b->pMethods->iVersion < 3) {
    *out = nullptr; // no memory-mapped pages: every read goes through x_read and is verified
    return SQLITE_OK;
  }
  return b->pMethods->xFetch(b, offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  auto* b = base_of(f);
  return b->pMethods->iVersion < 3 ? SQLITE_OK : b->pMethods->xUnfetch(b, offset, page);
}

const sqlite3_io_methods methods = {
  3,           x_close,          x_read,        x_write,       x_truncate,
  x_sync,      x_file_size,      x_lock,        x_unlock,      x_check_reserved,
  x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
  x_shm_barrier, x_shm_unmap,    x_fetch,       x_unfetch,
};

int v_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* base = base_vfs(v);
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0) // WAL, journals, temp files: the base VFS's own file
    return base->xOpen(base, name, f, flags, out_flags);
  auto* self = new (f) checksum_file{};
  self->name = name;
  auto rc = base->xOpen(base, name, base_of(f), flags, out_flags);
  // SQLite calls xClose only if pMethods is set: on failure the base file is not to be closed.
  self->head.pMethods = rc == SQLITE_OK ? &methods : nullptr;
  if (rc == SQLITE_OK) {
    // Whether the file has checksums, from its header now: in WAL mode SQLite reads page 1 from the
    // WAL when the WAL has a newer copy, so the shim might never see page 1 of the file itself.
    learn_header(self, base_of(f));
  }
  return rc;
}

int v_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return base_vfs(v)->xDelete(base_vfs(v), name, sync_dir);
}
int v_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return base_vfs(v)->xAccess(base_vfs(v), name, flags, out);
}
int v_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return base_vfs(v)->xFullPathname(base_vfs(v), name, n, out);
}
void* v_dl_open(sqlite3_vfs* v, const char* name) {
  return base_vfs(v)->xDlOpen(base_vfs(v), name);
}
void v_dl_error(sqlite3_vfs* v, int n, char* out) {
  base_vfs(v)->xDlError(base_vfs(v), n, out);
}
void (*v_dl_sym(sqlite3_vfs* v, void* h, const char* sym))(void) {
  return base_vfs(v)->xDlSym(base_vfs(v), h, sym);
}
void v_dl_close(sqlite3_vfs* v, void* h) {
  base_vfs(v)->xDlClose(base_vfs(v), h);
}
int v_randomness(sqlite3_vfs* v, int n, char* out) {
  return base_vfs(v)->xRandomness(base_vfs(v), n, out);
}
int v_sleep(sqlite3_vfs* v, int us) {
  return base_vfs(v)->xSleep(base_vfs(v), us);
}
int v_current_time(sqlite3_vfs* v, double* out) {
  return base_vfs(v)->xCurrentTime(base_vfs(v), out);
}
int v_last_error(sqlite3_vfs* v, int n, char* out) {
  return base_vfs(v)->xGetLastError(base_vfs(v), n, out);
}
int v_current_time64(sqlite3_vfs* v, sqlite3_int64* out) {
  return base_vfs(v)->xCurrentTimeInt64(base_vfs(v), out);
}
int v_set_syscall(sqlite3_vfs* v, const char* name, sqlite3_syscall_ptr p) {
  return base_vfs(v)->xSetSystemCall(base_vfs(v), name, p);
}
sqlite3_syscall_ptr v_get_syscall(sqlite3_vfs* v, const char* name) {
  return base_vfs(v)->xGetSystemCall(base_vfs(v), name);
}
const char* v_next_syscall(sqlite3_vfs* v, const char* name) {
  return base_vfs(v)->xNextSystemCall(base_vfs(v), name);
}

/// A registered shim over one base VFS (never unregistered: connections may outlive any owner).
struct shim {
  std::string name;
  sqlite3_vfs vfs{};
};

} // namespace

std::optional<std::string> checksum_vfs(const std::string& base_name) {
  static std::mutex mx;
  static std::map<std::string, std::unique_ptr<shim>> shims;
  std::lock_guard guard{mx};
  if (auto i = shims.find(base_name); i != shims.end())
    return i->second->name;
  auto* base = sqlite3_vfs_find(base_name.empty() ? nullptr : base_name.c_str());
  if (base == nullptr)
    return std::nullopt;
  auto s = std::make_unique<shim>();
  s->name = base_name.empty() ? std::string{shim_name} : std::string{shim_name} + "/" + base_name;
  auto& v = s->vfs;
  v.iVersion = base->iVersion < 3 ? base->iVersion : 3;
  v.szOsFile = static_cast<int>(base_offset) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = s->name.c_str();
  v.pAppData = base;
  v.xOpen = v_open;
  v.xDelete = v_delete;
  v.xAccess = v_access;
  v.xFullPathname = v_full_pathname;
  v.xDlOpen = v_dl_open;
  v.xDlError = v_dl_error;
  v.xDlSym = v_dl_sym;
  v.xDlClose = v_dl_close;
  v.xRandomness = v_randomness;
  v.xSleep = v_sleep;
  v.xCurrentTime = v_current_time;
  v.xGetLastError = v_last_error;
  if (v.iVersion >= 2)
    v.xCurrentTimeInt64 = v_current_time64;
  if (v.iVersion >= 3) {
    v.xSetSystemCall = v_set_syscall;
    v.xGetSystemCall = v_get_syscall;
    v.xNextSystemCall = v_next_syscall;
  }
  if (sqlite3_vfs_register(&v, 0) != SQLITE_OK)
    return std::nullopt; // only when out of memory
  auto name = s->name;
  shims.emplace(base_name, std::move(s));
  return name;
}

std::optional<std::string> scan_file(const std::string& path) {
  auto fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return path + ": cannot read: " + std::strerror(errno);
  auto fault = [&](std::string what) {
    ::close(fd);
    return std::optional<std::string>{std::move(what)};
  };
  unsigned char header[100];
  if (::pread(fd, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)))
    return fault(path + ": cannot read its header");
  std::size_t page = (static_cast<std::size_t>(header[16]) << 8) | header[17];
  if (page == 1)
    page = 65536;
  if (page < 512 || page > 65536 || (page & (page - 1)) != 0)
    return fault("the header of " + path + ": page size " + std::to_string(page) + " is not valid");
  std::vector<unsigned char> buf(page * 256);
  // SQLite never writes the page that holds its lock bytes (the "pending byte" at 1 GiB): a file past
  // 1 GiB has one page there that carries no checksum (found at 10 M events).
  constexpr std::uint64_t pending_byte = 0x40000000;
  const std::uint64_t lock_page = pending_byte / page + 1;
  std::uint64_t pgno = 1;
  for (off_t offset = 0;;) {
    auto n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fault(path + ": cannot read at offset " + std::to_string(offset) + ": " + std::strerror(errno));
    if (n == 0)
      break;
    auto pages = static_cast<std::size_t>(n) / page; // a partial page at the end: not SQLite's
    for (std::size_t i = 0; i < pages; ++i, ++pgno)
      if (pgno != lock_page && !page_checksum_ok(buf.data() + i * page, page, pgno))
        return fault("page " + std::to_string(pgno) + " (offset " +
                     std::to_string(static_cast<std::uint64_t>(pgno - 1) * page) + ") of " + path +
                     ": checksum mismatch");
    offset += static_cast<off_t>(pages * page);
    if (pages * page < static_cast<std::size_t>(n) || pages == 0)
      break;
  }
  ::close(fd);
  return std::nullopt;
}

std::optional<std::string> take_fault() {
  return std::exchange(last_fault, std::nullopt);
}

} // namespace actors::eventlog::internal
