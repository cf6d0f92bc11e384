// Supervisors on a real engine: strategies, restart types, intensity and escalation, back-off, restart
// by resuming the journal, validation, inspection and take-over by the next engine. Tests wait on the
// supervisor's log (engine::await_supervision) and on task results, never on time.

#include <algorithm>
#include <atomic>
#include <map>
#include <future>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;
using namespace std::chrono_literals;
using supervision::restart_type;
using supervision::strategy;

namespace {

/// effect test.note :: text -> count so far — what a session did with a message (counted by the mock).
struct note {
  using result_type = std::int64_t;
  static constexpr const char* name = "test.note";
  std::string text;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & text;
  }
};

// A long-lived session: appends each message to its state (through a journaled effect); "poison"
// crashes it, "quit" ends it with its state.
task<std::string> session(ctx& cx, std::string name) {
  std::string state;
  for (;;) {
    auto m = co_await cx.receive<std::string>();
    if (m == "poison")
      throw std::runtime_error(name + " swallowed poison");
    if (m == "quit")
      co_return state;
    co_await cx.perform<note>(name + ":" + m);
    state += m;
  }
}

// Holds at the gate (its effect handler blocks until the test opens it), then returns.
task<std::int64_t> stubborn(ctx& cx, std::int64_t x) {
  co_return co_await cx.perform(test::gate{x});
}

router make_routes() {
  router r;
  r.add("session", "v1", session).add("stubborn", "v1", stubborn);
  return r;
}

/// Counts each note's executions.
struct notes {
  std::mutex mx;
  std::condition_variable cv;
  std::map<std::string, int> runs;
  effects fx() {
    effects e;
    e.handle<note>([this](const note& n) {
      std::int64_t r = 0;
      {
        std::lock_guard guard{mx};
        r = ++runs[n.text];
      }
      cv.notify_all();
      return r;
    });
    return e;
  }
  int count(const std::string& text) {
    std::lock_guard guard{mx};
    return runs[text];
  }
  /// Blocks until `text` was noted (false after 60 s).
  bool wait_for(const std::string& text) {
    std::unique_lock guard{mx};
    return cv.wait_for(guard, std::chrono::seconds{60}, [&] { return runs[text] > 0; });
  }
};

supervisor_spec sessions(std::string name, strategy s, std::vector<std::string> ids,
                         restart_type r = restart_type::transient) {
  supervisor_spec spec{.name = std::move(name), .flags = {.strategy = s, .intensity = 10, .period = 60s}};
  for (auto& id : ids) {
    auto c = worker(id, "session", id);
    c.restart = r;
    c.shutdown = supervision::shutdown_policy::after(5s);
    spec.children.push_back(std::move(c));
  }
  return spec;
}

/// Waits until the supervisor's log has a line containing `text` (at least `n` of them).
bool saw(engine& eng, const std::string& sup, const std::string& text, std::size_t n = 1) {
  auto ok = eng.await_supervision(
    sup,
    [&](const std::vector<std::string>& log) {
      return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](auto& l) {
               return l.find(text) != std::string::npos;
             })) >= n;
    },
    std::chrono::seconds{std::getenv("SUP_WAIT") ? std::atoi(std::getenv("SUP_WAIT")) : 60});
  if (!ok) {
    UNSCOPED_INFO("supervisor " << sup << " never logged '" << text << "'; its log:");
    for (auto& l : eng.supervision_log(sup))
      UNSCOPED_INFO("  " << l);
  }
  return ok;
}

/// The log lines containing any of `words`, in order.
std::vector<std::string> lines(engine& eng, const std::string& sup, std::vector<std::string> words) {
  std::vector<std::string> out;
  for (auto& l : eng.supervision_log(sup))
    for (auto& w : words)
      if (l.find(w) != std::string::npos) {
        out.push_back(l);
        break;
      }
  return out;
}

task_id task_of(engine& eng, const std::string& sup, const std::string& child) {
  auto id = eng.supervised_task(sup, child);
  REQUIRE(id);
  return *id;
}

const eventlog::supervision_record& row(const std::vector<eventlog::supervision_record>& tree,
                                        const std::string& sup, const std::string& child) {
  auto i = std::find_if(tree.begin(), tree.end(),
                        [&](auto& r) { return r.supervisor == sup && r.child == child; });
  REQUIRE(i != tree.end());
  return *i;
}

} // namespace

