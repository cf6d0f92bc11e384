// actors_crashloop — the kill -9 loop of the reliability harness (RELIABILITY.md, scripts/reliability.sh).
//
//   actors_crashloop run [--dir D] [--kills 200] [--seed S] [--tasks-per-round 10] [--max-delay-ms 60]
//   actors_crashloop verify --dir D --tasks N
//   actors_crashloop worker --dir D --tasks N          (started by `run`)
//
// `run` starts a worker process on the journal D/journal.db, kills it with SIGKILL at a random moment,
// starts it again, and repeats until it has killed it `--kills` times; every round asks for a few more
// tasks, so new work keeps arriving while older work resumes. A last worker runs to the end, then
// `verify` checks what a user of a durable-execution library is promised:
//   - every task the caller started exists exactly once and completed with the right result, on the
//     version the router gave it;
//   - no effect whose result was journaled ran again (the side store counts every execution);
//   - the effects' business changes were applied exactly once per idempotency key (task, seq);
//   - every message a transfer sent the ledger was received once and posted once, none left pending;
//   - PRAGMA integrity_check passes on the journal and on the side store.
// It prints the figures as one JSON line ("crashloop: {...}") and exits 1 if anything is violated.
//
// The workload: "transfer"(i), routed by a journaled 50% canary policy to v1 or v2 (which name
// themselves in the result: a resumed transfer must finish on the version it started on), performs
// ledger.debit, spawns "notify"(i) (ledger.notify, running beside the rest), performs ledger.credit,
// sleeps 1 ms on a durable timer, calls "audit"(i) (ledger.audit), joins the notification and sends i
// to the books' ledger: user effects, a spawned child, a durable timer, a call and a message, all across
// kills. The ledger is a long-lived task under the supervisor "books" that receives each message and
// performs ledger.post; every worker supervises "books" again, which takes the supervisor over from the
// journal, and the ledger resumes. Each ledger.* handler executes against the side store
// D/side.db (its own SQLite file) in one transaction: a row in `executions` for every execution, and the
// change in `applied`, keyed by (task, seq) so that a re-execution of an effect in flight at a kill is
// absorbed. It answers "<value>#<execution row id>": the journal keeps which execution it took.
//
// The worker is the caller: it starts every input by its start key ("transfer-<i>"), so an input the
// journal has — also one started just before a kill, whose id the killed caller never saw — is never
// started twice; it waits for the unfinished ones (a wait works across the crash),
// then for the ledger to have posted all N (the ledger never ends; it is waited for through the side
// store, whose handler signals every applied change).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <sqlite3.h>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

namespace {

using namespace actors;
namespace fs = std::filesystem;

// --- the workload ---------------------------------------------------------------------------------

struct debit {
  using result_type = std::string;
  static constexpr const char* name = "ledger.debit";
  std::int64_t account = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & account;
  }
};

struct credit {
  using result_type = std::string;
  static constexpr const char* name = "ledger.credit";
  std::int64_t account = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & account;
  }
};

struct notice {
  using result_type = std::string;
  static constexpr const char* name = "ledger.notify";
  std::int64_t account = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & account;
  }
};

struct audit_entry {
  using result_type = std::string;
  static constexpr const char* name = "ledger.audit";
  std::int64_t account = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & account;
  }
};

struct posting {
  using result_type = std::string;
  static constexpr const char* name = "ledger.post";
  std::int64_t account = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & account;
  }
};

/// Which task is the books' ledger (answered by the engine, not the side store; journaled like any
/// effect, so a resumed transfer sends to the ledger it sent to before).
struct find_ledger {
  using result_type = std::uint64_t;
  static constexpr const char* name = "books.find_ledger";
  template <class Ar>
  void serialize(Ar&, unsigned) {}
};

// What each effect changes for input i (the side store's `applied.value`).
std::int64_t debit_value(std::int64_t i) { return 3 * i + 1; }
std::int64_t credit_value(std::int64_t i) { return 5 * i + 2; }
std::int64_t audit_value(std::int64_t i) { return 7 * i + 3; }
std::int64_t notify_value(std::int64_t i) { return 11 * i + 4; }
std::int64_t post_value(std::int64_t i) { return 13 * i + 5; }

