#include "actors/eventlog/errc.hpp"

#include <utility>

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace actors::eventlog {

std::string_view to_string(errc x) noexcept {
  switch (x) {
    case errc::not_a_database:
      return "not_a_database";
    case errc::foreign_database:
      return "foreign_database";
    case errc::newer_schema:
      return "newer_schema";
    case errc::io_error:
      return "io_error";
    case errc::corrupt:
      return "corrupt";
    case errc::closed:
      return "closed";
    case errc::not_found:
      return "not_found";
    case errc::invalid_name:
      return "invalid_name";
    case errc::wrong_thread:
      return "wrong_thread";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string msg) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("journal"), caf::make_message(std::move(msg))};
}

caf::error make_error(errc x) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("journal")};
}

} // namespace actors::eventlog
