// Reads run on reader connections of their own where the journal has them (a file the engine writes:
// replay and shadow runs read while tasks append), else on the writer's connection under db_mu_. Each
// query runs in autocommit mode, so it sees every committed transaction.

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "journal_impl.hpp"

namespace actors::eventlog {

using internal::reset_guard;
using internal::statement;

namespace {

constexpr std::int64_t max_kind = static_cast<std::int64_t>(event_kind::join);
constexpr std::int64_t max_status = static_cast<std::int64_t>(task_status::cancelled);

// Column order of `task_columns` in open.cpp.
task_record read_task(const statement& s) {
  task_record t;
  t.id = s.column_u64(0);
  t.parent = s.column_u64(1);
  t.root = s.column_u64(2);
  t.parent_seq = static_cast<std::uint32_t>(s.column_i64(3));
  t.function = s.column_text(4);
  t.version = s.column_text(5);
  t.input_type = s.column_text(6);
  t.status = static_cast<task_status>(s.column_i64(7));
  t.created = s.column_i64(8);
  t.finished = s.column_i64(9);
  t.route = s.column_text(10);
  return t;
}

// Column order of `event_columns` in open.cpp (column 0 is the rowid).
event read_event(const statement& s) {
  event e;
  e.task = s.column_u64(1);
  e.seq = static_cast<std::uint32_t>(s.column_i64(2));
  e.kind = static_cast<event_kind>(s.column_i64(3));
  e.failed = s.column_i64(4) != 0;
  e.name = s.column_text(5);
  e.ref = s.column_u64(6);
  e.request = s.column_blob(7);
  e.result = s.column_blob(8);
  e.text = s.column_text(9);
  e.ts = s.column_i64(10);
  return e;
}

} // namespace

caf::error journal::impl::wrong_key(const char* table, std::int64_t rowid, const key_check& key,
                                    std::uint64_t found) const {
  return make_error(errc::corrupt, path_ + ": asked for the " + table + " rows of " + key.name + " " +
                                     std::to_string(key.value) + ", SQLite returned row " +
                                     std::to_string(rowid) + " of " + key.name + " " +
                                     std::to_string(found) +
                                     ": an index of the journal is damaged (PRAGMA integrity_check)");
}

caf::expected<std::vector<task_record>> journal::impl::read_tasks(sqlite3* db, statement& s,
                                                                  const char* what,
                                                                  std::optional<key_check> key) {
  reset_guard guard{s};
  std::vector<task_record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto status = s.column_i64(7);
    if (status < 0 || status > max_status)
      return make_error(errc::corrupt, path_ + ": task " + std::to_string(s.column_u64(0))
                                         + " has unknown status " + std::to_string(status));
    if (key && s.column_u64(key->column) != key->value)
      return wrong_key("tasks", s.column_i64(0), *key, s.column_u64(key->column));
    out.push_back(read_task(s));
  }
  if (rc != SQLITE_DONE)
    return internal::sqlite_error(db, rc, path_, what);
  return out;
}

caf::expected<std::vector<std::pair<std::int64_t, event>>>
journal::impl::read_events(sqlite3* db, statement& s, const char* what) {
  reset_guard guard{s};
  std::vector<std::pair<std::int64_t, event>> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto kind = s.column_i64(3);
    if (kind < 1 || kind > max_kind)
      return make_error(errc::corrupt, path_ + ": event row " + std::to_string(s.column_i64(0))
                                         + " has unknown kind " + std::to_string(kind));
    out.emplace_back(s.column_i64(0), read_event(s));
  }
  if (rc != SQLITE_DONE)
    return internal::sqlite_error(db, rc, path_, what);
  return out;
}

caf::expected<std::vector<task_record>> journal::unfinished_tasks() {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::vector<task_record>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) {
    // status 0 (running) through the status index
    return p.read_tasks(db, st.select_unfinished, "cannot read unfinished tasks",
                        impl::key_check{7, 0, "status"});
  });
}

caf::expected<std::uint64_t> journal::max_task_id() {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::uint64_t{0};
  std::lock_guard lk{p.db_mu_};
  statement s{p.db_.get(), "SELECT COALESCE(MAX(id), 0) FROM tasks"};
  if (!s)
    return internal::sqlite_error(p.db_.get(), s.rc(), p.path_, "cannot read the largest task id");
  auto rc = s.step();
  if (rc != SQLITE_ROW)
    return internal::sqlite_error(p.db_.get(), rc, p.path_, "cannot read the largest task id");
  return s.column_u64(0);
}

caf::expected<std::optional<task_record>> journal::find_task(std::uint64_t id) {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::optional<task_record>{};
  auto rows = p.with_reads([&](sqlite3* db, impl::read_statements& st) {
    st.select_task.bind_u64(1, id);
    return p.read_tasks(db, st.select_task, "cannot read task", impl::key_check{0, id, "task"});
  });
  if (!rows)
    return std::move(rows.error());
  if (rows->empty())
    return std::optional<task_record>{};
  return std::optional<task_record>{std::move(rows->front())};
}

