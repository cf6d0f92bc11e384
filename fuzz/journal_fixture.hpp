#pragma once
// Shared by fuzz_journal_rows and fuzz_journal_cli: a real journal built once per process (the template),
// and per input a copy of it in a tmpfs file that the input then damages — rows and columns rewritten
// with raw sqlite3, schema objects dropped or altered, pages patched, or the whole file replaced by the
// input's bytes — before the code under test opens it.
//
// Per-iteration cost stays low: the template's bytes are kept in memory and written with one write(2)
// to a file in a directory under $FUZZ_WORK_DIR, else /dev/shm (tmpfs), else $TMPDIR.

#include <fuzzer/FuzzedDataProvider.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <actors/eventlog/journal.hpp>

namespace fuzz {

namespace el = actors::eventlog;

// Task ids in the template (roots, a child, ended tasks).
inline constexpr std::uint64_t root_id = 0x1111;
inline constexpr std::uint64_t child_id = 0x2222;
inline constexpr std::uint64_t done_id = 0x3333;
inline constexpr std::uint64_t failed_id = 0x4444;
inline constexpr std::uint64_t cancelled_id = 0x5555;
inline constexpr std::uint64_t restarted_id = 0x6666;
inline constexpr std::array<std::uint64_t, 7> known_ids{root_id,      child_id,     done_id, failed_id,
                                                        cancelled_id, restarted_id, 0};

[[noreturn]] inline void die(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz fixture: %s %s\n", what, detail.c_str());
  std::abort();
}

/// A string payload as actors::to_bytes<std::string> writes it (8-byte length, then the characters).
inline std::string str_payload(const std::string& s) {
  std::uint64_t n = s.size();
  std::string out(sizeof n, '\0');
  std::memcpy(out.data(), &n, sizeof n);
  return out + s;
}

inline std::string i64_payload(std::int64_t x) {
  std::string out(sizeof x, '\0');
  std::memcpy(out.data(), &x, sizeof x);
  return out;
}

class fixture {
public:
  /// The process-wide fixture (built on first use).
  static fixture& get() {
    static fixture f;
    return f;
  }

  /// The per-input journal path (always the same file; `reset` removes it and its companions).
  const std::string& path() const { return path_; }

  void reset() const {
    for (auto suffix : {"", "-wal", "-shm", "-journal"})
      ::unlink((path_ + suffix).c_str());
  }

  /// Writes `bytes` as the journal file.
  void write(const std::string& bytes) const {
    reset();
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      die("cannot create", path_);
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0)
        die("cannot write", path_);
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  const std::string& template_bytes() const { return template_; }

