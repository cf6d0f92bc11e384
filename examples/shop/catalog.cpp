#include "catalog.hpp"

#include <memory>
#include <stdexcept>
#include <string_view>

#include <sqlite3.h>

namespace shop {

namespace {

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

[[noreturn]] void fail(const std::string& path, std::string_view what, sqlite3* db) {
  std::string msg = "catalog " + path + ": " + std::string{what};
  if (db != nullptr)
    msg += ": " + std::string{sqlite3_errmsg(db)};
  throw std::runtime_error(msg);
}

db_ptr open(const std::string& path, bool writable) {
  sqlite3* raw = nullptr;
  int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  db_ptr db{raw};
  if (rc != SQLITE_OK)
    fail(path, "cannot open", raw);
  sqlite3_busy_timeout(raw, 5000); // two shops seeding at once simply wait for each other
  return db;
}

void exec(const std::string& path, sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw std::runtime_error("catalog " + path + ": " + msg);
  }
}

stmt_ptr prepare(const std::string& path, sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK)
    fail(path, "cannot prepare a query (is this a shop catalog?)", db);
  return stmt_ptr{raw};
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p != nullptr ? std::string{p} : std::string{};
}

constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS users(
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS items(
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    price_cents INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS cart(
    user_id INTEGER NOT NULL REFERENCES users(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    qty     INTEGER NOT NULL,
    PRIMARY KEY(user_id, item_id));
)sql";

// INSERT OR IGNORE with fixed ids: running this again (a second run of the demo) changes nothing.
constexpr const char* demo_data = R"sql(
  INSERT OR IGNORE INTO users(id, name, email) VALUES
    (1, 'Ada Lovelace',    'ada@analytical.example'),
    (2, 'Alan Turing',     'alan@bletchley.example'),
    (3, 'Grace Hopper',    'grace@cobol.example'),
    (4, 'Edsger Dijkstra', 'edsger@eindhoven.example'),
    (5, 'Barbara Liskov',  'barbara@clu.example'),
    (6, 'Donald Knuth',    'don@taocp.example');
  INSERT OR IGNORE INTO items(id, title, price_cents) VALUES
    (101, 'Brass gear set',              1899),
    (102, 'Punched cards (box of 500)',   950),
    (103, 'Enigma rotor replica',        4200),
    (104, 'Moth in a logbook (framed)',  2500),
    (105, 'Semaphore starter kit',        799),
    (106, 'Abstraction mug',             1250),
    (107, 'TAOCP bookmark',               300),
    (108, 'Difference engine poster',    1500);
  INSERT OR IGNORE INTO cart(user_id, item_id, qty) VALUES
    (1, 101, 2), (1, 108, 1),
    (2, 103, 1), (2, 102, 3),
    (3, 104, 1), (3, 102, 1), (3, 106, 2),
    (4, 105, 1),
    (5, 106, 1), (5, 107, 4),
    (6, 107, 10), (6, 101, 1), (6, 108, 1);
)sql";

} // namespace

void catalog::seed() const {
  auto db = open(path_, true);
  exec(path_, db.get(), "BEGIN IMMEDIATE");
  try {
    exec(path_, db.get(), schema);
    exec(path_, db.get(), demo_data);
    exec(path_, db.get(), "COMMIT");
  } catch (...) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t catalog::user_count() const {
  auto db = open(path_, false);
  auto s = prepare(path_, db.get(), "SELECT count(*) FROM users");
  if (sqlite3_step(s.get()) != SQLITE_ROW)
    fail(path_, "cannot count users", db.get());
  return sqlite3_column_int64(s.get(), 0);
}

User catalog::user(std::int64_t uid) const {
  auto db = open(path_, false);
  auto s = prepare(path_, db.get(), "SELECT id, name, email FROM users WHERE id = ?");
  sqlite3_bind_int64(s.get(), 1, uid);
  switch (sqlite3_step(s.get())) {
    case SQLITE_ROW:
      return User{sqlite3_column_int64(s.get(), 0), column_text(s.get(), 1),
                  column_text(s.get(), 2)};
    case SQLITE_DONE:
      throw std::runtime_error("no user with id " + std::to_string(uid) + " in " + path_);
    default:
      fail(path_, "cannot read user " + std::to_string(uid), db.get());
  }
}

std::vector<Item> catalog::cart(std::int64_t uid) const {
  auto db = open(path_, false);
  auto s = prepare(path_, db.get(),
                   "SELECT i.id, i.title, i.price_cents, c.qty FROM cart c "
                   "JOIN items i ON i.id = c.item_id WHERE c.user_id = ? ORDER BY i.id");
  sqlite3_bind_int64(s.get(), 1, uid);
  std::vector<Item> out;
  for (;;) {
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE)
      return out;
    if (rc != SQLITE_ROW)
      fail(path_, "cannot read the cart of user " + std::to_string(uid), db.get());
    out.push_back(Item{sqlite3_column_int64(s.get(), 0), column_text(s.get(), 1),
                       sqlite3_column_int64(s.get(), 2), sqlite3_column_int64(s.get(), 3)});
  }
}

} // namespace shop