/// "<value>#<execution>" -> value
std::string value_of(const std::string& answer) {
  return answer.substr(0, answer.find('#'));
}

/// "<value>#<execution>" -> execution row id (0 if malformed)
std::int64_t execution_of(const std::string& answer) {
  auto at = answer.find('#');
  return at == std::string::npos ? 0 : std::stoll(answer.substr(at + 1));
}

/// What transfer `i` returns when version `version` ran it (v1 or v2).
std::string expected_result(std::int64_t i, const std::string& version) {
  return "transfer " + std::to_string(i) + " (" + version + "): debit " + std::to_string(debit_value(i)) + " credit " +
         std::to_string(credit_value(i)) + " audit " + std::to_string(audit_value(i)) + " notify " +
         std::to_string(notify_value(i));
}

task<std::string> audit(ctx& cx, std::int64_t i) {
  co_return value_of(co_await cx.perform(audit_entry{i}));
}

task<std::string> notify(ctx& cx, std::int64_t i) {
  co_return value_of(co_await cx.perform(notice{i}));
}

task<std::string> transfer_as(ctx& cx, std::int64_t i, std::string version) {
  auto d = co_await cx.perform(debit{i});
  auto n = co_await cx.spawn<std::string>("notify", i); // runs beside the rest of the transfer
  auto c = co_await cx.perform(credit{i});
  co_await cx.sleep(std::chrono::milliseconds{1});
  auto a = co_await cx.call<std::string>("audit", i);
  auto sent = co_await n;
  co_await cx.send(task_id{co_await cx.perform(find_ledger{})}, i); // the ledger posts it
  co_return "transfer " + std::to_string(i) + " (" + version + "): debit " + value_of(d) + " credit " +
    value_of(c) + " audit " + a + " notify " + sent;
}

task<std::string> transfer(ctx& cx, std::int64_t i) {
  co_return co_await transfer_as(cx, i, "v1");
}

task<std::string> transfer_v2(ctx& cx, std::int64_t i) {
  co_return co_await transfer_as(cx, i, "v2");
}

/// The books' ledger: a long-lived supervised task that posts every transfer it is sent, one
/// journaled receive and one ledger.post effect per message. It never ends; after a kill its
/// supervisor is taken over from the journal and the ledger resumes where its journal ends.
task<std::string> ledger(ctx& cx, std::int64_t) {
  for (;;) {
    auto i = co_await cx.receive<std::int64_t>();
    co_await cx.perform(posting{i});
  }
}

router workload_routes() {
  router r;
  r.add("transfer", "v1", transfer)
    .add("transfer", "v2", transfer_v2)
    .add("audit", "v1", audit)
    .add("notify", "v1", notify)
    .add("ledger", "v1", ledger);
  return r;
}

/// Half of the transfers go to v2 (by root task id): a resumed transfer must finish on the version it
/// started on, which its result names.
constexpr int canary_percent = 50;

// --- SQLite helpers -------------------------------------------------------------------------------

struct db {
  sqlite3* h = nullptr;
  explicit db(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
              const std::string& vfs = {}) {
    if (sqlite3_open_v2(path.c_str(), &h, flags, vfs.empty() ? nullptr : vfs.c_str()) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path + ": " + sqlite3_errmsg(h));
    sqlite3_busy_timeout(h, 10'000);
  }
  ~db() { sqlite3_close(h); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(sql + ": " + msg);
    }
  }
  /// Runs `sql` with int64 parameters, calling `row(stmt)` for each result row.
  template <class F>
  void query(const std::string& sql, std::initializer_list<std::int64_t> params, F row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(h));
    int n = 1;
    for (auto p : params)
      sqlite3_bind_int64(st, n++, p);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(h));
  }
  /// "ok", what PRAGMA integrity_check found, or why it could not run (a page whose checksum does not
  /// match fails the check with an I/O error).
  std::string integrity() {
    std::string out;
    try {
      query("PRAGMA integrity_check", {}, [&](sqlite3_stmt* st) {
        out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      });
    } catch (const std::runtime_error& e) {
      out = std::string{"failed: "} + e.what() + " (extended code " +
            std::to_string(sqlite3_extended_errcode(h)) + ")";
    }
    return out;
  }
};

