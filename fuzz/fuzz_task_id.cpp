// fuzz_task_id: actors::task_id::from_string on arbitrary bytes.
//
// Oracle: from_string accepts exactly 1..16 hex digits (either case) whose value is not 0, and then
// yields that value; everything else is errc::bad_task_id. A parsed id prints as 16 lower-case hex digits
// that parse back to the same id (and an upper-case spelling parses to it too).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include <actors/errc.hpp>
#include <actors/task_id.hpp>

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz_task_id: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

/// The reference parser: false when `s` is not a task id.
bool reference(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 16)
    return false;
  std::uint64_t x = 0;
  for (unsigned char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    x = x * 16 + d;
  }
  out = x;
  return x != 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto id = actors::task_id::from_string(in);
  std::uint64_t expected = 0;
  bool valid = reference(in, expected);
  if (!id) {
    if (valid)
      fail("a valid task id was refused", in);
    if (id.error().category() != caf::atom("actors")
        || id.error().code() != static_cast<std::uint8_t>(actors::errc::bad_task_id))
      fail("a refused task id is not errc::bad_task_id", in);
    (void)actors::describe(id.error()); // the message names (a prefix of) the input
    return 0;
  }
  if (!valid)
    fail("an invalid task id was accepted", in);
  if (id->value() != expected)
    fail("parsed value differs from the reference", in);
  if (!*id)
    fail("task id 0 was accepted", in);
  auto text = to_string(*id);
  if (text.size() != 16)
    fail("to_string is not 16 digits", in);
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      fail("to_string printed a character that is not a lower-case hex digit", in);
  auto back = actors::task_id::from_string(text);
  if (!back || *back != *id)
    fail("to_string(id) does not parse back to id", in);
  std::string upper = text;
  for (auto& c : upper)
    if (c >= 'a' && c <= 'f')
      c = static_cast<char>(c - 'a' + 'A');
  auto up = actors::task_id::from_string(upper);
  if (!up || *up != *id)
    fail("the upper-case spelling does not parse to the same id", in);
  if (std::hash<actors::task_id>{}(*id) != std::hash<std::uint64_t>{}(id->value()))
    fail("hash differs from the hash of the value", in);
  return 0;
}