  ~fixture() {
    reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

private:
  fixture() {
    // FUZZ_WORK_DIR (scripts/fuzz.sh sets it, and removes it after the run, also after a crash).
    std::string base;
    if (const char* w = std::getenv("FUZZ_WORK_DIR"); w != nullptr && *w != '\0')
      base = w;
    else if (std::filesystem::is_directory("/dev/shm"))
      base = "/dev/shm";
    else
      base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    std::string templ = base + "/actors-fuzz-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
      die("mkdtemp failed in", base);
    dir_ = templ;
    path_ = dir_ + "/journal.db";
    build_template();
  }

  void build_template() {
    auto tpath = dir_ + "/template.db";
    {
      el::journal_options opts;
      opts.path = tpath;
      auto j = el::journal::open(opts);
      if (!j)
        die("cannot create the template journal");
      auto& J = **j;
      std::int64_t t0 = 1'700'000'000'000'000'000;
      auto task = [&](std::uint64_t id, std::uint64_t parent, std::uint64_t root, std::uint32_t pseq,
                      const char* fn, const char* input) {
        el::task_record r;
        r.id = id;
        r.parent = parent;
        r.root = root;
        r.parent_seq = pseq;
        r.function = fn;
        r.version = "v1";
        r.input_type = "std::string";
        r.created = t0 + static_cast<std::int64_t>(id);
        r.route = parent == 0 ? "default" : "pinned";
        J.append_task(r, str_payload(input), std::string{"\""} + input + "\"");
      };
      auto ev = [&](std::uint64_t id, std::uint32_t seq, el::event_kind kind, const char* name,
                    std::string request, std::string result, std::string text, std::uint64_t ref = 0,
                    bool failed = false) {
        el::event e;
        e.task = id;
        e.seq = seq;
        e.kind = kind;
        e.failed = failed;
        e.name = name;
        e.ref = ref;
        e.request = std::move(request);
        e.result = std::move(result);
        e.text = std::move(text);
        e.ts = t0 + 1000 * seq + static_cast<std::int64_t>(id);
        J.append(std::move(e));
      };
      using k = el::event_kind;
      task(root_id, 0, root_id, 0, "checkout", "cart-1");
      ev(root_id, 1, k::now, "", "", i64_payload(t0), "now");
      ev(root_id, 2, k::effect, "charge", str_payload("card"), i64_payload(42), "charge \"card\" -> 42");
      task(child_id, root_id, root_id, 3, "ship", "parcel");
      ev(child_id, 1, k::log, "", "", "", "shipping");
      ev(child_id, 2, k::sleep, "", i64_payload(1'000'000), i64_payload(t0 + 1'000'000), "sleep 1ms");
      ev(root_id, 3, k::call, "ship@v1", "", str_payload("shipped"), "\"shipped\"", child_id);
      ev(root_id, 4, k::spawn, "ship@v1", str_payload("x"), "", "spawn", child_id);
      ev(root_id, 5, k::random, "", i64_payload(6), i64_payload(4), "4");
      task(done_id, 0, done_id, 0, "lookupUser", "ada");
      ev(done_id, 1, k::completed, "", "", str_payload("Ada Lovelace"), "\"Ada Lovelace\"");
      task(failed_id, 0, failed_id, 0, "lookupUser", "nobody");
      ev(failed_id, 1, k::effect, "db", str_payload("q"), "no such user", "db failed", 0, true);
      ev(failed_id, 2, k::failed, "", "", "no such user", "no such user");
      task(cancelled_id, 0, cancelled_id, 0, "session", "s");
      ev(cancelled_id, 1, k::cancelled, "", "", "", "cancelled");
      task(restarted_id, 0, restarted_id, 0, "session", "t");
      ev(restarted_id, 1, k::receive, "std::string", "", str_payload("hi"), "\"hi\"", 1);
      ev(restarted_id, 2, k::failed, "", "", "boom", "boom");
      ev(restarted_id, 3, k::restarted, "", "", "", "restarted", 1);
      el::message_record m;
      m.id = 1;
      m.target = restarted_id;
      m.sender = root_id;
      m.sender_seq = 6;
      m.type = "std::string";
      m.payload = str_payload("hi");
      m.text = "\"hi\"";
      el::event send;
      send.task = root_id;
      send.seq = 6;
      send.kind = k::send;
      send.name = "0000000000006666";
      send.ref = 1;
      send.request = m.payload;
      send.text = "send \"hi\"";
      J.append_message(m, send);
      m.id = 2;
      m.sender = 0;
      m.sender_seq = 0;
      m.payload = str_payload("again");
      J.append_message(m, el::event{});
      el::divergence_record d;
      d.task = done_id;
      d.function = "lookupUser";
      d.primary_version = "v1";
      d.candidate_version = "v2";
      d.position = 0;
      d.what = "effect";
      d.primary_side = "db \"ada\"";
      d.candidate_side = "db \"ADA\"";
      J.append_divergence(d);
      el::route_record r;
      r.function = "lookupUser";
      r.mode = "percent";
      r.primary = "v1";
      r.candidate = "v2";
      r.percent = 30;
      J.set_route(r);
      r.root = root_id;
      r.mode = "primary";
      r.candidate.clear();
      r.percent = 0;
      J.set_route(r);
      J.request_cancel(cancelled_id);
      el::supervision_record s;
      s.supervisor = "top";
      s.kind = "supervisor";
      s.state = "running";
      s.detail = "one_for_one, 3 restarts in 5s";
      J.put_supervision(s);
      s.child = "0000000000006666";
      s.parent.clear();
      s.kind = "task";
      s.function = "session@v1";
      s.task = restarted_id;
      s.restarts = 1;
      s.detail = "failed: boom";
      J.put_supervision(s);
      if (auto err = J.flush())
        die("cannot flush the template journal");
    }
    // Closing the last connection checkpointed the WAL into the file: turn WAL off too, so that a copy
    // is self-contained (read-only opens then read it as immutable; writable opens turn WAL on again).
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(tpath.c_str(), &db, SQLITE_OPEN_READWRITE,
                        actors::eventlog::journal::sqlite_vfs().c_str()) != SQLITE_OK
        || sqlite3_exec(db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK)
      die("cannot switch the template out of WAL mode");
    sqlite3_close(db);
    std::ifstream in{tpath, std::ios::binary};
    template_.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
    if (template_.size() < 4096)
      die("template journal unexpectedly small");
    for (auto suffix : {"", "-wal", "-shm", "-journal"})
      ::unlink((tpath + suffix).c_str());
  }

  std::string dir_;
  std::string path_;
  std::string template_;
};

// --- damaging the copy --------------------------------------------------------------------------

struct column {
  const char* table;
  const char* name;
};

// Every column the reads decode (and the meta rows the counters read).
inline constexpr column columns[] = {
  {"tasks", "id"},         {"tasks", "parent"},        {"tasks", "root"},
  {"tasks", "parent_seq"}, {"tasks", "function"},      {"tasks", "version"},
  {"tasks", "input_type"}, {"tasks", "status"},        {"tasks", "created"},
  {"tasks", "finished"},   {"tasks", "route"},         {"events", "task"},
  {"events", "seq"},       {"events", "kind"},         {"events", "failed"},
  {"events", "name"},      {"events", "ref"},          {"events", "request"},
  {"events", "result"},    {"events", "text"},         {"events", "ts"},
  {"events", "rowid"},     {"divergences", "id"},      {"divergences", "task"},
  {"divergences", "function"}, {"divergences", "primary_version"},
  {"divergences", "candidate_version"}, {"divergences", "position"}, {"divergences", "what"},
  {"divergences", "primary_side"}, {"divergences", "candidate_side"}, {"divergences", "ts"},
  {"routes", "function"},  {"routes", "root"},         {"routes", "mode"},
  {"routes", "primary_version"}, {"routes", "candidate"}, {"routes", "percent"},
  {"routes", "updated"},   {"cancel_requests", "task"}, {"cancel_requests", "requested"},
  {"messages", "id"},      {"messages", "target"},     {"messages", "sender"},
  {"messages", "sender_seq"}, {"messages", "type"},    {"messages", "payload"},
  {"messages", "text"},    {"messages", "ts"},         {"supervision", "supervisor"},
  {"supervision", "child"}, {"supervision", "parent"}, {"supervision", "position"},
  {"supervision", "kind"}, {"supervision", "function"}, {"supervision", "task"},
  {"supervision", "state"}, {"supervision", "restarts"}, {"supervision", "detail"},
  {"supervision", "updated"}, {"meta", "key"},         {"meta", "value"},
};

inline constexpr const char* tables[] = {"tasks",   "events",          "divergences", "routes",
                                         "messages", "cancel_requests", "supervision", "meta"};

// Schema damage: what an old, foreign, hand-edited or half-migrated file may look like.
inline constexpr const char* ddl[] = {
  "DROP TABLE events",
  "DROP TABLE tasks",
  "DROP TABLE meta",
  "DROP TABLE divergences",
  "DROP TABLE routes",
  "DROP TABLE cancel_requests",
  "DROP TABLE messages",
  "DROP TABLE supervision",
  "DROP INDEX events_by_task",
  "DROP INDEX tasks_by_parent",
  "ALTER TABLE tasks DROP COLUMN route",
  "ALTER TABLE events RENAME COLUMN text TO txt",
  "ALTER TABLE events ADD COLUMN extra BLOB",
  "ALTER TABLE tasks RENAME TO tasks_old",
  "CREATE TABLE IF NOT EXISTS foreign_table(a, b)",
  "CREATE VIEW IF NOT EXISTS v AS SELECT * FROM tasks",
  "CREATE TRIGGER IF NOT EXISTS t_ins AFTER INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END",
  "CREATE TRIGGER IF NOT EXISTS t_upd AFTER UPDATE ON tasks BEGIN DELETE FROM events; END",
  "DELETE FROM events",
  "DELETE FROM tasks",
  "DELETE FROM meta",
  "UPDATE meta SET value = 'x' WHERE key = 'routes_version'",
  "INSERT OR REPLACE INTO meta(key, value) VALUES ('cancels_version', 9223372036854775807)",
  "PRAGMA application_id = 0",
  "PRAGMA application_id = 12345",
  "PRAGMA user_version = 0",
  "PRAGMA user_version = 1",
  "PRAGMA user_version = 2",
  "PRAGMA user_version = 3",
  "PRAGMA user_version = 4",
  "PRAGMA user_version = 5",
  "PRAGMA user_version = 7",
  "PRAGMA user_version = -1",
  "VACUUM",
};

/// Binds a fuzzer-chosen value of any storage class.
inline void bind_value(FuzzedDataProvider& in, sqlite3_stmt* s, int i) {
  static constexpr std::int64_t special[] = {std::numeric_limits<std::int64_t>::min(),
                                             std::numeric_limits<std::int64_t>::max(),
                                             -1,
                                             0,
                                             1,
                                             4294967295LL,
                                             4294967296LL,
                                             static_cast<std::int64_t>(0x8000000000000000ULL + 1),
                                             1'700'000'000'000'000'000LL,
                                             -1'700'000'000'000'000'000LL};
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      sqlite3_bind_null(s, i);
      break;
    case 1:
      sqlite3_bind_int64(s, i, in.ConsumeIntegralInRange<std::int64_t>(-3, 20));
      break;
    case 2:
      sqlite3_bind_int64(s, i, in.ConsumeIntegral<std::int64_t>());
      break;
    case 3:
      sqlite3_bind_int64(s, i, in.PickValueInArray(special));
      break;
    case 4:
      sqlite3_bind_double(s, i, in.ConsumeFloatingPoint<double>());
      break;
    case 5: {
      auto t = in.ConsumeRandomLengthString(96);
      sqlite3_bind_text(s, i, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
      break;
    }
    case 6: {
      auto b = in.ConsumeRandomLengthString(96);
      sqlite3_bind_blob(s, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      break;
    }
    case 7:
      sqlite3_bind_int64(s, i, static_cast<std::int64_t>(in.PickValueInArray(known_ids)));
      break;
    case 8: {
      // A string payload whose length prefix may lie.
      auto body = in.ConsumeRandomLengthString(64);
      auto p = str_payload(body);
      if (in.ConsumeBool()) {
        auto n = in.ConsumeIntegral<std::uint64_t>();
        std::memcpy(p.data(), &n, sizeof n);
      }
      sqlite3_bind_blob(s, i, p.data(), static_cast<int>(p.size()), SQLITE_TRANSIENT);
      break;
    }
    default: {
      // Text of a known number: SQLite's column affinity turns it into an integer.
      auto t = std::to_string(in.ConsumeIntegralInRange<std::int64_t>(-2, 20));
      sqlite3_bind_text(s, i, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
      break;
    }
  }
}

inline void run(sqlite3* db, const std::string& sql, FuzzedDataProvider* in = nullptr,
                int values = 0) {
  if (std::getenv("FUZZ_FIXTURE_VERBOSE") != nullptr) // shows what an input did to the journal
    std::fprintf(stderr, "fixture: %s\n", sql.c_str());
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    return; // e.g. the table was dropped by an earlier step
  }
  for (int i = 1; i <= values && in != nullptr; ++i)
    bind_value(*in, s, i);
  while (sqlite3_step(s) == SQLITE_ROW) {
  }
  sqlite3_finalize(s);
}

/// Rewrites rows, columns and schema of the journal at `path` with raw sqlite3, as the input says.
inline void edit_rows(FuzzedDataProvider& in, const std::string& path) {
  sqlite3* db = nullptr;
  // Through the journal's VFS, so the edited pages keep valid checksums: the targets fuzz what the
  // rows say, not the page checksums (a damaged page is refused before any row is read).
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE,
                      actors::eventlog::journal::sqlite_vfs().c_str()) != SQLITE_OK) {
    sqlite3_close(db);
    return;
  }
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  auto ops = in.ConsumeIntegralInRange<int>(1, 12);
  for (int op = 0; op < ops && in.remaining_bytes() > 0; ++op) {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: case 1: case 2: case 3: case 4: { // one cell
        const auto& c = in.PickValueInArray(columns);
        std::string where = in.ConsumeBool() ? " WHERE rowid = " + std::to_string(in.ConsumeIntegralInRange<int>(1, 24))
                                             : "";
        run(db, std::string{"UPDATE "} + c.table + " SET " + c.name + " = ?1" + where, &in, 1);
        break;
      }
      case 5: { // copy a row, so that ids, seqs and keys repeat
        auto t = in.PickValueInArray(tables);
        auto rowid = in.ConsumeIntegralInRange<int>(1, 24);
        run(db, std::string{"INSERT OR IGNORE INTO "} + t + " SELECT * FROM " + t
                  + " WHERE rowid = " + std::to_string(rowid));
        break;
      }
      case 6: { // a whole new row of fuzzer-chosen values
        auto t = std::string{in.PickValueInArray(tables)};
        int n = 0;
        for (const auto& c : columns)
          if (t == c.table && std::strcmp(c.name, "rowid") != 0)
            ++n;
        std::string sql = "INSERT OR REPLACE INTO " + t + " VALUES (";
        for (int i = 1; i <= n; ++i)
          sql += (i > 1 ? ", ?" : "?") + std::to_string(i);
        run(db, sql + ")", &in, n);
        break;
      }
      case 7: { // delete a row
        auto t = in.PickValueInArray(tables);
        run(db, std::string{"DELETE FROM "} + t + " WHERE rowid = "
                  + std::to_string(in.ConsumeIntegralInRange<int>(1, 24)));
        break;
      }
      default: {
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); // VACUUM and some pragmas need it
        run(db, in.PickValueInArray(ddl));
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        break;
      }
    }
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

/// Overwrites a few byte ranges of `bytes` (pages, the header: page size, user_version at 60,
/// application_id at 68, ...).
inline void patch_bytes(FuzzedDataProvider& in, std::string& bytes) {
  auto n = in.ConsumeIntegralInRange<int>(1, 8);
  for (int i = 0; i < n && in.remaining_bytes() > 0 && !bytes.empty(); ++i) {
    std::size_t at = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::size_t>(0, 99)
                                      : in.ConsumeIntegralInRange<std::size_t>(0, bytes.size() - 1);
    auto with = in.ConsumeRandomLengthString(16);
    for (std::size_t k = 0; k < with.size() && at + k < bytes.size(); ++k)
      bytes[at + k] = with[k];
  }
  if (in.ConsumeBool() && bytes.size() > 4096)
    bytes.resize(in.ConsumeIntegralInRange<std::size_t>(0, bytes.size()));
}

/// What `prepare` did to the file.
enum class damage { rows, pages, raw };

struct prepared {
  damage what = damage::rows;
  bool not_sqlite = false; ///< raw: a non-empty file without SQLite's magic (must be not_a_database)
};

/// Writes the input's journal file: a copy of the template with rows edited (most inputs) or bytes
/// patched, or the input's own bytes as the whole file.
inline prepared prepare(FuzzedDataProvider& in) {
  auto& f = fixture::get();
  auto mode = in.ConsumeIntegralInRange<int>(0, 7);
  if (mode == 0) {
    // The rest of the input is the file; a flag puts SQLite's magic in front (past the magic check).
    bool magic = in.ConsumeBool();
    auto bytes = in.ConsumeRemainingBytesAsString();
    if (magic)
      bytes = std::string{"SQLite format 3\0", 16} + bytes;
    f.write(bytes);
    bool magic_there = bytes.size() >= 16 && std::memcmp(bytes.data(), "SQLite format 3\0", 16) == 0;
    return {damage::raw, !bytes.empty() && !magic_there};
  }
  if (mode == 1) {
    auto bytes = f.template_bytes();
    patch_bytes(in, bytes);
    f.write(bytes);
    return {damage::pages};
  }
  f.write(f.template_bytes());
  edit_rows(in, f.path());
  return {damage::rows};
}

} // namespace fuzz
