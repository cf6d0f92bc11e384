// The command line's shared pieces: parsing, rendering, journal access (see cli_support.hpp).

#include "cli/cli_support.hpp"

#include "runtime/clock.hpp"

#include <ctime>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

namespace actors::cli {

// --- parsing --------------------------------------------------------------------------------------

/// "90s", "15m", "1h30m", "2d", "500ms" -> nanoseconds.
std::int64_t parse_duration(const std::string& text) {
  auto bad = [&] {
    return usage_problem{"malformed duration " + quote_input(text) +
                         ": expected e.g. 500ms, 90s, 15m, 1h30m, 2d"};
  };
  auto too_large = [&] {
    return usage_problem{"duration " + quote_input(text) + " is too large: at most 106751d (292 years)"};
  };
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  if (text.empty())
    throw bad();
  // Checked for syntax first: "99999999999999999999x" is malformed, not too large.
  bool overflow = false;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    std::int64_t n = 0;
    for (; j < text.size() && text[j] >= '0' && text[j] <= '9'; ++j) {
      auto d = text[j] - '0';
      if (n > (max - d) / 10)
        overflow = true;
      else
        n = n * 10 + d;
    }
    if (j == i)
      throw bad();
    std::size_t k = j;
    while (k < text.size() && (text[k] < '0' || text[k] > '9'))
      ++k;
    auto unit = std::string_view{text}.substr(j, k - j);
    std::int64_t scale = 0;
    if (unit == "ms")
      scale = 1'000'000;
    else if (unit == "s")
      scale = 1'000'000'000;
    else if (unit == "m")
      scale = 60LL * 1'000'000'000;
    else if (unit == "h")
      scale = 3600LL * 1'000'000'000;
    else if (unit == "d")
      scale = 86400LL * 1'000'000'000;
    else
      throw bad();
    // "999999999999d" and a long enough chain of parts would overflow int64 nanoseconds.
    if (overflow || n > (max - total) / scale)
      overflow = true;
    else
      total += n * scale;
    i = k;
  }
  if (overflow)
    throw too_large();
  return total;
}

namespace {

/// A decimal whole number from 0 to `max`, or a usage_problem naming `flag`, the text, why, and `range`
/// (what is accepted). Only decimal digits: "-1", "+5", "0x10", "1e3" and " 5" are refused; leading
/// zeros are read as decimal ("010" is 10), never as octal.
std::size_t parse_whole(const std::string& text, const char* flag, std::size_t max, const std::string& range) {
  auto bad = [&](const char* why) {
    return usage_problem{std::string{flag} + " " + quote_input(text) + ": " + why + " (" + range + ")"};
  };
  if (text.empty())
    throw bad("empty");
  if (text[0] == '-')
    throw bad("negative");
  std::size_t n = 0;
  bool large = false;
  for (char c : text) {
    if (c < '0' || c > '9')
      throw bad("not a whole number");
    if (!large)
      n = n * 10 + static_cast<std::size_t>(c - '0');
    large = large || n > max;
  }
  if (large)
    throw bad("too large");
  return n;
}

} // namespace

/// "20" -> 20; 0 means no limit.
std::size_t parse_limit(const std::string& text, const char* flag) {
  return parse_whole(text, flag, max_limit,
                     "a count from 1 to " + std::to_string(max_limit) + ", or 0 for no limit");
}

int parse_percent(const std::string& text, const char* flag) {
  return static_cast<int>(parse_whole(text, flag, 100, "a whole percent from 0 to 100"));
}

/// "lookupUser=debug" -> (lookupUser, debug).
std::pair<std::string, std::string> parse_assignment(const std::string& text, const char* flag) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() ||
      text.find('=', eq + 1) != std::string::npos)
    throw usage_problem{"malformed " + std::string{flag} + " " + quote_input(text) +
                        ": expected FUNCTION=VERSION, e.g. lookupUser=debug"};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

task_id parse_task_id(const std::string& text) {
  auto id = task_id::from_string(text);
  if (!id)
    throw usage_problem{"malformed task id " + quote_input(text) + ": " + describe(id.error())};
  return *id;
}

el::task_status parse_status(const std::string& text) {
  for (auto s : {el::task_status::running, el::task_status::completed, el::task_status::failed,
                 el::task_status::cancelled})
    if (el::to_string(s) == text)
      return s;
  throw usage_problem{"unknown status " + quote_input(text) +
                      ": expected running, completed, failed or cancelled"};
}

// --- rendering ------------------------------------------------------------------------------------

