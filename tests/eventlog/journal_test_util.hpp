#pragma once
// Helpers for the journal tests: a unique temp directory per test, file bytes, raw SQLite setup, and
// constructors for records and events.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "actors/eventlog/errc.hpp"
#include "actors/eventlog/event.hpp"
#include "actors/eventlog/journal.hpp"

namespace actors::eventlog::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    std::mt19937_64 gen{(static_cast<std::uint64_t>(rd()) << 32) ^ rd()};
    for (;;) {
      path_ = std::filesystem::temp_directory_path() / ("actors-eventlog-" + std::to_string(gen()));
      if (std::filesystem::create_directory(path_))
        break;
    }
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

/// Runs `sql` on the database at `path` (created if missing) through raw SQLite, then closes it:
/// through the journal's VFS, which keeps page checksums (`journal::sqlite_vfs`). Returns SQLite's
/// result code.
inline int run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            journal::sqlite_vfs().c_str());
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

/// The first column of the first row of `sql` on the database at `path` ("" if none), through a
/// read-only connection.
inline std::string first_column(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr)
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

/// The journal errc of `err`, or 0 if it is not a journal error.
inline int code_of(const caf::error& err) {
  return err.category() == caf::atom("journal") ? err.code() : 0;
}

inline int code(errc x) {
  return static_cast<int>(x);
}

/// The context message of a journal error (the string passed to make_error).
inline std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

inline journal_options options(const std::string& path) {
  journal_options opts;
  opts.path = path;
  return opts;
}

inline task_record make_task(std::uint64_t id, std::string function, std::uint64_t parent = 0,
                             std::uint32_t parent_seq = 0, std::int64_t created = 0) {
  task_record t;
  t.id = id;
  t.parent = parent;
  t.root = parent == 0 ? id : parent;
  t.parent_seq = parent_seq;
  t.function = std::move(function);
  t.version = "v1";
  t.input_type = "int";
  t.created = created;
  return t;
}

inline event make_event(std::uint64_t task, std::uint32_t seq, event_kind kind, std::string name = {},
                        std::string request = {}, std::string result = {}) {
  event e;
  e.task = task;
  e.seq = seq;
  e.kind = kind;
  e.name = std::move(name);
  e.request = std::move(request);
  e.result = std::move(result);
  e.text = std::string{to_string(kind)} + " " + std::to_string(seq);
  return e;
}

/// A closed journal at `path` holding one task `id` ("f", input "input"), all of it durable.
inline void journal_with_task(const std::string& path, std::uint64_t id = 7) {
  auto j = journal::open(options(path));
  REQUIRE(j);
  (*j)->append_task(make_task(id, "f"), "input", "in");
  REQUIRE(!(*j)->flush());
}

} // namespace actors::eventlog::test