/// The external system the effects change: executions are counted, changes applied once per key.
class side_store {
public:
  explicit side_store(const std::string& path) : db_(path) {
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("CREATE TABLE IF NOT EXISTS executions(id INTEGER PRIMARY KEY AUTOINCREMENT, task INTEGER "
             "NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, value INTEGER NOT NULL)");
    db_.exec("CREATE INDEX IF NOT EXISTS executions_key ON executions(task, seq)");
    db_.exec("CREATE TABLE IF NOT EXISTS applied(task INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT "
             "NOT NULL, value INTEGER NOT NULL, PRIMARY KEY(task, seq))");
  }

  /// Executes one effect: returns "<value>#<execution id>".
  std::string execute(const effect_context& cx, const char* kind, std::int64_t value) {
    std::lock_guard guard{mx_};
    auto task = static_cast<std::int64_t>(cx.task.value());
    db_.exec("BEGIN IMMEDIATE");
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_.h, "INSERT INTO executions(task, seq, kind, value) VALUES(?, ?, ?, ?)", -1,
                       &st, nullptr);
    bind(st, task, cx.seq, kind, value);
    auto id = sqlite3_last_insert_rowid(db_.h);
    sqlite3_prepare_v2(db_.h, "INSERT OR IGNORE INTO applied(task, seq, kind, value) VALUES(?, ?, ?, ?)",
                       -1, &st, nullptr);
    bind(st, task, cx.seq, kind, value);
    db_.exec("COMMIT");
    changed_.notify_all();
    return std::to_string(value) + "#" + std::to_string(id);
  }

  /// Waits until `n` changes of `kind` are applied or `timeout` passes; returns how many are.
  std::int64_t wait_applied(const char* kind, std::int64_t n, std::chrono::seconds timeout) {
    std::unique_lock guard{mx_};
    auto count = [&] {
      std::int64_t c = 0;
      db_.query("SELECT count(*) FROM applied WHERE kind = '" + std::string{kind} + "'", {},
                [&](sqlite3_stmt* st) { c = sqlite3_column_int64(st, 0); });
      return c;
    };
    std::int64_t c = 0;
    changed_.wait_for(guard, timeout, [&] { return (c = count()) >= n; });
    return c;
  }

private:
  void bind(sqlite3_stmt* st, std::int64_t task, std::uint32_t seq, const char* kind, std::int64_t v) {
    sqlite3_bind_int64(st, 1, task);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, v);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string{"side store: "} + sqlite3_errmsg(db_.h));
  }

  std::mutex mx_;
  std::condition_variable changed_; ///< notified after every applied change
  db db_;
};

/// The ledger's task id, for books.find_ledger: set by the worker once the books supervisor runs.
/// Transfers resumed when the engine opens the journal may ask before that: the handler waits (handlers
/// may block; they run on the engine's worker pool).
class ledger_address {
public:
  void set(std::uint64_t id) {
    {
      std::lock_guard guard{mx_};
      id_ = id;
    }
    cv_.notify_all();
  }
  std::uint64_t get() {
    std::unique_lock guard{mx_};
    if (!cv_.wait_for(guard, std::chrono::seconds{60}, [this] { return id_ != 0; }))
      throw std::runtime_error("the books supervisor did not start its ledger within 60 s");
    return id_;
  }

private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::uint64_t id_ = 0;
};
ledger_address the_ledger;

effects workload_effects(side_store& store) {
  effects fx;
  fx.handle<posting>([&store](const posting& e, const effect_context& cx) {
    return store.execute(cx, "post", post_value(e.account));
  });
  fx.handle<find_ledger>([](const find_ledger&) { return the_ledger.get(); });
  fx.handle<debit>([&store](const debit& e, const effect_context& cx) {
    return store.execute(cx, "debit", debit_value(e.account));
  });
  fx.handle<credit>([&store](const credit& e, const effect_context& cx) {
    return store.execute(cx, "credit", credit_value(e.account));
  });
  fx.handle<audit_entry>([&store](const audit_entry& e, const effect_context& cx) {
    return store.execute(cx, "audit", audit_value(e.account));
  });
  fx.handle<notice>([&store](const notice& e, const effect_context& cx) {
    return store.execute(cx, "notify", notify_value(e.account));
  });
  return fx;
}

