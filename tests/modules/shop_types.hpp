#pragma once
// Types shared by the test modules and the test program: the same definitions on both sides of the
// shared-object boundary, as a real module shares them with its host through a header.

#include <cstdint>
#include <string>

namespace shop {

struct user {
  std::int64_t id = 0;
  std::string name;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & name;
  }
  friend bool operator==(const user&, const user&) = default;
};

/// effect db.get :: id -> user
struct db_get {
  using result_type = user;
  static constexpr const char* name = "db.get";
  std::int64_t id = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id;
  }
};

} // namespace shop
