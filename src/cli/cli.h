// The command-line front end: global options, the command table, output
// helpers shared by the subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include "vfioctl/host/json.h"

#include "vfioctl/host/notes.h"
#include "vfioctl/host/root.h"

namespace vfioctl::cli {

struct GlobalOptions {
  std::string root = "/";
  bool json = false;
  std::string color = "auto";  // auto, always, never
  int verbose = 0;
  int exit_code = 0;  // set by a command that finds problems (exit 1)
};

// Terminal styling; plain text when colour is off.
class Style {
 public:
  explicit Style(bool enabled) : m_enabled(enabled) {}
  std::string bold(const std::string& s) const { return wrap("1", s); }
  std::string red(const std::string& s) const { return wrap("31", s); }
  std::string green(const std::string& s) const { return wrap("32", s); }
  std::string yellow(const std::string& s) const { return wrap("33", s); }
  std::string dim(const std::string& s) const { return wrap("2", s); }

 private:
  std::string wrap(const char* code, const std::string& s) const {
    return m_enabled ? "\033[" + std::string(code) + "m" + s + "\033[0m" : s;
  }
  bool m_enabled;
};

// Whether stdout gets colour under the --color choice.
Style make_style(const GlobalOptions& g);

// Opens --root (exit 2 with a clear message when it is not a host tree).
Root open_root(const GlobalOptions& g);

// On the live host, a command that changes it needs root: exit 3 naming
// `what` ("hook recover --apply") otherwise.
void require_root_user(const Root& root, const std::string& what);

// Prints reader notes to stderr ("vfioctl: note: PATH: message").
void print_notes(const Notes& notes);

// One entry per subcommand: drives registration, help and "did you mean".
struct Command {
  const char* name;
  const char* summary;
  void (*add)(CLI::App& app, GlobalOptions& g);
};

const std::vector<Command>& commands();

// Runs the whole command line; returns the process exit code.
int run(int argc, char** argv);

// Registration functions, one per subcommand file.
void add_list(CLI::App& app, GlobalOptions& g);
void add_topo(CLI::App& app, GlobalOptions& g);
void add_doctor(CLI::App& app, GlobalOptions& g);
void add_new(CLI::App& app, GlobalOptions& g);
void add_lint(CLI::App& app, GlobalOptions& g);
void add_pin(CLI::App& app, GlobalOptions& g);
void add_evdev(CLI::App& app, GlobalOptions& g);
void add_snapshot(CLI::App& app, GlobalOptions& g);
// setup, undo, bind and unbind.
void add_setup(CLI::App& app, GlobalOptions& g);
// The command line as typed, for the setup journal.
void set_command_line(int argc, char** argv);
const std::string& typed_command_line();
// hook install, uninstall, run, status, recover.
void add_hook(CLI::App& app, GlobalOptions& g);
// tune start and stop: the hook's tuning for plain-QEMU guests.
void add_tune(CLI::App& app, GlobalOptions& g);

}  // namespace vfioctl::cli
