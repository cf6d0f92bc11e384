// The module loader (libactors/src/modules/): real shared objects built by this build (CMakeLists.txt
// beside this file), loaded with real dlopen — what is registered, running it, every refusal with a real
// bad file, and unload → reload of a fixed build.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <dlfcn.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <actors/ctx.hpp>
#include <actors/errc.hpp>
#include <actors/module.hpp>

#include "modules/loaded_module.hpp"
#include "shop_types.hpp"

namespace fs = std::filesystem;
using actors::errc;
using actors::detail::check_against;
using actors::detail::is_library_loaded;
using actors::detail::load_module;
using actors::detail::loaded_module;

namespace {

/// A fresh directory under the system temp dir, removed when the object dies.
class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("actors-modules-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  fs::path path_;
};

/// Puts a copy of `from` at `to` the way a deployment replaces a file: written beside it, then renamed
/// over it (never rewritten in place: a loaded library's pages would change under it).
void install(const std::string& from, const std::string& to) {
  auto tmp = to + ".tmp";
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}

/// Sets ACTORS_TEST_MODULE_MODE for misc_module.cpp's registration while it lives.
struct module_mode {
  explicit module_mode(const char* mode) { ::setenv("ACTORS_TEST_MODULE_MODE", mode, 1); }
  ~module_mode() { ::unsetenv("ACTORS_TEST_MODULE_MODE"); }
};

/// Loads `path`, which must succeed.
std::shared_ptr<const loaded_module> must_load(const std::string& path) {
  auto m = load_module(path);
  INFO((m ? std::string{} : actors::describe(m.error())));
  REQUIRE(m);
  return *m;
}

/// Writes an ELF identification of a 64-bit little-endian file of ELF type `type`, then `junk`.
void write_elf_header(const std::string& path, unsigned char type, const std::string& junk) {
  std::string head = "\x7f" "ELF";
  head += '\x02';             // ELFCLASS64
  head += '\x01';             // ELFDATA2LSB
  head += '\x01';             // EV_CURRENT
  head.resize(16, '\0');      // rest of e_ident
  head += static_cast<char>(type);
  head += '\0';
  std::ofstream{path, std::ios::binary} << head << junk;
}

std::string message(const caf::error& err) {
  return actors::describe(err);
}

/// Loads `path` expecting a refusal with `code`; returns its description ("actors.code: message").
std::string refusal(const std::string& path, errc code) {
  auto m = load_module(path);
  REQUIRE_FALSE(m);
  INFO(message(m.error()));
  CHECK(m.error().category() == caf::atom("actors"));
  CHECK(m.error().code() == static_cast<std::uint8_t>(code));
  auto text = message(m.error());
  CHECK(text.find('\n') == std::string::npos); // one line
  return text;
}

actors::task<shop::user> host_lookup_user(actors::ctx&, std::int64_t uid) {
  co_return shop::user{uid, "host"};
}

struct local_input { // as in misc_module.cpp: a type that only this translation unit has
  std::int64_t x = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x;
  }
};

actors::task<std::int64_t> host_anon_type(actors::ctx&, local_input in) {
  co_return in.x;
}

const actors::detail::invoker& invoker_of(const actors::function_entry& e) {
  return dynamic_cast<const actors::detail::invoker&>(*e.impl);
}

} // namespace

