// fuzz_journal_path: the forms a journal's name can take, resolved (resolve_journal_name) and opened
// (journal::open, read-only or writable), in a directory holding a real journal and its look-alikes:
// symlinks to it (relative, chained, from a subdirectory), a dangling symlink, a symlink to a directory,
// a directory, a FIFO, a text file, a missing name, and (as the input says) a second hard link to the
// journal. A name is one of those, spelt relative or absolute, with `./`, `//` and `..` detours, as a
// `file:` URI (`file:rel`, `file:/abs`, `file:///abs`, `file://localhost/abs`, another host), with
// characters percent-encoded (well or badly), query parameters (the accepted ones, the refused ones,
// unknown ones) and a fragment, ":memory:" and "file::memory:", or the input's own bytes.
//
// Oracle:
// - resolve_journal_name and journal::open agree: a name resolve refuses, open refuses with the same code;
// - a refused open changes nothing: the directory tree (names, types, symlink targets) and the journal's
//   bytes are as they were; a read-only open changes nothing even when it succeeds;
// - a writable open that succeeds creates at most the file it resolved to (nothing else, no -wal or -shm
//   left after it closes), and changes the journal's bytes only if it resolved to the journal;
// - a name that reaches the journal (by any link) reads the journal's task; while the journal has a
//   second hard link every open of it is refused with invalid_name;
// - a directory, FIFO or device is refused as not_a_database, and the open returns (a FIFO never blocks).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <actors/eventlog/errc.hpp>

#include "journal_fixture.hpp"

namespace {

using namespace fuzz;
namespace fs = std::filesystem;

std::string name_of_case; // for the failure message

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_journal_path: %s\n  name: [%s]\n", what.c_str(), name_of_case.c_str());
  std::abort();
}

int code_of(const caf::error& err) {
  return err.category() == caf::atom("journal") ? err.code() : -1;
}

/// The working directory's tree: each entry's relative name, type and (for a symlink) target.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator{root}; it != fs::recursive_directory_iterator{}; ++it) {
    auto rel = it->path().lexically_relative(root).string(); // fs::relative would follow links
    auto st = it->symlink_status();
    std::string what = std::to_string(static_cast<int>(st.type()));
    if (fs::is_symlink(st))
      what += " -> " + fs::read_symlink(it->path()).string();
    else if (fs::is_regular_file(st))
      what += " " + std::to_string(fs::file_size(it->path())) + " bytes";
    out[rel] = what;
  }
  return out;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// The directory the names are resolved in (the process's working directory), rebuilt per input.
struct workspace {
  fs::path dir;
  bool hard_link = false;

  explicit workspace(bool with_hard_link) : hard_link(with_hard_link) {
    dir = fs::path{fixture::get().path()}.parent_path() / "paths";
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir / "sub");
    write_file(dir / "j.db", fixture::get().template_bytes());
    write_file(dir / "notes.txt", "not a journal\n");
    fs::create_symlink("j.db", dir / "link.db");
    fs::create_symlink("link.db", dir / "chain.db");
    fs::create_symlink("missing-target.db", dir / "dangling.db");
    fs::create_directory_symlink("sub", dir / "dirlink");
    fs::create_symlink("../j.db", dir / "sub" / "up.db");
    if (::mkfifo((dir / "fifo").c_str(), 0600) != 0)
      die("mkfifo failed");
    if (hard_link)
      fs::create_hard_link(dir / "j.db", dir / "hard.db");
    if (::chdir(dir.c_str()) != 0)
      die("chdir failed");
  }

  static void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream out{p, std::ios::binary | std::ios::trunc};
    out << bytes;
    if (!out)
      die("cannot write", p.string());
  }
};

constexpr const char* targets[] = {
  "j.db",       "link.db",    "chain.db",     "sub/up.db",   "dirlink/../j.db", "./j.db",  ".//j.db",
  "sub/../j.db", "hard.db",   "missing.db",   "dangling.db", "sub",             "dirlink", "fifo",
  "notes.txt",  "sub/new.db", "no/such/dir/x.db", "j.db/",   "/dev/null",       "",
};

constexpr const char* parameters[] = {
  "mode=ro",  "mode=rw",       "mode=rwc",     "mode=memory", "cache=private", "cache=shared",
  "immutable=1", "nolock=1",   "psow=0",       "modeof=j.db", "vfs=unix",      "vfs=actors-checksum",
  "vfs=nope", "mode=",         "=1",           "mode=ro&",    "MODE=RO",       "x=y",
};

/// `s` with some characters percent-encoded, well ("%2F", "%6A") or badly ("%", "%G1", "%00").
std::string encode(FuzzedDataProvider& in, const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (in.remaining_bytes() == 0 || !in.ConsumeBool()) {
      out += c;
      continue;
    }
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: {
        auto u = static_cast<unsigned char>(c);
        out += '%';
        out += hex[u >> 4];
        out += hex[u & 0xf];
        break;
      }
      case 1:
        out += "%";
        out += c;
        break;
      case 2:
        out += "%G1";
        out += c;
        break;
      default:
        out += "%00";
        out += c;
    }
  }
  return out;
}

