#include "actors/task_id.hpp"

#include "actors/errc.hpp"
#include "values/input_text.hpp"

namespace actors {

caf::expected<task_id> task_id::from_string(std::string_view s) {
  auto bad = [&](const char* why) {
    return make_error(errc::bad_task_id,
                      detail::quote_input(s) + " is not a task id: " + why);
  };
  if (s.empty())
    return bad("empty");
  if (s.size() > 16)
    return bad("more than 16 hex digits");
  std::uint64_t x = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return bad("not a hex digit");
    x = (x << 4) | static_cast<std::uint64_t>(d);
  }
  if (x == 0)
    return bad("zero is not a task id");
  return task_id{x};
}

std::string to_string(task_id id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  auto x = id.value();
  for (int i = 15; i >= 0; --i, x >>= 4)
    out[static_cast<std::size_t>(i)] = digits[x & 0xf];
  return out;
}

} // namespace actors
