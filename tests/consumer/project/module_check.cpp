// Loads the module the installed package built (ledger_module.cpp) into a running engine, as the README
// shows ("Live versions and modules"): engine::load_module, a call to the module's version (which
// performs an effect the module handles), retire, await_drained, unload_module. Also checks the
// module's descriptor the way the loader reads it (entry point, ABI stamp).
#include <actors/actors.hpp>
#include <actors/module.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include <dlfcn.h>

#include "ledger.hpp"

namespace {

actors::task<std::int64_t> twice_v1(actors::ctx&, std::int64_t x) {
  co_return 2 * x;
}

bool descriptor_matches(const char* path) {
  void* lib = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "consumer: cannot load %s: %s\n", path, ::dlerror());
    return false;
  }
  auto entry = reinterpret_cast<actors::module_entry_fn>(::dlsym(lib, actors::module_entry_symbol));
  const actors::module_descriptor* d = entry != nullptr ? entry() : nullptr;
  bool ok = d != nullptr && d->abi == actors::this_libactors_stamp() && std::string{d->name} == "ledger_v2";
  if (!ok)
    std::fprintf(stderr, "consumer: %s: no entry point or an unexpected descriptor\n", path);
  ::dlclose(lib);
  return ok;
}

} // namespace

int check_module(const char* path) {
  using namespace std::chrono_literals;
  if (!descriptor_matches(path))
    return 1;
  actors::router routes;
  routes.add("twice", "v1", twice_v1);
  actors::engine_config cfg;
  cfg.journal = ":memory:";
  actors::engine eng{cfg, routes, actors::effects{}};
  auto id = eng.load_module(path);
  if (!id) {
    std::fprintf(stderr, "consumer: load_module: %s\n", actors::describe(id.error()).c_str());
    return 1;
  }
  auto started = eng.start("twice", std::int64_t{21}, actors::version{"v2"});
  if (!started) {
    std::fprintf(stderr, "consumer: start twice@v2: %s\n", actors::describe(started.error()).c_str());
    return 1;
  }
  auto r = eng.wait<std::int64_t>(*started);
  if (!r || *r != 42 + 5) { // v2 adds the ledger's answer for "abcde"
    std::fprintf(stderr, "consumer: twice@v2 answered %s\n",
                 r ? std::to_string(*r).c_str() : actors::describe(r.error()).c_str());
    return 1;
  }
  if (auto retired = eng.retire("twice", "v2"); !retired || !eng.await_drained("twice", "v2", 60s)) {
    std::fprintf(stderr, "consumer: twice@v2 did not drain\n");
    return 1;
  }
  if (auto unloaded = eng.unload_module(*id); !unloaded) {
    std::fprintf(stderr, "consumer: unload_module: %s\n", actors::describe(unloaded.error()).c_str());
    return 1;
  }
  std::printf("consumer: module ledger_v2 (libactors %s) loaded, twice@v2(21) = %lld, unloaded\n",
              ACTORS_VERSION_STRING, static_cast<long long>(*r));
  return 0;
}