TEST_CASE("one_for_one restarts only the failed child, resumed from its journal with its state",
          "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.supervise(sessions("s", strategy::one_for_one, {"a", "b", "c"})));
  CHECK(lines(eng, "s", {"started"}) ==
        std::vector<std::string>{"started a as task " + to_string(task_of(eng, "s", "a")),
                                 "started b as task " + to_string(task_of(eng, "s", "b")),
                                 "started c as task " + to_string(task_of(eng, "s", "c"))});
  auto b = task_of(eng, "s", "b");
  REQUIRE(eng.send(b, std::string{"x"}));
  REQUIRE(eng.send(b, std::string{"y"}));
  REQUIRE(eng.send(b, std::string{"poison"}));
  REQUIRE(eng.send(b, std::string{"z"})); // waits in the mailbox while b restarts
  REQUIRE(saw(eng, "s", "restarted b"));
  CHECK(task_of(eng, "s", "b") == b); // the same task, resumed
  REQUIRE(eng.send(b, std::string{"quit"}));
  auto out = eng.wait<std::string>(b); // transient: quit is its end for good, reported to wait
  REQUIRE(out);
  CHECK(*out == "xyz"); // state from before the crash, poison consumed, z delivered
  CHECK(n.count("b:x") == 1); // journaled effects were answered from the journal, not run again
  CHECK(n.count("b:y") == 1);
  CHECK(lines(eng, "s", {"stopped", "restarted a", "restarted c"}).empty());
  auto tree = eng.supervision_tree();
  CHECK(row(tree, "s", "").state == "running");
  CHECK(row(tree, "s", "").detail.find("one_for_one, intensity 10 per 60000 ms") == 0);
  CHECK(row(tree, "s", "b").restarts >= 1);
  CHECK(row(tree, "s", "a").restarts == 0);
  auto evs = eng.journal()->events(b.value());
  REQUIRE(evs);
  CHECK(std::count_if(evs->begin(), evs->end(),
                      [](auto& e) { return e.kind == eventlog::event_kind::restarted; }) >= 1);
  REQUIRE(eng.stop_supervisor("s"));
  CHECK(row(eng.supervision_tree(), "s", "").state == "stopped");
}

TEST_CASE("one_for_all stops the others in reverse start order and restarts all in start order",
          "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.supervise(sessions("s", strategy::one_for_all, {"a", "b", "c"})));
  auto a = task_of(eng, "s", "a");
  REQUIRE(eng.send(a, std::string{"1"}));
  REQUIRE(eng.send(task_of(eng, "s", "b"), std::string{"poison"}));
  REQUIRE(saw(eng, "s", "restarted c"));
  CHECK(lines(eng, "s", {"stopped", "restarted"}) ==
        std::vector<std::string>{
          "stopped c", "stopped a",
          "restarted a (task " + to_string(a) + ", resumed from its journal)",
          "restarted b (task " + to_string(task_of(eng, "s", "b")) + ", resumed from its journal)",
          "restarted c (task " + to_string(task_of(eng, "s", "c")) + ", resumed from its journal)"});
  REQUIRE(eng.send(a, std::string{"2"}));
  REQUIRE(eng.send(a, std::string{"quit"}));
  CHECK(*eng.wait<std::string>(a) == "12"); // a was stopped and resumed, its state kept
  CHECK(n.count("a:1") == 1);
}

TEST_CASE("rest_for_one restarts the failed child and those started after it", "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.supervise(sessions("s", strategy::rest_for_one, {"a", "b", "c"})));
  REQUIRE(eng.send(task_of(eng, "s", "b"), std::string{"poison"}));
  REQUIRE(saw(eng, "s", "restarted c"));
  CHECK(lines(eng, "s", {"stopped", "restarted"}) ==
        std::vector<std::string>{
          "stopped c",
          "restarted b (task " + to_string(task_of(eng, "s", "b")) + ", resumed from its journal)",
          "restarted c (task " + to_string(task_of(eng, "s", "c")) + ", resumed from its journal)"});
}