caf::expected<std::vector<event>> journal::events(std::uint64_t id) {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::vector<event>{};
  // Read straight into events (no rowids): replay reads every event of every task it replays.
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) -> caf::expected<std::vector<event>> {
    auto& s = st.select_events;
    s.bind_u64(1, id);
    reset_guard guard{s};
    std::vector<event> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      auto kind = s.column_i64(3);
      if (kind < 1 || kind > max_kind)
        return make_error(errc::corrupt, p.path_ + ": event row " + std::to_string(s.column_i64(0))
                                           + " has unknown kind " + std::to_string(kind));
      if (auto task = s.column_u64(1); task != id) // through the (task, seq) index
        return p.wrong_key("events", s.column_i64(0), impl::key_check{1, id, "task"}, task);
      out.push_back(read_event(s));
    }
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read events");
    return out;
  });
}

caf::expected<std::vector<task_record>> journal::children(std::uint64_t id) {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::vector<task_record>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) {
    st.select_children.bind_u64(1, id);
    return p.read_tasks(db, st.select_children, "cannot read children",
                        impl::key_check{1, id, "parent"});
  });
}

caf::expected<std::vector<task_record>> journal::list_tasks(const task_filter& filter) {
  auto& p = *impl_;
  if (!p.has_schema_)
    return std::vector<task_record>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) {
    auto& s = st.select_tasks;
    if (filter.function)
      s.bind_text(1, *filter.function);
    else
      s.bind_null(1);
    if (filter.status)
      s.bind(2, static_cast<std::int64_t>(*filter.status));
    else
      s.bind_null(2);
    s.bind(3, filter.since);
    // LIMIT -1 means no limit in SQLite.
    s.bind(4, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
    return p.read_tasks(db, s, "cannot list tasks");
  });
}

caf::expected<std::vector<std::pair<std::int64_t, event>>> journal::tail(std::int64_t after_rowid,
                                                                         std::size_t limit) {
  auto& p = *impl_;
  if (!p.has_schema_ || limit == 0)
    return std::vector<std::pair<std::int64_t, event>>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) {
    auto& s = st.select_tail;
    s.bind(1, after_rowid);
    s.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    return p.read_events(db, s, "cannot read the event log");
  });
}

caf::expected<std::vector<divergence_record>> journal::divergences(std::string_view function,
                                                                 std::size_t limit) {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 2)
    return std::vector<divergence_record>{}; // no divergences table before schema 2
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::vector<divergence_record>> {
    std::vector<divergence_record> out;
    auto& s = st.select_divergences;
    reset_guard guard{s};
    if (function.empty())
      s.bind_null(1);
    else
      s.bind_text(1, function); // SQLITE_STATIC: `function` outlives the query
    s.bind(2, limit == 0 ? std::int64_t{-1}
                         : static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      divergence_record d;
      d.id = s.column_i64(0);
      d.task = s.column_u64(1);
      d.function = s.column_text(2);
      d.primary_version = s.column_text(3);
      d.candidate_version = s.column_text(4);
      d.position = s.column_i64(5);
      d.what = s.column_text(6);
      d.primary_side = s.column_text(7);
      d.candidate_side = s.column_text(8);
      d.ts = s.column_i64(9);
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read divergences");
    return out;
  });
}

caf::expected<std::vector<route_record>> journal::routes() {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 3)
    return std::vector<route_record>{}; // no routes table before schema 3
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::vector<route_record>> {
    std::vector<route_record> out;
    auto& s = st.select_routes;
    reset_guard guard{s};
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      route_record r;
      r.function = s.column_text(0);
      r.root = s.column_u64(1);
      r.mode = s.column_text(2);
      r.primary = s.column_text(3);
      r.candidate = s.column_text(4);
      r.percent = static_cast<int>(s.column_i64(5));
      r.updated = s.column_i64(6);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read routes");
    return out;
  });
}

caf::expected<std::int64_t> journal::routes_version() {
  return impl_->read_counter("routes_version");
}

caf::expected<std::int64_t> journal::cancels_version() {
  return impl_->read_counter("cancels_version");
}

caf::expected<std::int64_t> journal::impl::read_counter(const char* key) {
  if (!has_schema_ || file_version_ < 3)
    return std::int64_t{0};
  return with_reads([&](sqlite3* db, read_statements& st) -> caf::expected<std::int64_t> {
    auto& s = st.select_counter;
    reset_guard guard{s};
    s.bind_text(1, key);
    auto rc = s.step();
    if (rc == SQLITE_ROW)
      return s.column_i64(0);
    if (rc == SQLITE_DONE)
      return std::int64_t{0};
    return internal::sqlite_error(db, rc, path_, std::string{"cannot read "} + key);
  });
}

caf::expected<std::vector<std::uint64_t>> journal::cancel_requests() {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 4)
    return std::vector<std::uint64_t>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::vector<std::uint64_t>> {
    std::vector<std::uint64_t> out;
    auto& s = st.select_cancels;
    reset_guard guard{s};
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      out.push_back(s.column_u64(0));
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read cancel requests");
    return out;
  });
}

