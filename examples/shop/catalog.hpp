#pragma once
// The shop's catalog: a real SQLite file (users, items, carts) that the effect handlers query.
//
// Effect handlers run concurrently on the engine's worker pool, so `catalog` keeps no connection: each
// query opens its own read-only connection (cheap for SQLite, and nothing to lock). A long-lived shared
// connection guarded by a mutex would work as well.

#include <cstdint>
#include <string>
#include <vector>

#include "model.hpp"

namespace shop {

class catalog {
public:
  explicit catalog(std::string path) : path_(std::move(path)) {}

  /// Creates the file and its tables if missing and fills in the demo users, items and carts.
  /// Idempotent: a second call (or a second run of the program) changes nothing.
  /// Throws std::runtime_error naming the file if it cannot be opened or is not a shop catalog.
  void seed() const;

  /// Number of users in the catalog. Throws std::runtime_error on database errors.
  std::int64_t user_count() const;

  /// The user with id `uid`. Throws std::runtime_error if there is none or the query fails.
  User user(std::int64_t uid) const;

  /// The items in user `uid`'s cart, by item id (empty if the cart is empty).
  std::vector<Item> cart(std::int64_t uid) const;

  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

} // namespace shop