TEST_CASE("a child that fails while its supervisor is busy restarting a sibling is logged once",
          "[supervisor][engine]") {
  // rest_for_one [a, b, c]: b fails, so c is stopped before b and c restart; c's stop waits for its
  // running effect (held at a gate). a fails meanwhile: its end is logged and deferred until the
  // restart is done, then acted on — without a second "a failed" line (there were two).
  temp_dir dir;
  notes n;
  std::promise<void> open, held;
  std::shared_future<void> opened = open.get_future().share();
  std::atomic<bool> first{true};
  auto fx = n.fx();
  fx.handle<test::gate>([&](const test::gate& g) {
    if (first.exchange(false))
      held.set_value(); // c's effect; resumed, c takes its journaled result
    opened.wait();
    return g.n;
  });
  engine eng{test::config_for(dir.file("j.db")), make_routes(), fx};
  REQUIRE_FALSE(eng.status());
  auto spec = sessions("s", strategy::rest_for_one, {"a", "b"});
  auto c = worker("c", "stubborn", std::int64_t{1});
  c.restart = restart_type::transient;
  c.shutdown = supervision::shutdown_policy::after(600s); // no timeout under load: the gate decides
  spec.children.push_back(c);
  REQUIRE(eng.supervise(spec));
  held.get_future().wait(); // c is inside its effect
  REQUIRE(eng.send(task_of(eng, "s", "b"), std::string{"poison"}));
  REQUIRE(saw(eng, "s", "restarting b, c (rest_for_one)")); // and c is being stopped: busy
  REQUIRE(eng.send(task_of(eng, "s", "a"), std::string{"poison"}));
  REQUIRE(saw(eng, "s", "a failed: "));
  open.set_value(); // c's effect ends, c stops, b and c restart; then a's end is acted on
  REQUIRE(saw(eng, "s", "restarted a"));
  auto failed_a = lines(eng, "s", {"a failed: "});
  CHECK(failed_a.size() == 1);
  CHECK(lines(eng, "s", {"b failed: "}).size() == 1);
  CHECK(lines(eng, "s", {"restarting a, b, c (rest_for_one)"}).size() == 1);
}

TEST_CASE("restart types: permanent always, transient only after a failure, temporary never",
          "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  auto spec = sessions("s", strategy::one_for_one, {"perm", "trans", "temp"});
  spec.children[0].restart = restart_type::permanent;
  spec.children[1].restart = restart_type::transient;
  spec.children[2].restart = restart_type::temporary;
  REQUIRE(eng.supervise(spec));
  auto perm = task_of(eng, "s", "perm"), trans = task_of(eng, "s", "trans"),
       temp = task_of(eng, "s", "temp");

  SECTION("normal ends") {
    for (auto id : {perm, trans, temp})
      REQUIRE(eng.send(id, std::string{"quit"}));
    REQUIRE(saw(eng, "s", "temp ended normally"));
    REQUIRE(saw(eng, "s", "trans ended normally"));
    REQUIRE(saw(eng, "s", "restarted perm (task " + to_string(perm) + ", fresh start)"));
    CHECK(lines(eng, "s", {"restarted"}).size() == 1);
    auto tree = eng.supervision_tree();
    CHECK(row(tree, "s", "trans").state == "completed");
    CHECK(row(tree, "s", "temp").state == "completed");
    CHECK(row(tree, "s", "perm").state == "running");
  }
  SECTION("failures") {
    for (auto id : {perm, trans, temp})
      REQUIRE(eng.send(id, std::string{"poison"}));
    REQUIRE(saw(eng, "s", "temp failed"));
    REQUIRE(saw(eng, "s", "restarted perm"));
    REQUIRE(saw(eng, "s", "restarted trans"));
    CHECK(lines(eng, "s", {"restarted temp"}).empty());
    auto tree = eng.supervision_tree();
    CHECK(row(tree, "s", "temp").state == "failed");
    CHECK(row(tree, "s", "temp").detail.find("swallowed poison") != std::string::npos);
  }
}

