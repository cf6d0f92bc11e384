// journal: the public face; state and work live in journal::impl (journal_impl.hpp).

#include "actors/eventlog/journal.hpp"

#include <utility>

#include "journal_impl.hpp"
#include "page_checksums.hpp"

namespace actors::eventlog {

caf::expected<std::unique_ptr<journal>> journal::open(const journal_options& opts) {
  auto p = impl::open(opts);
  if (!p)
    return std::move(p.error());
  // The constructor is private, so make_unique cannot reach it; ownership is taken immediately.
  return std::unique_ptr<journal>{new journal(std::move(*p))};
}

std::string journal::sqlite_vfs(const std::string& base) {
  return internal::checksum_vfs(base).value_or(std::string{});
}

journal::journal(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

journal::~journal() = default; // impl's destructor drains the queue and joins the writer

lsn journal::append_task(const task_record& rec, std::string input, std::string text) {
  impl::pending op;
  op.task = std::make_unique<task_record>(rec);
  auto& t = *op.task;
  if (t.created == 0)
    t.created = internal::now_ns();
  auto& ev = op.ev;
  ev.task = t.id;
  ev.seq = 0;
  ev.kind = event_kind::started;
  ev.name = t.function;
  ev.request = std::move(input);
  ev.text = std::move(text);
  ev.ts = t.created;
  return impl_->enqueue(std::move(op));
}

lsn journal::append(event ev) {
  impl::pending op;
  op.ev = std::move(ev);
  if (op.ev.ts == 0)
    op.ev.ts = internal::now_ns();
  return impl_->enqueue(std::move(op));
}

lsn journal::append_divergence(divergence_record d) {
  impl::pending op;
  if (d.ts == 0)
    d.ts = internal::now_ns();
  op.div = std::make_unique<divergence_record>(std::move(d));
  return impl_->enqueue(std::move(op));
}

lsn journal::set_route(route_record r) {
  impl::pending op;
  if (r.updated == 0)
    r.updated = internal::now_ns();
  op.route = std::make_unique<route_record>(std::move(r));
  return impl_->enqueue(std::move(op));
}

lsn journal::clear_route(std::string function, std::uint64_t root) {
  impl::pending op;
  op.route = std::make_unique<route_record>();
  op.route->function = std::move(function);
  op.route->root = root;
  op.erase = true;
  return impl_->enqueue(std::move(op));
}

lsn journal::request_cancel(std::uint64_t task) {
  impl::pending op;
  op.cancel = task;
  return impl_->enqueue(std::move(op));
}

lsn journal::append_message(message_record m, event send) {
  impl::pending op;
  if (m.ts == 0)
    m.ts = internal::now_ns();
  if (send.task != 0 && send.ts == 0)
    send.ts = m.ts;
  op.msg = std::make_unique<message_record>(std::move(m));
  op.ev = std::move(send);
  return impl_->enqueue(std::move(op));
}

lsn journal::put_supervision(supervision_record r) {
  impl::pending op;
  if (r.updated == 0)
    r.updated = internal::now_ns();
  op.sup = std::make_unique<supervision_record>(std::move(r));
  return impl_->enqueue(std::move(op));
}

lsn journal::clear_supervision(std::string name) {
  impl::pending op;
  op.sup = std::make_unique<supervision_record>();
  op.sup->supervisor = std::move(name);
  op.erase = true;
  return impl_->enqueue(std::move(op));
}

lsn journal::mark_effect(effect_mark m) {
  impl::pending op;
  op.mark = std::make_unique<effect_mark>(std::move(m));
  return impl_->enqueue(std::move(op));
}

std::vector<event> journal::history(std::vector<event> events) {
  std::vector<event> out;
  out.reserve(events.size());
  for (auto& ev : events) {
    if (ev.kind == event_kind::restarted) {
      auto from = static_cast<std::uint32_t>(ev.ref);
      std::erase_if(out, [from](const event& e) { return e.seq >= from; });
    }
    out.push_back(std::move(ev));
  }
  return out;
}

void journal::when_durable(lsn n, durable_callback cb) {
  impl_->when_durable(n, std::move(cb));
}

void journal::set_commit_listener(commit_listener fn) {
  std::lock_guard lk{impl_->mu_};
  impl_->listener_ = std::move(fn);
  if (!impl_->listener_)
    return;
  if (impl_->failed_)
    impl_->listener_(impl_->durable_, impl_->failed_);
  else if (impl_->read_only_ || impl_->closed_)
    impl_->listener_(impl_->durable_, make_error(errc::closed, impl_->path_ + ": the journal is closed"));
  else
    impl_->listener_(impl_->durable_atomic_.load(std::memory_order_acquire), caf::error{});
}

caf::error journal::flush() {
  return impl_->flush();
}

caf::error journal::await_durable(lsn n) {
  return impl_->await_durable(n);
}

lsn journal::durable_lsn() const noexcept {
  return impl_->durable_atomic_.load(std::memory_order_acquire);
}

caf::error journal::failure() const {
  std::lock_guard lk{impl_->mu_};
  return impl_->failed_;
}

journal_stats journal::stats() const noexcept {
  journal_stats s;
  s.appends = impl_->stat_appends_.load(std::memory_order_relaxed);
  s.commits = impl_->stat_commits_.load(std::memory_order_relaxed);
  s.commit_ns = impl_->stat_commit_ns_.load(std::memory_order_relaxed);
  s.checkpoints = impl_->stat_checkpoints_.load(std::memory_order_relaxed);
  s.writer_checkpoints = impl_->stat_writer_checkpoints_.load(std::memory_order_relaxed);
  return s;
}

bool journal::await_checkpoints(std::uint64_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lk{impl_->ckpt_mu_};
  return impl_->ckpt_done_cv_.wait_for(lk, limit, [&] {
    return impl_->stat_checkpoints_.load(std::memory_order_relaxed) >= n;
  });
}

const std::string& journal::path() const noexcept {
  return impl_->path_;
}

} // namespace actors::eventlog