std::string journal_path(const std::string& dir) { return dir + "/journal.db"; }
std::string side_path(const std::string& dir) { return dir + "/side.db"; }

// --- worker -------------------------------------------------------------------------------------

int worker(const std::string& dir, std::int64_t tasks) {
  side_store store{side_path(dir)};
  engine_config cfg;
  cfg.journal = journal_path(dir);
  cfg.log_level = "warn";
  engine eng{cfg, workload_routes(), workload_effects(store)};
  if (auto err = eng.status()) {
    std::cerr << "worker: " << describe(err) << '\n';
    return 2;
  }
  // The books supervisor: started by the first worker, taken over from the journal by every later one
  // (its ledger resumed, not restarted).
  supervisor_spec books{.name = "books"};
  books.children.push_back(actors::worker("ledger", "ledger", std::int64_t{0}));
  if (auto ok = eng.supervise(books); !ok) {
    std::cerr << "worker: supervise books: " << describe(ok.error()) << '\n';
    return 2;
  }
  auto ledger_id = eng.supervised_task("books", "ledger");
  if (!ledger_id) {
    std::cerr << "worker: " << describe(ledger_id.error()) << '\n';
    return 2;
  }
  the_ledger.set(ledger_id->value());
  // The policy is journaled: every round sets the same one, while resumed transfers keep their own.
  if (auto ok = eng.set_policy("transfer", policy::percent("v1", "v2", canary_percent)); !ok) {
    std::cerr << "worker: " << describe(ok.error()) << '\n';
    return 2;
  }
  // Every input is started by its start key: a transfer the journal has (from any earlier round, also
  // one started just before a kill) comes back as its id, never as a second task. Only the ones not
  // finished yet are waited for.
  eventlog::task_filter f;
  f.function = "transfer";
  f.status = eventlog::task_status::completed;
  auto completed = eng.journal()->list_tasks(f);
  if (!completed) {
    std::cerr << "worker: " << describe(completed.error()) << '\n';
    return 2;
  }
  std::set<std::uint64_t> done;
  for (auto& t : *completed)
    done.insert(t.id);
  std::vector<task_id> ids; // to wait for: the unfinished (resumed) ones and those started now
  for (std::int64_t i = 0; i < tasks; ++i) {
    auto id = eng.start("transfer", i, start_key{"transfer-" + std::to_string(i)});
    if (!id) {
      std::cerr << "worker: start transfer " << i << ": " << describe(id.error()) << '\n';
      return 2;
    }
    if (!done.count(id->value()))
      ids.push_back(*id);
  }
  std::printf("STARTED %lld (%zu to wait for)\n", static_cast<long long>(tasks), ids.size());
  std::fflush(stdout);
  for (auto id : ids) {
    auto out = eng.wait<std::string>(id);
    if (!out) {
      std::cerr << "worker: task " << to_string(id) << ": " << describe(out.error()) << '\n';
      return 2;
    }
  }
  // Every transfer sent the ledger one message; the ledger posts them in its own time. The run ends
  // when all are posted (a worker killed before has its ledger resumed by the next one).
  if (auto posted = store.wait_applied("post", tasks, std::chrono::seconds{120}); posted < tasks) {
    std::cerr << "worker: the ledger posted " << posted << " of " << tasks << " transfers in 120 s\n";
    return 2;
  }
  std::printf("DONE %lld\n", static_cast<long long>(tasks));
  std::fflush(stdout);
  return 0;
}

// --- verify -------------------------------------------------------------------------------------

struct figures {
  std::int64_t kills = 0, rounds = 0, tasks = 0, effects = 0, executions = 0, reexecuted_in_flight = 0,
               duplicates = 0, orphans = 0, wrong_results = 0, missing = 0, extra = 0, unfinished = 0,
               applied = 0, applied_mismatch = 0, messages_sent = 0, messages_received = 0,
               ledger_posts = 0;
  std::map<std::string, std::int64_t> routed; ///< transfers by the version the router gave them
  std::string journal_integrity, side_integrity;
  double seconds = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> problems;

