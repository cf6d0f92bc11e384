#include "actors/serialization.hpp"

#include <boost/core/demangle.hpp>

namespace actors {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// Erases every ", prefix<...>" template argument (default allocators, comparators).
void erase_arguments(std::string& s, std::string_view prefix) {
  for (auto pos = s.find(prefix); pos != std::string::npos; pos = s.find(prefix, pos)) {
    auto i = pos + prefix.size();
    int depth = 1;
    while (i < s.size() && depth > 0) {
      if (s[i] == '<')
        ++depth;
      else if (s[i] == '>')
        --depth;
      ++i;
    }
    s.erase(pos, i - pos);
  }
}

} // namespace

std::string type_name(const std::type_info& t) {
  if (t == typeid(void))
    return "void";
  auto s = boost::core::demangle(t.name());
  replace_all(s, "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
              "std::string");
  replace_all(s, "std::__cxx11::", "std::");
  erase_arguments(s, ", std::allocator<");
  erase_arguments(s, ", std::less<");
  replace_all(s, " >", ">");
  return s;
}

} // namespace actors
