#pragma once
// tell — caf::anon_send that also tells ThreadSanitizer what CAF's mailbox guarantees.
//
// Debian's libcaf_core is not built with -fsanitize=thread: TSan does not see that everything a thread
// did before enqueuing a message happens before the receiving actor handles it (the lock-free mailbox
// is invisible to it), and reports the message's payload — strings built on a worker thread, an error
// read by a supervisor — as races. Senders that go through `tell` release a sync object keyed by the
// receiving actor, and our actors acquire it before each step — each message (their `consume`
// override), their initialization and each activation (`ordered_step`) — so TSan sees the order CAF
// provides and keeps checking everything else. All of it is a no-op in other builds.
//
// Acquiring once per activation is not enough: CAF keeps dequeuing within one activation, so a message
// enqueued while the actor runs is handled after an acquire that came before its sender's release.

#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>

#if defined(__SANITIZE_THREAD__)
#define ACTORS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ACTORS_TSAN 1
#endif
#endif

#ifdef ACTORS_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace actors::detail {

/// Everything this thread did so far happens before `to` handles its next message (TSan only).
inline void before_send([[maybe_unused]] const caf::actor& to) {
#ifdef ACTORS_TSAN
  if (to)
    __tsan_release(caf::actor_cast<caf::abstract_actor*>(to));
#endif
}

/// The actor `self` handles a message: what its senders did before `before_send` happened before.
inline void on_receive([[maybe_unused]] caf::abstract_actor* self) {
#ifdef ACTORS_TSAN
  __tsan_acquire(self);
#endif
}

/// Runs one step of the actor `self` — an activation (`resume`), its initialization (`initialize`,
/// which runs `make_behavior`) or one message (`consume`); `run` calls the base class's function.
/// Acquires what the actor's senders released (`before_send`) and what its earlier steps did, then
/// releases what this step did for the next one (TSan only). CAF runs an actor's activations on whichever
/// scheduler thread is free and orders them through mailbox state TSan cannot see; it also hands the
/// actor to another thread as soon as its mailbox blocks, before `resume` returns, so the release after
/// each message and after initialization is the one that orders the next activation.
template <class F>
auto ordered_step(caf::abstract_actor* self, F run) {
  on_receive(self);
  if constexpr (std::is_void_v<decltype(run())>) {
    run();
#ifdef ACTORS_TSAN
    __tsan_release(self);
#endif
  } else {
    auto result = run();
#ifdef ACTORS_TSAN
    __tsan_release(self);
#endif
    return result;
  }
}

/// The actor with address `a` is quitting: what it did happens before whoever learns of its end
/// (`on_end_of`), e.g. a supervisor handling its down message.
inline void before_quit([[maybe_unused]] caf::abstract_actor* self) {
#ifdef ACTORS_TSAN
  __tsan_release(self);
#endif
}

/// Called on a down message from `a`: pairs with its `before_quit`.
inline void on_end_of([[maybe_unused]] const caf::actor_addr& a) {
#ifdef ACTORS_TSAN
  if (a)
    __tsan_acquire(caf::actor_cast<caf::abstract_actor*>(a));
#endif
}

/// caf::anon_send to `to`, ordered for TSan (see above): the message is built before the release, so
/// its contents are covered too.
template <class... Ts>
void tell(const caf::actor& to, Ts&&... xs) {
#ifdef ACTORS_TSAN
  auto msg = caf::make_message(std::forward<Ts>(xs)...);
  before_send(to);
  caf::anon_send(to, std::move(msg));
#else
  caf::anon_send(to, std::forward<Ts>(xs)...);
#endif
}

} // namespace actors::detail
