// A process the crash tests start and kill with SIGKILL while a task is mid-way.
//
//   actors_crash_child JOURNAL
// Starts task "durable" (see crash_workload.hpp) with input 5, prints "STARTED <id>", and blocks inside
// the handler of the second effect after printing "INFLIGHT <id>". Each handler call appends a line to
// JOURNAL.effects so the test can count executions across processes.
//
//   actors_crash_child JOURNAL queued
// As the first form with max_running_tasks = 1, then starts "durable" with input 7, which waits for a
// place behind the blocked task; prints "WAITING <id> <engine's waiting count>" once its row is durable.
//
//   actors_crash_child JOURNAL resume
// Only resumes JOURNAL's unfinished tasks (starts none), blocking inside "card.charge" as above.
//
//   actors_crash_child JOURNAL acked | acked-batch
// Opens JOURNAL through the faulty VFS, makes the journal's next write slow (1.5 s), starts "durable"
// with input 5 (acked-batch: start_batch with 5, 6, 7), prints "ACKED <id>..." the moment the call
// returns, and blocks until killed. An engine that acknowledged at queueing would print while the row
// is still uncommitted; the test kills the child on reading the line and expects the tasks in the file.
//
//   actors_crash_child JOURNAL sleep MS
// Starts task "crashNap" with input MS and prints "SLEEPING <id>" once the deadline of its sleep is
// committed to JOURNAL, so a kill after that line finds the timer durable.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actors/eventlog/journal.hpp>

#include "crash_workload.hpp"
#include "faulty_vfs.hpp"

namespace {

int fail(const caf::error& err) {
  std::fprintf(stderr, "%s\n", actors::describe(err).c_str());
  return 1;
}

// The engine reports durability to tasks, not to its caller: the main thread polls the journal (which
// reads only committed rows) until the sleep event is there. Waiting by polling is fine in this process;
// the test process itself only waits on the pipe and engine::wait.
int run_sleep(const std::string& journal, std::int64_t ms) {
  actors::engine eng{actors::test::config_for(journal), actors::test::crash_routes(), actors::effects{}};
  if (auto err = eng.status())
    return fail(err);
  auto id = eng.start("crashNap", ms);
  if (!id)
    return fail(id.error());
  using actors::eventlog::event_kind;
  for (;;) {
    auto evs = eng.journal()->events(id->value());
    if (!evs)
      return fail(evs.error());
    auto has = [&](event_kind k) {
      return std::any_of(evs->begin(), evs->end(), [k](const auto& e) { return e.kind == k; });
    };
    if (has(event_kind::sleep))
      break;
    if (has(event_kind::completed) || has(event_kind::failed) || has(event_kind::cancelled)) {
      std::fprintf(stderr, "task %s ended without a journaled sleep\n", actors::to_string(*id).c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  std::printf("SLEEPING %s\n", actors::to_string(*id).c_str());
  std::fflush(stdout);
  auto r = eng.wait<std::int64_t>(*id); // the test kills us before the deadline
  return r ? 0 : 1;
}

int run_acked(const std::string& journal, bool batch) {
  actors::test::faulty_vfs::install();
  auto cfg = actors::test::config_for(journal);
  cfg.journal_vfs = actors::test::faulty_vfs::name;
  actors::engine eng{cfg, actors::test::crash_routes(), actors::test::crash_effects(journal + ".effects", {})};
  if (auto err = eng.status())
    return fail(err);
  // A slow disk: the commit of the task rows takes 1.5 s, far longer than the test takes to kill us.
  actors::test::faulty_vfs::inject(actors::test::faulty_vfs::fault::slow_write, 1500);
  std::vector<actors::task_id> ids;
  if (batch) {
    auto started = eng.start_batch("durable", std::vector<std::int64_t>{5, 6, 7});
    if (!started)
      return fail(started.error());
    ids = std::move(*started);
  } else {
    auto started = eng.start("durable", std::int64_t{5});
    if (!started)
      return fail(started.error());
    ids.push_back(*started);
  }
  std::string line = "ACKED";
  for (auto id : ids)
    line += " " + actors::to_string(id);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::mutex mx;
  std::condition_variable never;
  std::unique_lock guard{mx};
  never.wait(guard, [] { return false; }); // until SIGKILL
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string{argv[2]} == "sleep")
    return run_sleep(argv[1], std::stoll(argv[3]));
  if (argc == 3 && (std::string{argv[2]} == "acked" || std::string{argv[2]} == "acked-batch"))
    return run_acked(argv[1], std::string{argv[2]} == "acked-batch");
  bool queued = argc == 3 && std::string{argv[2]} == "queued";
  bool resume_only = argc == 3 && std::string{argv[2]} == "resume";
  if (argc != 2 && !queued && !resume_only) {
    std::fprintf(stderr, "usage: actors_crash_child JOURNAL [queued | resume | acked | acked-batch | sleep MS]\n");
    return 2;
  }
  std::string journal = argv[1];
  std::mutex mx;
  std::condition_variable never;
  auto fx = actors::test::crash_effects(journal + ".effects", [&](const std::string& line) {
    if (line.rfind("charge", 0) == 0) {
      std::printf("INFLIGHT\n");
      std::fflush(stdout);
      std::unique_lock guard{mx};
      never.wait(guard, [] { return false; }); // until SIGKILL
    }
  });
  auto cfg = actors::test::config_for(journal);
  if (queued)
    cfg.max_running_tasks = 1;
  actors::engine eng{cfg, actors::test::crash_routes(), fx};
  if (auto err = eng.status())
    return fail(err);
  if (resume_only) {
    std::printf("RESUMED %llu\n", static_cast<unsigned long long>(eng.stats().resumed));
    std::fflush(stdout);
    std::unique_lock guard{mx};
    never.wait(guard, [] { return false; }); // until SIGKILL
  }
  auto id = eng.start("durable", std::int64_t{5});
  if (!id)
    return fail(id.error());
  std::printf("STARTED %s\n", actors::to_string(*id).c_str());
  std::fflush(stdout);
  if (queued) {
    auto second = eng.start("durable", std::int64_t{7});
    if (!second)
      return fail(second.error());
    if (auto err = eng.journal()->flush())
      return fail(err);
    std::printf("WAITING %s %llu\n", actors::to_string(*second).c_str(),
                static_cast<unsigned long long>(eng.stats().waiting));
    std::fflush(stdout);
  }
  auto r = eng.wait<std::string>(*id);
  return r ? 0 : 1;
}
