#pragma once
// Internal: minimal RAII wrappers over the SQLite C API. A `connection` owns an sqlite3 handle, a
// `statement` owns a prepared statement that is reset and re-bound for every use. Text and blobs are bound
// with SQLITE_STATIC: the caller keeps the bytes alive until the statement is stepped and reset.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace actors::eventlog::internal {

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

/// An open database handle (closed on destruction).
using connection = std::unique_ptr<sqlite3, db_closer>;

/// The connection's last error message, or SQLite's text for `rc` if there is no connection.
inline std::string error_message(sqlite3* db, int rc) {
  if (db != nullptr && sqlite3_errcode(db) != SQLITE_OK)
    return sqlite3_errmsg(db);
  return sqlite3_errstr(rc);
}

/// Executes one or more SQL statements without results. Returns the SQLite result code.
inline int exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

/// A prepared statement. Default-constructed (invalid) statements are allowed so owners can prepare late.
class statement {
public:
  statement() = default;

  /// Prepares `sql` on `db`; on failure the statement stays invalid and `rc()` holds the error.
  statement(sqlite3* db, std::string_view sql) {
    rc_ = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                             &stmt_, nullptr);
  }

  statement(statement&& other) noexcept : stmt_(other.stmt_), rc_(other.rc_) { other.stmt_ = nullptr; }

  statement& operator=(statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      stmt_ = other.stmt_;
      rc_ = other.rc_;
      other.stmt_ = nullptr;
    }
    return *this;
  }

  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  ~statement() { sqlite3_finalize(stmt_); }

  explicit operator bool() const noexcept { return stmt_ != nullptr; }

  /// The result code of `prepare`.
  int rc() const noexcept { return rc_; }

  sqlite3_stmt* get() const noexcept { return stmt_; }

  // --- binding (1-based indexes, as in SQLite) ---------------------------------------------------

  void bind(int i, std::int64_t x) noexcept { sqlite3_bind_int64(stmt_, i, x); }

  void bind_u64(int i, std::uint64_t x) noexcept { sqlite3_bind_int64(stmt_, i, to_i64(x)); }

  void bind_text(int i, std::string_view x) noexcept {
    // Empty text, not NULL (the text columns are NOT NULL): data() of an empty view may be null.
    sqlite3_bind_text(stmt_, i, x.empty() ? "" : x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
  }

  void bind_blob(int i, std::string_view x) noexcept {
    // A zero-length blob (not NULL) for empty payloads: data() of an empty view may be null.
    sqlite3_bind_blob(stmt_, i, x.empty() ? "" : x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
  }

  void bind_null(int i) noexcept { sqlite3_bind_null(stmt_, i); }

  // --- stepping ----------------------------------------------------------------------------------

  /// Steps once: SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() noexcept { return sqlite3_step(stmt_); }

  /// Resets for the next use. Bindings stay, so every use must re-bind all parameters.
  void reset() noexcept { sqlite3_reset(stmt_); }

  // --- columns (0-based) -------------------------------------------------------------------------

  std::int64_t column_i64(int i) const noexcept { return sqlite3_column_int64(stmt_, i); }

  std::uint64_t column_u64(int i) const noexcept { return to_u64(sqlite3_column_int64(stmt_, i)); }

  std::string column_text(int i) const {
    auto p = sqlite3_column_text(stmt_, i);
    auto n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string{} : std::string(reinterpret_cast<const char*>(p), n);
  }

  std::string column_blob(int i) const {
    auto p = sqlite3_column_blob(stmt_, i);
    auto n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string{} : std::string(static_cast<const char*>(p), n);
  }

  // Task ids are uint64 on the API and int64 in SQLite: bit casts keep every value round-tripping.
  static std::int64_t to_i64(std::uint64_t x) noexcept { return static_cast<std::int64_t>(x); }
  static std::uint64_t to_u64(std::int64_t x) noexcept { return static_cast<std::uint64_t>(x); }

private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

/// Resets a statement when leaving scope, so early returns never leave a read transaction open.
class reset_guard {
public:
  explicit reset_guard(statement& s) noexcept : s_(s) {}
  ~reset_guard() { s_.reset(); }
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

private:
  statement& s_;
};

} // namespace actors::eventlog::internal