TEST_CASE("a module's versions and handlers are there, with their names and types", "[modules]") {
  auto m = must_load(ACTORS_TEST_SHOP_MODULE);
  const auto& mod = *m;
  CHECK(mod.name() == "shop_v2");
  CHECK(mod.path() == fs::absolute(ACTORS_TEST_SHOP_MODULE).lexically_normal().string());
  CHECK(mod.content_hash().size() == 64);
  CHECK(mod.content_hash().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(mod.stamp() == actors::this_libactors_stamp());

  auto fns = mod.functions();
  REQUIRE(fns.size() == 2);
  CHECK(fns[0].name == "lookupUser");
  CHECK(fns[0].version == "v2");
  CHECK(fns[1].name == "greet");
  CHECK(fns[1].version == "v2");
  CHECK(mod.contents().routes().functions() == std::vector<std::string>{"greet", "lookupUser"});
  CHECK(mod.contents().routes().versions("lookupUser") == std::vector<std::string>{"v2"});
  CHECK(mod.contents().effect_names() == std::vector<std::string>{"db.get"});

  // Types cross the boundary by name: the module has its own type_info objects for shop::user.
  const auto& lookup = *fns[0].impl;
  CHECK(actors::same_type(lookup.input_type(), typeid(std::int64_t)));
  CHECK(actors::same_type(lookup.output_type(), typeid(shop::user)));
  CHECK(&lookup.output_type() != &typeid(shop::user));
  CHECK(lookup.output_type() == typeid(shop::user)); // libstdc++'s operator== compares names too
  CHECK_FALSE(actors::same_type(lookup.output_type(), typeid(std::string)));
  CHECK(invoker_of(fns[0]).output_type_name() == "shop::user");
  CHECK(actors::same_type(fns[1].impl->input_type(), typeid(shop::user)));
  CHECK(actors::same_type(fns[1].impl->output_type(), typeid(std::string)));

  auto h = mod.handler("db.get");
  REQUIRE(h);
  REQUIRE(h->type != nullptr);
  CHECK(actors::same_type(*h->type, typeid(shop::db_get)));
  CHECK(mod.handler("db.put") == nullptr);
}

TEST_CASE("a loaded effect handler runs through an effects table", "[modules]") {
  auto m = must_load(ACTORS_TEST_SHOP_MODULE);
  actors::effects fx;
  fx.add("db.get", m->handler("db.get"));
  REQUIRE(!fx.validate());
  const auto* h = fx.find("db.get");
  REQUIRE(h != nullptr);
  auto r = h->run(actors::to_bytes(shop::db_get{7}), actors::effect_context{});
  CHECK(actors::from_bytes<shop::user>(r.bytes) == shop::user{7, "ada"});
  CHECK(r.text == actors::render(shop::user{7, "ada"}));
}

TEST_CASE("a loaded version's invoker runs the module's coroutine", "[modules]") {
  auto m = must_load(ACTORS_TEST_SHOP_MODULE);
  auto fns = m->functions();
  REQUIRE(fns.size() == 2);
  const auto& greet = invoker_of(fns[1]);
  // greet v2 never touches its ctx, so it runs without an engine: resume the root coroutine to its end.
  actors::ctx cx{nullptr};
  auto run = greet.start(cx, actors::to_bytes(shop::user{1, "ada"}));
  REQUIRE(run);
  REQUIRE_FALSE(run->handle().done());
  run->handle().resume();
  REQUIRE(run->handle().done());
  REQUIRE_FALSE(run->error());
  CHECK(actors::from_bytes<std::string>(run->output_bytes()) == "hello ada");
  CHECK(run->output_text() == "\"hello ada\"");
}

TEST_CASE("a module's versions are checked against the program's versions of the same functions",
          "[modules]") {
  actors::router host;
  host.add("lookupUser", "v1", host_lookup_user).add("anonType", "v1", host_anon_type);
  REQUIRE(!host.validate());

  SECTION("same input and output types: accepted") {
    auto m = must_load(ACTORS_TEST_SHOP_MODULE);
    CHECK(!check_against(host, *m));
  }
  SECTION("a version the program has already") {
    host.add("lookupUser", "v2", host_lookup_user);
    auto m = must_load(ACTORS_TEST_SHOP_MODULE);
    auto err = check_against(host, *m);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::version_exists));
    CHECK_THAT(message(err), Catch::Contains("(shop_v2) registers function 'lookupUser' version 'v2', "
                                             "which this program already has"));
  }
  SECTION("another input type") {
    module_mode mode{"wrong_input"};
    auto m = must_load(ACTORS_TEST_MISC_MODULE);
    auto err = check_against(host, *m);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::wrong_input_type));
    CHECK_THAT(message(err), Catch::Contains("function 'lookupUser' version 'v8' takes std::string, but "
                                             "its version 'v1' takes long"));
  }
  SECTION("another output type") {
    module_mode mode{"wrong_output"};
    auto m = must_load(ACTORS_TEST_MISC_MODULE);
    auto err = check_against(host, *m);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::wrong_output_type));
    CHECK_THAT(message(err), Catch::Contains("version 'v9' returns std::string, but its version 'v1' "
                                             "returns shop::user"));
  }
  // g++ marks the type_info name of a type with internal linkage, and libstdc++'s == honours the mark;
  // clang++ does not mark it (there == is true for these two). same_type refuses them with both.
  SECTION("types from anonymous namespaces never match, whatever their spelling") {
    module_mode mode{"anon_type"};
    auto m = must_load(ACTORS_TEST_MISC_MODULE);
    auto err = check_against(host, *m);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::wrong_input_type));
    CHECK_THAT(message(err), Catch::Contains("takes (anonymous namespace)::local_input, but its version "
                                             "'v1' takes (anonymous namespace)::local_input (another "
                                             "type of the same name"));
    const auto& theirs = m->functions()[0].impl->input_type();
    CHECK_FALSE(actors::same_type(theirs, typeid(local_input)));
    CHECK_FALSE(actors::same_type(typeid(local_input), theirs));
    CHECK(actors::same_type(typeid(local_input), typeid(local_input)));
  }
}