  bool ok() const { return problems.empty(); }
  std::string json() const {
    auto q = [](const std::string& s) { return "\"" + s + "\""; };
    std::string out = "{";
    auto add = [&](const char* k, const std::string& v) {
      out += (out.size() > 1 ? ", " : "") + q(k) + ": " + v;
    };
    add("kills", std::to_string(kills));
    add("rounds", std::to_string(rounds));
    add("seed", std::to_string(seed));
    add("tasks", std::to_string(tasks));
    add("effects_journaled", std::to_string(effects));
    add("executions", std::to_string(executions));
    add("reexecuted_in_flight", std::to_string(reexecuted_in_flight));
    add("duplicates", std::to_string(duplicates));
    add("orphan_executions", std::to_string(orphans));
    add("wrong_results", std::to_string(wrong_results));
    add("missing_tasks", std::to_string(missing));
    add("extra_tasks", std::to_string(extra));
    add("unfinished_tasks", std::to_string(unfinished));
    add("routed_v1", std::to_string(routed.count("v1") ? routed.at("v1") : 0));
    add("routed_v2", std::to_string(routed.count("v2") ? routed.at("v2") : 0));
    add("messages_sent", std::to_string(messages_sent));
    add("messages_received", std::to_string(messages_received));
    add("ledger_posts", std::to_string(ledger_posts));
    add("applied", std::to_string(applied));
    add("applied_mismatch", std::to_string(applied_mismatch));
    add("journal_integrity", q(journal_integrity));
    add("side_integrity", q(side_integrity));
    add("seconds", std::to_string(seconds));
    add("ok", ok() ? "true" : "false");
    return out + "}";
  }
};

