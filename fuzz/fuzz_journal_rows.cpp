// fuzz_journal_rows: the journal's reads on a damaged journal file.
//
// Each input damages a copy of a real journal (journal_fixture.hpp: fuzzer-chosen values of any storage
// class written into any column the reads decode, rows copied, inserted or deleted, schema objects
// dropped or altered, header and page bytes patched, or the whole file replaced by the input), then
// opens it with actors::eventlog::journal::open (read-only or writable, as the input says) and calls
// every read, then (writable opens) appends and flushes.
//
// Oracle: open returns a journal or a caf::error (an error, never a crash, for a file that is not a
// journal); every read returns a value or a caf::error, with known event kinds and task statuses and
// within its limits; and what the keyed reads return is what they were asked for, on every file
// (find_task(id) has that id, events(id) belong to id, children(id) have parent id, unfinished_tasks
// are running, pending_messages(id) are to id): on patched pages SQLite can return a row of another key
// through a damaged index (events(0x1111) once returned an event of task 0x1130), which the reads
// report as `corrupt` (reads.cpp, `key_check`). On files damaged through SQL only (damage::rows: the
// b-trees stay consistent) also: list_tasks has the status asked for, tail's rowids ascend past
// `after`. Not detectable by any read: an index entry whose rowid was patched to point at another
// row (the key columns come from the index, the rest from the wrong row); PRAGMA integrity_check
// finds it.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "journal_fixture.hpp"

namespace {

using namespace fuzz;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_journal_rows: %s\n", what);
  std::abort();
}

constexpr auto max_kind = static_cast<std::uint8_t>(el::event_kind::join);
constexpr auto max_status = static_cast<std::uint8_t>(el::task_status::cancelled);

void check_tasks(const std::vector<el::task_record>& ts) {
  for (const auto& t : ts) {
    if (static_cast<std::uint8_t>(t.status) > max_status)
      fail("a task with an unknown status was returned");
    (void)el::to_string(t.status);
  }
}

void check_events(const std::vector<el::event>& evs) {
  for (const auto& e : evs) {
    auto k = static_cast<std::uint8_t>(e.kind);
    if (k < 1 || k > max_kind)
      fail("an event with an unknown kind was returned");
    (void)el::to_string(e.kind);
  }
}

std::uint64_t pick_id(FuzzedDataProvider& in) {
  return in.ConsumeBool() ? in.PickValueInArray(known_ids) : in.ConsumeIntegral<std::uint64_t>();
}

void read_everything(el::journal& j, FuzzedDataProvider& in, bool consistent) {
  if (auto ts = j.unfinished_tasks()) {
    check_tasks(*ts);
    for (const auto& t : *ts)
      if (t.status != el::task_status::running)
        fail("unfinished_tasks returned a task that is not running");
  }
  (void)j.max_task_id();
  for (int round = 0; round < 3; ++round) {
    auto id = round == 0 ? root_id : pick_id(in);
    if (auto t = j.find_task(id); t && *t) {
      if ((*t)->id != id)
        fail("find_task returned another task");
      check_tasks({**t});
    }
    if (auto evs = j.events(id)) {
      check_events(*evs);
      for (const auto& e : *evs)
        if (e.task != id)
          fail("events(id) returned an event of another task");
      auto h = el::journal::history(*evs);
      if (h.size() > evs->size())
        fail("history() is longer than the events");
    }
    if (auto cs = j.children(id)) {
      check_tasks(*cs);
      for (const auto& c : *cs)
        if (c.parent != id)
          fail("children(id) returned a task of another parent");
    }
    if (auto ms = j.pending_messages(id)) {
      for (const auto& m : *ms)
        if (m.target != id)
          fail("pending_messages(id) returned a message to another task");
    }
  }
  el::task_filter f;
  if (in.ConsumeBool())
    f.function = in.ConsumeBool() ? std::string{"lookupUser"} : in.ConsumeRandomLengthString(16);
  if (in.ConsumeBool())
    f.status = static_cast<el::task_status>(in.ConsumeIntegralInRange<int>(0, max_status));
  f.since = in.ConsumeBool() ? 0 : in.ConsumeIntegral<std::int64_t>();
  f.limit = in.ConsumeIntegralInRange<std::size_t>(0, 5);
  if (auto ts = j.list_tasks(f)) {
    check_tasks(*ts);
    if (f.limit != 0 && ts->size() > f.limit)
      fail("list_tasks returned more than its limit");
    for (const auto& t : *ts)
      if (consistent && f.status && t.status != *f.status)
        fail("list_tasks returned a task of another status");
  }
  auto dlimit = in.ConsumeIntegralInRange<std::size_t>(0, 3);
  if (auto ds = j.divergences(in.ConsumeBool() ? "" : "lookupUser", dlimit))
    if (dlimit != 0 && ds->size() > dlimit)
      fail("divergences returned more than its limit");
  (void)j.routes();
  (void)j.routes_version();
  (void)j.cancels_version();
  (void)j.cancel_requests();
  (void)j.max_message_id();
  (void)j.find_start_key(in.ConsumeRandomLengthString(12));
  (void)j.supervision();
  auto after = in.ConsumeBool() ? std::int64_t{0} : in.ConsumeIntegral<std::int64_t>();
  auto limit = in.ConsumeIntegralInRange<std::size_t>(0, 64);
  if (auto tail = j.tail(after, limit)) {
    if (tail->size() > limit)
      fail("tail returned more than its limit");
    auto last = after;
    for (const auto& [rowid, e] : *tail) {
      if (consistent && rowid <= last)
        fail("tail's rowids do not ascend past `after`");
      last = rowid;
    }
    std::vector<el::event> evs;
    for (auto& p : *tail)
      evs.push_back(p.second);
    check_events(evs);
  }
}

void append_some(el::journal& j, FuzzedDataProvider& in) {
  el::event e;
  e.task = pick_id(in);
  e.seq = in.ConsumeIntegral<std::uint32_t>();
  e.kind = static_cast<el::event_kind>(in.ConsumeIntegralInRange<int>(1, max_kind));
  e.failed = in.ConsumeBool();
  e.name = in.ConsumeRandomLengthString(16);
  e.ref = pick_id(in);
  e.result = in.ConsumeRandomLengthString(16);
  j.append(e);
  if (in.ConsumeBool()) {
    el::task_record t;
    t.id = pick_id(in);
    t.root = t.id;
    t.function = "fuzz";
    t.version = "v1";
    j.append_task(t, "", "");
  }
  if (in.ConsumeBool())
    j.request_cancel(pick_id(in));
  (void)j.flush(); // durable, or the write error (a failed journal), never a crash
  (void)j.failure();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture::get(); // build the template before the first input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  bool read_only = in.ConsumeBool();
  auto file = prepare(in);
  el::journal_options opts;
  opts.path = fixture::get().path();
  opts.read_only = read_only;
  auto j = el::journal::open(opts);
  if (!j) {
    if (!j.error())
      fail("open failed without an error");
    return 0;
  }
  if (file.not_sqlite)
    fail("a file that is not SQLite was opened as a journal");
  read_everything(**j, in, file.what == damage::rows);
  if (!read_only && in.ConsumeBool())
    append_some(**j, in);
  return 0;
}
