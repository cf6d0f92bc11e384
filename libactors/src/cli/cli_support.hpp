#pragma once
// Internal: what the command line's subcommands (libactors/src/cli*.cpp) share — the error that means
// "print this line, exit 2", parsers (durations, F=V, task ids, statuses), renderings (times, JSON,
// side-by-side columns) and journal access — and the subcommands that need only the journal.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "actors/router.hpp"
#include "actors/task_id.hpp"
#include "runtime/clock.hpp"
#include "values/input_text.hpp"

namespace actors::cli {

namespace el = eventlog;
using json = nlohmann::ordered_json;

/// A failure the user can fix: printed as one line, exit code 2.
struct usage_problem {
  std::string message;
};

/// The global options.
struct globals {
  std::string journal;
  bool json = false;
};

// --- parsing (cli_support.cpp) -------------------------------------------------------------------
// Every message that shows what the user typed quotes it with quote_input: on one line, at most
// quoted_input_max (200) bytes of it.
using detail::clip_input;
using detail::quote_input;

/// "90s", "15m", "1h30m", "2d", "500ms" -> nanoseconds; "malformed" or "too large" (past int64
/// nanoseconds, 106751d) otherwise.
std::int64_t parse_duration(const std::string& text);
/// The largest `--limit`.
inline constexpr std::size_t max_limit = 1'000'000'000;
/// A `--limit` (`flag` names the option in the error): a decimal count from 0 (no limit) to max_limit;
/// negative, out-of-range and non-decimal text ("0x10", "1e3", "+5") are refused.
std::size_t parse_limit(const std::string& text, const char* flag);
/// A `--percent`: a decimal whole number from 0 to 100, refused like parse_limit's text otherwise
/// ("0x10", "010" read as octal by CLI11's integer parser, "1e1", "50.5").
int parse_percent(const std::string& text, const char* flag);
/// "lookupUser=debug" -> (lookupUser, debug); `flag` names the option in the error.
std::pair<std::string, std::string> parse_assignment(const std::string& text, const char* flag);
task_id parse_task_id(const std::string& text);
el::task_status parse_status(const std::string& text);

// --- rendering -----------------------------------------------------------------------------------
using detail::now_ns; // from clock.hpp
/// "2026-11-23 21:59:57.086" (UTC), or "-".
std::string utc(std::int64_t ns);
/// How long a finished task took, or "-".
std::string took(const el::task_record& t);
json to_json(const el::task_record& t);
json to_json(const el::event& e);
json to_json(const el::divergence_record& d);
/// `j` as JSON text (`indent` -1: one line). Journal strings are bytes — rendered values, names, error
/// texts — and need not be UTF-8: invalid sequences print as U+FFFD instead of making nlohmann::json throw
/// type_error 316 (which escaped engine_main and terminated the tool).
std::string dump(const json& j, int indent = 2);
/// "the output" or "effect #n".
std::string position_text(std::int64_t position);
/// Prints `left` and `right` side by side under the headers.
void side_by_side(std::ostream& os, const std::string& lh, const std::string& left,
                  const std::string& rh, const std::string& right);

// --- the journal ---------------------------------------------------------------------------------
/// Opens an existing journal read-only (usage_problem if it does not exist or cannot be opened).
std::unique_ptr<el::journal> open_journal(const std::string& path);
/// Opens an existing journal for writing (route changes, cancel requests).
std::unique_ptr<el::journal> open_journal_for_writing(const std::string& path);
/// The task `id`, or usage_problem naming it.
el::task_record need_task(el::journal& j, task_id id);

/// The value, or usage_problem with the error.
template <class T>
T need(caf::expected<T> x) {
  if (!x)
    throw usage_problem{describe(x.error())};
  return std::move(*x);
}

// --- subcommands that need only the journal (cli_inspect.cpp) -----------------------------------
int task_list(const globals& g, const std::string& function, const std::string& status,
              const std::string& since, std::size_t limit);
int task_show(const globals& g, const std::string& id_text);
int task_cancel(const globals& g, const std::string& id_text);
int divergences(const globals& g, const std::string& function, std::size_t limit);
/// Prints the event log; with `follow`, keeps polling until SIGINT or SIGTERM.
int log(const globals& g, bool follow, std::size_t limit);
int route_show(const globals& g);
int sup_tree(const globals& g);

/// The options of `route set`.
struct route_change {
  std::string function, version, shadow, candidate, primary, task;
  int percent = -1; ///< -1: no --percent given (parse_percent)
};
/// Checks against `routes` when the binary has application code (else the serving engine does).
int route_set(const globals& g, const router& routes, const route_change& c);
int route_clear(const globals& g, const std::string& function, const std::string& task);

} // namespace actors::cli
