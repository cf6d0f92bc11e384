// Opening a journal: inspect an existing file (its header, then an immutable read-only connection) before
// anything can write to it or create files beside it, then configure the connection (WAL, synchronous), create the schema if needed and prepare statements.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "journal_impl.hpp"
#include "page_checksums.hpp"

namespace actors::eventlog {

using internal::connection;
using internal::statement;

namespace internal {

std::int64_t now_ns() noexcept {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

caf::error sqlite_error(sqlite3* db, int rc, const std::string& path, std::string_view what) {
  auto code = errc::io_error;
  if (rc == SQLITE_IOERR_DATA) { // a page whose checksum does not match (page_checksums.hpp)
    auto fault = take_fault();
    return make_error(errc::corrupt, path + ": " + std::string{what} + ": the journal is damaged: " +
                                       (fault ? *fault : std::string{"a page checksum does not match"}));
  }
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      code = errc::not_a_database;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_CONSTRAINT:
      code = errc::corrupt;
      break;
    default:
      break;
  }
  std::string msg = path;
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += error_message(db, rc);
  return make_error(code, std::move(msg));
}

} // namespace internal

namespace {

constexpr const char* memory_path = ":memory:";

// Everything but the pragmas that mark the file as ours; IF NOT EXISTS lets a half-initialised journal
// of ours (application_id set, user_version 0) be completed.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tasks(
  id INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL,
  root INTEGER NOT NULL,
  parent_seq INTEGER NOT NULL,
  function TEXT NOT NULL,
  version TEXT NOT NULL,
  input_type TEXT NOT NULL,
  status INTEGER NOT NULL,
  created INTEGER NOT NULL,
  finished INTEGER NOT NULL,
  route TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS tasks_by_parent ON tasks(parent, parent_seq);
CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks(created, id) WHERE status = 0;
CREATE TABLE IF NOT EXISTS events(
  task INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  name TEXT NOT NULL,
  ref INTEGER NOT NULL,
  request BLOB,
  result BLOB,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_task ON events(task, seq);
CREATE TABLE IF NOT EXISTS divergences(
  id INTEGER PRIMARY KEY,
  task INTEGER NOT NULL,
  function TEXT NOT NULL,
  primary_version TEXT NOT NULL,
  candidate_version TEXT NOT NULL,
  position INTEGER NOT NULL,
  what TEXT NOT NULL,
  primary_side TEXT NOT NULL,
  candidate_side TEXT NOT NULL,
  ts INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS divergences_by_function ON divergences(function, id);
CREATE TABLE IF NOT EXISTS routes(
  function TEXT NOT NULL,
  root INTEGER NOT NULL,
  mode TEXT NOT NULL,
  primary_version TEXT NOT NULL,
  candidate TEXT NOT NULL,
  percent INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY(function, root));
CREATE TABLE IF NOT EXISTS cancel_requests(
  task INTEGER PRIMARY KEY,
  requested INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,
  target INTEGER NOT NULL,
  sender INTEGER NOT NULL,
  sender_seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload BLOB,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_target ON messages(target, id);
CREATE TABLE IF NOT EXISTS start_keys(
  key TEXT PRIMARY KEY,
  task INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS supervision(
  supervisor TEXT NOT NULL,
  child TEXT NOT NULL,
  parent TEXT NOT NULL,
  position INTEGER NOT NULL,
  kind TEXT NOT NULL,
  function TEXT NOT NULL,
  task INTEGER NOT NULL,
  state TEXT NOT NULL,
  restarts INTEGER NOT NULL,
  detail TEXT NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY(supervisor, child));
CREATE TABLE IF NOT EXISTS effect_marks(
  task INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  name TEXT NOT NULL);
)sql";

// Schema 6 -> 7: unfinished tasks are found through a partial index, in the order they resume; the
// index on every task's status (changed at every task's end) goes.
constexpr const char* migrate_6_to_7_sql = R"sql(
DROP INDEX IF EXISTS tasks_by_status;
)sql";

// Schema 1 -> 2: the route each task was given (DESIGN §3), and shadow-run divergences.
constexpr const char* migrate_1_to_2_sql = R"sql(
ALTER TABLE tasks ADD COLUMN route TEXT NOT NULL DEFAULT '';
)sql";

constexpr const char* task_columns =
  "id, parent, root, parent_seq, function, version, input_type, status, created, finished, route";
/// The same columns from a schema-1 journal opened read-only (not migrated): no route yet.
constexpr const char* task_columns_v1 =
  "id, parent, root, parent_seq, function, version, input_type, status, created, finished, '' AS route";

constexpr const char* event_columns =
  "rowid, task, seq, kind, failed, name, ref, request, result, text, ts";

std::string iso_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hex32(std::int32_t x) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", static_cast<unsigned>(x));
  return buf;
}

/// Opens `name` (a path, or a URI with SQLITE_OPEN_URI) through the VFS `vfs` (empty: the default);
/// errors name `path`.
caf::expected<connection> open_connection(const std::string& name, int flags, const std::string& path,
                                          const std::string& vfs = {}) {
  // Every connection goes through the checksum shim over the configured VFS (page_checksums.hpp).
  auto shim = internal::checksum_vfs(vfs);
  if (!shim)
    return make_error(errc::not_found, path + ": no SQLite VFS named '" + vfs + "' is registered");
  sqlite3* raw = nullptr;
  auto rc = sqlite3_open_v2(name.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, shim->c_str());
  connection db{raw}; // sqlite3_open_v2 may hand out a handle even on failure: always close it
  if (rc != SQLITE_OK)
    return internal::sqlite_error(db.get(), rc, path, "cannot open");
  sqlite3_extended_result_codes(db.get(), 1);
  // The journal's schema is data, not code: a trigger, or a function a view or index names, that a tool
  // or a hostile edit put into the file never runs on our reads and writes (a trigger "AFTER UPDATE ON
  // tasks ... DELETE FROM events" erased a resumed task's history; found by fuzz_journal_resume), and
  // this connection cannot corrupt the file through writable_schema and the like.
  int off = 0;
  int on = 1;
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, off, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, off, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, on, nullptr);
  // Another process (a tool, a second engine) may hold the write lock briefly.
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

caf::expected<connection> open_connection(const std::string& path, int flags) {
  return open_connection(path, flags, path);
}

/// Runs a query returning one integer (a pragma). Returns the SQLite result code.
int query_int(sqlite3* db, const char* sql, std::int64_t& out) {
  statement s{db, sql};
  if (!s)
    return s.rc();
  auto rc = s.step();
  if (rc == SQLITE_ROW) {
    out = s.column_i64(0);
    return SQLITE_OK;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/// What a look at an existing file found.
struct probe_result {
  bool needs_schema = false; ///< Fresh (empty) database, or ours with initialisation unfinished.
  int version = 0;           ///< The file's schema version when it is a complete journal of ours.
  bool empty_file = false;   ///< 0 bytes: page checksums can still be switched on
  bool checksummed = false;  ///< the file has page checksums (page_checksums.hpp)
};

/// A `file:` URI naming `path` as immutable: SQLite then takes no locks and creates no -wal or -shm file.
std::string immutable_uri(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (ec)
    abs = path;
  std::string uri = "file:";
  for (unsigned char c : abs) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      uri += buf;
    }
  }
  return uri + "?immutable=1";
}

/// What the first 100 bytes of a file say (the SQLite header).
struct file_header {
  bool sqlite = false;      ///< starts with SQLite's 16-byte magic string
  bool checksummed = false; ///< reserves page_checksums' bytes on every page (byte 20)
};

file_header read_header(const std::string& path) {
  static constexpr char magic[] = "SQLite format 3"; // 15 chars + the terminating NUL, as in the file
  unsigned char buf[100] = {};
  std::ifstream in{path, std::ios::binary};
  in.read(reinterpret_cast<char*>(buf), sizeof(buf));
  file_header h;
  h.sqlite = in.gcount() == static_cast<std::streamsize>(sizeof(buf)) && std::memcmp(buf, magic, sizeof(magic)) == 0;
  h.checksummed = h.sqlite && buf[20] == internal::checksum_reserve;
  return h;
}

/// What SQLite reports about an existing database.
struct schema_facts {
  std::vector<std::string> tables;
  std::size_t objects = 0; ///< Tables, indexes, views, triggers.
  std::int64_t app_id = 0;
  std::int64_t user_version = 0;
};

caf::error not_a_database(const std::string& path) {
  return make_error(errc::not_a_database, path + ": not an SQLite database");
}

/// Reads the schema list and the two pragmas through a read-only connection.
caf::expected<schema_facts> read_facts(const std::string& path, bool wal_exists) {
  // Without a -wal file the main file holds the whole database, so read it as immutable. With one, a
  // connection may be live (or crashed): a plain read-only open lets SQLite use the WAL correctly.
  auto db = wal_exists ? open_connection(path, SQLITE_OPEN_READONLY)
                       : open_connection(immutable_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path);
  if (!db)
    return std::move(db.error());
  auto h = db->get();
  schema_facts facts;
  // A file that is not SQLite opens fine; its first read reports SQLITE_NOTADB.
  statement s{h, "SELECT type, name FROM sqlite_master ORDER BY name"};
  auto rc = s ? SQLITE_OK : s.rc();
  if (rc == SQLITE_OK) {
    while ((rc = s.step()) == SQLITE_ROW) {
      ++facts.objects;
      if (s.column_text(0) == "table")
        facts.tables.push_back(s.column_text(1));
    }
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if ((rc & 0xff) == SQLITE_NOTADB)
    return not_a_database(path);
  if (rc != SQLITE_OK)
    return internal::sqlite_error(h, rc, path, "cannot read the schema");
  if (rc = query_int(h, "PRAGMA application_id", facts.app_id); rc != SQLITE_OK)
    return internal::sqlite_error(h, rc, path, "cannot read application_id");
  if (rc = query_int(h, "PRAGMA user_version", facts.user_version); rc != SQLITE_OK)
    return internal::sqlite_error(h, rc, path, "cannot read user_version");
  return facts;
}

caf::error foreign(const std::string& path, const schema_facts& facts) {
  std::string msg = path + ": an SQLite database that is not a libactors journal (";
  if (facts.app_id != 0)
    msg += "application_id " + hex32(static_cast<std::int32_t>(facts.app_id)) + ", ";
  if (facts.tables.empty()) {
    msg += std::to_string(facts.objects) + " schema objects, no tables";
  } else {
    msg += "tables: ";
    for (std::size_t i = 0; i < facts.tables.size(); ++i)
      msg += (i > 0 ? ", " : "") + facts.tables[i];
  }
  msg += ")";
  return make_error(errc::foreign_database, std::move(msg));
}

/// The -wal file of the database at `path`, where SQLite puts it: beside the file a symlink leads to.
std::string wal_of(const std::string& path) {
  std::error_code ec;
  auto real = std::filesystem::canonical(path, ec);
  return (ec ? path : real.string()) + "-wal";
}

/// Inspects the existing file at `path` without writing to it or creating anything beside it.
caf::expected<probe_result> probe(const std::string& path) {
  std::error_code ec;
  auto wal_exists = std::filesystem::exists(wal_of(path), ec);
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return make_error(errc::io_error, path + ": cannot read: " + ec.message());
  auto header = read_header(path);
  if (!wal_exists) {
    if (size == 0)
      return probe_result{true, 0, true}; // a 0-byte file is an empty database
    if (!header.sqlite)
      return not_a_database(path);
  }
  auto facts = read_facts(path, wal_exists);
  if (!facts)
    return std::move(facts.error());
  if (facts->app_id == 0 && facts->objects == 0)
    return probe_result{true};
  if (facts->app_id != journal::application_id)
    return foreign(path, *facts);
  if (facts->user_version > journal::schema_version)
    return make_error(errc::newer_schema,
                      path + ": journal schema version " + std::to_string(facts->user_version)
                        + " is newer than this libactors supports (schema version "
                        + std::to_string(journal::schema_version) + ")");
  if (facts->user_version == 0)
    return probe_result{true}; // ours, but initialisation never finished
  for (std::string name : {"meta", "tasks", "events"})
    if (std::find(facts->tables.begin(), facts->tables.end(), name) == facts->tables.end())
      return make_error(errc::corrupt, path + ": journal lacks its '" + name + "' table");
  return probe_result{false, static_cast<int>(facts->user_version), false, header.checksummed};
}

/// Checks an existing journal opened for writing before anything is written to it (journal_options::
/// verify_on_open). With page checksums: a sequential read of the file verifying every page; a page
/// that fails is damage unless SQLite reads it correctly (from the WAL, where a newer copy shadows a
/// page a crash tore mid-checkpoint): dbstat then visits every page in use through the pager and the
/// checksum shim. Without checksums: PRAGMA quick_check. Returns `corrupt` naming the file and damage.
caf::error verify(sqlite3* db, const std::string& path, bool checksummed) {
  auto damaged = [&](const std::string& what) {
    return make_error(errc::corrupt, path + ": the journal is damaged (" + what + "); it was not "
                                              "opened for writing and is left as it is");
  };
  if (checksummed) {
    auto fault = internal::scan_file(path);
    if (!fault)
      return {};
    std::error_code ec;
    if (std::filesystem::file_size(path + "-wal", ec) == 0 || ec)
      return damaged(*fault); // no WAL: what the file holds is all there is
  }
  statement s{db, checksummed ? "SELECT count(*) FROM dbstat" : "PRAGMA quick_check(8)"};
  auto rc = s ? SQLITE_OK : s.rc();
  std::vector<std::string> problems;
  if (rc == SQLITE_OK) {
    while ((rc = s.step()) == SQLITE_ROW)
      if (!checksummed && s.column_text(0) != "ok")
        problems.push_back(s.column_text(0));
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if (rc == SQLITE_IOERR_DATA) {
    auto fault = internal::take_fault();
    return damaged(fault ? *fault : "a page checksum does not match");
  }
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
    return damaged(std::string{checksummed ? "reading every page: " : "PRAGMA quick_check: "} +
                   internal::error_message(db, rc));
  if (rc != SQLITE_OK)
    return internal::sqlite_error(db, rc, path, "cannot check the journal");
  if (!problems.empty()) {
    std::string all = "PRAGMA quick_check: ";
    for (std::size_t i = 0; i < problems.size(); ++i)
      all += (i > 0 ? "; " : "") + problems[i];
    return damaged(all.size() > 400 ? all.substr(0, 400) + "..." : all);
  }
  return {};
}

/// Configures a writable connection and creates the schema if needed. Runs only after the checks.
caf::error setup(sqlite3* db, const journal_options& opts, bool needs_schema, int version,
                 bool memory, bool empty_file) {
  auto fail = [&](int rc, std::string_view what) { return internal::sqlite_error(db, rc, opts.path, what); };
  if (!memory && needs_schema && empty_file) {
    // Page checksums (page_checksums.hpp): room for them on every page, before the first page is
    // written. SQLite keeps the reserved bytes for the life of the file.
    int reserve = internal::checksum_reserve;
    if (auto rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve); rc != SQLITE_OK)
      return fail(rc, "cannot reserve room for page checksums");
  }
  if (!memory) {
    if (auto rc = internal::exec(db, "PRAGMA journal_mode=WAL"); rc != SQLITE_OK)
      return fail(rc, "cannot enable WAL");
  }
  auto sync = opts.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if (auto rc = internal::exec(db, sync); rc != SQLITE_OK)
    return fail(rc, "cannot set synchronous");
  if (needs_schema) {
    if (auto rc = internal::exec(db, "BEGIN IMMEDIATE"); rc != SQLITE_OK)
      return fail(rc, "cannot begin the schema transaction");
    auto pragmas = "PRAGMA application_id=" + std::to_string(journal::application_id)
                   + ";PRAGMA user_version=" + std::to_string(journal::schema_version) + ";";
    auto rc = internal::exec(db, pragmas.c_str());
    if (rc == SQLITE_OK)
      rc = internal::exec(db, schema_sql);
    if (rc == SQLITE_OK) {
      statement s{db, "INSERT OR IGNORE INTO meta(key, value) VALUES ('format', 'libactors journal'), "
                      "('created', ?1)"};
      rc = s ? SQLITE_OK : s.rc();
      if (rc == SQLITE_OK) {
        auto created = iso_now();
        s.bind_text(1, created);
        rc = s.step();
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
      }
    }
    if (rc == SQLITE_OK)
      rc = internal::exec(db, "COMMIT");
    if (rc != SQLITE_OK) {
      auto err = fail(rc, "cannot create the schema");
      internal::exec(db, "ROLLBACK");
      return err;
    }
  }
  if (!needs_schema && version < journal::schema_version) {
    // An older journal of ours: migrate in one transaction (all or nothing).
    if (auto rc = internal::exec(db, "BEGIN IMMEDIATE"); rc != SQLITE_OK)
      return fail(rc, "cannot begin the schema migration");
    auto rc = SQLITE_OK;
    if (version < 2)
      rc = internal::exec(db, migrate_1_to_2_sql);
    if (rc == SQLITE_OK && version < 7)
      rc = internal::exec(db, migrate_6_to_7_sql);
    if (rc == SQLITE_OK)
      rc = internal::exec(db, schema_sql); // tables and indexes new since `version`
    if (rc == SQLITE_OK) {
      auto pragma = "PRAGMA user_version=" + std::to_string(journal::schema_version);
      rc = internal::exec(db, pragma.c_str());
    }
    if (rc == SQLITE_OK)
      rc = internal::exec(db, "COMMIT");
    if (rc != SQLITE_OK) {
      auto err = fail(rc, "cannot migrate the journal from schema version " + std::to_string(version));
      internal::exec(db, "ROLLBACK");
      return err;
    }
  }
  if (opts.max_page_count_for_tests) {
    auto sql = "PRAGMA max_page_count=" + std::to_string(*opts.max_page_count_for_tests);
    if (auto rc = internal::exec(db, sql.c_str()); rc != SQLITE_OK)
      return fail(rc, "cannot set max_page_count");
  }
  return {};
}

/// Removes a file this open created, with its WAL companions, so a failed open leaves nothing behind.
void remove_created(const std::string& path) {
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix, ec);
}

/// A connection to the journal file, opened after the checks passed.
struct connected {
  connection db;
  bool created = false;     ///< This open created the file (removed again if setup fails).
  bool needs_schema = true;
  int version = 0;          ///< Schema version of an existing journal (0 when it needs the schema).
  bool immutable = false;   ///< A read-only open of a file without a -wal (no writer): see `read_only_db`.
  internal::file_state seen; ///< The file when a read-only connection opened.
  bool empty_file = true;   ///< No page written yet: page checksums are switched on in setup.
};

/// The file at `path` and its -wal at `wal` now (an error reads as a -wal: no immutable read then).
internal::file_state observe_file(const std::string& path, const std::string& wal) {
  internal::file_state now;
  std::error_code ec;
  now.wal = std::filesystem::exists(wal, ec) || ec;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    now.ino = st.st_ino;
    now.size = static_cast<std::uint64_t>(st.st_size);
    now.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    now.ctime_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
  }
  return now;
}

/// A read-only connection that needs no write access and creates nothing beside the file. Without a
/// -wal file no connection has the journal open and the main file holds the whole database: read it as
/// immutable (SQLite's plain read-only open of a WAL database would create the -wal and -shm files, or
/// fail in a read-only directory). With one, a writer may be live: a plain read-only open sees its
/// commits (and finds the -wal and -shm it needs already there).
caf::expected<connection> read_only_db(const std::string& path, const std::string& vfs,
                                       internal::file_state& seen) {
  seen = observe_file(path, wal_of(path)); // before the open: a change after it is seen
  if (!seen.wal)
    return open_connection(immutable_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path, vfs);
  return open_connection(path, SQLITE_OPEN_READONLY, path, vfs);
}

/// A journal is a regular file: anything else at its name is refused before it is read (a FIFO's read
/// would wait for a writer; a directory would be reported by its link count).
caf::error not_a_regular_file(const std::string& path, std::filesystem::file_type type) {
  using ft = std::filesystem::file_type;
  const char* what = type == ft::directory ? "a directory"
                     : type == ft::fifo    ? "a FIFO"
                     : type == ft::socket  ? "a socket"
                     : type == ft::block   ? "a block device"
                     : type == ft::character ? "a character device"
                                             : "not a regular file";
  return make_error(errc::not_a_database,
                    path + ": is " + std::string{what} + ", not a journal (a journal is a regular file)");
}

/// Checks an existing file, or creates a missing one, and connects to it (read-only if asked).
caf::expected<connected> connect(const journal_options& opts, bool memory, bool must_exist) {
  connected out;
  const auto& path = opts.path;
  std::error_code ec;
  auto type = memory ? std::filesystem::file_type::not_found : std::filesystem::status(path, ec).type();
  if (ec && type != std::filesystem::file_type::not_found) // e.g. a directory on the way is unreadable
    return make_error(errc::io_error, path + ": cannot open the journal: " + ec.message());
  if (memory || type == std::filesystem::file_type::not_found) {
    if ((opts.read_only || must_exist) && !memory)
      return make_error(errc::not_found, path + ": no such journal");
    auto db = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path, opts.vfs);
    if (!db)
      return std::move(db.error());
    out.db = std::move(*db);
    out.created = !memory;
    return out;
  }
  if (type != std::filesystem::file_type::regular) // a directory, FIFO, socket or device (links followed)
    return not_a_regular_file(path, type);
  if (auto links = std::filesystem::hard_link_count(path, ec); !ec && links > 1)
    return make_error(errc::invalid_name,
                      path + ": the journal file has " + std::to_string(links) + " hard links. SQLite "
                      "keeps the -wal and -shm files beside the name a database is opened by, so under "
                      "another name it would miss the journal's last commits or split its log: remove "
                      "the other links (a symlink is fine)");
  auto found = probe(path);
  if (!found)
    return std::move(found.error());
  out.needs_schema = found->needs_schema;
  out.version = found->version;
  out.empty_file = found->empty_file;
  // Plain flags, never CREATE: the file was checked above and must not be replaced by a new one.
  auto db = opts.read_only ? read_only_db(path, opts.vfs, out.seen)
                           : open_connection(path, SQLITE_OPEN_READWRITE, path, opts.vfs);
  out.immutable = opts.read_only && !out.seen.wal;
  if (!db)
    return std::move(db.error());
  if (!opts.read_only && sqlite3_db_readonly(db->get(), "main") == 1)
    return make_error(errc::io_error, path + ": the journal is write-protected");
  if (!opts.read_only && opts.verify_on_open && !found->needs_schema)
    if (auto err = verify(db->get(), path, found->checksummed))
      return err;
  out.db = std::move(*db);
  return out;
}

} // namespace

