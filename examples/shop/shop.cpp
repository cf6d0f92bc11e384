#include "shop.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include <fmt/format.h>

namespace shop {

// --- task code -----------------------------------------------------------------------------------
// Ordinary-looking coroutines. Everything that touches the world goes through `cx`, so the engine can
// journal it and answer it from the journal when the task is resumed after a crash or replayed.

actors::task<User> lookup_user(actors::ctx& cx, std::int64_t uid) {
  co_await cx.log("looking up user {}", uid);
  auto user = co_await cx.perform<catalog_user>(uid);
  co_return user;
}

// lookupUser v2: adds an audit line, then delegates to v1 (pinned, so routing never sends it back to
// v2). Logs never count and calls are transparent, so in a shadow run v2 matches v1 on every request.
actors::task<User> lookup_user_v2(actors::ctx& cx, std::int64_t uid) {
  co_await cx.log("audit: user {} looked up by {}", uid, to_string(cx.root()));
  auto user = co_await cx.call<User>("lookupUser", uid, actors::version{"v1"});
  co_return user;
}

// lookupUser v3: shows names as "family name, given names" — the same effects, a different output, so
// every shadow run of v3 is a divergence.
actors::task<User> lookup_user_v3(actors::ctx& cx, std::int64_t uid) {
  auto user = co_await cx.perform<catalog_user>(uid);
  if (auto space = user.name.rfind(' '); space != std::string::npos)
    user.name = user.name.substr(space + 1) + ", " + user.name.substr(0, space);
  co_return user;
}

// lookupUser debug: what you swap in for one failing task (`route set lookupUser --task ID --version
// debug`) to see what happens inside, and what a guest fallback would change. It logs every step, and
// instead of failing on an unknown user it returns a guest: replaying a failed request with it shows
// the logs and departs from the recording at the output.
actors::task<User> lookup_user_debug(actors::ctx& cx, std::int64_t uid) {
  co_await cx.log("debug: looking up user {} for request tree {}", uid, to_string(cx.root()));
  std::string failure;
  try {
    auto user = co_await cx.perform<catalog_user>(uid);
    co_await cx.log("debug: catalog.user answered {} <{}>", user.name, user.email);
    co_return user;
  } catch (const actors::effect_error& e) {
    failure = e.what(); // no co_await inside a handler: log below
  }
  co_await cx.log("debug: catalog.user failed ({}); answering with a guest", failure);
  co_return User{uid, "Guest", "guest@shop.example"};
}

actors::task<std::vector<Item>> list_items(actors::ctx& cx, std::int64_t uid) {
  auto items = co_await cx.perform<catalog_items>(uid);
  co_return items;
}

actors::task<Page> handle_request(actors::ctx& cx, Request req) {
  co_await cx.log("GET {} for user {}", req.path, req.user_id);
  auto user = co_await cx.call<User>("lookupUser", req.user_id);
  auto items = co_await cx.call<std::vector<Item>>("listItems", user.id);
  auto now = co_await cx.now(); // journaled: a replayed page shows the time it was first rendered
  co_await cx.log("rendering {} cart line(s) for {}", items.size(), user.name);
  Page page;
  page.path = req.path;
  page.user = std::move(user);
  page.items = std::move(items);
  page.generated_at =
    std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  co_return page;
}

// --- wiring --------------------------------------------------------------------------------------

actors::router make_routes() {
  actors::router routes;
  routes.add("handleRequest", "v1", handle_request)
    .add("lookupUser", "v1", lookup_user) // the first registered version serves by default
    .add("lookupUser", "v2", lookup_user_v2)
    .add("lookupUser", "v3", lookup_user_v3)
    .add("lookupUser", "debug", lookup_user_debug)
    .add("listItems", "v1", list_items);
  return routes;
}

actors::effects make_effects(std::shared_ptr<const catalog> cat) {
  actors::effects fx;
  // Handlers run on the engine's worker pool, concurrently; catalog opens a connection per query.
  fx.handle<catalog_user>([cat](const catalog_user& q) { return cat->user(q.uid); })
    .handle<catalog_items>([cat](const catalog_items& q) { return cat->cart(q.uid); });
  return fx;
}

// --- rendering -----------------------------------------------------------------------------------

namespace {

std::string money(std::int64_t cents) {
  return fmt::format("{}{}.{:02}", cents < 0 ? "-" : "", std::abs(cents) / 100,
                     std::abs(cents) % 100);
}

/// Width of `s` in terminal columns (UTF-8: counts code points, not bytes).
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

} // namespace

std::string utc_time(std::int64_t ns) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:03} UTC", buf, (ns / 1'000'000) % 1000);
}

std::string Page::render() const {
  constexpr std::size_t inner = 62; // columns between the box's borders
  std::string out;
  auto rule = [&](const char* left, const char* right) {
    out += left;
    for (std::size_t i = 0; i < inner; ++i)
      out += "─";
    out += right;
    out += '\n';
  };
  auto line = [&](const std::string& text) {
    out += "│ ";
    out += text;
    auto w = columns(text);
    out += std::string(w < inner - 2 ? inner - 2 - w : 0, ' ');
    out += " │\n";
  };

  rule("┌", "┐");
  line(fmt::format("{:<30}{:>30}", "Shop · " + path, utc_time(generated_at)));
  line(fmt::format("{} <{}>", user.name, user.email));
  rule("├", "┤");
  if (items.empty()) {
    line("(your cart is empty)");
  } else {
    line(fmt::format("{:>4}  {:<32}{:>10}{:>12}", "qty", "item", "price", "subtotal"));
    std::int64_t total = 0;
    for (const auto& it : items) {
      total += it.price_cents * it.qty;
      line(fmt::format("{:>4}  {:<32}{:>10}{:>12}", it.qty, it.title, money(it.price_cents),
                       money(it.price_cents * it.qty)));
    }
    line(fmt::format("{:>60}", "--------"));
    line(fmt::format("{:>48}{:>12}", "total", money(total)));
  }
  rule("└", "┘");
  return out;
}

} // namespace shop