caf::expected<std::vector<message_record>> journal::pending_messages(std::uint64_t target) {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 5)
    return std::vector<message_record>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::vector<message_record>> {
    std::vector<message_record> out;
    auto& s = st.select_pending_messages;
    reset_guard guard{s};
    s.bind_u64(1, target);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      message_record m;
      m.id = s.column_u64(0);
      m.target = s.column_u64(1);
      if (m.target != target) // through the (target, id) index
        return p.wrong_key("messages", static_cast<std::int64_t>(m.id),
                           impl::key_check{1, target, "target"}, m.target);
      m.sender = s.column_u64(2);
      m.sender_seq = static_cast<std::uint32_t>(s.column_i64(3));
      m.type = s.column_text(4);
      m.payload = s.column_blob(5);
      m.text = s.column_text(6);
      m.ts = s.column_i64(7);
      out.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read the mailbox of a task");
    return out;
  });
}

caf::expected<std::optional<std::uint64_t>> journal::find_start_key(std::string_view key) {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 6)
    return std::optional<std::uint64_t>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::optional<std::uint64_t>> {
    auto& s = st.select_start_key;
    reset_guard guard{s};
    s.bind_text(1, key);
    switch (auto rc = s.step()) {
      case SQLITE_ROW: return std::optional<std::uint64_t>{s.column_u64(0)};
      case SQLITE_DONE: return std::optional<std::uint64_t>{};
      default: return internal::sqlite_error(db, rc, p.path_, "cannot look up a start key");
    }
  });
}

caf::expected<std::optional<std::string>> journal::start_key_of(std::uint64_t task) {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 6)
    return std::optional<std::string>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::optional<std::string>> {
    auto& s = st.select_key_of_task;
    reset_guard guard{s};
    s.bind_u64(1, task);
    switch (auto rc = s.step()) {
      case SQLITE_ROW: return std::optional<std::string>{s.column_text(0)};
      case SQLITE_DONE: return std::optional<std::string>{};
      default: return internal::sqlite_error(db, rc, p.path_, "cannot read a task's start key");
    }
  });
}

caf::expected<std::optional<effect_mark>> journal::effect_mark_of(std::uint64_t task) {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 8)
    return std::optional<effect_mark>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::optional<effect_mark>> {
    auto& s = st.select_effect_mark;
    reset_guard guard{s};
    s.bind_u64(1, task);
    switch (auto rc = s.step()) {
      case SQLITE_ROW: {
        effect_mark m;
        m.task = s.column_u64(0);
        if (m.task != task)
          return p.wrong_key("effect_marks", s.column_i64(0), impl::key_check{0, task, "task"}, m.task);
        auto seq = s.column_i64(1), attempt = s.column_i64(2);
        if (seq < 0 || seq > UINT32_MAX || attempt < 1 || attempt > UINT32_MAX)
          return make_error(errc::corrupt, p.path_ + ": the effect mark of task " + std::to_string(task) +
                                             " holds seq " + std::to_string(seq) + ", attempt " +
                                             std::to_string(attempt));
        m.seq = static_cast<std::uint32_t>(seq);
        m.attempt = static_cast<std::uint32_t>(attempt);
        m.name = s.column_text(3);
        return std::optional<effect_mark>{std::move(m)};
      }
      case SQLITE_DONE: return std::optional<effect_mark>{};
      default: return internal::sqlite_error(db, rc, p.path_, "cannot read a task's effect mark");
    }
  });
}

caf::expected<std::uint64_t> journal::max_message_id() {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 5)
    return std::uint64_t{0};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st) -> caf::expected<std::uint64_t> {
    auto& s = st.select_max_message;
    reset_guard guard{s};
    if (auto rc = s.step(); rc != SQLITE_ROW)
      return internal::sqlite_error(db, rc, p.path_, "cannot read the largest message id");
    return s.column_u64(0);
  });
}

caf::expected<std::vector<supervision_record>> journal::supervision() {
  auto& p = *impl_;
  if (!p.has_schema_ || p.file_version_ < 5)
    return std::vector<supervision_record>{};
  return p.with_reads([&](sqlite3* db, impl::read_statements& st)
                        -> caf::expected<std::vector<supervision_record>> {
    std::vector<supervision_record> out;
    auto& s = st.select_supervision;
    reset_guard guard{s};
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      supervision_record r;
      r.supervisor = s.column_text(0);
      r.child = s.column_text(1);
      r.parent = s.column_text(2);
      r.position = static_cast<int>(s.column_i64(3));
      r.kind = s.column_text(4);
      r.function = s.column_text(5);
      r.task = s.column_u64(6);
      r.state = s.column_text(7);
      r.restarts = static_cast<std::uint32_t>(s.column_i64(8));
      r.detail = s.column_text(9);
      r.updated = s.column_i64(10);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE)
      return internal::sqlite_error(db, rc, p.path_, "cannot read the supervision tree");
    return out;
  });
}

} // namespace actors::eventlog