caf::error journal::impl::prepare_statements() {
  auto db = db_.get();
  auto prep = [&](statement& s, const std::string& sql) -> caf::error {
    s = statement{db, sql};
    if (!s)
      return internal::sqlite_error(db, s.rc(), path_, "cannot prepare statement");
    return {};
  };
  std::string tc = file_version_ == 1 ? task_columns_v1 : task_columns;
  caf::error err;
  auto run = [&](statement& s, const std::string& sql) {
    if (!err)
      err = prep(s, sql);
  };
  if (!read_only_) {
    run(begin_, "BEGIN IMMEDIATE");
    run(commit_, "COMMIT");
    // Multi-row inserts: "INSERT INTO t(cols) VALUES (?,...),(?,...),..." with `rows` rows.
    auto multi_insert = [](const std::string& head, int columns, int rows) {
      std::string one = "(?";
      for (int c = 1; c < columns; ++c)
        one += ",?";
      one += ')';
      auto sql = head + " VALUES " + one;
      for (int r = 1; r < rows; ++r)
        sql += ',' + one;
      return sql;
    };
    for (std::size_t i = 0; i < multi_rows.size(); ++i) {
      run(insert_tasks_[i], multi_insert("INSERT INTO tasks(" + tc + ")", 11, multi_rows[i]));
      run(insert_events_[i], multi_insert("INSERT INTO events(task, seq, kind, failed, name, ref, request, "
                                          "result, text, ts)",
                                          10, multi_rows[i]));
    }
    run(finish_task_, "UPDATE tasks SET status = ?2, finished = ?3 WHERE id = ?1");
    run(insert_divergence_,
        "INSERT INTO divergences(task, function, primary_version, candidate_version, position, what, "
        "primary_side, candidate_side, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    run(upsert_route_,
        "INSERT OR REPLACE INTO routes(function, root, mode, primary_version, candidate, percent, "
        "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    run(delete_route_, "DELETE FROM routes WHERE function = ?1 AND root = ?2");
    run(count_route_change_,
        "INSERT INTO meta(key, value) VALUES ('routes_version', 1) "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1");
    run(insert_cancel_, "INSERT OR IGNORE INTO cancel_requests(task, requested) VALUES (?1, ?2)");
    run(count_cancel_,
        "INSERT INTO meta(key, value) VALUES ('cancels_version', 1) "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1");
    run(insert_message_,
        "INSERT INTO messages(id, target, sender, sender_seq, type, payload, text, ts) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    run(upsert_supervision_,
        "INSERT OR REPLACE INTO supervision(supervisor, child, parent, position, kind, function, task, "
        "state, restarts, detail, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    run(delete_supervision_, "DELETE FROM supervision WHERE supervisor = ?1");
    run(restart_task_, "UPDATE tasks SET status = 0, finished = 0 WHERE id = ?1");
    run(insert_start_key_, "INSERT OR IGNORE INTO start_keys(key, task) VALUES (?1, ?2)");
    for (std::size_t i = 0; i < multi_rows.size(); ++i) // a task's later mark replaces its earlier one
      run(upsert_marks_[i], multi_insert("INSERT INTO effect_marks(task, seq, attempt, name)", 4,
                                         multi_rows[i]) +
                              " ON CONFLICT(task) DO UPDATE SET seq = excluded.seq, attempt = "
                              "excluded.attempt, name = excluded.name");
  }
  if (!err)
    err = prepare_reads(db, reads_);
  return err;
}

caf::error journal::impl::prepare_reads(sqlite3* db, read_statements& st) {
  std::string tc = file_version_ == 1 ? task_columns_v1 : task_columns;
  std::string ec = event_columns;
  caf::error err;
  auto run = [&](statement& s, const std::string& sql) {
    if (err)
      return;
    s = statement{db, sql};
    if (!s)
      err = internal::sqlite_error(db, s.rc(), path_, "cannot prepare statement");
  };
  run(st.select_unfinished, "SELECT " + tc + " FROM tasks WHERE status = 0 ORDER BY created, id");
  run(st.select_task, "SELECT " + tc + " FROM tasks WHERE id = ?1");
  run(st.select_events, "SELECT " + ec + " FROM events WHERE task = ?1 ORDER BY seq, rowid");
  run(st.select_children, "SELECT " + tc + " FROM tasks WHERE parent = ?1 ORDER BY parent_seq, id");
  run(st.select_tasks, "SELECT " + tc
                         + " FROM tasks WHERE (?1 IS NULL OR function = ?1) AND (?2 IS NULL OR status = ?2)"
                           " AND created >= ?3 ORDER BY created DESC, id DESC LIMIT ?4");
  run(st.select_tail, "SELECT " + ec + " FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
  if (file_version_ >= 2)
    run(st.select_divergences,
        "SELECT id, task, function, primary_version, candidate_version, position, what, primary_side, "
        "candidate_side, ts FROM divergences WHERE (?1 IS NULL OR function = ?1) ORDER BY id DESC "
        "LIMIT ?2");
  if (file_version_ >= 3) {
    run(st.select_routes,
        "SELECT function, root, mode, primary_version, candidate, percent, updated FROM routes "
        "ORDER BY function, root");
    run(st.select_counter, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1");
  }
  if (file_version_ >= 4)
    run(st.select_cancels, "SELECT task FROM cancel_requests ORDER BY task");
  if (file_version_ >= 5) {
    run(st.select_pending_messages,
        "SELECT id, target, sender, sender_seq, type, payload, text, ts FROM messages m "
        "WHERE target = ?1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.task = m.target AND "
        "e.kind = 13 AND e.ref = m.id) ORDER BY id");
    run(st.select_max_message, "SELECT COALESCE(MAX(id), 0) FROM messages");
    run(st.select_supervision,
        "SELECT supervisor, child, parent, position, kind, function, task, state, restarts, detail, "
        "updated FROM supervision ORDER BY supervisor, child <> '', position, child");
  }
  if (file_version_ >= 6) {
    run(st.select_start_key, "SELECT task FROM start_keys WHERE key = ?1");
    // No index on task: a scan, for tools (task show), never on the engine's paths.
    run(st.select_key_of_task, "SELECT key FROM start_keys WHERE task = ?1 LIMIT 1");
  }
  if (file_version_ >= 8)
    run(st.select_effect_mark, "SELECT task, seq, attempt, name FROM effect_marks WHERE task = ?1");
  return err;
}

std::unique_ptr<journal::impl::reader> journal::impl::checkout_reader() {
  if (!use_readers_)
    return nullptr;
  {
    std::lock_guard lk{readers_mu_};
    if (!idle_readers_.empty()) {
      auto r = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return r;
    }
  }
  auto db = open_connection(path_, SQLITE_OPEN_READONLY);
  if (!db)
    return nullptr;
  auto r = std::make_unique<reader>();
  r->db = std::move(*db);
  if (prepare_reads(r->db.get(), r->st))
    return nullptr;
  return r;
}

internal::file_state journal::impl::observe() const {
  return observe_file(path_, wal_path_);
}

caf::error journal::impl::follow_file(bool give_up) {
  auto now = observe();
  if (now == seen_ && !give_up)
    return {};
  bool immutable = !now.wal && !give_up;
  auto db = immutable ? open_connection(immutable_uri(path_), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                                        path_, vfs_)
                      : open_connection(path_, SQLITE_OPEN_READONLY, path_, vfs_);
  if (!db)
    return std::move(db.error());
  read_statements st;
  if (auto err = prepare_reads(db->get(), st))
    return err;
  reads_ = std::move(st); // the old statements are finalized before their connection closes
  db_ = std::move(*db);
  immutable_ = immutable;
  seen_ = now;
  return {};
}

void journal::impl::checkin_reader(std::unique_ptr<reader> r) {
  constexpr std::size_t max_idle = 8;
  std::lock_guard lk{readers_mu_};
  if (idle_readers_.size() < max_idle)
    idle_readers_.push_back(std::move(r));
}

caf::expected<std::unique_ptr<journal::impl>> journal::impl::open(const journal_options& given) {
  // A `file:` URI is resolved to its file first: every check below then applies to that file.
  auto where = resolve_journal_name(given.path, given.vfs, !given.read_only);
  if (!where)
    return std::move(where.error());
  auto opts = given;
  opts.path = where->memory ? memory_path : where->file;
  bool memory = where->memory;
  auto conn = connect(opts, memory, where->must_exist);
  if (!conn)
    return std::move(conn.error());
  auto self = std::make_unique<impl>();
  self->path_ = opts.path;
  self->vfs_ = opts.vfs;
  self->read_only_ = opts.read_only;
  self->immutable_ = conn->immutable;
  if (self->immutable_) {
    self->wal_path_ = wal_of(opts.path);
    self->seen_ = conn->seen;
  }
  self->max_batch_ = opts.max_batch == 0 ? 1 : opts.max_batch;
  self->max_queue_ = opts.max_queue;
  self->db_ = std::move(conn->db);
  self->has_schema_ = !(opts.read_only && conn->needs_schema) || memory;
  caf::error err;
  if (!opts.read_only || memory)
    err = setup(self->db_.get(), opts, conn->needs_schema, conn->version, memory, conn->empty_file);
  // A read-only open leaves an older journal as it is; reads adapt to its columns.
  self->file_version_ = opts.read_only && !memory && !conn->needs_schema ? conn->version
                                                                        : journal::schema_version;
  if (!err && self->has_schema_)
    err = self->prepare_statements();
  if (err) {
    self.reset(); // closes statements and connection before touching the file
    if (conn->created)
      remove_created(opts.path);
    return err;
  }
  // Reads get connections of their own on a file journal the engine writes (WAL lets them run beside
  // the writer). Read-only opens stay on one connection: they may be immutable opens of a file without
  // a WAL, and tools read from one thread.
  self->use_readers_ = !self->read_only_ && !memory && self->has_schema_;
  if (!self->read_only_ && !memory) {
    // Checkpoints run beside the writer, on a connection of their own through the same VFS (an
    // encrypting one must see every write). Without one (it cannot be opened) the writer checkpoints
    // in its commits, as SQLite does by default.
    if (auto ckpt = open_connection(opts.path, SQLITE_OPEN_READWRITE, opts.path, opts.vfs))
      self->start_checkpointer(std::move(*ckpt));
  }
  if (!self->read_only_)
    self->start_writer();
  return self;
}

} // namespace actors::eventlog
