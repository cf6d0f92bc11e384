// fuzz_journal_cli: the command line's journal-only subcommands (task list / show, log, divergences,
// route show, sup tree; text and --json) on a damaged journal (journal_fixture.hpp), in process through
// actors::engine_main. These are what people run on a journal they suspect (`engine task show ...`), so
// they render whatever the rows hold: names, texts and times.
//
// Oracle: engine_main returns (exit code 0, or 2 with one line on stderr); nothing escapes it (an
// exception there terminates the tool) and it reports no "internal error" (an exception caught by a
// last-resort handler), and UBSan finds no undefined behaviour while rendering.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <actors/engine_main.hpp>
#include <actors/task_id.hpp>

#include "engine_main_run.hpp"
#include "journal_fixture.hpp"

namespace {

using namespace fuzz;

std::string id_text(FuzzedDataProvider& in) {
  auto id = in.ConsumeBool() ? in.PickValueInArray(known_ids) : in.ConsumeIntegral<std::uint64_t>();
  if (id == 0)
    return in.ConsumeRandomLengthString(20); // a malformed id: the parser's error path
  return actors::to_string(actors::task_id{id});
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  auto commands = in.ConsumeIntegralInRange<int>(1, 3);
  std::vector<std::vector<std::string>> runs;
  for (int c = 0; c < commands; ++c) {
    std::vector<std::string> args{"fuzz_engine", "--journal", fixture::get().path()};
    if (in.ConsumeBool())
      args.push_back("--json");
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
      case 0:
      case 1:
        args.insert(args.end(), {"task", "show", id_text(in)});
        break;
      case 2:
        args.insert(args.end(), {"task", "list"});
        if (in.ConsumeBool())
          args.insert(args.end(), {"--status", in.PickValueInArray<std::string>(
                                                 {"running", "completed", "failed", "cancelled"})});
        if (in.ConsumeBool())
          args.insert(args.end(), {"--function", in.ConsumeBool() ? std::string{"lookupUser"}
                                                                   : in.ConsumeRandomLengthString(12)});
        if (in.ConsumeBool()) // durations: "90s", "1h30m", and whatever the input spells
          args.insert(args.end(), {"--since", in.ConsumeBool() ? std::string{"1000d"}
                                                                : in.ConsumeRandomLengthString(24)});
        if (in.ConsumeBool())
          args.insert(args.end(), {"--limit", std::to_string(in.ConsumeIntegralInRange<int>(0, 9))});
        break;
      case 3:
        args.insert(args.end(), {"log", "--limit", std::to_string(in.ConsumeIntegralInRange<int>(0, 40))});
        break;
      case 4:
        args.push_back("divergences");
        if (in.ConsumeBool())
          args.push_back("lookupUser");
        break;
      case 5:
        args.insert(args.end(), {"route", "show"});
        break;
      default:
        args.insert(args.end(), {"sup", "tree"});
        break;
    }
    runs.push_back(std::move(args));
  }
  prepare(in);
  static const actors::router routes;
  static const actors::effects fx;
  for (auto& args : runs) {
    auto run = run_engine_main(args, routes, fx);
    auto rc = run.code;
    if (run.internal_error("fuzz_engine")) {
      std::fprintf(stderr, "fuzz_journal_cli: %s", run.errors.c_str());
      std::abort();
    }
    if (rc != 0 && rc != 2) {
      std::fprintf(stderr, "fuzz_journal_cli: %s %s exited %d\n", args[3].c_str(),
                   args.size() > 4 ? args[4].c_str() : "", rc);
      std::abort();
    }
  }
  return 0;
}