void verify(const std::string& dir, std::int64_t tasks, figures& fig) {
  auto problem = [&](std::string p) {
    if (fig.problems.size() < 20)
      fig.problems.push_back(std::move(p));
  };
  eventlog::journal_options opts;
  opts.path = journal_path(dir);
  opts.read_only = true;
  auto j = eventlog::journal::open(opts);
  if (!j) {
    problem("cannot open the journal: " + describe(j.error()));
    return;
  }
  auto unfinished = (*j)->unfinished_tasks();
  if (!unfinished)
    return problem(describe(unfinished.error()));
  // The books' ledger never ends: it is the one task expected to be running.
  std::erase_if(*unfinished, [](const eventlog::task_record& t) { return t.function == "ledger"; });
  fig.unfinished = static_cast<std::int64_t>(unfinished->size());
  if (fig.unfinished != 0)
    problem(std::to_string(fig.unfinished) + " tasks unfinished, e.g. " +
            to_string(task_id{unfinished->front().id}));

  // Every journaled effect: (task, seq) -> the execution it took.
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> journaled;
  auto read_effects = [&](std::uint64_t id) -> std::vector<eventlog::event> {
    auto evs = (*j)->events(id);
    if (!evs) {
      problem(describe(evs.error()));
      return {};
    }
    auto history = eventlog::journal::history(std::move(*evs));
    for (auto& e : history)
      if (e.kind == eventlog::event_kind::effect && !e.failed && e.name.starts_with("ledger."))
        journaled[{static_cast<std::int64_t>(id), e.seq}] = execution_of(from_bytes<std::string>(e.result));
    return history;
  };

  eventlog::task_filter f;
  f.function = "transfer";
  auto all = (*j)->list_tasks(f);
  if (!all)
    return problem(describe(all.error()));
  std::map<std::int64_t, int> seen;
  std::map<std::uint64_t, std::int64_t> sent; // message id -> the transfer that sent it
  for (auto& t : *all) {
    auto history = read_effects(t.id);
    if (history.empty() || history.front().kind != eventlog::event_kind::started) {
      problem("task " + to_string(task_id{t.id}) + " has no started event");
      continue;
    }
    auto input = from_bytes<std::int64_t>(history.front().request);
    ++seen[input];
    auto& end = history.back();
    if (end.kind != eventlog::event_kind::completed) {
      ++fig.wrong_results;
      problem("transfer " + std::to_string(input) + " ended " + std::string{to_string(end.kind)});
    } else if (auto r = from_bytes<std::string>(end.result); r != expected_result(input, t.version)) {
      ++fig.wrong_results;
      problem("transfer " + std::to_string(input) + " (routed to " + t.version + ") returned '" + r + "'");
    }
    ++fig.routed[t.version];
    int sends = 0;
    for (auto& e : history)
      if (e.kind == eventlog::event_kind::send) {
        ++sends;
        sent[e.ref] = input;
      }
    if (end.kind == eventlog::event_kind::completed && sends != 1)
      problem("transfer " + std::to_string(input) + " sent " + std::to_string(sends) +
              " messages to the ledger, not 1");
    auto kids = (*j)->children(t.id);
    if (!kids)
      problem(describe(kids.error()));
    else
      for (auto& k : *kids)
        read_effects(k.id);
  }
  fig.tasks = static_cast<std::int64_t>(all->size());
  fig.messages_sent = static_cast<std::int64_t>(sent.size());

  // The ledger: one task, under the books supervisor; every message received once and posted once.
  f.function = "ledger";
  auto ledgers = (*j)->list_tasks(f);
  if (!ledgers)
    return problem(describe(ledgers.error()));
  if (ledgers->size() != 1)
    problem(std::to_string(ledgers->size()) + " ledger tasks in the journal, not 1");
  for (auto& l : *ledgers) {
    auto history = read_effects(l.id);
    std::map<std::uint64_t, int> received;
    std::map<std::int64_t, int> posted;
    for (auto& e : history) {
      if (e.kind == eventlog::event_kind::receive) {
        ++fig.messages_received;
        if (++received[e.ref] == 2)
          problem("the ledger received message " + std::to_string(e.ref) + " twice");
        if (!sent.count(e.ref))
          problem("the ledger received message " + std::to_string(e.ref) + ", which no transfer sent");
      } else if (e.kind == eventlog::event_kind::effect && e.name == "ledger.post" && !e.failed) {
        auto i = from_bytes<posting>(e.request).account;
        if (++posted[i] == 2)
          problem("the ledger posted transfer " + std::to_string(i) + " twice");
      }
    }
    fig.ledger_posts = static_cast<std::int64_t>(posted.size());
    for (auto& [id, input] : sent)
      if (!received.count(id))
        problem("the message of transfer " + std::to_string(input) + " was never received");
      else if (!posted.count(input))
        problem("the ledger received transfer " + std::to_string(input) + " but never posted it");
    auto pending = (*j)->pending_messages(l.id);
    if (!pending)
      problem(describe(pending.error()));
    else if (!pending->empty())
      problem(std::to_string(pending->size()) + " messages still pending in the ledger's mailbox");
  }
  auto sups = (*j)->supervision();
  if (!sups)
    problem(describe(sups.error()));
  else if (std::none_of(sups->begin(), sups->end(), [](const eventlog::supervision_record& r) {
             return r.supervisor == "books" && r.child == "ledger" && r.state == "running";
           }))
    problem("the books supervisor does not list its ledger as running");
  // With a 50% canary, 20 or more transfers all on one version would mean routing is not happening.
  if (fig.tasks >= 20 && (fig.routed["v1"] == 0 || fig.routed["v2"] == 0))
    problem("the " + std::to_string(canary_percent) + "% canary routed all " +
            std::to_string(fig.tasks) + " transfers to one version");
  for (auto& [version, n] : fig.routed)
    if (version != "v1" && version != "v2")
      problem(std::to_string(n) + " transfers ran on unknown version '" + version + "'");
  for (std::int64_t i = 0; i < tasks; ++i) {
    auto n = seen.count(i) ? seen[i] : 0;
    if (n == 0) {
      ++fig.missing;
      problem("transfer " + std::to_string(i) + " was never started");
    } else if (n > 1) {
      fig.extra += n - 1;
      problem("transfer " + std::to_string(i) + " was started " + std::to_string(n) + " times");
    }
  }
  for (auto& [input, n] : seen)
    if (input < 0 || input >= tasks) {
      fig.extra += n;
      problem("transfer " + std::to_string(input) + " was not asked for");
    }
  fig.effects = static_cast<std::int64_t>(journaled.size());
  j->reset();

  // The side store: no execution of a journaled effect after the one whose result was journaled.
  db side{side_path(dir), SQLITE_OPEN_READONLY};
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>> executed;
  side.query("SELECT task, seq, id FROM executions ORDER BY id", {}, [&](sqlite3_stmt* st) {
    executed[{sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)}].push_back(
      sqlite3_column_int64(st, 2));
    ++fig.executions;
  });
  for (auto& [key, runs] : executed) {
    auto jr = journaled.find(key);
    if (jr == journaled.end()) {
      ++fig.orphans;
      problem("effect (" + to_string(task_id{static_cast<std::uint64_t>(key.first)}) + ", " +
              std::to_string(key.second) + ") ran but its result is not in the journal");
      continue;
    }
    if (runs.size() > 1)
      fig.reexecuted_in_flight += static_cast<std::int64_t>(runs.size()) - 1;
    for (auto run : runs)
      if (run > jr->second) {
        ++fig.duplicates;
        problem("effect (" + to_string(task_id{static_cast<std::uint64_t>(key.first)}) + ", " +
                std::to_string(key.second) + ") ran again (execution " + std::to_string(run) +
                ") after its result (execution " + std::to_string(jr->second) + ") was journaled");
      }
    if (std::find(runs.begin(), runs.end(), jr->second) == runs.end())
      problem("the journal took execution " + std::to_string(jr->second) + ", which the side store lacks");
  }
  for (auto& [key, exec] : journaled)
    if (!executed.count(key))
      problem("journaled effect (" + to_string(task_id{static_cast<std::uint64_t>(key.first)}) + ", " +
              std::to_string(key.second) + ") never ran");
  side.query("SELECT task, seq FROM applied", {}, [&](sqlite3_stmt* st) {
    ++fig.applied;
    if (!journaled.count({sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)}))
      ++fig.applied_mismatch;
  });
  if (fig.applied != fig.effects || fig.applied_mismatch != 0)
    problem("the side store applied " + std::to_string(fig.applied) + " changes for " +
            std::to_string(fig.effects) + " journaled effects (" + std::to_string(fig.applied_mismatch) +
            " without a journaled effect)");
  fig.side_integrity = side.integrity();
  if (fig.side_integrity != "ok")
    problem("side store integrity_check: " + fig.side_integrity);
  // Through the journal's VFS: integrity_check then also verifies every page's checksum.
  db journal_db{journal_path(dir), SQLITE_OPEN_READONLY, actors::eventlog::journal::sqlite_vfs()};
  fig.journal_integrity = journal_db.integrity();
  if (fig.journal_integrity != "ok")
    problem("journal integrity_check: " + fig.journal_integrity);
}

