#pragma once
// The shop's values and effects. Everything that crosses the journal (task inputs and outputs, effect
// requests and results) has a Boost.Serialization `serialize` function and operator==; the journal's
// readable `text` column is rendered from the same `serialize` function.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace shop {

/// A customer, as stored in the catalog's `users` table.
struct User {
  std::int64_t id = 0;
  std::string name;
  std::string email;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & name & email;
  }
  friend bool operator==(const User&, const User&) = default;
};

/// One line of a customer's cart: an item of the `items` table and how many of it.
struct Item {
  std::int64_t id = 0;
  std::string title;
  std::int64_t price_cents = 0;
  std::int64_t qty = 0;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & title & price_cents & qty;
  }
  friend bool operator==(const Item&, const Item&) = default;
};

/// Input of `handleRequest`. It has a constructor on purpose: GCC 12 destroys a temporary *aggregate*
/// with a std::string member twice when it appears inside a co_await expression (see the README).
struct Request {
  std::int64_t user_id = 0;
  std::string path;

  Request() = default;
  Request(std::int64_t uid, std::string p) : user_id(uid), path(std::move(p)) {}

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & user_id & path;
  }
  friend bool operator==(const Request&, const Request&) = default;
};

/// Output of `handleRequest`: what the page shows. `render()` turns it into text; keeping the page
/// structured (rather than a rendered string) keeps its journal entry short and readable.
struct Page {
  std::string path;
  User user;
  std::vector<Item> items;
  std::int64_t generated_at = 0; ///< ns since the Unix epoch, from `co_await cx.now()`.

  /// The page as text (a small box with one line per cart item and a total).
  std::string render() const;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & path & user & items & generated_at;
  }
  friend bool operator==(const Page&, const Page&) = default;
};

// --- user effects --------------------------------------------------------------------------------
// Task code never touches the catalog database itself: it asks for these effects, the engine journals
// the request and the handler's result, and a resumed or replayed task is answered from the journal.
// Task code asks for them as `co_await cx.perform<catalog_user>(uid)`: the effect is built inside
// libactors, the spelling that is safe on every compiler (README, "Compiler notes").

/// effect catalog.user :: uid -> User
struct catalog_user {
  using result_type = User;
  static constexpr const char* name = "catalog.user";
  std::int64_t uid = 0;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & uid;
  }
  friend bool operator==(const catalog_user&, const catalog_user&) = default;
};

/// effect catalog.items :: uid -> [Item] (the user's cart)
struct catalog_items {
  using result_type = std::vector<Item>;
  static constexpr const char* name = "catalog.items";
  std::int64_t uid = 0;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & uid;
  }
  friend bool operator==(const catalog_items&, const catalog_items&) = default;
};

} // namespace shop
