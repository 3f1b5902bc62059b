#include "cli.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/suggest.h"

namespace vfioctl::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"list", "IOMMU groups and PCI devices, with what can be passed through", add_list},
      {"topo", "CPU topology: packages, L3 domains, cores and SMT siblings, P/E kinds", add_topo},
      {"doctor", "check that this host is ready for passthrough, with the exact fixes", add_doctor},
      {"new", "write a tuned passthrough guest (libvirt XML) from a small spec", add_new},
      {"pin", "pin a plain-QEMU guest's vCPU, iothread and emulator threads", add_pin},
      {"lint", "find mistakes in libvirt domain XMLs, with the fix for each", add_lint},
      {"evdev", "keyboards and mice for evdev passthrough, with libvirt XML and QEMU arguments", add_evdev},
      {"setup", "configure the boot for passthrough (IOMMU, vfio-pci, hugepages); diff first, undoable", add_setup},
      {"undo", "restore the files a 'setup --apply' changed", nullptr},
      {"bind", "move a device's IOMMU group to vfio-pci now", nullptr},
      {"unbind", "give a device's IOMMU group back to its host drivers", nullptr},
      {"hook", "the libvirt hook: tune the host while a guest runs, give it all back after", add_hook},
      {"tune", "tune the host for a plain-QEMU guest while it runs (what the hook does for libvirt)", add_tune},
      {"snapshot", "copy the host facts vfioctl reads into a directory or .tar.gz", add_snapshot},
  };
  return table;
}

Style make_style(const GlobalOptions& g) {
  if (g.color == "always") return Style(true);
  if (g.color == "never") return Style(false);
  return Style(::isatty(1) && std::getenv("NO_COLOR") == nullptr);
}

Root open_root(const GlobalOptions& g) {
  if (g.root == "/") return Root("/");
  return Root::open(g.root);
}

void require_root_user(const Root& root, const std::string& what) {
  if (root.is_live() && ::geteuid() != 0) throw Error(ExitCode::refused, what + ": run it as root (sudo)");
}

void print_notes(const Notes& notes) {
  for (const auto& n : notes) std::cerr << "vfioctl: note: " << n.path << ": " << n.message << "\n";
}

namespace {

// "lsit" -> "list": the closest command within two edits.
std::string suggest(const std::string& word) {
  Nearest n(word, Nearness{});
  for (const auto& c : commands()) n.offer(c.name);
  return n.best();
}

std::string usage_footer() {
  std::string s = "\nCommands:\n";
  for (const auto& c : commands())
    s += "  " + std::string(c.name) + std::string(12 - std::string(c.name).size(), ' ') + c.summary + "\n";
  s += "\nRun 'vfioctl COMMAND --help' for a command's options.\n"
       "Exit codes: 0 ok, 1 check found errors, 2 bad usage or input, 3 system refused.\n";
  return s;
}

}  // namespace

int run(int argc, char** argv) {
  GlobalOptions g;
  CLI::App app{
      "vfioctl: prepare a Linux KVM host for PCI (GPU) passthrough and build tuned guests.\n"
      "Reads host facts from sysfs/procfs (or a snapshot with --root), plans, and explains.",
      "vfioctl"};
  app.set_version_flag("--version", "vfioctl 0.1.0");
  app.fallthrough();
  app.add_option("--root", g.root, "read every host fact from DIR instead of / (a snapshot or test fixture)")
      ->type_name("DIR");
  app.add_flag("--json", g.json, "print data as JSON (schemas in docs/json.md)");
  app.add_option("--color", g.color, "colour output: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("-v,--verbose", g.verbose, "more detail (repeatable)");
  app.require_subcommand(0, 1);
  app.footer(usage_footer());
  for (const auto& c : commands()) {
    if (c.add) c.add(app, g);  // null: registered by the entry before it
  }
  set_command_line(argc, argv);

  if (argc <= 1) {
    std::cout << app.help();
    return 0;
  }
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // The most common extra is a mistyped command name.
    std::string first = app.remaining().empty() ? "" : app.remaining().front();
    if (app.get_subcommands().empty() && !first.empty() && first[0] != '-') {
      std::string hint = suggest(first);
      std::cerr << "vfioctl: error: unknown command '" << first << "'"
                << (hint.empty() ? "" : "; did you mean '" + hint + "'?") << "\n"
                << "Run 'vfioctl --help' for the list of commands.\n";
    } else {
      std::cerr << "vfioctl: error: " << e.what() << "\nRun 'vfioctl --help' for usage.\n";
    }
    return static_cast<int>(ExitCode::bad_input);
  } catch (const CLI::ParseError& e) {
    std::cerr << "vfioctl: error: " << e.what() << "\nRun 'vfioctl "
              << (app.get_subcommands().empty() ? "" : app.get_subcommands().front()->get_name() + " ")
              << "--help' for usage.\n";
    return static_cast<int>(ExitCode::bad_input);
  } catch (const Error& e) {
    std::cerr << "vfioctl: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "vfioctl: error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::refused);
  }
  return g.exit_code;
}

}  // namespace vfioctl::cli
