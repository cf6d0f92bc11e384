// fuzz_journal_resume: an engine resuming the unfinished tasks of a damaged journal (journal_fixture.hpp:
// rows rewritten, pages patched, or the whole file replaced), with application code for the template's
// functions written to match its history (checkout: now, an effect, a call, a spawn, a random number, a
// send; ship: a log line and a sleep; session: a receive), so that resume replays the journal as far as
// the damage lets it and then runs on. No function waits without a bound, so every resumed task ends.
//
// Oracle:
// - constructing the engine returns (status() is ok or an error), never crashes or throws; an engine
//   refused on a damaged journal leaves every row it could read as it was (and, when the damage is in
//   the pages, the file byte-identical);
// - a serving engine's resumed tasks all end (completed or failed) within 10 s: none hangs on a damaged
//   row;
// - nothing already journaled is lost: on a file damaged through SQL only (its b-trees consistent), each
//   task readable before the engine is still there afterwards with the same function and every event it
//   had (the same seq, kind, name, request, result and failure; compared as sets, since damaged seq
//   values sort unpredictably).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <actors/actors.hpp>

#include "journal_fixture.hpp"

namespace {

using namespace fuzz;
using namespace std::chrono_literals;

std::string context; // what the input did, for the failure message

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_journal_resume: %s\n  %s\n", what.c_str(), context.c_str());
  std::abort();
}

/// The template's effect "charge": (what) -> 42.
struct charge {
  using result_type = std::int64_t;
  static constexpr const char* name = "charge";
  std::string what;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & what;
  }
};

actors::task<std::string> checkout(actors::ctx& cx, std::string cart) {
  (void)co_await cx.now();
  auto n = co_await cx.perform<charge>(std::string{"card"});
  auto shipped = co_await cx.call<std::string>("ship", std::string{"parcel"});
  auto more = co_await cx.spawn<std::string>("ship", std::string{"x"});
  auto r = co_await cx.random(6);
  co_await cx.send(actors::task_id{restarted_id}, std::string{"hi"});
  auto second = co_await more;
  co_return cart + std::to_string(n) + shipped + second + std::to_string(r);
}

actors::task<std::string> ship(actors::ctx& cx, std::string parcel) {
  co_await cx.log("shipping");
  co_await cx.sleep(1ms);
  co_return parcel + " shipped";
}

actors::task<std::string> session(actors::ctx& cx, std::string s) {
  auto m = co_await cx.receive<std::string>(1ms); // never waits without a bound
  co_return s + (m ? *m : std::string{"-"});
}

actors::task<std::string> lookup_user(actors::ctx& cx, std::string who) {
  auto n = co_await cx.perform<charge>(who);
  co_return who + std::to_string(n);
}

/// What the journal holds that must not be lost: each readable task's function and events.
struct task_history {
  std::string function;
  std::vector<el::event> events;
};

std::map<std::uint64_t, task_history> read_histories(const std::string& path) {
  std::map<std::uint64_t, task_history> out;
  el::journal_options opts;
  opts.path = path;
  opts.read_only = true;
  auto j = el::journal::open(opts);
  if (!j)
    return out;
  el::task_filter all;
  auto tasks = (*j)->list_tasks(all);
  if (!tasks)
    return out;
  for (const auto& t : *tasks) {
    auto evs = (*j)->events(t.id);
    if (evs)
      out[t.id] = task_history{t.function, std::move(*evs)};
  }
  return out;
}

std::string describe(const el::event& e) {
  return "{seq " + std::to_string(e.seq) + ", kind " + std::to_string(static_cast<int>(e.kind)) + ", name '" +
         e.name + "', request " + std::to_string(e.request.size()) + " bytes, result " +
         std::to_string(e.result.size()) + " bytes, failed " + std::to_string(e.failed) + "}";
}

bool same_event(const el::event& a, const el::event& b) {
  return a.seq == b.seq && a.kind == b.kind && a.name == b.name && a.request == b.request &&
         a.result == b.result && a.failed == b.failed;
}

