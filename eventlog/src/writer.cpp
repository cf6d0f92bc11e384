// The append path: a mutex-protected queue, one writer thread doing group commit, and durability
// callbacks run in lsn order outside every lock.

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "journal_impl.hpp"

namespace actors::eventlog {

namespace {

caf::error closed_error(const std::string& path, const char* why) {
  return make_error(errc::closed, path + ": " + why);
}

} // namespace

// --- producers ----------------------------------------------------------------------------------

lsn journal::impl::enqueue(pending&& op) {
  std::unique_lock lk{mu_};
  if (max_queue_ > 0 && queue_.size() >= max_queue_ && std::this_thread::get_id() != writer_id_)
    space_cv_.wait(lk, [this] {
      return queue_.size() < max_queue_ || failed_ || stopping_;
    });
  auto n = ++last_lsn_;
  // A failed, read-only or stopping journal drops the append; `when_durable(n)` reports why.
  if (failed_ || read_only_ || stopping_)
    return n;
  op.n = n;
  auto was_empty = queue_.empty();
  queue_.push_back(std::move(op));
  lk.unlock();
  // While the queue is non-empty the writer is busy or already notified.
  if (was_empty)
    work_cv_.notify_one();
  return n;
}

void journal::impl::when_durable(lsn n, durable_callback cb) {
  caf::error err;
  {
    std::lock_guard lk{mu_};
    // durable_ is published only after every callback up to it has run, so an inline call here never
    // overtakes an earlier callback of the same thread.
    if (n <= durable_) {
      // durable: call inline below
    } else if (failed_) {
      err = failed_;
    } else if (read_only_) {
      err = closed_error(path_, "the journal is open read-only");
    } else {
      waiters_.emplace_hint(waiters_.end(), n, std::move(cb));
      return;
    }
  }
  cb(err);
}

caf::error journal::impl::flush() {
  lsn target;
  {
    std::lock_guard lk{mu_};
    target = last_lsn_;
  }
  return await_durable(target);
}

caf::error journal::impl::await_durable(lsn n) {
  std::unique_lock lk{mu_};
  if (std::this_thread::get_id() == writer_id_)
    return make_error(errc::wrong_thread, path_ + ": waiting for durability on the journal's writer "
                                                  "thread (inside a durability callback) would never end");
  durable_cv_.wait(lk, [&] { return durable_ >= n || failed_ || read_only_ || closed_; });
  if (durable_ >= n)
    return {};
  if (failed_)
    return failed_;
  if (read_only_)
    return closed_error(path_, "the journal is open read-only");
  return closed_error(path_, "the journal closed before the append was durable");
}

// --- writer thread ------------------------------------------------------------------------------

void journal::impl::start_writer() {
  writer_ = std::thread{[this] {
    pthread_setname_np(pthread_self(), "actors.journal"); // shows in top, perf and gdb
    {
      std::lock_guard lk{mu_};
      writer_id_ = std::this_thread::get_id();
    }
    run_writer();
  }};
}

void journal::impl::stop_writer() {
  {
    std::lock_guard lk{mu_};
    stopping_ = true;
  }
  work_cv_.notify_one();
  space_cv_.notify_all();
  if (writer_.joinable())
    writer_.join();
}

journal::impl::~impl() {
  stop_writer();
  // The last connection to close must be a read-write one: it checkpoints the WAL and removes the -wal
  // and -shm files. A read-only reader that closes last can do neither, and would leave the journal's
  // last commits in a -wal beside it (a copy of the file alone would lack them).
  {
    std::lock_guard lk{readers_mu_};
    idle_readers_.clear();
  }
  stop_checkpointer(); // before the writer's connection closes: it is the last, and removes the WAL
}

// --- checkpointer thread ------------------------------------------------------------------------

void journal::impl::start_checkpointer(internal::connection db) {
  // A connection learns that the file is in WAL mode when it first reads it; until then a checkpoint
  // "succeeds" doing nothing.
  if (internal::exec(db.get(), "SELECT count(*) FROM meta") != SQLITE_OK)
    return; // the writer checkpoints in its commits, as SQLite does by default
  sqlite3_wal_hook(db_.get(), &impl::on_wal_commit, this);
  checkpointer_ = std::thread{[this, db = std::move(db)] {
    pthread_setname_np(pthread_self(), "actors.ckpt"); // shows in top, perf and gdb
    std::unique_lock lk{ckpt_mu_};
    for (;;) {
      ckpt_cv_.wait(lk, [this] { return ckpt_wanted_ || ckpt_stop_; });
      if (ckpt_stop_)
        return; // the connection closes with this thread
      ckpt_wanted_ = false;
      lk.unlock();
      // PASSIVE copies what it can without waiting for the writer; a failure (a busy or faulty disk)
      // leaves the frames in the WAL, where they are as durable: the next round tries again.
      int frames = -1;
      auto rc = sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, nullptr);
      lk.lock();
      if (rc == SQLITE_OK && frames >= 0) { // -1: the connection did not see a WAL (cannot happen)
        stat_checkpoints_.fetch_add(1, std::memory_order_relaxed);
        ckpt_done_cv_.notify_all();
      }
    }
  }};
}

