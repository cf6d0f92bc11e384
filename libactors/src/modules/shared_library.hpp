#pragma once
// Internal: one dlopen'ed shared object, dlclose'd when its last owner lets it go.
//
// dlopen hands out one handle per library and counts references, and it finds an already loaded library
// by its path before it looks at the file: a rebuilt file at the same path, opened while the old build is
// still loaded, silently yields the old code. So the loader keeps a process-wide table of the libraries
// it opened and the content hash of the file each came from, and refuses the second open of a path whose
// file no longer has that hash (while the old build is loaded), as well as a library that something other
// than this loader loaded (its code cannot be tied to a hash).
//
// Thread safety: every member may be called from any thread; the last owner may let go on any thread,
// but never from code inside the library itself (dlclose would unmap the code it returns to).

#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace actors::detail {

class shared_library {
public:
  /// Opens the shared object at `path` (absolute) with dlopen(RTLD_NOW | RTLD_LOCAL). `hash` is the
  /// content hash of the file the caller checked; `shown` the path as errors show it (quoted). When this
  /// process already holds the library through an earlier open of the same content, returns that
  /// library (so both share one dlopen reference).
  /// @returns the library, or errc::module_load_failed: dlerror()'s text; "is already loaded from a
  ///          different file" (an earlier build at that path is still held); "is already loaded in this
  ///          process, but not by the module loader".
  [[nodiscard]] static caf::expected<std::shared_ptr<shared_library>>
  open(const std::string& path, const std::string& shown, const std::string& hash);

  /// Closes the library (dlclose). Everything created by its code must be gone by then.
  ~shared_library();

  shared_library(const shared_library&) = delete;
  shared_library& operator=(const shared_library&) = delete;

  /// dlsym: the address of `name` in this library (its own definitions and its dependencies'), or
  /// nullptr.
  void* symbol(const char* name) const noexcept;

  /// The content hash of the file it was opened from.
  const std::string& hash() const noexcept { return hash_; }

  /// Whether the process has the shared object at `path` loaded (dlopen with RTLD_NOLOAD).
  static bool is_loaded(const std::string& path) noexcept;

private:
  shared_library(void* handle, std::string hash) : handle_(handle), hash_(std::move(hash)) {}

  void* handle_;
  std::string hash_;
};

} // namespace actors::detail
