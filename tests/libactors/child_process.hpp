#pragma once
// Child processes for tests that drive real binaries: run one to its end, or read one's output line by
// line while it runs and stop it with a signal (SIGKILL for the crash tests).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace actors::test {

/// In a forked child: runs `binary args...` in `dir` with stdout `out` and stderr `err`. Never returns.
[[noreturn]] inline void exec_in(const std::string& dir, const std::string& binary,
                          const std::vector<std::string>& args, int out, int err) {
  if (chdir(dir.c_str()) != 0)
    _exit(127);
  dup2(out, 1);
  dup2(err, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

/// A child process whose stderr (or stdout) the test reads line by line while it runs (`serve`,
/// `log --follow`, a crash child it kills with SIGKILL). Killed and reaped when destroyed.
class child_process {
public:
  enum class stream { err, out };
  child_process(const std::string& dir, const std::string& binary, const std::vector<std::string>& args,
          stream read = stream::err) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(fds[0]);
      int null = open("/dev/null", O_WRONLY);
      if (read == stream::err)
        exec_in(dir, binary, args, null, fds[1]);
      exec_in(dir, binary, args, fds[1], null);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~child_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0)
      close(fd_);
  }

  /// Reads stderr until a line containing `part` arrives (true) or the child closes it or 60 s pass.
  bool wait_for(const std::string& part) {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        seen_ += line + '\n';
        if (line.find(part) != std::string::npos)
          return true;
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 60'000) <= 0)
        return false;
      char chunk[4096];
      auto n = read(fd_, chunk, sizeof chunk);
      if (n <= 0)
        return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends `sig` and waits for the exit code.
  int stop(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// Everything read so far, line by line.
  const std::string& seen() const { return seen_; }
  /// The first line read so far that starts with `prefix`, without it; empty if none.
  pid_t pid() const { return pid_; }

  std::string line_after(const std::string& prefix) const {
    for (std::size_t at = 0; at < seen_.size();) {
      auto nl = seen_.find('\n', at);
      if (seen_.compare(at, prefix.size(), prefix) == 0)
        return seen_.substr(at + prefix.size(), nl - at - prefix.size());
      at = nl + 1;
    }
    return {};
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_, seen_;
};

} // namespace actors::test