/// A journal name: a target spelt in one of the forms, perhaps with escapes, parameters and a fragment.
std::string make_name(FuzzedDataProvider& in, const fs::path& dir) {
  auto form = in.ConsumeIntegralInRange<int>(0, 11);
  if (form == 11)
    return in.ConsumeRandomLengthString(300); // the input's own bytes
  if (form == 10)
    return in.ConsumeBool() ? ":memory:" : "file::memory:";
  std::string target = in.PickValueInArray(targets);
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
    target = in.ConsumeRandomLengthString(40);
  auto abs = target.empty() || target[0] == '/' ? target : (dir / target).string();
  std::string name;
  switch (form) {
    case 0: name = target; break;
    case 1: name = abs; break;
    case 2: name = "file:" + encode(in, target); break;
    case 3: name = "file:" + encode(in, abs); break;
    case 4: name = "file://" + encode(in, abs); break;
    case 5: name = "file://localhost" + encode(in, abs); break;
    case 6: name = "file://elsewhere" + encode(in, abs); break;
    case 7: name = "FILE:" + encode(in, target); break;
    case 8: name = "file:" + target; break;
    default: name = "file:" + in.ConsumeRandomLengthString(60); break;
  }
  if (name.rfind("file", 0) == 0 || name.rfind("FILE", 0) == 0) {
    auto n = in.ConsumeIntegralInRange<int>(0, 3);
    for (int i = 0; i < n; ++i) {
      name += i == 0 ? "?" : "&";
      name += in.ConsumeBool() ? std::string{in.PickValueInArray(parameters)} : in.ConsumeRandomLengthString(16);
    }
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0)
      name += "#" + in.ConsumeRandomLengthString(8);
  }
  return name;
}

bool same_file(const std::string& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  workspace ws{in.ConsumeBool()};
  bool writing = in.ConsumeBool();
  auto name = make_name(in, ws.dir);
  name_of_case = name + (writing ? " (writable)" : " (read-only)");
  const auto journal_file = ws.dir / "j.db";
  const auto before_tree = tree(ws.dir);
  const auto before_bytes = bytes_of(journal_file);

  auto where = el::resolve_journal_name(name, "", writing);
  el::journal_options opts;
  opts.path = name;
  opts.read_only = !writing;
  auto j = el::journal::open(opts);

  if (!where && j)
    fail("resolve_journal_name refused the name (" + to_string(where.error()) + ") but open accepted it");
  if (!where && code_of(where.error()) != code_of(j.error()))
    fail("resolve and open refused with different codes: " + to_string(where.error()) + " / " +
         to_string(j.error()));

  bool reaches_journal = where && !where->memory && same_file(where->file, journal_file);
  if (j && reaches_journal) {
    if (ws.hard_link)
      fail("the journal has a second hard link, and an open of it was not refused");
    auto t = (*j)->find_task(root_id);
    if (!t || !*t || (**t).function != "checkout")
      fail("a name that reaches the journal does not read its task");
  }
  if (!j && reaches_journal && ws.hard_link && code_of(j.error()) != static_cast<int>(el::errc::invalid_name))
    fail("a hard-linked journal was refused, but not with invalid_name: " + to_string(j.error()));
  if (where && !where->memory) {
    std::error_code ec;
    auto type = fs::status(where->file, ec).type();
    if (!ec && type != fs::file_type::regular && type != fs::file_type::not_found &&
        (j || code_of(j.error()) != static_cast<int>(el::errc::not_a_database)))
      fail("a name that is not a regular file was not refused as not_a_database");
  }
  const bool opened = static_cast<bool>(j);
  if (j)
    j->reset(); // closes the journal (a writable one checkpoints and removes its -wal and -shm)

  auto after_tree = tree(ws.dir);
  auto after_bytes = bytes_of(journal_file);
  if (!writing || !opened) {
    if (after_tree != before_tree || after_bytes != before_bytes)
      fail(writing ? "a refused open changed the directory" : "a read-only open changed the directory");
  } else {
    for (const auto& [rel, what] : after_tree) {
      auto it = before_tree.find(rel);
      if (it != before_tree.end() && it->second == what)
        continue;
      if (!where->memory && same_file(where->file, ws.dir / rel))
        continue; // the file the writable open created or wrote (under any of its names)
      fail("a writable open left '" + rel + "' (" + what + ")");
    }
    for (const auto& [rel, what] : before_tree)
      if (!after_tree.count(rel)) {
        std::string now;
        for (const auto& [r, w] : after_tree)
          now += "\n    " + r + ": " + w;
        fail("an open removed '" + rel + "' (" + what + "); the directory now:" + now);
      }
    if (after_bytes != before_bytes && !reaches_journal)
      fail("the journal changed though the name did not reach it");
  }
  return 0;
}
