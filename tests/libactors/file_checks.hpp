#pragma once
// What a test compares before and after an operation that must leave files alone: a file's bytes and
// a directory's entries.

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace actors::test {

/// The bytes of the file at `path` ("" if it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The names in `dir`.
inline std::set<std::string> listing(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (auto& e : std::filesystem::directory_iterator{dir})
    out.insert(e.path().filename().string());
  return out;
}

} // namespace actors::test
