#pragma once
// Page checksums: how the journal finds damage in its file. Internal.
//
// Every connection to a file journal goes through the "actors-checksum" SQLite VFS, a shim over the
// VFS the journal is configured with (journal_options::vfs, default the platform's). A journal created
// by this version reserves 8 bytes at the end of every page (SQLite's "reserved bytes", byte 20 of the
// file header); the shim writes a checksum of the rest of the page there whenever it writes a page to
// the database file, and verifies it whenever it reads a page from it. A page whose checksum does not
// match fails the read with SQLITE_IOERR_DATA, which the journal reports as `errc::corrupt` naming the
// file and the page (`take_fault`). Journals without reserved bytes (created before schema 9) pass
// through unchanged: they are checked by `PRAGMA quick_check` when opened for writing.
//
// What is covered: the database file. Pages in the WAL are protected by SQLite's own frame checksums,
// which it verifies when it recovers a WAL (the first open after a crash); a page is checksummed by us
// when a checkpoint copies it into the database file. Memory-mapped reads are turned off for checksummed
// files, so every page read is verified.
//
// Thread safety: registration is thread-safe; the shim's files are used as SQLite uses any file (one
// connection at a time). The fault record is per thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace actors::eventlog::internal {

/// Bytes reserved at the end of each page for its checksum.
inline constexpr int checksum_reserve = 8;

/// The name of the checksum VFS over the VFS `base` ("" = the platform's default), registered (not as
/// the default) on first use; nothing if no VFS named `base` is registered.
std::optional<std::string> checksum_vfs(const std::string& base);

/// The checksum stored in the last 8 bytes of page `pgno` (1-based) of `size` bytes (a power of two,
/// at least 512): Fletcher sums of the bytes before them, seeded with the page number, so a page
/// written to the wrong place fails too. Exposed for tests.
std::uint64_t page_checksum(const unsigned char* page, std::size_t size, std::uint64_t pgno) noexcept;

/// Whether page `pgno` (`size` bytes at `page`) carries its valid checksum.
bool page_checksum_ok(const unsigned char* page, std::size_t size, std::uint64_t pgno) noexcept;

/// Reads the database file at `path` from start to end and verifies the checksum of every page (the
/// fast part of the check at open: a sequential read, no SQLite). Returns the first bad page's fault
/// ("page 37 (offset 147456) of ...: checksum mismatch"), or nothing. A page torn by a crash while a
/// checkpoint wrote it is reported too: the caller asks SQLite (which reads it from the WAL, where its
/// frame still is) before calling it damage. Errors reading the file are reported as faults.
std::optional<std::string> scan_file(const std::string& path);

/// The last checksum fault this thread met ("page 37 (offset 147456) of /x/j.db: checksum mismatch"),
/// and forgets it. Empty if there was none since the last call.
std::optional<std::string> take_fault();

} // namespace actors::eventlog::internal
