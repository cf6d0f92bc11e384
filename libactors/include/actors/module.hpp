#pragma once
// actors::module_builder and ACTORS_MODULE — how a shared library (a *module*) brings versions of
// functions and effect handlers into a program that is already running (DESIGN §11).
//
// A module is a shared library built against the installed libactors (`find_package(libactors)`, then
// `actors_add_module(shop_v2 shop_v2.cpp)`, which builds a MODULE library with the flags below) with
// exactly one entry point, written by the macro:
//
//   #include <actors/module.hpp>
//   ACTORS_MODULE(shop_v2) {
//     m.add("lookupUser", "v2", lookup_user_v2);                        // as actors::router::add
//     m.handle<db_get>([](const db_get& q) { return row{q.id, "ada"}; });  // as actors::effects::handle
//   }
//
// The macro defines one `extern "C"` function, `actors_module_entry_v1` (the suffix is the layout
// version of the descriptor it returns, module_layout_version), that returns the module's descriptor:
// its name, an ABI stamp of the build (module_abi_stamp) and the registration function — the body that
// follows the macro, whose parameter is `m`. The loading program checks the stamp before it calls
// anything else in the module, then runs the registration into a module_builder it owns.
//
// Rules for module code:
// - Register only: the registration function may run more than once per load of the library (once per
//   load_module of it) and must not start threads, keep the builder, or touch global state. It may throw
//   (the load fails, naming the exception).
// - Everything a module registers (invokers, handlers, their captured state) is destroyed by the
//   loading program before it unloads the library; nothing else of the module may outlive it (no
//   threads, no callbacks handed elsewhere, no logger sinks, no static objects registered with a
//   library outside the module).
// - Build with -fno-gnu-unique under g++ (actors_add_module does): otherwise a static in an inline
//   function or template (Boost.Serialization's singletons, for one) makes the library impossible to
//   unload (STB_GNU_UNIQUE symbols mark it NODELETE), and a fixed build could never replace it.
// - Types that cross between a module and the program (inputs, outputs, effects) are compared by their
//   mangled name (same_type), as libstdc++ does: share their definitions through a header, and keep
//   them out of anonymous namespaces.
//
// Thread safety: a module_builder is filled by one thread (the one running the registration); its
// const members may then be called concurrently. same_type is thread-safe.

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include <caf/error.hpp>

#include "actors/detail/invoker.hpp"
#include "actors/effects.hpp"
#include "actors/router.hpp"
#include "actors/task_id.hpp"
#include "actors/version.hpp"

/// The layout of module_descriptor and module_abi_stamp. Bumped whenever either changes; it is part of
/// the entry point's name, so a module of another layout is told apart without reading its descriptor.
#define ACTORS_MODULE_LAYOUT_VERSION 1

#define ACTORS_DETAIL_MODULE_CAT2(a, b) a##b
#define ACTORS_DETAIL_MODULE_CAT(a, b) ACTORS_DETAIL_MODULE_CAT2(a, b)
#define ACTORS_DETAIL_MODULE_STR2(a) #a
#define ACTORS_DETAIL_MODULE_STR(a) ACTORS_DETAIL_MODULE_STR2(a)
/// The entry point's identifier: actors_module_entry_v1.
#define ACTORS_MODULE_ENTRY ACTORS_DETAIL_MODULE_CAT(actors_module_entry_v, ACTORS_MODULE_LAYOUT_VERSION)

namespace actors {

class module_builder;

/// See ACTORS_MODULE_LAYOUT_VERSION.
inline constexpr std::uint32_t module_layout_version = ACTORS_MODULE_LAYOUT_VERSION;

/// The name of the entry point a module exports, "actors_module_entry_v1".
inline constexpr const char* module_entry_symbol = ACTORS_DETAIL_MODULE_STR(ACTORS_MODULE_ENTRY);

/// Which C++ standard library a build used (module_abi_stamp::stdlib).
enum class module_stdlib : std::uint32_t {
  other = 0,
  libstdcxx = 1, ///< GNU libstdc++ (g++, and clang++ by default on Debian)
  libcxx = 2,    ///< LLVM libc++ (clang++ -stdlib=libc++)
};

/// What a module was built with, compared field by field with the loading libactors' own stamp: a
/// module is loaded only if every field is equal (the compiler may differ: g++ and clang++ share the
/// Itanium ABI and libstdc++). The sizes catch a layout-changing flag such as _GLIBCXX_DEBUG or a
/// different libactors header.
struct module_abi_stamp {
  std::uint32_t libactors_major; ///< ACTORS_VERSION_MAJOR (<actors/version.hpp>)
  std::uint32_t libactors_minor; ///< ACTORS_VERSION_MINOR
  std::uint32_t libactors_patch; ///< ACTORS_VERSION_PATCH
  module_stdlib stdlib;
  std::int32_t cxx11_abi;        ///< _GLIBCXX_USE_CXX11_ABI (0 or 1); -1 when not libstdc++
  std::uint32_t sizeof_pointer;
  std::uint32_t sizeof_string;         ///< std::string
  std::uint32_t sizeof_function;       ///< std::function<void()>
  std::uint32_t sizeof_shared_ptr;     ///< std::shared_ptr<int>
  std::uint32_t sizeof_vector;         ///< std::vector<int>
  std::uint32_t sizeof_map;            ///< std::map<int, int>
  std::uint32_t sizeof_caf_error;      ///< caf::error
  std::uint32_t sizeof_function_entry; ///< actors::function_entry
  std::uint32_t sizeof_effect_handler; ///< actors::effect_handler
  std::uint32_t sizeof_effect_context; ///< actors::effect_context
  std::uint32_t sizeof_module_builder; ///< actors::module_builder