std::string utc(std::int64_t ns) {
  if (ns <= 0)
    return "-";
  auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ns / 1'000'000) % 1000);
}

std::string took(const el::task_record& t) {
  if (t.finished <= 0)
    return "-";
  // In double: the int64 difference overflows for a `created` far below 0 (a damaged row).
  auto ns = static_cast<double>(t.finished) - static_cast<double>(t.created);
  if (ns < 1e6)
    return fmt::format("{:.0f} µs", ns / 1e3);
  if (ns < 1e9)
    return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

json to_json(const el::task_record& t) {
  return json{{"id", to_string(task_id{t.id})},
              {"parent", t.parent == 0 ? json(nullptr) : json(to_string(task_id{t.parent}))},
              {"root", to_string(task_id{t.root})},
              {"function", t.function},
              {"version", t.version},
              {"status", std::string{el::to_string(t.status)}},
              {"route", t.route},
              {"created", t.created},
              {"finished", t.finished}};
}

json to_json(const el::event& e) {
  json out{{"seq", e.seq},
           {"kind", std::string{el::to_string(e.kind)}},
           {"name", e.name},
           {"failed", e.failed},
           {"text", e.text},
           {"ts", e.ts}};
  if (e.ref != 0)
    out["ref"] = to_string(task_id{e.ref});
  return out;
}

json to_json(const el::divergence_record& d) {
  return json{{"task", to_string(task_id{d.task})},
              {"function", d.function},
              {"primary", d.primary_version},
              {"candidate", d.candidate_version},
              {"position", d.position},
              {"what", d.what},
              {"primary_side", d.primary_side},
              {"candidate_side", d.candidate_side},
              {"ts", d.ts}};
}

std::string dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string position_text(std::int64_t position) {
  return position < 0 ? "the output" : "effect #" + std::to_string(position + 1);
}

/// Prints `left` and `right` side by side under the headers, each column at most `w` wide.
void side_by_side(std::ostream& os, const std::string& lh, const std::string& left,
                  const std::string& rh, const std::string& right) {
  auto w = std::max<std::size_t>({lh.size(), std::min<std::size_t>(left.size(), 60), 12});
  auto cut = [&](const std::string& s, std::size_t from) {
    return from < s.size() ? s.substr(from, w) : std::string{};
  };
  os << "  " << fmt::format("{:<{}}", lh, w) << " │ " << rh << '\n';
  for (std::size_t from = 0; from < std::max(left.size(), right.size()); from += w)
    os << "  " << fmt::format("{:<{}}", cut(left, from), w) << " │ " << cut(right, from) << '\n';
}

// --- the journal ----------------------------------------------------------------------------------

namespace {

/// Refuses a journal name that does not lead to an existing file (or memory, if `memory_ok`) with a
/// one-line usage problem naming it: a refused `file:` URI, a missing file, an unreadable directory.
void need_journal_file(const std::string& path, bool writing, bool memory_ok) {
  auto where = el::resolve_journal_name(path, {}, writing);
  if (!where)
    throw usage_problem{"cannot open journal " + quote_input(path) + ": " + describe(where.error())};
  if (where->memory && memory_ok)
    return;
  std::error_code ec;
  auto type = where->memory ? std::filesystem::file_type::not_found
                            : std::filesystem::status(where->file, ec).type();
  if (type == std::filesystem::file_type::not_found)
    throw usage_problem{"journal " + quote_input(path) + " does not exist (give one with --journal PATH)"};
  if (ec)
    throw usage_problem{"cannot open journal " + quote_input(path) + ": " + quote_input(where->file) + ": " +
                        ec.message()};
}

} // namespace

std::unique_ptr<el::journal> open_journal(const std::string& path) {
  need_journal_file(path, false, true);
  el::journal_options opts;
  opts.path = path;
  opts.read_only = true;
  auto j = el::journal::open(opts);
  if (!j)
    throw usage_problem{"cannot open journal " + quote_input(path) + ": " + describe(j.error())};
  return std::move(*j);
}


el::task_record need_task(el::journal& j, task_id id) {
  auto t = need(j.find_task(id.value()));
  if (!t)
    throw usage_problem{"no task " + to_string(id) + " in journal " + quote_input(j.path())};
  return std::move(*t);
}

/// Opens an existing journal for writing (route changes).
std::unique_ptr<el::journal> open_journal_for_writing(const std::string& path) {
  need_journal_file(path, true, false);
  auto j = el::journal::open({.path = path});
  if (!j)
    throw usage_problem{"cannot open journal " + quote_input(path) + ": " + describe(j.error())};
  return std::move(*j);
}

} // namespace actors::cli