TEST_CASE("a bad module file is refused, naming the path and what is wrong", "[modules]") {
  temp_dir dir;
  SECTION("an empty path") {
    CHECK_THAT(refusal("", errc::module_not_found), Catch::Contains("the module path is empty"));
  }
  SECTION("a missing file") {
    auto path = dir.file("missing.so");
    CHECK_THAT(refusal(path, errc::module_not_found),
               Catch::Contains("module file '" + path + "' not found (No such file or directory)"));
  }
  SECTION("a file under a missing directory") {
    auto path = dir.file("nope/missing.so");
    CHECK_THAT(refusal(path, errc::module_not_found), Catch::Contains("'" + path + "' not found"));
  }
  SECTION("a directory") {
    CHECK_THAT(refusal(dir.file(""), errc::not_a_module),
               Catch::Contains("is a directory, not a shared object"));
  }
  SECTION("a FIFO and a device: not regular files (and no wait for a writer)") {
    auto fifo = dir.file("pipe.so");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THAT(refusal(fifo, errc::not_a_module),
               Catch::Contains("'" + fifo + "' is not a regular file, so not a shared object"));
    CHECK_THAT(refusal("/dev/null", errc::not_a_module),
               Catch::Contains("'/dev/null' is not a regular file"));
  }
  SECTION("a text file") {
    auto path = dir.file("notes.so");
    std::ofstream{path} << "this is not a shared object\n";
    CHECK_THAT(refusal(path, errc::not_a_module),
               Catch::Contains("'" + path + "' is not a shared object: it has no ELF header"));
  }
  SECTION("an empty file") {
    auto path = dir.file("empty.so");
    std::ofstream{path};
    CHECK_THAT(refusal(path, errc::not_a_module), Catch::Contains("'" + path + "' is not a shared "
                                                                  "object: the file is empty"));
  }
  SECTION("an object file") {
    auto path = dir.file("object.o");
    write_elf_header(path, 1 /* ET_REL */, std::string(64, '\0'));
    CHECK_THAT(refusal(path, errc::not_a_module),
               Catch::Contains("'" + path + "' is an ELF file but not a shared object: it is an object "
                               "file"));
  }
  SECTION("a damaged shared object: dlopen's own reason") {
    auto path = dir.file("damaged.so");
    write_elf_header(path, 3 /* ET_DYN */, std::string(16, '\xff'));
    CHECK_THAT(refusal(path, errc::module_load_failed), Catch::Contains("cannot load module '" + path + "': "));
  }
  SECTION("a path with a newline is shown escaped") {
    auto path = dir.file("a\nb.so");
    CHECK_THAT(refusal(path, errc::module_not_found), Catch::Contains("a\\nb.so' not found"));
  }
  SECTION("a shared object without the entry point") {
    CHECK_THAT(refusal(ACTORS_TEST_PLAIN_LIBRARY, errc::not_a_module),
               Catch::Contains("not a libactors module: no symbol actors_module_entry_v1 in '" +
                               std::string{ACTORS_TEST_PLAIN_LIBRARY} + "'"));
  }
  SECTION("a module of another descriptor layout") {
    CHECK_THAT(refusal(ACTORS_TEST_OTHER_LAYOUT_MODULE, errc::incompatible_module),
               Catch::Contains("has the entry point of module layout 2; this libactors reads layout 1"));
  }
  SECTION("a module built against another libactors version") {
    auto ours = actors::this_libactors_stamp();
    auto v = [](std::uint32_t a, std::uint32_t b, std::uint32_t c) {
      return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
    };
    CHECK_THAT(refusal(ACTORS_TEST_WRONG_VERSION_MODULE, errc::incompatible_module),
               Catch::Contains("(misc) is incompatible: built against libactors " +
                               v(ours.libactors_major, 99, ours.libactors_patch) + ", this is " +
                               v(ours.libactors_major, ours.libactors_minor, ours.libactors_patch)));
  }
  SECTION("a module built with the other std::string ABI") {
    CHECK_THAT(refusal(ACTORS_TEST_WRONG_ABI_MODULE, errc::incompatible_module),
               Catch::Contains("(misc) is incompatible: built with _GLIBCXX_USE_CXX11_ABI=0, this "
                               "libactors with _GLIBCXX_USE_CXX11_ABI=1"));
  }
}

