#include "modules/loaded_module.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/message.hpp>

#include "actors/errc.hpp"
#include "actors/serialization.hpp"
#include "modules/file_hash.hpp"
#include "modules/shared_library.hpp"

namespace actors::detail {

struct loaded_module::parts {
  std::shared_ptr<shared_library> library;
  std::unique_ptr<module_builder> contents;
  std::string path;
  std::string name;
  std::string hash;
  module_abi_stamp stamp;
};

loaded_module::loaded_module(parts&& p)
  : library_(std::move(p.library)),
    contents_(std::move(p.contents)),
    path_(std::move(p.path)),
    name_(std::move(p.name)),
    hash_(std::move(p.hash)),
    stamp_(p.stamp) {
}

loaded_module::~loaded_module() {
  contents_.reset(); // the module's invokers and handlers: their code is in the library
  library_.reset();  // then the library (dlclose once no other load of it holds it)
}

std::vector<function_entry> loaded_module::functions() const {
  std::vector<function_entry> out;
  auto self = shared_from_this();
  for (const auto& e : contents_->entries())
    out.push_back(function_entry{e.name, e.version, std::shared_ptr<const function_impl>{self, e.impl.get()}});
  return out;
}

std::shared_ptr<const effect_handler> loaded_module::handler(std::string_view name) const {
  const auto* h = contents_->handlers().find(name);
  if (h == nullptr)
    return nullptr;
  return std::shared_ptr<const effect_handler>{shared_from_this(), h};
}

std::string quoted_path(std::string_view path) {
  std::string out = "'";
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "'";
}

bool is_library_loaded(const std::string& path) noexcept {
  return shared_library::is_loaded(path);
}

namespace {

/// An open file descriptor, closed on scope exit.
struct file_descriptor {
  int fd = -1;
  ~file_descriptor() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// The message an error carries (its context is one string).
std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

/// Checks that `fd` (the file at `shown`) is a regular file holding an ELF shared object.
caf::error check_file(int fd, const std::string& shown, struct stat& st) {
  if (::fstat(fd, &st) != 0)
    return make_error(errc::module_not_found,
                      "cannot stat module file " + shown + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return make_error(errc::not_a_module, shown + " is a directory, not a shared object");
  if (!S_ISREG(st.st_mode))
    return make_error(errc::not_a_module, shown + " is not a regular file, so not a shared object");
  unsigned char head[EI_NIDENT + 2] = {};
  auto n = ::pread(fd, head, sizeof head, 0);
  if (n < 0)
    return make_error(errc::module_not_found,
                      "cannot read module file " + shown + ": " + std::strerror(errno));
  if (n == 0)
    return make_error(errc::not_a_module, shown + " is not a shared object: the file is empty");
  if (static_cast<std::size_t>(n) < sizeof head || std::memcmp(head, ELFMAG, SELFMAG) != 0)
    return make_error(errc::not_a_module, shown + " is not a shared object: it has no ELF header");
  // e_type follows e_ident in both ELF classes, in the file's byte order.
  unsigned type = head[EI_DATA] == ELFDATA2MSB ? (head[EI_NIDENT] << 8) | head[EI_NIDENT + 1]
                                               : head[EI_NIDENT] | (head[EI_NIDENT + 1] << 8);
  if (type != ET_DYN) {
    const char* what = type == ET_EXEC ? "an executable" : type == ET_REL ? "an object file"
                     : type == ET_CORE ? "a core dump" : "of an unknown ELF type";
    return make_error(errc::not_a_module,
                      shown + " is an ELF file but not a shared object: it is " + what);
  }
  return {};
}

const char* to_string(module_stdlib x) {
  switch (x) {
    case module_stdlib::libstdcxx: return "libstdc++";
    case module_stdlib::libcxx: return "libc++";
    case module_stdlib::other: break;
  }
  return "an unknown C++ standard library";
}

/// The first field in which the module's stamp differs from ours, said in a few words; empty if none.
std::string stamp_difference(const module_abi_stamp& m, const module_abi_stamp& ours) {
  auto version = [](const module_abi_stamp& s) {
    return std::to_string(s.libactors_major) + "." + std::to_string(s.libactors_minor) + "." +
           std::to_string(s.libactors_patch);
  };
  if (m.libactors_major != ours.libactors_major || m.libactors_minor != ours.libactors_minor ||
      m.libactors_patch != ours.libactors_patch)
    return "built against libactors " + version(m) + ", this is " + version(ours);
  if (m.stdlib != ours.stdlib)
    return std::string{"built with "} + to_string(m.stdlib) + ", this libactors with " +
           to_string(ours.stdlib);
  if (m.cxx11_abi != ours.cxx11_abi)
    return "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(m.cxx11_abi) +
           ", this libactors with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(ours.cxx11_abi);
  struct size_field {
    const char* type;
    std::uint32_t module_abi_stamp::*field;
  };
  static constexpr size_field sizes[] = {
    {"void*", &module_abi_stamp::sizeof_pointer},
    {"std::string", &module_abi_stamp::sizeof_string},
    {"std::function<void()>", &module_abi_stamp::sizeof_function},
    {"std::shared_ptr<int>", &module_abi_stamp::sizeof_shared_ptr},
    {"std::vector<int>", &module_abi_stamp::sizeof_vector},
    {"std::map<int, int>", &module_abi_stamp::sizeof_map},
    {"caf::error", &module_abi_stamp::sizeof_caf_error},
    {"actors::function_entry", &module_abi_stamp::sizeof_function_entry},
    {"actors::effect_handler", &module_abi_stamp::sizeof_effect_handler},
    {"actors::effect_context", &module_abi_stamp::sizeof_effect_context},
    {"actors::module_builder", &module_abi_stamp::sizeof_module_builder},
  };
  for (const auto& s : sizes)
    if (m.*s.field != ours.*s.field)
      return std::string{"sizeof("} + s.type + ") is " + std::to_string(m.*s.field) +
             " in the module, " + std::to_string(ours.*s.field) + " in this libactors";
  if (m != ours)
    return "its ABI stamp differs from this libactors' stamp";
  return {};
}

/// The layout version of another entry point the library exports (a module of another libactors), or
/// 0.
std::uint32_t other_layout(const shared_library& lib) {
  for (std::uint32_t v = 1; v <= 64; ++v) {
    if (v == module_layout_version)
      continue;
    auto symbol = "actors_module_entry_v" + std::to_string(v);
    if (lib.symbol(symbol.c_str()) != nullptr)
      return v;
  }
  return 0;
}

/// Finds and checks the descriptor: entry point, layout, size, name, stamp.
caf::expected<const module_descriptor*> read_descriptor(const shared_library& lib,
                                                        const std::string& shown) {
  void* entry = lib.symbol(module_entry_symbol);
  if (entry == nullptr) {
    if (auto v = other_layout(lib); v != 0)
      return make_error(errc::incompatible_module,
                        "module " + shown + " has the entry point of module layout " +
                          std::to_string(v) + "; this libactors reads layout " +
                          std::to_string(module_layout_version) + " (rebuild it against this libactors)");
    return make_error(errc::not_a_module, std::string{"not a libactors module: no symbol "} +
                                            module_entry_symbol + " in " + shown);
  }
  const module_descriptor* d = reinterpret_cast<module_entry_fn>(entry)();
  if (d == nullptr)
    return make_error(errc::not_a_module,
                      "not a libactors module: " + shown + "'s entry point returned no descriptor");
  if (d->layout_version != module_layout_version || d->size != sizeof(module_descriptor))
    return make_error(errc::incompatible_module,
                      "module " + shown + " has a descriptor of layout " +
                        std::to_string(d->layout_version) + " (" + std::to_string(d->size) +
                        " bytes); this libactors reads layout " + std::to_string(module_layout_version) +
                        " (" + std::to_string(sizeof(module_descriptor)) + " bytes)");
  std::string name = d->name != nullptr ? d->name : "";
  if (auto diff = stamp_difference(d->abi, this_libactors_stamp()); !diff.empty())
    return make_error(errc::incompatible_module,
                      "module " + shown + " (" + name + ") is incompatible: " + diff);
  if (auto err = check_name("module name", name))
    return make_error(errc::invalid_module, "module " + shown + ": " + message_of(err));
  if (d->register_versions == nullptr)
    return make_error(errc::invalid_module,
                      "module " + shown + " (" + name + ") has no registration function");
  return d;
}

/// Runs the registration into a new builder and checks what it registered.
caf::expected<std::unique_ptr<module_builder>> run_registration(const module_descriptor& d,
                                                                const std::string& what) {
  auto builder = std::make_unique<module_builder>();
  std::string thrown;
  try {
    d.register_versions(*builder);
  } catch (const std::exception& e) {
    thrown = e.what(); // copied: the exception's code may be the module's
    if (thrown.empty())
      thrown = "an exception with an empty message";
  } catch (...) {
    thrown = "an exception that is not a std::exception";
  }
  if (!thrown.empty())
    return make_error(errc::invalid_module, what + ": its registration threw: " + thrown);
  if (auto err = builder->validate())
    return make_error(errc::invalid_module, what + ": " + message_of(err));
  if (builder->empty())
    return make_error(errc::invalid_module, what + " registers no function and no effect handler");
  return builder;
}

} // namespace

caf::expected<std::shared_ptr<const loaded_module>> load_module(const std::string& path) {
  if (path.empty())
    return make_error(errc::module_not_found, "the module path is empty");
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (ec)
    return make_error(errc::module_not_found,
                      "cannot resolve module path " + quoted_path(path) + ": " + ec.message());
  auto shown = quoted_path(abs);

  file_descriptor file;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer (fstat then refuses it).
  file.fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file.fd < 0) {
    auto e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return make_error(errc::module_not_found,
                        "module file " + shown + " not found (" + std::strerror(e) + ")");
    return make_error(errc::module_not_found,
                      "cannot open module file " + shown + ": " + std::strerror(e));
  }
  struct stat st {};
  if (auto err = check_file(file.fd, shown, st))
    return err;
  auto hash = sha256_hex(file.fd, shown);
  if (!hash)
    return std::move(hash.error());

