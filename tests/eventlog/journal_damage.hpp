#pragma once
// Damages a closed journal file the way a failing disk does: bytes in the middle of pages overwritten,
// behind SQLite's back. The damage tests (eventlog, engine, CLI) use it, then check that libactors
// refuses the journal or stops writing, and leaves the file as it is.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <actors/eventlog/journal.hpp>

namespace actors::eventlog::test {

/// Leaf pages of `table` (a table or index name) of the closed journal at `path`, in page order, as
/// SQLite's dbstat reports them through the journal's VFS (so the read itself verifies checksums).
inline std::vector<std::int64_t> leaf_pages(const std::string& path, const std::string& table) {
  // immutable: the journal is closed, and a read-only open would leave -wal and -shm files behind
  sqlite3* db = nullptr;
  auto uri = "file:" + path + "?immutable=1";
  REQUIRE(sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                          journal::sqlite_vfs().c_str()) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' "
                                 "ORDER BY pageno",
                             -1, &s, nullptr) == SQLITE_OK);
  sqlite3_bind_text(s, 1, table.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::int64_t> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.push_back(sqlite3_column_int64(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

/// Inverts `n` bytes in the middle of page `pgno` (4096-byte pages) of the file at `path`.
inline void damage_page(const std::string& path, std::int64_t pgno, int n = 16) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  REQUIRE(f);
  auto offset = (pgno - 1) * 4096 + 2000;
  f.seekg(offset);
  std::string old(static_cast<std::size_t>(n), '\0');
  f.read(old.data(), n);
  for (auto& c : old)
    c = static_cast<char>(~c);
  f.seekp(offset);
  f.write(old.data(), n);
  REQUIRE(f);
}

/// Damages every leaf page of `table` of the closed journal at `path` (there must be one).
inline void damage_leaf_pages(const std::string& path, const std::string& table) {
  auto pages = leaf_pages(path, table);
  REQUIRE(!pages.empty());
  for (auto pgno : pages)
    damage_page(path, pgno);
}

} // namespace actors::eventlog::test
