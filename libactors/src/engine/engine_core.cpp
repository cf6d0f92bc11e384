// engine_core: its construction and teardown order, and the operations that span its components.

#include "engine/engine_core.hpp"

#include <caf/atom.hpp>
#include <spdlog/spdlog.h>

#include "actors/router_errc.hpp"
#include "runtime/tell.hpp"
#include "supervisor/supervisor.hpp"
#include "task/messages.hpp"
#include "task/task_actor.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

/// Router errors become engine errors with the same message.
caf::error from_router(const caf::error& err) {
  if (err.category() != caf::atom("router"))
    return err;
  auto msg = describe(err);
  if (auto pos = msg.find(": "); pos != std::string::npos)
    msg = msg.substr(pos + 2);
  switch (static_cast<router_errc>(err.code())) {
    case router_errc::unknown_function: return make_error(errc::unknown_function, msg);
    case router_errc::unknown_version: return make_error(errc::unknown_version, msg);
    case router_errc::invalid_name: return make_error(errc::bad_input, msg);
    default: return make_error(errc::invalid_configuration, msg);
  }
}

engine_core::engine_core(engine_config config, router r, effects e)
  : cfg(std::move(config)), functions(r), handlers(e),
    supervisors(std::make_unique<supervision_state>()) {}

engine_core::~engine_core() {
  shutdown();
}

void engine_core::shutdown() noexcept {
  // The journal's writer calls into the pool (the commit listener): cut that before the pool goes.
  if (journal)
    journal->set_commit_listener({});
  // Effect handlers still running finish here; they may append to the journal, which is still open.
  pool.reset();
  system.reset();
  shadows.stop();
  // Last: its final commit calls only what is still alive (start keys' when_durable callbacks).
  if (journal) {
    if (auto err = journal->flush(); err && log)
      log->error("journal flush at shutdown failed: {}", describe(err));
    journal.reset();
  }
}

bool engine_core::task_alive(std::uint64_t id) {
  if (auto c = completions.find(task_id{id})) {
    std::lock_guard guard{c->mx};
    if (!c->done)
      return true;
  }
  if (supervised(id) || mail.has(id))
    return true;
  if (!journal)
    return false;
  auto rec = journal->find_task(id);
  return rec && *rec && (**rec).status == eventlog::task_status::running;
}

caf::error engine_core::check_known_task(task_id id) {
  if (completions.find(id)) // this engine's (its row may not be committed yet)
    return {};
  if (journal) {
    auto rec = journal->find_task(id.value());
    if (!rec)
      return make_error(errc::journal_failure,
                        "cannot read task " + to_string(id) + ": " + describe(rec.error()));
    if (!*rec)
      return make_error(errc::unknown_task,
                        "no task " + to_string(id) + " in journal '" + journal->path() + "'");
    return {};
  }
  return make_error(errc::unknown_task, "no task " + to_string(id) + " in this engine");
}

caf::actor engine_core::spawn(std::unique_ptr<task_runtime> rt, bool counted) {
  if (!counted)
    work.enter();
  auto& target = rt->in_background_session() ? shadows.actors() : *system;
  if (!rt->in_session())
    stats.started.fetch_add(1, std::memory_order_relaxed);
  caf::actor a;
  keeping_thread_logger([&] { a = target.spawn<task_actor>(std::move(rt)); });
  return a;
}

caf::error engine_core::claim_journal(engine_lock::purpose why) {
  return claim.claim(cfg.journal_enabled, cfg.journal, cfg.journal_vfs, why);
}

void engine_core::finished(task_id id, outcome out, const caf::actor& parent,
                           std::uint32_t parent_seq, completion* entry) {
  switch (out.state) {
    case outcome_state::completed:
      stats.completed.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      stats.failed.fetch_add(1, std::memory_order_relaxed);
  }
  if (parent)
    tell(parent, call_done_atom::value, parent_seq, static_cast<std::uint8_t>(out.state),
                   std::move(out.payload), std::move(out.text), std::move(out.error));
  else
    completions.complete(id, std::move(out), entry);
  work.leave();
}

void engine_core::name_actor(completion& entry, const caf::actor& actor) {
  if (entry.set_actor(actor.address()))
    tell(actor, cancel_atom::value);
}

} // namespace actors::detail