void journal::impl::stop_checkpointer() {
  if (!checkpointer_.joinable())
    return;
  {
    std::lock_guard lk{ckpt_mu_};
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_one();
  checkpointer_.join();
}

int journal::impl::on_wal_commit(void* p, sqlite3* db, const char* schema, int pages) {
  auto* self = static_cast<impl*>(p);
  if (pages >= checkpoint_pages_max) { // the checkpointer cannot catch up: checkpoint here, as SQLite would
    // Counted whether it copied frames or found the checkpointer's own checkpoint running (SQLITE_BUSY):
    // either way a checkpoint was under way in this commit (counting only SQLITE_OK made the count
    // depend on how the two threads met).
    auto rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY)
      self->stat_writer_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  if (pages < checkpoint_pages)
    return SQLITE_OK;
  {
    std::lock_guard lk{self->ckpt_mu_};
    if (self->ckpt_wanted_)
      return SQLITE_OK;
    self->ckpt_wanted_ = true;
  }
  self->ckpt_cv_.notify_one();
  return SQLITE_OK;
}

void journal::impl::run_writer() {
  std::vector<pending> batch;
  std::vector<waiter> scratch;
  std::unique_lock lk{mu_};
  for (;;) {
    work_cv_.wait(lk, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty())
      break; // stopping, and everything queued is committed
    // Take everything: the emptied buffer keeps its capacity for the producers (no reallocation).
    batch.swap(queue_);
    lk.unlock();
    space_cv_.notify_all();
    for (std::size_t i = 0; i < batch.size(); i += max_batch_) {
      auto chunk = std::span<pending>{batch}.subspan(i, std::min(max_batch_, batch.size() - i));
      auto t0 = std::chrono::steady_clock::now();
      if (damaged_.load(std::memory_order_acquire)) {
        fail(failed_or_damaged()); // a read found damage: write nothing more into the file
        break;
      }
      if (auto err = commit(chunk)) {
        fail(std::move(err));
        break;
      }
      auto dt = std::chrono::steady_clock::now() - t0;
      stat_commit_ns_.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count()),
        std::memory_order_relaxed);
      stat_commits_.fetch_add(1, std::memory_order_relaxed);
      stat_appends_.fetch_add(chunk.size(), std::memory_order_relaxed);
      publish(chunk.back().n, scratch);
    }
    batch.clear();
    lk.lock();
  }
  // Callbacks for lsns that were never appended (or were dropped) must still be called once.
  std::multimap<lsn, durable_callback> rest;
  rest.swap(waiters_);
  auto err = failed_ ? failed_ : closed_error(path_, "the journal is closed");
  closed_ = true;
  if (listener_ && !failed_) // a failure was reported already
    listener_(durable_, err);
  lk.unlock();
  durable_cv_.notify_all(); // waiters for appends dropped while stopping
  for (auto& [n, cb] : rest)
    cb(err);
}

caf::error journal::impl::commit(std::span<pending> ops) {
  std::lock_guard lk{db_mu_};
  auto db = db_.get();
  auto rc = begin_.step();
  begin_.reset();
  if (rc != SQLITE_DONE)
    return internal::sqlite_error(db, rc, path_, "cannot begin a transaction");
  commit_tasks_.clear();
  commit_events_.clear();
  commit_marks_.clear();
  for (auto& op : ops) {
    if (rc = write_one(op); rc != SQLITE_OK)
      break;
  }
  if (rc == SQLITE_OK)
    rc = write_tasks();
  if (rc == SQLITE_OK)
    rc = write_events();
  if (rc == SQLITE_OK)
    rc = write_marks();
  if (rc == SQLITE_OK) {
    rc = commit_.step();
    commit_.reset();
    if (rc == SQLITE_DONE)
      return {};
  }
  // Take the message before ROLLBACK replaces it. SQLite may have rolled back already (disk full).
  auto err = internal::sqlite_error(db, rc, path_, "cannot write");
  if (!sqlite3_get_autocommit(db))
    internal::exec(db, "ROLLBACK");
  return err;
}

