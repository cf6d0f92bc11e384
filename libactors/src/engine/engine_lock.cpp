#include "engine/engine_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <actors/eventlog/journal.hpp>

#include "actors/errc.hpp"

namespace actors::detail {

// This process's descriptors of journal files, one per file, kept open once opened: closing any
// descriptor of a file drops every POSIX (fcntl) lock the process holds on it, and SQLite's connections
// in this process (this engine's, another engine's, a tool's read-only journal) hold such locks on the
// journal file. So a lock is released with LOCK_UN, never by a close; a descriptor is closed only once
// its file has no name left (nlink 0: its journal was deleted). DESIGN-NOTES §23.
struct locked_file {
  dev_t dev = 0;
  ino_t ino = 0;
  int fd = -1;
  bool held = false; ///< an engine of this process holds the flock
};

namespace {

std::mutex files_mx;
std::list<locked_file> files; ///< guarded by files_mx; a list: engine_locks point into it

/// Closes the descriptors of deleted files nobody holds. Under files_mx.
void close_deleted() {
  for (auto i = files.begin(); i != files.end();) {
    struct stat st {};
    if (!i->held && ::fstat(i->fd, &st) == 0 && st.st_nlink == 0) {
      ::close(i->fd);
      i = files.erase(i);
    } else {
      ++i;
    }
  }
}

locked_file* find_file(dev_t dev, ino_t ino) {
  for (auto& f : files)
    if (f.dev == dev && f.ino == ino)
      return &f;
  return nullptr;
}

/// Keeps `fd` (of the file `st` describes) as this process's descriptor of its file. Under files_mx.
locked_file* keep(int fd, const struct stat& st) {
  close_deleted();
  files.push_back(locked_file{st.st_dev, st.st_ino, fd, false});
  return &files.back();
}

/// The pid of the process holding an exclusive flock on (dev, ino), from /proc/locks; "" if not found.
std::string flock_owner(dev_t dev, ino_t ino) {
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(dev), minor(dev),
                static_cast<unsigned long long>(ino));
  auto ino_suffix = ":" + std::to_string(ino);
  std::ifstream in{"/proc/locks"};
  std::string line, by_inode;
  int inode_matches = 0;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::vector<std::string> w;
    for (std::string x; words >> x;)
      w.push_back(x);
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10954286 0 EOF"; waiters have "->" after the number.
    if (w.size() < 6 || w[1] != "FLOCK" || w[3] != "WRITE")
      continue;
    if (w[5] == id)
      return w[4];
    // Some file systems (overlayfs) report another device in stat than in /proc/locks.
    if (w[5].size() > ino_suffix.size() && w[5].ends_with(ino_suffix)) {
      ++inode_matches;
      by_inode = w[4];
    }
  }
  return inode_matches == 1 ? by_inode : std::string{};
}

caf::error in_use(const std::string& journal, const std::string& owner, engine_lock::purpose why) {
  auto head = "journal " + journal + " is served by another engine" +
              (owner.empty() ? std::string{} : " (process " + owner + ")") +
              ", which holds the lock on its file";
  if (why == engine_lock::purpose::resume)
    return make_error(errc::journal_in_use,
                      head + ": two engines resuming one journal would run its unfinished tasks "
                             "twice. Stop the other engine first, or set engine_config::resume = "
                             "false in a tool that only reads or replays the journal");
  return make_error(errc::journal_in_use,
                    "this engine cannot start tasks: " + head +
                      ", and two engines starting tasks on one journal would draw the same task "
                      "ids. Start them through the engine that serves the journal");
}

caf::error failure(const std::string& journal, const std::string& what, int err) {
  return make_error(errc::journal_failure,
                    "cannot lock journal " + journal + ": " + what + ": " + std::strerror(err));
}

} // namespace