/// Every task of `before` is in `after` with the same function and every event it had (or, with
/// `unchanged`, exactly the events it had). Compared as multisets, not in order: damaged seq values
/// (a blob, a repeated seq) sort differently once the engine has added its events.
void check_kept(const std::map<std::uint64_t, task_history>& before,
                const std::map<std::uint64_t, task_history>& after, bool unchanged) {
  for (const auto& [id, old] : before) {
    auto it = after.find(id);
    if (it == after.end())
      fail("task " + std::to_string(id) + " was readable before the engine and is gone after it");
    const auto& now = it->second;
    if (now.function != old.function)
      fail("task " + std::to_string(id) + " changed its function");
    if (now.events.size() < old.events.size() || (unchanged && now.events.size() != old.events.size()))
      fail("task " + std::to_string(id) + " had " + std::to_string(old.events.size()) + " events, now " +
           std::to_string(now.events.size()));
    std::vector<bool> used(now.events.size(), false);
    for (const auto& e : old.events) {
      bool found = false;
      for (std::size_t k = 0; k < now.events.size() && !found; ++k)
        if (!used[k] && same_event(e, now.events[k]))
          used[k] = found = true;
      if (!found)
        fail("task " + std::to_string(id) + ": event " + describe(e) + " is gone");
    }
  }
}

const actors::router& routes() {
  static const actors::router r = [] {
    actors::router x;
    x.add("checkout", "v1", checkout);
    x.add("ship", "v1", ship);
    x.add("session", "v1", session);
    x.add("lookupUser", "v1", lookup_user);
    return x;
  }();
  return r;
}

const actors::effects& handlers() {
  static const actors::effects fx = [] {
    actors::effects x;
    x.handle<charge>([](const charge&) { return std::int64_t{42}; });
    return x;
  }();
  return fx;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture::get();
  (void)routes();
  (void)handlers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  auto& f = fixture::get();
  auto how = prepare(in);
  const auto before = read_histories(f.path());
  std::ifstream file{f.path(), std::ios::binary};
  const std::string bytes_before{std::istreambuf_iterator<char>{file}, std::istreambuf_iterator<char>{}};
  file.close();

  bool refused = false;
  {
    actors::engine_config cfg;
    cfg.journal = f.path();
    cfg.resume = true;
    // FUZZ_RESUME_LOG=info (or debug, ...) shows the engine's log.
    cfg.log_level = std::getenv("FUZZ_RESUME_LOG") != nullptr ? std::getenv("FUZZ_RESUME_LOG") : "off";
    cfg.worker_threads = 2;
    cfg.scheduler_threads = 1;
    actors::engine eng{cfg, routes(), handlers()};
    refused = static_cast<bool>(eng.status());
    context = std::string{"damage: "} +
              (how.what == damage::rows ? "rows" : how.what == damage::pages ? "pages" : "raw") +
              "; engine: " + (refused ? actors::describe(eng.status()) : std::string{"serving"});
    if (!refused) {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      for (;;) {
        auto s = eng.stats();
        if (s.completed + s.failed >= s.started)
          break;
        if (std::chrono::steady_clock::now() > deadline) {
          std::string running;
          if (auto* j = eng.journal())
            if (auto u = j->unfinished_tasks())
              for (const auto& t : *u)
                running += " " + actors::to_string(actors::task_id{t.id}) + " (" + t.function + ")";
          context += "; unfinished in the journal:" + running;
          fail("resumed tasks did not end within 10 s: started " + std::to_string(s.started) +
               ", completed " + std::to_string(s.completed) + ", failed " + std::to_string(s.failed));
        }
        std::this_thread::sleep_for(1ms); // polling the engine's counters: the target has no event to wait on
      }
    }
  }

  std::ifstream again{f.path(), std::ios::binary};
  const std::string bytes_after{std::istreambuf_iterator<char>{again}, std::istreambuf_iterator<char>{}};
  if (refused && how.what == damage::pages && bytes_after != bytes_before)
    fail("an engine refused on a journal with damaged pages changed the file");
  if (how.what == damage::rows || refused)
    check_kept(before, read_histories(f.path()), refused);
  return 0;
}