int journal::impl::write_one(pending& op) {
  auto finish = [](internal::statement& s) {
    auto rc = s.step();
    s.reset();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  };
  if (op.cancel != 0) {
    insert_cancel_.bind_u64(1, op.cancel);
    insert_cancel_.bind(2, internal::now_ns());
    if (auto rc = finish(insert_cancel_); rc != SQLITE_OK)
      return rc;
    return finish(count_cancel_);
  }
  if (op.sup) {
    auto& r = *op.sup;
    if (op.erase) {
      delete_supervision_.bind_text(1, r.supervisor);
      return finish(delete_supervision_);
    }
    auto& s = upsert_supervision_;
    s.bind_text(1, r.supervisor);
    s.bind_text(2, r.child);
    s.bind_text(3, r.parent);
    s.bind(4, static_cast<std::int64_t>(r.position));
    s.bind_text(5, r.kind);
    s.bind_text(6, r.function);
    s.bind_u64(7, r.task);
    s.bind_text(8, r.state);
    s.bind(9, static_cast<std::int64_t>(r.restarts));
    s.bind_text(10, r.detail);
    s.bind(11, r.updated);
    return finish(s);
  }
  if (op.mark) { // upserted with the commit's other marks (write_marks): no statement reads them
    commit_marks_.push_back(op.mark.get());
    return SQLITE_OK;
  }
  if (op.msg) {
    auto& m = *op.msg;
    auto& s = insert_message_;
    s.bind_u64(1, m.id);
    s.bind_u64(2, m.target);
    s.bind_u64(3, m.sender);
    s.bind(4, static_cast<std::int64_t>(m.sender_seq));
    s.bind_text(5, m.type);
    s.bind_blob(6, m.payload);
    s.bind_text(7, m.text);
    s.bind(8, m.ts);
    if (auto rc = finish(s); rc != SQLITE_OK)
      return rc;
    if (op.ev.task == 0)
      return SQLITE_OK;
  }
  if (op.route) {
    auto& r = *op.route;
    auto& s = op.erase ? delete_route_ : upsert_route_;
    s.bind_text(1, r.function);
    s.bind_u64(2, r.root);
    if (!op.erase) {
      s.bind_text(3, r.mode);
      s.bind_text(4, r.primary);
      s.bind_text(5, r.candidate);
      s.bind(6, static_cast<std::int64_t>(r.percent));
      s.bind(7, r.updated);
    }
    if (auto rc = finish(s); rc != SQLITE_OK)
      return rc;
    return finish(count_route_change_);
  }
  if (op.div) {
    auto& d = *op.div;
    auto& s = insert_divergence_;
    s.bind_u64(1, d.task);
    s.bind_text(2, d.function);
    s.bind_text(3, d.primary_version);
    s.bind_text(4, d.candidate_version);
    s.bind(5, d.position);
    s.bind_text(6, d.what);
    s.bind_text(7, d.primary_side);
    s.bind_text(8, d.candidate_side);
    s.bind(9, d.ts);
    return finish(s);
  }
  if (op.task) {
    // The task row is inserted with the commit's other task rows (write_tasks), before anything that
    // updates a task row; the start key's own table needs no task row.
    auto& t = *op.task;
    commit_tasks_.push_back(&t);
    if (!t.start_key.empty()) {
      insert_start_key_.bind_text(1, t.start_key);
      insert_start_key_.bind_u64(2, t.id);
      if (auto rc = finish(insert_start_key_); rc != SQLITE_OK)
        return rc;
    }
  }
  // The event row is inserted with the commit's other events (write_events): events keep their lsn
  // order among themselves, and no statement of this commit reads the events table.
  auto& ev = op.ev;
  commit_events_.push_back(&ev);
  auto updates_task = ev.kind == event_kind::completed || ev.kind == event_kind::failed ||
                      ev.kind == event_kind::cancelled || ev.kind == event_kind::restarted;
  if (updates_task) {
    if (auto rc = write_tasks(); rc != SQLITE_OK)
      return rc;
  }
  if (ev.kind == event_kind::completed || ev.kind == event_kind::failed ||
      ev.kind == event_kind::cancelled) {
    auto status = ev.kind == event_kind::completed ? task_status::completed
                  : ev.kind == event_kind::failed  ? task_status::failed
                                                   : task_status::cancelled;
    auto& u = finish_task_;
    u.bind_u64(1, ev.task);
    u.bind(2, static_cast<std::int64_t>(status));
    u.bind(3, ev.ts);
    return finish(u);
  }
  if (ev.kind == event_kind::restarted) {
    restart_task_.bind_u64(1, ev.task);
    return finish(restart_task_);
  }
  return SQLITE_OK;
}

