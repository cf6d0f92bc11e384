// Opens the module the installed package built (ledger_module.cpp) with dlopen, as a program's loader
// does, and checks its descriptor: the entry point's name, the ABI stamp against this libactors', and
// what its registration puts into a module_builder.
#include <actors/module.hpp>

#include <cstdio>
#include <string>

#include <dlfcn.h>

#include "ledger.hpp"

int check_module(const char* path) {
  void* lib = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "consumer: cannot load %s: %s\n", path, ::dlerror());
    return 1;
  }
  int status = 1;
  auto entry = reinterpret_cast<actors::module_entry_fn>(::dlsym(lib, actors::module_entry_symbol));
  const actors::module_descriptor* d = entry != nullptr ? entry() : nullptr;
  if (d == nullptr) {
    std::fprintf(stderr, "consumer: %s has no %s\n", path, actors::module_entry_symbol);
  } else if (!(d->abi == actors::this_libactors_stamp()) || std::string{d->name} != "ledger_v2") {
    std::fprintf(stderr, "consumer: %s: unexpected descriptor (name %s)\n", path, d->name);
  } else {
    actors::module_builder b;
    d->register_versions(b);
    const auto* h = b.handlers().find("ledger.fetch");
    if (b.validate() || b.entries().size() != 1 || b.entries()[0].version != "v2" || h == nullptr) {
      std::fprintf(stderr, "consumer: %s registered something unexpected\n", path);
    } else {
      auto r = h->run(actors::to_bytes(fetch_balance{"abc"}), actors::effect_context{});
      status = actors::from_bytes<std::int64_t>(r.bytes) == 3 ? 0 : 1;
      std::printf("consumer: module %s (libactors %s) loaded, its handler answered %s\n", d->name,
                  ACTORS_VERSION_STRING, r.text.c_str());
    }
  } // the builder, holding the module's handler, is gone before dlclose
  ::dlclose(lib);
  return status;
}