  auto lib = shared_library::open(abs, shown, *hash);
  if (!lib)
    return std::move(lib.error());
  // dlopen read the file by path after we hashed it: make sure it is still the same file.
  struct stat now {};
  if (::stat(abs.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino ||
      now.st_size != st.st_size || now.st_mtim.tv_sec != st.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
    return make_error(errc::module_load_failed,
                      "module file " + shown + " was replaced while it was being loaded; load it again");

  auto descriptor = read_descriptor(**lib, shown);
  if (!descriptor)
    return std::move(descriptor.error());
  std::string name = (*descriptor)->name;
  auto contents = run_registration(**descriptor, "module " + shown + " (" + name + ")");
  if (!contents)
    return std::move(contents.error());
  return std::make_shared<const loaded_module>(loaded_module::parts{
    std::move(*lib), std::move(*contents), std::move(abs), std::move(name), std::move(*hash),
    (*descriptor)->abi});
}

namespace {

/// For two different types that print alike, a note saying why they differ; empty otherwise.
std::string type_pair_note(const std::type_info& a, const std::type_info& b) {
  if (type_name(a) != type_name(b))
    return {};
  return " (another type of the same name: a type with internal linkage, in an anonymous namespace, "
         "is never the same as another translation unit's)";
}

} // namespace

caf::error check_against(const router& host, const loaded_module& m) {
  auto what = "module " + quoted_path(m.path()) + " (" + m.name() + ")";
  const auto& entries = m.contents().entries();
  for (std::size_t i = 0; i < entries.size(); ++i) // the module's own versions of one function agree
    for (std::size_t j = 0; j < i; ++j)
      if (entries[j].name == entries[i].name &&
          (!same_type(entries[j].impl->input_type(), entries[i].impl->input_type()) ||
           !same_type(entries[j].impl->output_type(), entries[i].impl->output_type())))
        return make_error(errc::wrong_input_type, what + ": its versions '" + entries[j].version +
                                                    "' and '" + entries[i].version + "' of function '" +
                                                    entries[i].name + "' take or return different types");
  for (const auto& e : entries) {
    if (host.find(e.name, e.version) != nullptr)
      return make_error(errc::version_exists, what + " registers function '" + e.name + "' version '" +
                                                e.version + "', which this program already has");
    for (const auto& v : host.versions(e.name)) {
      const auto& other = *host.find(e.name, v)->impl;
      if (!same_type(e.impl->input_type(), other.input_type()))
        return make_error(errc::wrong_input_type,
                          what + ": function '" + e.name + "' version '" + e.version + "' takes " +
                            type_name(e.impl->input_type()) + ", but its version '" + v + "' takes " +
                            type_name(other.input_type()) +
                            type_pair_note(e.impl->input_type(), other.input_type()));
      if (!same_type(e.impl->output_type(), other.output_type()))
        return make_error(errc::wrong_output_type,
                          what + ": function '" + e.name + "' version '" + e.version + "' returns " +
                            type_name(e.impl->output_type()) + ", but its version '" + v +
                            "' returns " + type_name(other.output_type()) +
                            type_pair_note(e.impl->output_type(), other.output_type()));
    }
  }
  return {};
}

} // namespace actors::detail
