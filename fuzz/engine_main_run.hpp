#pragma once
// Runs actors::engine_main in process on an argument list, the way the CLI fuzz targets
// (fuzz_journal_cli, fuzz_cli_args) drive it: std::cout swallowed, std::cerr captured
// (FUZZ_CLI_VERBOSE=1 shows both).

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <actors/engine_main.hpp>

namespace fuzz {

/// A stream buffer that drops everything.
class null_buffer : public std::streambuf {
protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

/// Swallows std::cout and captures std::cerr for its lifetime.
struct capture_output {
  null_buffer null;
  std::stringstream errors;
  std::streambuf* out = nullptr;
  std::streambuf* err = nullptr;
  bool verbose = std::getenv("FUZZ_CLI_VERBOSE") != nullptr;
  capture_output() {
    if (!verbose)
      out = std::cout.rdbuf(&null);
    err = std::cerr.rdbuf(errors.rdbuf());
  }
  ~capture_output() {
    if (out != nullptr)
      std::cout.rdbuf(out);
    std::cerr.rdbuf(err);
    if (verbose)
      std::cerr << errors.str();
  }
  capture_output(const capture_output&) = delete;
  capture_output& operator=(const capture_output&) = delete;
};

/// What one engine_main run returned and printed on stderr.
struct cli_run {
  int code = -1;
  std::string errors;
  /// engine_main's last-resort catch prints "<program>: internal error: ..." at a line's start; the
  /// words may also appear inside an echoed (fuzzed) argument, which is not a finding.
  bool internal_error(const std::string& program) const {
    auto mark = program + ": internal error:";
    return errors.rfind(mark, 0) == 0 || errors.find("\n" + mark) != std::string::npos;
  }
};

/// engine_main(args) with `routes` and `fx`; args[0] is the program's name.
inline cli_run run_engine_main(std::vector<std::string> args, const actors::router& routes,
                               const actors::effects& fx) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  cli_run r;
  capture_output c;
  r.code = actors::engine_main(static_cast<int>(args.size()), argv.data(), routes, fx);
  r.errors = c.errors.str();
  return r;
}

} // namespace fuzz
