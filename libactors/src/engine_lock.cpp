#include "engine_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "actors/errc.hpp"

namespace actors::detail {

std::string engine_lock::lock_path(const std::string& journal_path) {
  if (journal_path.empty() || journal_path == ":memory:" || journal_path.starts_with("file:"))
    return {};
  return journal_path + "-engine.lock";
}

caf::expected<engine_lock> engine_lock::acquire(const std::string& journal_path, purpose why) {
  auto path = lock_path(journal_path);
  if (path.empty())
    return engine_lock{};
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(errc::journal_failure,
                      "cannot open the engine lock file " + path + " of journal " + journal_path + ": " +
                        std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    std::string owner;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i)
        owner += buf[i];
    }
    ::close(fd);
    if (err != EWOULDBLOCK)
      return make_error(errc::journal_failure,
                        "cannot lock " + path + " of journal " + journal_path + ": " + std::strerror(err));
    auto head = "journal " + journal_path + " is served by another engine" +
                (owner.empty() ? std::string{} : " (process " + owner + ")") + ", which holds " + path;
    if (why == purpose::resume)
      return make_error(errc::journal_in_use,
                        head + ": two engines resuming one journal would run its unfinished tasks "
                               "twice. Stop the other engine first, or set engine_config::resume = "
                               "false in a tool that only reads or replays the journal");
    return make_error(errc::journal_in_use,
                      "this engine cannot start tasks: " + head +
                        ", and two engines starting tasks on one journal would draw the same task "
                        "ids. Start them through the engine that serves the journal");
  }
  // Ours now: record who we are for the next engine's error message.
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; the message of a second engine just cannot name us.
  }
  return engine_lock{fd};
}

engine_lock::engine_lock(engine_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

engine_lock& engine_lock::operator=(engine_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

engine_lock::~engine_lock() {
  if (fd_ >= 0)
    ::close(fd_); // closing the only descriptor of the open file releases the flock
}

} // namespace actors::detail