namespace {

/// Runs `rows` through the multi-row statements `st` (sizes `sizes`, largest first): as many rows per
/// statement as the sizes allow, in order. `bind(statement, first parameter offset, row)` binds one row.
template <class Row, class Statements, class Sizes, class Bind>
int insert_rows(const std::vector<const Row*>& rows, Statements& st, const Sizes& sizes, Bind bind) {
  std::size_t next = 0;
  for (std::size_t size = 0; size < sizes.size(); ++size) {
    auto per = static_cast<std::size_t>(sizes[size]);
    auto& s = st[size];
    while (rows.size() - next >= per) {
      for (std::size_t r = 0; r < per; ++r)
        bind(s, static_cast<int>(r), *rows[next + r]);
      auto rc = s.step();
      s.reset();
      if (rc != SQLITE_DONE)
        return rc;
      next += per;
    }
  }
  return SQLITE_OK;
}

} // namespace

int journal::impl::write_tasks() {
  auto rc = insert_rows(commit_tasks_, insert_tasks_, multi_rows,
                        [](internal::statement& s, int r, const task_record& t) {
                          auto b = r * 11;
                          s.bind_u64(b + 1, t.id);
                          s.bind_u64(b + 2, t.parent);
                          s.bind_u64(b + 3, t.root);
                          s.bind(b + 4, static_cast<std::int64_t>(t.parent_seq));
                          s.bind_text(b + 5, t.function);
                          s.bind_text(b + 6, t.version);
                          s.bind_text(b + 7, t.input_type);
                          s.bind(b + 8, static_cast<std::int64_t>(t.status));
                          s.bind(b + 9, t.created);
                          s.bind(b + 10, t.finished);
                          s.bind_text(b + 11, t.route);
                        });
  commit_tasks_.clear();
  return rc;
}

int journal::impl::write_events() {
  auto rc = insert_rows(commit_events_, insert_events_, multi_rows,
                        [](internal::statement& s, int r, const event& ev) {
                          auto b = r * 10;
                          s.bind_u64(b + 1, ev.task);
                          s.bind(b + 2, static_cast<std::int64_t>(ev.seq));
                          s.bind(b + 3, static_cast<std::int64_t>(ev.kind));
                          s.bind(b + 4, ev.failed ? 1 : 0);
                          s.bind_text(b + 5, ev.name);
                          s.bind_u64(b + 6, ev.ref);
                          s.bind_blob(b + 7, ev.request);
                          s.bind_blob(b + 8, ev.result);
                          s.bind_text(b + 9, ev.text);
                          s.bind(b + 10, ev.ts);
                        });
  commit_events_.clear();
  return rc;
}

int journal::impl::write_marks() {
  auto rc = insert_rows(commit_marks_, upsert_marks_, multi_rows,
                        [](internal::statement& s, int r, const effect_mark& m) {
                          auto b = r * 4;
                          s.bind_u64(b + 1, m.task);
                          s.bind(b + 2, static_cast<std::int64_t>(m.seq));
                          s.bind(b + 3, static_cast<std::int64_t>(m.attempt));
                          s.bind_text(b + 4, m.name);
                        });
  commit_marks_.clear();
  return rc;
}

void journal::impl::publish(lsn committed, std::vector<waiter>& scratch) {
  // durable_lsn() may report the commit at once; durable_ (inline calls, flush) waits for the callbacks.
  durable_atomic_.store(committed, std::memory_order_release);
  std::unique_lock lk{mu_};
  if (listener_)
    listener_(committed, caf::error{});
  // Callbacks registered while we run the ready ones are picked up by the next round; durable_ moves
  // only once no callback <= committed is left, which keeps inline calls in `when_durable` in order.
  for (;;) {
    while (!waiters_.empty() && waiters_.begin()->first <= committed) {
      auto node = waiters_.extract(waiters_.begin());
      scratch.push_back(waiter{node.key(), std::move(node.mapped())});
    }
    if (scratch.empty())
      break;
    lk.unlock();
    for (auto& w : scratch)
      w.cb(caf::error{});
    scratch.clear();
    lk.lock();
  }
  durable_ = committed;
  lk.unlock();
  durable_cv_.notify_all();
}

void journal::impl::note_damage(const caf::error& err) {
  if (read_only_ || !(err == errc::corrupt))
    return;
  {
    std::lock_guard lk{mu_};
    if (!damage_)
      damage_ = err;
  }
  damaged_.store(true, std::memory_order_release);
  fail(err);
}

caf::error journal::impl::failed_or_damaged() {
  std::lock_guard lk{mu_};
  return failed_ ? failed_ : damage_;
}

void journal::impl::fail(caf::error err) {
  std::multimap<lsn, durable_callback> doomed;
  {
    std::lock_guard lk{mu_};
    if (!failed_)
      failed_ = std::move(err);
    err = failed_;
    doomed.swap(waiters_);
    queue_.clear(); // appends queued after the failed batch are dropped with it
    if (listener_)
      listener_(durable_, err);
  }
  durable_cv_.notify_all();
  space_cv_.notify_all();
  for (auto& [n, cb] : doomed)
    cb(err);
}

} // namespace actors::eventlog