// --- run ------------------------------------------------------------------------------------------

std::string self_exe() {
  return fs::read_symlink("/proc/self/exe").string();
}

/// Starts `self worker --dir D --tasks N`, its output appended to D/worker.log.
pid_t start_worker(const std::string& dir, std::int64_t tasks) {
  auto exe = self_exe();
  auto n = std::to_string(tasks);
  auto log = dir + "/worker.log";
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(exe.c_str(), exe.c_str(), "worker", "--dir", dir.c_str(), "--tasks", n.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

/// Waits up to `limit` for `pid` to exit; returns its wait status, or nullopt if it still runs.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return status;
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds{500});
  }
}

int run(std::string dir, std::int64_t kills, std::uint64_t seed, std::int64_t per_round,
        std::int64_t max_delay_ms, bool keep) {
  bool made_dir = dir.empty();
  if (made_dir) {
    auto tmpl = (fs::temp_directory_path() / "actors-crashloop-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  fs::create_directories(dir);
  if (fs::exists(journal_path(dir)) || fs::exists(side_path(dir)))
    throw std::runtime_error("'" + dir + "' already holds a crash loop's files: give an empty directory");
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<std::int64_t> delay{0, max_delay_ms};
  figures fig;
  fig.seed = seed;
  auto start = std::chrono::steady_clock::now();
  std::int64_t tasks = 0;
  auto report_every = std::max<std::int64_t>(kills / 10, 1);
  while (fig.kills < kills) {
    if (fig.rounds > kills * 20)
      throw std::runtime_error("the worker keeps finishing before it is killed: raise --tasks-per-round");
    ++fig.rounds;
    tasks += per_round;
    auto pid = start_worker(dir, tasks);
    auto status = wait_exit(pid, std::chrono::milliseconds{delay(rng)});
    if (status) { // it finished (or failed) before the kill
      if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        std::cerr << "crashloop: a worker failed (status " << *status << "); see " << dir << "/worker.log\n";
        return 2;
      }
      continue;
    }
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
      if (++fig.kills % report_every == 0)
        std::cerr << "crashloop: " << fig.kills << " kills, " << tasks << " tasks asked for\n";
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::cerr << "crashloop: a worker failed (status " << st << "); see " << dir << "/worker.log\n";
      return 2;
    }
  }
  // The last worker runs to the end.
  auto pid = start_worker(dir, tasks);
  auto status = wait_exit(pid, std::chrono::minutes{5});
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::cerr << "crashloop: the last worker did not finish within 5 minutes; see " << dir << "/worker.log\n";
    return 2;
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    std::cerr << "crashloop: the last worker failed (status " << *status << "); see " << dir
              << "/worker.log\n";
    return 2;
  }
  verify(dir, tasks, fig);
  fig.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& p : fig.problems)
    std::cerr << "crashloop: VIOLATION: " << p << '\n';
  std::cout << "crashloop: " << fig.json() << std::endl;
  if (fig.ok() && made_dir && !keep)
    fs::remove_all(dir);
  else
    std::cerr << "crashloop: files kept in " << dir << '\n';
  return fig.ok() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"actors_crashloop: kill -9 loop of durable tasks against a side store, then verify"};
  app.require_subcommand(1);
  std::string dir;
  std::int64_t kills = 200, tasks = 0, per_round = 10, max_delay_ms = 60;
  std::uint64_t seed = std::random_device{}();
  bool keep = false;
  auto* run_cmd = app.add_subcommand("run", "kill a worker --kills times, then verify");
  run_cmd->add_option("--dir", dir, "an empty directory for the files (default: a new temp dir)");
  run_cmd->add_option("--kills", kills, "how many SIGKILLs")->check(CLI::PositiveNumber);
  run_cmd->add_option("--seed", seed, "seed of the kill moments (printed)");
  run_cmd->add_option("--tasks-per-round", per_round, "tasks added per round")->check(CLI::PositiveNumber);
  run_cmd->add_option("--max-delay-ms", max_delay_ms, "kill within this many ms of a worker's start")
    ->check(CLI::PositiveNumber);
  run_cmd->add_flag("--keep", keep, "keep the files of a passing run");
  auto* verify_cmd = app.add_subcommand("verify", "check a crash loop's files");
  verify_cmd->add_option("--dir", dir, "the directory")->required();
  verify_cmd->add_option("--tasks", tasks, "how many transfers were asked for")->required();
  std::string sql_file, sql;
  auto* sql_cmd = app.add_subcommand(
    "sql", "run SQL on a journal through the journal's VFS, which keeps its page checksums (selftest)");
  sql_cmd->add_option("file", sql_file, "the journal")->required();
  sql_cmd->add_option("sql", sql, "the statements")->required();
  auto* worker_cmd = app.add_subcommand("worker", "run the workload once (started by run)");
  worker_cmd->add_option("--dir", dir, "the directory")->required();
  worker_cmd->add_option("--tasks", tasks, "how many transfers to have")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (*worker_cmd)
      return worker(dir, tasks);
    if (*sql_cmd) {
      db j{sql_file, SQLITE_OPEN_READWRITE, actors::eventlog::journal::sqlite_vfs()};
      j.exec(sql);
      return 0;
    }
    if (*verify_cmd) {
      figures fig;
      verify(dir, tasks, fig);
      for (auto& p : fig.problems)
        std::cerr << "crashloop: VIOLATION: " << p << '\n';
      std::cout << "crashloop: " << fig.json() << std::endl;
      return fig.ok() ? 0 : 1;
    }
    std::cerr << "crashloop: seed " << seed << '\n';
    return run(dir, kills, seed, per_round, max_delay_ms, keep);
  } catch (const std::exception& e) {
    std::cerr << "crashloop: " << e.what() << '\n';
    return 2;
  }
}