TEST_CASE("exceeding the restart intensity stops the children in reverse order and escalates",
          "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  auto inner = sessions("inner", strategy::one_for_one, {"a", "b", "c"});
  inner.flags.intensity = 1; // OTP's default: one restart per period
  supervisor_spec top{.name = "top", .flags = {.intensity = 5, .period = 60s}};
  top.children.push_back(supervisor_child("inner", inner));
  REQUIRE(eng.supervise(top));
  auto b = task_of(eng, "inner", "b");
  REQUIRE(eng.send(b, std::string{"poison"}));
  REQUIRE(saw(eng, "inner", "restarted b"));
  REQUIRE(eng.send(b, std::string{"poison"})); // the second within the period: too many
  REQUIRE(saw(eng, "top", "restarted supervisor inner"));
  auto inner_log = lines(eng, "inner", {"escalating", "stopped", "supervisor escalated"});
  REQUIRE(inner_log.size() >= 4);
  CHECK(inner_log[0].find("escalating: reached its restart intensity (1 restarts within 60000 ms) "
                          "when b failed") == 0);
  CHECK(inner_log[1] == "stopped c"); // b has ended; the others in reverse start order
  CHECK(inner_log[2] == "stopped a");
  CHECK(inner_log[3] == "supervisor escalated");
  auto top_log = lines(eng, "top", {"inner failed"});
  REQUIRE(top_log.size() == 1);
  CHECK(top_log[0].find("supervision.escalated: supervisor inner reached its restart intensity") !=
        std::string::npos);
  // the restarted inner supervisor resumed its children under the same tasks
  REQUIRE(saw(eng, "inner", "restarted a (task " + to_string(task_of(eng, "inner", "a"))));
}

TEST_CASE("back-off delays grow by the factor between consecutive restarts", "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  auto spec = sessions("s", strategy::one_for_one, {"a"});
  spec.flags.backoff = {.initial = 5ms, .max = 15ms, .factor = 2.0};
  REQUIRE(eng.supervise(spec));
  auto a = task_of(eng, "s", "a");
  for (int i = 1; i <= 4; ++i) {
    REQUIRE(eng.send(a, std::string{"poison"}));
    REQUIRE(saw(eng, "s", "restarted a", static_cast<std::size_t>(i)));
  }
  CHECK(lines(eng, "s", {"restarting"}) ==
        std::vector<std::string>{"restarting a (one_for_one) in 5 ms, attempt 1",
                                 "restarting a (one_for_one) in 10 ms, attempt 2",
                                 "restarting a (one_for_one) in 15 ms, attempt 3",
                                 "restarting a (one_for_one) in 15 ms, attempt 4"});
}