TEST_CASE("a module whose registration fails is refused", "[modules]") {
  auto prefix = "module '" + std::string{ACTORS_TEST_MISC_MODULE} + "' (misc)";
  auto refused = [&](const char* m) {
    module_mode mode{m};
    return refusal(ACTORS_TEST_MISC_MODULE, errc::invalid_module);
  };
  CHECK_THAT(refused("throw"), Catch::Contains(prefix + ": its registration threw: misc: registration "
                                                        "fails on purpose"));
  CHECK_THAT(refused("throw_other"),
             Catch::Contains(prefix + ": its registration threw: an exception that is not a "
                                      "std::exception"));
  CHECK_THAT(refused("empty"), Catch::Contains(prefix + " registers no function and no effect handler"));
  CHECK_THAT(refused("bad_name"),
             Catch::Contains(prefix + ": function name 'bad\\nname' contains a control character (\\n)"));
  CHECK_THAT(refused("bad_version"),
             Catch::Contains(prefix + ": version name of function 'echo' 'v@1' contains '@'"));
  CHECK_THAT(refused("duplicate"),
             Catch::Contains(prefix + ": function 'echo' version 'v1' registered twice"));
  CHECK_THAT(refused("effect_clash"), Catch::Contains(prefix + ": effect name 'misc.same' is used by two "
                                                               "types"));
  // None of the refusals left the library loaded.
  CHECK_FALSE(is_library_loaded(ACTORS_TEST_MISC_MODULE));
  module_mode ok{"ok"};
  CHECK(must_load(ACTORS_TEST_MISC_MODULE)->functions().size() == 1);
}

TEST_CASE("a module is unloaded when its last reference goes, and a fixed build loads in its place",
          "[modules]") {
  temp_dir dir;
  auto path = dir.file("shop.so");
  install(ACTORS_TEST_SHOP_MODULE, path);
  std::string first_hash;
  {
    auto m = must_load(path);
    first_hash = m->content_hash();
    CHECK(is_library_loaded(path));
    // Versions and handlers handed out keep the module alive after the loaded_module is dropped.
    auto fns = m->functions();
    auto h = m->handler("db.get");
    m.reset();
    CHECK(is_library_loaded(path));
    auto r = h->run(actors::to_bytes(shop::db_get{3}), actors::effect_context{});
    CHECK(actors::from_bytes<shop::user>(r.bytes).name == "ada");
    fns.clear();
    CHECK(is_library_loaded(path));
    h.reset();
  }
  CHECK_FALSE(is_library_loaded(path)); // dlclosed: dlopen(path, RTLD_NOLOAD) finds nothing

  install(ACTORS_TEST_SHOP_FIXED_MODULE, path);
  auto fixed = must_load(path);
  CHECK(fixed->name() == "shop_v2");
  CHECK(fixed->content_hash() != first_hash);
  auto r = fixed->handler("db.get")->run(actors::to_bytes(shop::db_get{3}), actors::effect_context{});
  CHECK(actors::from_bytes<shop::user>(r.bytes) == shop::user{3, "ada (fixed)"});
  actors::ctx cx{nullptr};
  auto fns = fixed->functions();
  auto run = invoker_of(fns[1]).start(cx, actors::to_bytes(shop::user{1, "ada"}));
  run->handle().resume();
  CHECK(actors::from_bytes<std::string>(run->output_bytes()) == "Hello, ada");
  run.reset();
  fns.clear();
  fixed.reset();
  CHECK_FALSE(is_library_loaded(path));
}

