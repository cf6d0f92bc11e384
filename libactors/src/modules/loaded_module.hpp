#pragma once
// Internal: loading a module (a shared library with an ACTORS_MODULE entry point, <actors/module.hpp>)
// into the running process, as a standalone component the engine builds on (DESIGN §11).
//
// load_module(path) checks the file (exists, is a regular file, is an ELF shared object), hashes it
// (SHA-256), dlopens it (RTLD_NOW | RTLD_LOCAL), finds the entry point, checks the descriptor's ABI stamp
// against this libactors' own, and runs the module's registration into a module_builder it owns. The
// result is a `std::shared_ptr<const loaded_module>`; the library stays loaded exactly as long as some
// reference to it is held:
//   - the loaded_module itself;
//   - every function impl and effect handler obtained from `functions()` / `handler()`: they share
//     ownership of the loaded_module (aliasing shared_ptrs), so a task that holds the version it runs
//     keeps its code mapped.
// When the last one goes, the loaded_module destroys everything the module created (the builder's
// router and effects, holding invokers and std::function targets whose code is in the module) and then
// lets go of the library, which is dlclose'd once no other loaded_module of the same file holds it.
//
// Thread safety: load_module and check_against may be called from any thread concurrently; a
// loaded_module is immutable. The last reference may be dropped on any thread, but never from code that
// belongs to the module (a coroutine frame, a handler): dlclose would unmap the code it returns to.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/module.hpp"

namespace actors::detail {

class shared_library;

/// One load of a module file.
class loaded_module : public std::enable_shared_from_this<loaded_module> {
public:
  struct parts; // what load_module hands the constructor
  explicit loaded_module(parts&& p);
  /// Destroys the module's registrations, then lets go of the library (in that order).
  ~loaded_module();

  loaded_module(const loaded_module&) = delete;
  loaded_module& operator=(const loaded_module&) = delete;

  /// The absolute, lexically normal path it was loaded from.
  const std::string& path() const noexcept { return path_; }
  /// The name given to ACTORS_MODULE.
  const std::string& name() const noexcept { return name_; }
  /// SHA-256 of the file's content at load time, 64 lower-case hex digits.
  const std::string& content_hash() const noexcept { return hash_; }
  /// The ABI stamp the module was built with (equal to this_libactors_stamp()).
  const module_abi_stamp& stamp() const noexcept { return stamp_; }

  /// Everything the registration put in. Its objects belong to this loaded_module: a pointer taken
  /// from it is valid only while a reference to the loaded_module is held.
  const module_builder& contents() const noexcept { return *contents_; }

  /// The registered versions in registration order; each `impl` shares ownership of this module.
  std::vector<function_entry> functions() const;

  /// The handler of effect `name`, sharing ownership of this module, or nullptr.
  std::shared_ptr<const effect_handler> handler(std::string_view name) const;

private:
  std::shared_ptr<shared_library> library_;
  std::unique_ptr<module_builder> contents_;
  std::string path_;
  std::string name_;
  std::string hash_;
  module_abi_stamp stamp_;
};

/// Loads the module at `path` (relative paths are taken from the current directory). Loading the same
/// file again while it is loaded shares the library (one dlopen reference) and runs the registration
/// again into a builder of its own. Every error message names the path and says what is wrong in one
/// line:
///   - errc::module_not_found: the path is empty, or the file does not exist or cannot be opened or read
///     (the errno text);
///   - errc::not_a_module: a directory or other non-regular file, a file that is not an ELF shared object
///     (a text file, an executable, an object file), or a shared object without the entry point ("not a
///     libactors module: no symbol actors_module_entry_v1 in '/x/plain.so'");
///   - errc::module_load_failed: dlopen failed (dlerror's text, e.g. an undefined symbol), an earlier
///     build of the same path is still loaded, the library was loaded by other means, or the file was
///     replaced while it was being loaded;
///   - errc::incompatible_module: the descriptor's layout, or a field of its ABI stamp, differs from
///     this libactors' ("built against libactors 0.99.0, this is 0.1.0");
///   - errc::invalid_module: the registration threw (its what()), registered nothing, or registered an
///     invalid name (check_name's message), a duplicate version or one effect name for two types.
[[nodiscard]] caf::expected<std::shared_ptr<const loaded_module>> load_module(const std::string& path);

/// What a program checks before it adds a module's versions to its function table `host`.
/// @returns an empty error, or the first problem: errc::version_exists (a version the module registers
///          is already in `host`), errc::wrong_input_type / errc::wrong_output_type (a version takes or
///          returns another type than a version of the same function in `host`, compared with
///          same_type), also between two versions of one function in the module. Each message names
///          the module's path, the function and both versions. The engine's function table runs it
///          against its versions when a module loads.
[[nodiscard]] caf::error check_against(const router& host, const loaded_module& m);

/// Whether the shared object at `path` is loaded in this process (dlopen RTLD_NOLOAD); tests use it to
/// check that a module was unloaded.
bool is_library_loaded(const std::string& path) noexcept;

/// `path` in single quotes for an error message, control characters and quotes escaped, never cut.
std::string quoted_path(std::string_view path);

} // namespace actors::detail
