// sessions — a supervised, long-lived shopping-cart session per user. Each cart is a durable task that
// receives commands from its mailbox and saves every item through a journaled effect. A command it
// cannot handle crashes it; its supervisor restarts it, and the restart resumes the task from its
// journal: the items saved before the crash are back (answered from the journal, not saved again), the
// message it crashed on is consumed, and the messages sent meanwhile wait in its mailbox.
//
//   sessions demo [--journal PATH]    the whole story, printed (starts a fresh journal at PATH)
//   sessions sup tree | task ... | log ...    libactors' command line on the journal

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <actors/actors.hpp>

namespace {

using namespace std::chrono_literals;

/// effect store.save :: (user, item) -> how many items the store holds for that user.
struct save_item {
  using result_type = std::int64_t;
  static constexpr const char* name = "store.save";
  std::string user;
  std::string item;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & user & item;
  }
};

// One user's cart: "add ITEM" saves the item, "checkout" ends the session with what was bought;
// anything else is a command it cannot handle, and it crashes.
actors::task<std::string> cart(actors::ctx& cx, std::string user) {
  std::vector<std::string> items;
  for (;;) {
    auto command = co_await cx.receive<std::string>();
    if (command == "checkout")
      co_return fmt::format("{} bought {}", user, fmt::join(items, ", "));
    if (!command.starts_with("add "))
      throw std::runtime_error("cannot handle '" + command + "'");
    auto item = command.substr(4);
    auto held = co_await cx.perform<save_item>(user, item);
    items.push_back(item);
    co_await cx.log("{} has {} item(s)", user, held);
  }
}

actors::router make_routes() {
  actors::router r;
  r.add("cart", "v1", cart);
  return r;
}

/// The store: an in-memory table standing in for a database, counting how often each item was saved.
struct store {
  std::mutex mx;
  std::condition_variable cv;
  std::map<std::string, std::vector<std::string>> items;
  std::map<std::string, int> executions; ///< "user/item" -> handler runs
  int saves = 0;

  actors::effects effects() {
    actors::effects fx;
    fx.handle<save_item>([this](const save_item& s) {
      std::lock_guard guard{mx};
      items[s.user].push_back(s.item);
      ++executions[s.user + "/" + s.item];
      ++saves;
      cv.notify_all();
      return static_cast<std::int64_t>(items[s.user].size());
    });
    return fx;
  }

  void wait_for_saves(int n) {
    std::unique_lock guard{mx};
    cv.wait(guard, [&] { return saves >= n; });
  }
};

int fail(const std::string& msg) {
  std::cerr << "sessions: error: " << msg << '\n';
  return 1;
}

template <class T>
T need(caf::expected<T> x, const char* what) {
  if (!x)
    throw std::runtime_error(std::string{what} + ": " + actors::describe(x.error()));
  return std::move(*x);
}

void need(caf::expected<void> x, const char* what) {
  if (!x)
    throw std::runtime_error(std::string{what} + ": " + actors::describe(x.error()));
}

int demo(const std::string& journal) {
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(journal + suffix);
  store db;
  actors::engine_config cfg;
  cfg.journal = journal;
  cfg.log_level = "warn";
  actors::engine eng{cfg, make_routes(), db.effects()};
  if (auto err = eng.status())
    return fail(actors::describe(err));

  actors::supervisor_spec carts{
    .name = "carts",
    .flags = {.strategy = actors::supervision::strategy::one_for_one, .intensity = 3, .period = 10s}};
  for (auto user : {"alice", "bob"}) {
    auto c = actors::worker(user, "cart", std::string{user});
    c.restart = actors::supervision::restart_type::transient; // a checkout ends it for good
    carts.children.push_back(std::move(c));
  }
  need(eng.supervise(carts), "supervise");
  auto alice = need(eng.supervised_task("carts", "alice"), "alice");
  auto bob = need(eng.supervised_task("carts", "bob"), "bob");
  std::cout << "Supervisor carts started alice as task " << to_string(alice) << " and bob as task "
            << to_string(bob) << "\n\n";

  auto send = [&](actors::task_id to, const std::string& who, std::string command) {
    std::cout << "  -> " << who << ": " << command << '\n';
    need(eng.send(to, command), "send");
  };
  send(alice, "alice", "add apples");
  send(alice, "alice", "add pears");
  send(bob, "bob", "add bread");
  db.wait_for_saves(3);
  std::cout << "\nalice crashes on a command she cannot handle; her next commands wait in her mailbox:\n";
  send(alice, "alice", "explode");
  send(alice, "alice", "add cheese");
  send(alice, "alice", "checkout");
  auto bought = need(eng.wait<std::string>(alice), "alice's session");
  send(bob, "bob", "checkout");
  auto bob_bought = need(eng.wait<std::string>(bob), "bob's session");

  std::cout << "\nWhat the sessions returned:\n  " << bought << "\n  " << bob_bought << "\n";
  std::cout << "\nWhat supervisor carts did:\n";
  for (auto& line : eng.supervision_log("carts"))
    std::cout << "  " << line << '\n';
  std::cout << "\nHow often the store saved each item (the restart answered earlier saves from the "
               "journal):\n";
  {
    std::lock_guard guard{db.mx};
    for (auto& [key, n] : db.executions)
      std::cout << fmt::format("  {:<14} {}\n", key, n);
  }
  std::cout << "\nThe tree (also: sessions --journal " << journal << " sup tree):\n";
  for (auto& r : eng.supervision_tree())
    std::cout << fmt::format("  {:<6} {:<6} {:<10} restarts {}  {}\n", r.supervisor,
                             r.child.empty() ? "-" : r.child, r.state, r.restarts, r.detail);
  need(eng.stop_supervisor("carts"), "stop");
  std::cout << "\nalice's journal: sessions --journal " << journal << " task show " << to_string(alice)
            << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "demo") {
    std::string journal = "sessions.db";
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--journal" && i + 1 < args.size()) {
        journal = args[++i];
      } else {
        std::cerr << "sessions: unknown demo option '" << args[i]
                  << "' (usage: sessions demo [--journal PATH])\n";
        return 2;
      }
    }
    try {
      return demo(journal);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  store db;
  actors::cli_options opts;
  opts.default_journal = "sessions.db";
  opts.description = "supervised shopping-cart sessions (also: sessions demo)";
  return actors::engine_main(argc, argv, make_routes(), db.effects(), opts);
}
