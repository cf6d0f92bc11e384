#include "journal_view.hpp"
#include "shop.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <actors/errc.hpp>
#include <actors/task_id.hpp>

namespace shop {

namespace el = actors::eventlog;

namespace {

// --- the call tree, loaded before printing so that columns line up across all of its tasks ---------

struct node {
  el::task_record rec;
  std::vector<el::event> events;
  std::map<std::uint32_t, std::unique_ptr<node>> children; // by seq of the call event that made it
};

caf::expected<std::unique_ptr<node>> load(el::journal& j, std::uint64_t id,
                                          std::set<std::uint64_t>& seen) {
  auto rec = j.find_task(id);
  if (!rec)
    return std::move(rec.error());
  if (!rec->has_value())
    return actors::make_error(actors::errc::unknown_task,
                              "no task " + actors::to_string(actors::task_id{id}) + " in journal " +
                                j.path());
  auto evs = j.events(id);
  if (!evs)
    return std::move(evs.error());
  seen.insert(id);
  auto n = std::make_unique<node>();
  n->rec = std::move(**rec);
  n->events = std::move(*evs);
  for (const auto& ev : n->events) {
    if (ev.kind != el::event_kind::call || ev.ref == 0 || seen.count(ev.ref) != 0)
      continue;
    auto child = load(j, ev.ref, seen);
    if (!child)
      return std::move(child.error());
    n->children.emplace(ev.seq, std::move(*child));
  }
  return n;
}

// --- formatting helpers --------------------------------------------------------------------------

/// Width of `s` in terminal columns (UTF-8: counts code points, not bytes).
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad(std::string s, std::size_t w) {
  auto c = columns(s);
  if (c < w)
    s.append(w - c, ' ');
  return s;
}

std::string pad_left(std::string s, std::size_t w) {
  auto c = columns(s);
  return c < w ? std::string(w - c, ' ') + s : s;
}

std::string since_start(std::int64_t ns) {
  return fmt::format("+{:.3f} ms", static_cast<double>(ns) / 1e6);
}

std::string duration(std::int64_t ns) {
  if (ns < 1'000'000)
    return fmt::format("{:.0f} µs", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000)
    return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

/// Splits `s` into lines of at most `w` columns, preferring to break after a space. w == 0: no wrap.
std::vector<std::string> wrap(const std::string& s, std::size_t w) {
  std::vector<std::string> out;
  if (w == 0 || columns(s) <= w) {
    out.push_back(s);
    return out;
  }
  std::string rest = s;
  while (columns(rest) > w) {
    // byte offset of the w-th column
    std::size_t cut = 0, cols = 0;
    while (cut < rest.size() && cols < w) {
      ++cut;
      while (cut < rest.size() && (static_cast<unsigned char>(rest[cut]) & 0xC0) == 0x80)
        ++cut;
      ++cols;
    }
    auto space = rest.rfind(' ', cut);
    if (space != std::string::npos && space > cut / 2)
      cut = space + 1;
    out.push_back(rest.substr(0, cut));
    rest.erase(0, cut);
  }
  if (!rest.empty())
    out.push_back(rest);
  return out;
}

// --- the printer ---------------------------------------------------------------------------------

class printer {
public:
  printer(std::ostream& os, const view_options& opts) : os_(os), opts_(opts) {}

  void measure(const node& n) {
    for (const auto& ev : n.events) {
      seq_w_ = std::max(seq_w_, std::to_string(ev.seq).size());
      kind_w_ = std::max(kind_w_, columns(kind_label(ev)));
      name_w_ = std::max(name_w_, columns(ev.name));
      time_w_ = std::max(time_w_, columns(since_start(ev.ts - n.rec.created)));
    }
    for (const auto& [seq, child] : n.children)
      measure(*child);
  }

  void print(const node& root) {
    measure(root);
    // column titles, aligned with the rows of the root task
    std::string titles = "  " + pad_left("seq", seq_w_) + "  " + pad_left("time", time_w_) + "  " +
                         pad("kind", kind_w_) + "  " + pad("name", name_w_) + "  text";
    print_task(root, "");
    os_ << paint(dim, titles) << '\n';
    print_events(root, "");
  }

private:
  static constexpr const char* bold = "1";
  static constexpr const char* dim = "2";
  static constexpr const char* red = "31";
  static constexpr const char* green = "32";
  static constexpr const char* yellow = "33";
  static constexpr const char* blue = "34";
  static constexpr const char* magenta = "35";
  static constexpr const char* cyan = "36";

  std::string paint(const char* sgr, const std::string& s) const {
    if (!opts_.color || sgr == nullptr || s.empty())
      return s;
    return fmt::format("\x1b[{}m{}\x1b[0m", sgr, s);
  }

  static std::string kind_label(const el::event& ev) {
    std::string k{el::to_string(ev.kind)};
    if (ev.failed && ev.kind != el::event_kind::failed)
      k += " ✗";
    return k;
  }

  const char* kind_color(const el::event& ev) const {
    if (ev.failed)
      return red;
    switch (ev.kind) {
      case el::event_kind::started: return blue;
      case el::event_kind::call: return cyan;
      case el::event_kind::effect: return magenta;
      case el::event_kind::now:
      case el::event_kind::random: return yellow;
      case el::event_kind::completed: return green;
      case el::event_kind::failed: return red;
      default: return dim;
    }
  }

  const char* status_color(el::task_status s) const {
    switch (s) {
      case el::task_status::completed: return green;
      case el::task_status::running: return yellow;
      default: return red;
    }
  }

  void print_task(const node& n, const std::string& prefix) {
    const auto& r = n.rec;
    std::string when = utc_time(r.created);
    if (r.finished != 0)
      when += ", took " + duration(r.finished - r.created);
    os_ << prefix << paint(bold, "task " + actors::to_string(actors::task_id{r.id})) << "  "
        << paint(bold, r.function + "@" + r.version) << "  "
        << paint(status_color(r.status), std::string{el::to_string(r.status)}) << "  "
        << paint(dim, when) << '\n';
  }

  void print_events(const node& n, const std::string& prefix) {
    for (const auto& ev : n.events) {
      std::string left = "  " + paint(dim, pad_left(std::to_string(ev.seq), seq_w_)) + "  " +
                         paint(dim, pad_left(since_start(ev.ts - n.rec.created), time_w_)) + "  " +
                         paint(kind_color(ev), pad(kind_label(ev), kind_w_)) + "  " +
                         pad(ev.name, name_w_) + "  ";
      std::size_t left_w = 2 + seq_w_ + 2 + time_w_ + 2 + kind_w_ + 2 + name_w_ + 2;
      std::size_t text_w = 0;
      if (opts_.width != 0) {
        auto used = columns(prefix) + left_w;
        text_w = opts_.width > used + 24 ? opts_.width - used : 24;
      }
      auto lines = wrap(ev.text, text_w);
      const char* text_color = ev.failed || ev.kind == el::event_kind::failed ? red
                               : ev.kind == el::event_kind::log               ? dim
                                                                               : nullptr;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        os_ << paint(dim, prefix) << (i == 0 ? left : std::string(left_w, ' '))
            << paint(text_color, lines[i]) << '\n';
      }
      if (auto c = n.children.find(ev.seq); c != n.children.end()) {
        // the called task, indented under its call event (below the event's kind column)
        std::string child_prefix = prefix + std::string(2 + seq_w_ + 2, ' ') + "│ ";
        print_task(*c->second, paint(dim, child_prefix));
        print_events(*c->second, child_prefix);
      }
    }
  }

  std::ostream& os_;
  view_options opts_;
  std::size_t seq_w_ = 3, kind_w_ = 4, name_w_ = 4, time_w_ = 4;
};

} // namespace

view_options terminal_options() {
  view_options o;
  if (isatty(STDOUT_FILENO) == 0)
    return o;
  o.color = std::getenv("NO_COLOR") == nullptr;
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    o.width = ws.ws_col;
  else
    o.width = 100;
  return o;
}

caf::error print_call_tree(el::journal& j, std::uint64_t id, std::ostream& os,
                           const view_options& opts) {
  std::set<std::uint64_t> seen;
  auto root = load(j, id, seen);
  if (!root)
    return std::move(root.error());
  printer{os, opts}.print(**root);
  return {};
}

} // namespace shop
