// journal_integrity_bench — what page checksums and the check at open cost, on journals of N events.
//
//   journal_integrity_bench [--events N] [--dir D]     (default 10,000,000 events, in the temp dir)
//
// Builds two journals of the same N events (5 per task, 100-byte payloads, as the engine writes them):
// one with page checksums (what libactors creates), one without (an empty SQLite file turned into a
// journal, as a journal of schema 7 or older is). Prints, one `name value unit` a line:
//   append.*            appends per second into each, through the journal API (group commit): the
//                       per-commit cost of checksums is the ratio;
//   open_verify.*       a writable open with the whole-journal check (checksums: every page read and
//                       verified; no checksums: PRAGMA quick_check), against an open without it and a
//                       raw sequential read of the file (the I/O floor);
//   read.*              reading every task's events back (each page read is verified).
// The machine is shared and noisy: each figure is the median of 3 runs, ours and raw in the same run.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <caf/message.hpp>
#include <sqlite3.h>

#include <actors/eventlog/journal.hpp>

namespace el = actors::eventlog;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr int events_per_task = 5;

/// Appends `events` events (tasks of events_per_task) into the journal at `path`; returns seconds.
double fill(const std::string& path, std::int64_t events) {
  el::journal_options opts;
  opts.path = path;
  auto j = el::journal::open(opts);
  if (!j) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    std::exit(1);
  }
  std::string request(60, 'q'), result(40, 'r');
  auto t0 = clock_type::now();
  std::uint64_t id = 1'000'000;
  for (std::int64_t n = 0; n < events; id++) {
    el::task_record t;
    t.id = id;
    t.root = id;
    t.function = "transfer";
    t.version = "v1";
    t.input_type = "long";
    (*j)->append_task(t, request, "input");
    ++n;
    for (int s = 1; s < events_per_task && n < events; ++s, ++n) {
      el::event e;
      e.task = id;
      e.seq = static_cast<std::uint32_t>(s);
      e.kind = s + 1 == events_per_task ? el::event_kind::completed : el::event_kind::effect;
      e.name = "ledger.post";
      e.request = request;
      e.result = result;
      e.text = "post {42, \"acct-7\"} -> 1";
      (*j)->append(std::move(e));
    }
  }
  if ((*j)->flush()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  auto dt = seconds_since(t0);
  j->reset(); // checkpoints and closes
  return dt;
}

/// Seconds for a writable open (and close) of `path`.
double open_once(const std::string& path, bool verify) {
  el::journal_options opts;
  opts.path = path;
  opts.verify_on_open = verify;
  auto t0 = clock_type::now();
  auto j = el::journal::open(opts);
  auto dt = seconds_since(t0);
  if (!j) {
    const auto& ctx = j.error().context();
    std::fprintf(stderr, "open of %s failed: %s\n", path.c_str(),
                 ctx.match_element<std::string>(0) ? ctx.get_as<std::string>(0).c_str() : "?");
    std::exit(1);
  }
  return dt;
}

double raw_read(const std::string& path) {
  std::vector<char> buf(1 << 20);
  auto t0 = clock_type::now();
  std::ifstream in{path, std::ios::binary};
  std::uint64_t sum = 0;
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    sum += static_cast<unsigned char>(buf[0]);
  auto dt = seconds_since(t0);
  if (sum == 1)
    std::puts("#");
  return dt;
}

/// Seconds to read every task's events back through a read-only journal.
double read_all(const std::string& path, std::int64_t events) {
  el::journal_options opts;
  opts.path = path;
  opts.read_only = true;
  auto j = el::journal::open(opts);
  if (!j)
    std::exit(1);
  auto t0 = clock_type::now();
  std::uint64_t id = 1'000'000, got = 0;
  for (std::int64_t n = 0; n < events; n += events_per_task, ++id) {
    auto evs = (*j)->events(id);
    if (!evs)
      std::exit(1);
    got += evs->size();
  }
  auto dt = seconds_since(t0);
  if (got != static_cast<std::uint64_t>(events))
    std::fprintf(stderr, "read %llu events, expected %lld\n", static_cast<unsigned long long>(got),
                 static_cast<long long>(events));
  return dt;
}

} // namespace

int main(int argc, char** argv) {
  std::int64_t events = 10'000'000;
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0)
      events = std::stoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--dir") == 0)
      dir = argv[i + 1];
  }
  auto with = dir + "/integrity-checksums.db";
  auto without = dir + "/integrity-plain.db";
  for (const auto& p : {with, without})
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(p + suffix);
  { // an SQLite file with one page and nothing in it: the journal cannot add reserved bytes to it
    sqlite3* db = nullptr;
    sqlite3_open(without.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE x(y); DROP TABLE x;", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::printf("# %lld events, %d per task; files in %s\n", static_cast<long long>(events),
              events_per_task, dir.c_str());
  auto t_with = fill(with, events);
  auto t_without = fill(without, events);
  std::printf("append.checksums %.0f events/s\nappend.plain %.0f events/s\nappend.ratio %.3f\n",
              events / t_with, events / t_without, t_without / t_with);
  std::printf("# file sizes: %.0f MB with checksums, %.0f MB without\n",
              std::filesystem::file_size(with) / 1e6, std::filesystem::file_size(without) / 1e6);

  std::vector<double> verify, noverify, raw, quick;
  for (int r = 0; r < 3; ++r) {
    raw.push_back(raw_read(with));
    verify.push_back(open_once(with, true));
    noverify.push_back(open_once(with, false));
    quick.push_back(open_once(without, true));
  }
  std::printf("open_verify.checksums %.3f s\nopen_verify.quick_check %.3f s\nopen_verify.off %.3f s\n"
              "open_verify.raw_read %.3f s\nopen_verify.ratio %.3f\n",
              median(verify), median(quick), median(noverify), median(raw), median(raw) / median(verify));
  std::vector<double> rd_with, rd_without;
  for (int r = 0; r < 3; ++r) {
    rd_with.push_back(read_all(with, events));
    rd_without.push_back(read_all(without, events));
  }
  std::printf("read.checksums %.0f events/s\nread.plain %.0f events/s\nread.ratio %.3f\n",
              events / median(rd_with), events / median(rd_without), median(rd_without) / median(rd_with));
  for (const auto& p : {with, without})
    std::filesystem::remove(p);
  return 0;
}
