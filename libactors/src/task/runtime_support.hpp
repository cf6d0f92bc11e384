#pragma once
// Helpers the files of task_runtime share (task_runtime.cpp and the *_ops.cpp files beside it): how a
// time stamp and an escaped exception read in journal rows and errors. Internal; pure functions.

#include <cstdint>
#include <ctime>
#include <exception>
#include <string>
#include <time.h>

#include <fmt/format.h>

namespace actors::detail {

/// The message of the exception `ep` holds, or a placeholder for one not derived from std::exception.
inline std::string exception_message(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

/// "2026-11-23T18:22:58.981Z": UTC, milliseconds, independent of the writer's TZ.
inline std::string utc_text(std::int64_t ns) {
  auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  auto ms = static_cast<int>((ns / 1'000'000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

} // namespace actors::detail
