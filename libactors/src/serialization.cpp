#include "actors/serialization.hpp"

#include <boost/core/demangle.hpp>

namespace actors {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

} // namespace

std::string type_name(const std::type_info& t) {
  if (t == typeid(void))
    return "void";
  auto s = boost::core::demangle(t.name());
  replace_all(s, "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
              "std::string");
  replace_all(s, "std::__cxx11::", "std::");
  return s;
}

} // namespace actors
