#pragma once
// faulty_vfs — an SQLite VFS that wraps the default one and fails writes on demand: "disk full"
// (SQLITE_FULL once a byte budget is spent) or an I/O error (SQLITE_IOERR_WRITE on write,
// SQLITE_IOERR_FSYNC on sync). The storage-fault tests open the journal through it
// (engine_config::journal_vfs = faulty_vfs::name) and switch faults on and off while an engine runs.
//
// Faults apply to writes of the main database file and its WAL only; reads, locks and shared memory
// pass straight through, so other connections (readers, tools) on the same file stay coherent.

#include <atomic>
#include <cstdint>

namespace actors::test::faulty_vfs {

inline constexpr const char* name = "actors-faulty";

enum class fault : int {
  none = 0,
  disk_full = 1, ///< writes beyond the byte budget fail with SQLITE_FULL
  io_error = 2,  ///< every write fails with SQLITE_IOERR_WRITE, every sync with SQLITE_IOERR_FSYNC
  slow_write = 3,///< a slow disk: the next write waits `budget` milliseconds, then succeeds (once)
};

/// Registers the VFS (once; not as the default). Thread-safe.
void install();

/// Fails writes from now on: `disk_full` lets `budget` more bytes through first; `slow_write` delays
/// the next write by `budget` milliseconds (so an append stays uncommitted that long: the tests of
/// acknowledged starts make the window between queueing and committing a row wide and certain).
void inject(fault f, std::int64_t budget = 0);

/// Clears the fault: writes succeed again.
void clear();

/// How many writes and syncs the VFS has failed since install.
std::int64_t failures();

} // namespace actors::test::faulty_vfs
