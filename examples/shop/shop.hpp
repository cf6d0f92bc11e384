#pragma once
// The shop's durable functions and the wiring that registers them:
//
//   handleRequest(Request) -> Page
//     ├─ call lookupUser(uid) -> User            ── effect catalog.user
//     └─ call listItems(uid)  -> [Item]          ── effect catalog.items
//
// Each call is a child task (its own CAF actor) with its own journal; each effect is answered by a
// handler that queries the SQLite catalog. lookupUser also has a v2 (logs, then calls v1) and a v3
// (formats names differently), which `shop demo` shadow-tests against v1 on live requests.

#include <cstdint>
#include <memory>
#include <vector>

#include <actors/actors.hpp>

#include "catalog.hpp"
#include "model.hpp"

namespace shop {

actors::task<User> lookup_user(actors::ctx& cx, std::int64_t uid);
actors::task<User> lookup_user_v2(actors::ctx& cx, std::int64_t uid);
actors::task<User> lookup_user_v3(actors::ctx& cx, std::int64_t uid);
actors::task<User> lookup_user_debug(actors::ctx& cx, std::int64_t uid);
actors::task<std::vector<Item>> list_items(actors::ctx& cx, std::int64_t uid);
actors::task<Page> handle_request(actors::ctx& cx, Request req);

/// handleRequest@v1, lookupUser@v1 (default), @v2 and @v3 (shadow candidates), @debug (for replay),
/// listItems@v1.
actors::router make_routes();

/// Live handlers for catalog.user and catalog.items, querying `cat`.
actors::effects make_effects(std::shared_ptr<const catalog> cat);

/// "2026-11-23 18:22:58.981 UTC" for a time in nanoseconds since the Unix epoch.
std::string utc_time(std::int64_t ns);

} // namespace shop