caf::expected<engine_lock> engine_lock::acquire(const std::string& journal, const std::string& vfs,
                                                purpose why) {
  auto where = eventlog::resolve_journal_name(journal, vfs, true);
  if (!where)
    return std::move(where.error());
  if (where->memory)
    return engine_lock{};
  const auto& path = where->file;
  std::lock_guard guard{files_mx};
  // The name is looked up again after the flock: a file replaced (or created and removed by a failed
  // open) in between is not the journal, and the lock is taken anew.
  for (int attempt = 0; attempt < 16; ++attempt) {
    struct stat st {};
    std::string created;
    locked_file* file = nullptr;
    if (::stat(path.c_str(), &st) != 0) {
      int err = errno;
      if (err != ENOENT)
        return failure(journal, "cannot look up " + path, err);
      if (where->must_exist)
        return engine_lock{}; // mode=rw: the journal's open reports the missing file
      int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) {
        if (errno == EEXIST)
          continue; // another engine created it just now
        return failure(journal, "cannot create " + path, errno);
      }
      created = path;
      ::fstat(fd, &st);
      file = keep(fd, st);
    } else if (!S_ISREG(st.st_mode)) {
      return engine_lock{}; // a directory or a device: the journal's open reports what it is
    } else if (file = find_file(st.st_dev, st.st_ino); file && file->held) {
      return in_use(journal, std::to_string(::getpid()), why); // another engine of this process
    } else if (!file) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return failure(journal, "cannot open " + path, errno);
      ::fstat(fd, &st);
      if (find_file(st.st_dev, st.st_ino)) {
        keep(fd, st); // replaced in between by a file this process has open: kept, never closed
        continue;
      }
      file = keep(fd, st);
    }
    if (::flock(file->fd, LOCK_EX | LOCK_NB) != 0) {
      auto err = errno;
      if (err != EWOULDBLOCK)
        return failure(journal, "flock on " + path, err);
      return in_use(journal, flock_owner(file->dev, file->ino), why);
    }
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0 || now.st_dev != file->dev || now.st_ino != file->ino) {
      ::flock(file->fd, LOCK_UN);
      continue;
    }
    file->held = true;
    return engine_lock{file, std::move(created)};
  }
  return make_error(errc::journal_failure,
                    "cannot lock journal " + journal + ": the file " + path + " keeps being replaced");
}

void engine_lock::remove_created_journal() {
  if (created_.empty() || file_ == nullptr)
    return;
  std::lock_guard guard{files_mx};
  struct stat st {};
  if (::stat(created_.c_str(), &st) == 0 && st.st_dev == file_->dev && st.st_ino == file_->ino)
    for (auto suffix : {"-wal", "-shm", "-journal", ""})
      ::unlink((created_ + suffix).c_str());
  created_.clear();
}

void engine_lock::release() noexcept {
  if (file_ == nullptr)
    return;
  std::lock_guard guard{files_mx};
  ::flock(file_->fd, LOCK_UN);
  file_->held = false;
  file_ = nullptr;
  close_deleted();
}

engine_lock::engine_lock(engine_lock&& other) noexcept
  : file_(std::exchange(other.file_, nullptr)), created_(std::move(other.created_)) {}

engine_lock& engine_lock::operator=(engine_lock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::exchange(other.file_, nullptr);
    created_ = std::move(other.created_);
  }
  return *this;
}

engine_lock::~engine_lock() {
  release();
}

caf::error journal_claim::claim(bool journal_enabled, const std::string& journal,
                                const std::string& vfs, engine_lock::purpose why) {
  if (claimed_.load(std::memory_order_acquire))
    return {};
  std::lock_guard guard{mx_};
  if (claimed_.load(std::memory_order_relaxed))
    return {};
  if (journal_enabled) {
    auto lock = engine_lock::acquire(journal, vfs, why);
    if (!lock)
      return std::move(lock.error()); // retried at the next start: the other engine may stop
    lock_ = std::move(*lock);
  }
  claimed_.store(true, std::memory_order_release);
  return {};
}

} // namespace actors::detail