TEST_CASE("loading one file twice shares the library until both loads are gone", "[modules]") {
  temp_dir dir;
  auto path = dir.file("shop.so");
  install(ACTORS_TEST_SHOP_MODULE, path);
  auto a = must_load(path);
  auto b = must_load(path);
  CHECK(a != b);
  CHECK(a->content_hash() == b->content_hash());
  a.reset();
  CHECK(is_library_loaded(path));
  CHECK(b->handler("db.get"));
  b.reset();
  CHECK_FALSE(is_library_loaded(path));
}

TEST_CASE("a rebuilt file is refused while the old build at that path is still loaded", "[modules]") {
  temp_dir dir;
  auto path = dir.file("shop.so");
  install(ACTORS_TEST_SHOP_MODULE, path);
  auto old = must_load(path);
  install(ACTORS_TEST_SHOP_FIXED_MODULE, path);
  CHECK_THAT(refusal(path, errc::module_load_failed),
             Catch::Contains("is already loaded from a different file") &&
               Catch::Contains("once every reference to the old one is gone"));
  old.reset();
  auto fixed = must_load(path);
  auto r = fixed->handler("db.get")->run(actors::to_bytes(shop::db_get{1}), actors::effect_context{});
  CHECK(actors::from_bytes<shop::user>(r.bytes).name == "ada (fixed)");
}

TEST_CASE("a module that something else loaded is refused", "[modules]") {
  temp_dir dir;
  auto path = dir.file("shop.so");
  install(ACTORS_TEST_SHOP_MODULE, path);
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(h != nullptr);
  CHECK_THAT(refusal(path, errc::module_load_failed),
             Catch::Contains("is already loaded in this process, but not by the module loader"));
  ::dlclose(h);
  CHECK_FALSE(is_library_loaded(path));
  CHECK(must_load(path)->name() == "shop_v2");
}

TEST_CASE("module_builder keeps the first registration problem with its code", "[modules]") {
  SECTION("an invalid name keeps router's invalid_name") {
    actors::module_builder b;
    b.add("", "v1", host_lookup_user).add("lookupUser", "v1", host_lookup_user);
    auto err = b.validate();
    CHECK(err.category() == caf::atom("router"));
    CHECK(err.code() == static_cast<std::uint8_t>(actors::router_errc::invalid_name));
    CHECK(b.entries().size() == 1); // the bad one was not added
  }
  SECTION("a handler replaces an earlier one for the same effect, names listed once") {
    actors::module_builder b;
    b.handle<shop::db_get>([](const shop::db_get& q) { return shop::user{q.id, "a"}; });
    b.handle<shop::db_get>([](const shop::db_get& q) { return shop::user{q.id, "b"}; });
    CHECK(!b.validate());
    CHECK(b.effect_names() == std::vector<std::string>{"db.get"});
    auto r = b.handlers().find("db.get")->run(actors::to_bytes(shop::db_get{2}), {});
    CHECK(actors::from_bytes<shop::user>(r.bytes).name == "b");
  }
  SECTION("null entries are refused") {
    actors::module_builder b;
    b.add_entry("f", "v1", nullptr);
    CHECK_THAT(message(b.validate()), Catch::Contains("function 'f' version 'v1' has no implementation"));
    actors::module_builder c;
    c.add_handler("e", nullptr);
    CHECK_THAT(message(c.validate()), Catch::Contains("the handler of effect 'e' is empty"));
  }
}

TEST_CASE("this libactors' stamp carries its version and standard library", "[modules]") {
  auto s = actors::this_libactors_stamp();
  CHECK(s.libactors_major == ACTORS_VERSION_MAJOR);
  CHECK(s.libactors_minor == ACTORS_VERSION_MINOR);
  CHECK(s.libactors_patch == ACTORS_VERSION_PATCH);
  CHECK(s.stdlib == actors::module_stdlib::libstdcxx);
  CHECK(s.cxx11_abi == 1);
  CHECK(s.sizeof_string == sizeof(std::string));
  CHECK(std::string{actors::module_entry_symbol} == "actors_module_entry_v1");
}