TEST_CASE("bad supervisor specs are refused with errors naming the supervisor and child",
          "[supervisor][engine][errors]") {
  temp_dir dir;
  notes n;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  auto message = [&](const supervisor_spec& s) {
    auto r = eng.supervise(s);
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  auto s = sessions("s", strategy::one_for_one, {"a"});
  s.children.push_back(worker("ghost", "noSuchFunction", std::string{"x"}));
  CHECK(message(s) == "actors.unknown_function: supervisor 's', child 'ghost': unknown function "
                      "'noSuchFunction' (registered: session, stubborn)");
  s.children.back() = worker("typed", "session", 42);
  CHECK(message(s).find("actors.wrong_input_type: supervisor 's', child 'typed': function 'session' "
                        "version 'v1' takes ") == 0);
  s.children.back() = worker("a", "session", std::string{"again"});
  CHECK(message(s) == "supervision.invalid_spec: supervisor 's': child 'a': another child has the same id");
  s.children.pop_back();
  s.flags.intensity = -1;
  CHECK(message(s) == "supervision.invalid_spec: supervisor 's': supervisor: intensity -1 is negative");
  s.flags.intensity = 1;
  REQUIRE(eng.supervise(s));
  CHECK(message(s) == "supervision.invalid_spec: supervisor 's' is already running");
  CHECK(eng.supervision_log("s").size() == 1); // the running one was not disturbed: started a
  auto stop = eng.stop_supervisor("nope");
  REQUIRE_FALSE(stop);
  CHECK(describe(stop.error()) ==
        "actors.unknown_supervisor: no top-level supervisor 'nope' runs in this engine");
}

TEST_CASE("the next engine on the journal takes over a supervisor's running children",
          "[supervisor][engine][resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  notes n;
  task_id a;
  {
    engine eng{test::config_for(path), make_routes(), n.fx()};
    REQUIRE_FALSE(eng.status());
    REQUIRE(eng.supervise(sessions("s", strategy::one_for_one, {"a"})));
    a = task_of(eng, "s", "a");
    REQUIRE(eng.send(a, std::string{"p"}));
    REQUIRE(eng.send(a, std::string{"q"}));
    // the destructor detaches a (no journaled end) once its messages are in its journal
    REQUIRE(n.wait_for("a:q"));
  }
  {
    auto rows = eventlog::journal::open({.path = path, .read_only = true});
    REQUIRE(rows);
    auto tree = (*rows)->supervision();
    REQUIRE(tree);
    CHECK(row(*tree, "s", "a").task == a.value());
    CHECK(row(*tree, "s", "").state == "detached");
  }
  engine eng{test::config_for(path), make_routes(), n.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.supervise(sessions("s", strategy::one_for_one, {"a"})));
  CHECK(lines(eng, "s", {"took over"}) ==
        std::vector<std::string>{"took over a (task " + to_string(a) + ", resumed from the journal)"});
  REQUIRE(eng.send(a, std::string{"r"}));
  REQUIRE(eng.send(a, std::string{"quit"}));
  CHECK(*eng.wait<std::string>(a) == "pqr");
  CHECK(n.count("a:p") == 1);
  CHECK(n.count("a:q") == 1);
}

TEST_CASE("a child linked in the journal whose task row never became durable starts afresh, once",
          "[supervisor][engine][resume]") {
  // The supervision row naming a child's task is appended before the task row (so a crash never
  // leaves a child task that no supervisor knows: the next engine would resume it as an orphan and
  // start another beside it, and its drain would wait for the orphan forever). A crash between the
  // two leaves a link to a task that does not exist: the next engine starts the child afresh.
  temp_dir dir;
  auto path = dir.file("j.db");
  const std::uint64_t lost = 0x0123'4567'89ab'cdef;
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    eventlog::supervision_record r;
    r.supervisor = "s";
    r.child = "a";
    r.kind = "task";
    r.function = "session";
    r.task = lost;
    r.state = "idle";
    (*j)->put_supervision(r);
    REQUIRE_FALSE((*j)->flush());
  }
  notes n;
  task_id a;
  {
    engine eng{test::config_for(path), make_routes(), n.fx()};
    REQUIRE_FALSE(eng.status());
    REQUIRE(eng.supervise(sessions("s", strategy::one_for_one, {"a"})));
    a = task_of(eng, "s", "a");
    CHECK(a.value() != lost);
    CHECK(lines(eng, "s", {"started a as task"}).size() == 1);
    CHECK(lines(eng, "s", {"restarted", "took over"}).empty());
    REQUIRE(eng.send(a, std::string{"p"}));
    REQUIRE(n.wait_for("a:p"));
    REQUIRE(eng.stop_supervisor("s"));
  }
  auto j = eventlog::journal::open({.path = path, .read_only = true});
  REQUIRE(j);
  auto tree = (*j)->supervision();
  REQUIRE(tree);
  CHECK(row(*tree, "s", "a").task == a.value());
  eventlog::task_filter f;
  f.function = "session";
  auto sessions_run = (*j)->list_tasks(f);
  REQUIRE(sessions_run);
  REQUIRE(sessions_run->size() == 1); // one child task, no orphan
  CHECK(sessions_run->front().id == a.value());
}

TEST_CASE("shutdown: a graceful stop waits for a running effect up to its timeout; kill does not",
          "[supervisor][engine]") {
  temp_dir dir;
  notes n;
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  std::atomic<int> held{0};
  std::promise<void> both_held;
  auto fx = n.fx();
  fx.handle<test::gate>([&](const test::gate& g) {
    if (++held == 2)
      both_held.set_value();
    opened.wait();
    return g.n;
  });
  engine eng{test::config_for(dir.file("j.db")), make_routes(), fx};
  REQUIRE_FALSE(eng.status());
  supervisor_spec spec{.name = "s"};
  auto patient = worker("patient", "stubborn", std::int64_t{1});
  patient.shutdown = supervision::shutdown_policy::after(50ms);
  auto brutal = worker("brutal", "stubborn", std::int64_t{2});
  brutal.shutdown = supervision::shutdown_policy::immediately();
  spec.children = {patient, brutal};
  REQUIRE(eng.supervise(spec));
  auto p = task_of(eng, "s", "patient"), b = task_of(eng, "s", "brutal");
  both_held.get_future().wait(); // both children are inside their effects
  REQUIRE(eng.stop_supervisor("s"));
  CHECK(lines(eng, "s", {"stopped", "did not stop"}) ==
        std::vector<std::string>{"stopped brutal", "child patient did not stop within 50 ms: detached",
                                 "stopped patient", "supervisor stopped"});
  open.set_value();
  eng.drain();
  auto status = [&](task_id id) { return (*eng.journal()->find_task(id.value()))->status; };
  CHECK(status(b) == eventlog::task_status::cancelled);
  CHECK(status(p) == eventlog::task_status::running); // detached: the next engine resumes it
}
