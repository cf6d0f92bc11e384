#include "modules/shared_library.hpp"

#include <map>
#include <mutex>

#include <dlfcn.h>

#include "actors/errc.hpp"

namespace actors::detail {

namespace {

/// The libraries this loader opened, by dlopen handle, with the hash of the file each came from. An
/// entry whose library is expired is being closed: its code is still mapped until that dlclose.
struct library_table {
  struct entry {
    std::weak_ptr<shared_library> library;
    std::string hash;
  };
  std::mutex mtx;
  std::map<void*, entry> entries;
};

library_table& table() {
  // Never destroyed: a library may be let go during static destruction, after a static table would be.
  static auto* t = new library_table;
  return *t;
}

std::string dl_error() {
  const char* e = ::dlerror();
  std::string out = e != nullptr ? e : "unknown dlopen error";
  for (auto& c : out)
    if (c == '\n' || c == '\r')
      c = ' ';
  return out;
}

} // namespace

caf::expected<std::shared_ptr<shared_library>>
shared_library::open(const std::string& path, const std::string& shown, const std::string& hash) {
  auto& t = table();
  std::lock_guard guard{t.mtx};
  void* before = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD); // loaded already? (+1 reference)
  (void)::dlerror();                                              // a "not loaded" is no error here
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  auto err = handle == nullptr ? dl_error() : std::string{};
  if (before != nullptr)
    ::dlclose(before);
  if (handle == nullptr)
    return make_error(errc::module_load_failed, "cannot load module " + shown + ": " + err);
  auto i = t.entries.find(handle);
  if (i == t.entries.end() && before != nullptr) {
    ::dlclose(handle);
    return make_error(errc::module_load_failed,
                      "module " + shown + " is already loaded in this process, but not by the module "
                      "loader (linked in, or opened with dlopen): its code cannot be checked against the "
                      "file");
  }
  if (i != t.entries.end() && i->second.hash != hash) {
    ::dlclose(handle);
    return make_error(errc::module_load_failed,
                      "module " + shown + " is already loaded from a different file (content hash " +
                        i->second.hash.substr(0, 12) + "..., now " + hash.substr(0, 12) +
                        "...): this process can load the new build only once every reference to the "
                        "old one is gone");
  }
  if (i != t.entries.end()) {
    if (auto live = i->second.library.lock()) {
      ::dlclose(handle); // the live library holds its own reference
      return live;
    }
  }
  std::shared_ptr<shared_library> lib{new shared_library(handle, hash)};
  t.entries[handle] = library_table::entry{lib, hash};
  return lib;
}

shared_library::~shared_library() {
  auto& t = table();
  std::lock_guard guard{t.mtx};
  // Another open may have replaced the entry while this library was expiring: leave a live one alone.
  if (auto i = t.entries.find(handle_); i != t.entries.end() && i->second.library.expired())
    t.entries.erase(i);
  ::dlclose(handle_);
}

void* shared_library::symbol(const char* name) const noexcept {
  return ::dlsym(handle_, name);
}

bool shared_library::is_loaded(const std::string& path) noexcept {
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) {
    (void)::dlerror();
    return false;
  }
  ::dlclose(h);
  return true;
}

} // namespace actors::detail