  friend bool operator==(const module_abi_stamp&, const module_abi_stamp&) = default;
};

/// What a module's entry point returns. Layout version ACTORS_MODULE_LAYOUT_VERSION.
struct module_descriptor {
  std::uint32_t layout_version; ///< ACTORS_MODULE_LAYOUT_VERSION; read before any other field
  std::uint32_t size;           ///< sizeof(module_descriptor) in the module's build
  const char* name;             ///< The module's name, the ACTORS_MODULE argument
  module_abi_stamp abi;
  void (*register_versions)(module_builder&); ///< The body after ACTORS_MODULE; may throw
};

/// The signature of the entry point.
using module_entry_fn = const module_descriptor* (*)() noexcept;

/// Whether `a` and `b` denote the same type, also when one comes from a module: a module loaded with
/// RTLD_LOCAL has its own `std::type_info` objects, so their addresses differ from the program's. Compares
/// the mangled names, as libstdc++'s operator== does, except that a type involving an anonymous
/// namespace (internal linkage: its mangled name holds "_GLOBAL__N_") equals only itself. g++ marks such
/// names and libstdc++ honours the mark; clang++ does not mark them, so there `==` would equate two
/// translation units' unrelated `(anonymous namespace)::input`. Thread-safe.
inline bool same_type(const std::type_info& a, const std::type_info& b) noexcept {
  if (&a == &b)
    return true;
  if (std::strstr(a.name(), "_GLOBAL__N_") != nullptr)
    return false;
  return std::strcmp(a.name(), b.name()) == 0;
}

/// Collects what one module registers: versions of functions and effect handlers. The loading program
/// owns it and hands it to the module's registration function; the module calls `add` and `handle`.
///
/// Every registration ends in `add_entry` or `add_handler`, which are virtual so that a module's calls
/// run the loading program's code: a module links its own copy of libactors, and this way that copy
/// never writes to the builder's tables. The templates `add` and `handle` only build the type-erased
/// invoker or handler, in the module (that code lives in the module, hence the unload rule above).
///
/// Registration problems do not throw: the first one is kept and reported by `validate()`.
class module_builder {
public:
  module_builder();
  virtual ~module_builder();
  module_builder(const module_builder&) = delete;
  module_builder& operator=(const module_builder&) = delete;

  /// Registers `fn`, a coroutine function `actors::task<Out>(actors::ctx&, In)`, as version `version`
  /// of function `name`. Same checks and meaning as `actors::router::add`. Chainable.
  template <class F>
  module_builder& add(std::string name, std::string version, F fn) {
    return add_entry(std::move(name), std::move(version),
                     detail::invoker_factory<F>::make(std::move(fn)));
  }

  /// Installs `fn` as the handler of effect `E`, as `actors::effects::handle<E>(fn)` does (a later
  /// handler for the same `E` replaces the earlier one). Chainable.
  template <class E, class F>
  module_builder& handle(F fn) {
    return add_handler(E::name, effects::make_handler<E>(std::move(fn)));
  }

  /// Registers an already type-erased function. A name or version that `check_name` refuses (kept as a
  /// router_errc::invalid_name error), a duplicate (name, version) or a null `impl`
  /// (router_errc::invalid_registration) is recorded for `validate()` and the entry is not added.
  virtual module_builder& add_entry(std::string name, std::string version,
                                    std::shared_ptr<const function_impl> impl);

  /// Installs an already type-erased handler under effect name `name`. An effect name that two types
  /// use, an empty name or a null handler is recorded for `validate()` (errc::invalid_configuration)
  /// and the handler is not installed.
  virtual module_builder& add_handler(std::string name, std::shared_ptr<const effect_handler> h);

