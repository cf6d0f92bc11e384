#include "actors/errc.hpp"

#include "actors/supervision.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "actors/eventlog/errc.hpp"
#include "actors/router_errc.hpp"

namespace actors {

std::string_view to_string(errc x) noexcept {
  switch (x) {
    case errc::unknown_function: return "unknown_function";
    case errc::unknown_version: return "unknown_version";
    case errc::wrong_input_type: return "wrong_input_type";
    case errc::wrong_output_type: return "wrong_output_type";
    case errc::bad_input: return "bad_input";
    case errc::task_failed: return "task_failed";
    case errc::unknown_task: return "unknown_task";
    case errc::bad_task_id: return "bad_task_id";
    case errc::nondeterminism: return "nondeterminism";
    case errc::unhandled_effect: return "unhandled_effect";
    case errc::journal_failure: return "journal_failure";
    case errc::not_resumable: return "not_resumable";
    case errc::engine_stopped: return "engine_stopped";
    case errc::invalid_configuration: return "invalid_configuration";
    case errc::cancelled: return "cancelled";
    case errc::not_running: return "not_running";
    case errc::mailbox_full: return "mailbox_full";
    case errc::unknown_supervisor: return "unknown_supervisor";
    case errc::start_key_conflict: return "start_key_conflict";
    case errc::journal_in_use: return "journal_in_use";
    case errc::module_not_found: return "module_not_found";
    case errc::not_a_module: return "not_a_module";
    case errc::module_load_failed: return "module_load_failed";
    case errc::incompatible_module: return "incompatible_module";
    case errc::invalid_module: return "invalid_module";
    case errc::version_exists: return "version_exists";
    case errc::version_in_use: return "version_in_use";
    case errc::unknown_module: return "unknown_module";
    case errc::module_in_use: return "module_in_use";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string msg) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("actors"),
                    caf::make_message(std::move(msg))};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string code;
  auto cat = err.category();
  if (cat == caf::atom("actors"))
    code = "actors." + std::string{to_string(static_cast<errc>(err.code()))};
  else if (cat == caf::atom("router"))
    code = "router." + std::string{to_string(static_cast<router_errc>(err.code()))};
  else if (cat == caf::atom("journal"))
    code = "journal." + std::string{to_string(static_cast<eventlog::errc>(err.code()))};
  else if (cat == caf::atom("supervisor"))
    code = "supervision." + std::string{to_string(static_cast<supervision::errc>(err.code()))};
  else
    return to_string(err);
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return code + ": " + ctx.get_as<std::string>(0);
  return code;
}

} // namespace actors