  /// The first registration problem, or an empty error.
  [[nodiscard]] caf::error validate() const;

  /// Whether nothing was registered (no function and no handler).
  bool empty() const noexcept { return entries_.empty() && effect_names_.empty(); }

  /// The registered versions in registration order. Their `impl` objects belong to this builder (and
  /// their code to the module): they must not outlive it.
  const std::vector<function_entry>& entries() const noexcept { return entries_; }

  /// The same versions as a router (for resolve / find / versions / functions).
  const actors::router& routes() const noexcept { return routes_; }

  /// The installed effect handlers; `handlers().find(name)`.
  const actors::effects& handlers() const noexcept { return effects_; }

  /// The names of the installed effects, in the order of their first installation.
  const std::vector<std::string>& effect_names() const noexcept { return effect_names_; }

private:
  actors::router routes_;
  actors::effects effects_;
  std::vector<function_entry> entries_;
  std::vector<std::string> effect_names_;
  caf::error problem_;
};

namespace detail {

#if defined(_LIBCPP_VERSION)
inline constexpr module_stdlib this_stdlib = module_stdlib::libcxx;
#elif defined(__GLIBCXX__)
inline constexpr module_stdlib this_stdlib = module_stdlib::libstdcxx;
#else
inline constexpr module_stdlib this_stdlib = module_stdlib::other;
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define ACTORS_DETAIL_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define ACTORS_DETAIL_CXX11_ABI -1
#endif

/// The stamp of the translation unit that evaluates it, with the given version and string ABI.
constexpr module_abi_stamp make_module_stamp(std::uint32_t major, std::uint32_t minor,
                                             std::uint32_t patch, std::int32_t cxx11_abi) noexcept {
  return module_abi_stamp{major,
                          minor,
                          patch,
                          this_stdlib,
                          cxx11_abi,
                          sizeof(void*),
                          sizeof(std::string),
                          sizeof(std::function<void()>),
                          sizeof(std::shared_ptr<int>),
                          sizeof(std::vector<int>),
                          sizeof(std::map<int, int>),
                          sizeof(caf::error),
                          sizeof(function_entry),
                          sizeof(effect_handler),
                          sizeof(effect_context),
                          sizeof(module_builder)};
}

} // namespace detail

/// The stamp of the libactors that is running (the one the loading program links). Thread-safe.
module_abi_stamp this_libactors_stamp() noexcept;

} // namespace actors

// For libactors' own tests only: build a module with a wrong stamp (a libactors minor version, or a
// std::string ABI, other than the real one) to check that the loader refuses it.
#if defined(ACTORS_TESTING_MODULE_STAMP_MINOR)
#define ACTORS_DETAIL_MODULE_MINOR ACTORS_TESTING_MODULE_STAMP_MINOR
#else
#define ACTORS_DETAIL_MODULE_MINOR ACTORS_VERSION_MINOR
#endif
#if defined(ACTORS_TESTING_MODULE_STAMP_CXX11_ABI)
#define ACTORS_DETAIL_MODULE_CXX11_ABI ACTORS_TESTING_MODULE_STAMP_CXX11_ABI
#else
#define ACTORS_DETAIL_MODULE_CXX11_ABI ACTORS_DETAIL_CXX11_ABI
#endif

/// Defines the module's entry point; the braced body that follows is its registration function, whose
/// parameter is `m` (an `actors::module_builder&`). Use once per shared library, at namespace scope.
/// `name` is an identifier; it names the module in errors, `module list` and the journal.
#define ACTORS_MODULE(name)                                                                        \
  static void ACTORS_DETAIL_MODULE_CAT(actors_module_register_, name)(                             \
    [[maybe_unused]] ::actors::module_builder & m);                                                \
  extern "C" __attribute__((visibility("default"))) const ::actors::module_descriptor*             \
  ACTORS_MODULE_ENTRY() noexcept {                                                                 \
    static constexpr ::actors::module_descriptor descriptor{                                       \
      ACTORS_MODULE_LAYOUT_VERSION,                                                                \
      sizeof(::actors::module_descriptor),                                                         \
      #name,                                                                                       \
      ::actors::detail::make_module_stamp(ACTORS_VERSION_MAJOR, ACTORS_DETAIL_MODULE_MINOR,        \
                                          ACTORS_VERSION_PATCH, ACTORS_DETAIL_MODULE_CXX11_ABI),   \
      &ACTORS_DETAIL_MODULE_CAT(actors_module_register_, name)};                                   \
    return &descriptor;                                                                            \
  }                                                                                                \
  static void ACTORS_DETAIL_MODULE_CAT(actors_module_register_, name)(                             \
    [[maybe_unused]] ::actors::module_builder & m)
