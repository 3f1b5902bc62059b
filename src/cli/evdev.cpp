// vfioctl evdev: the host keyboards and mice a guest can take over, and the
// libvirt XML and QEMU arguments that hand them over.
#include <fmt/format.h>

#include <iostream>

#include "cli.h"
#include "vfioctl/guest/evdev_out.h"
#include "vfioctl/host/input.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

struct EvdevOptions {
  std::string grab_toggle = "ctrl-ctrl";
};

std::string counted(size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

void print_json(const std::vector<InputDevice>& devices, const EvdevOptions& o, const Notes& notes) {
  JsonWriter w(std::cout);
  w.begin_object();
  w.key("devices");
  w.begin_array();
  for (const auto& d : devices) {
    w.begin_object();
    w.field("path", d.path);
    w.field("kind", input_kind_name(d.kind));
    w.field("event", d.event);
    w.field("name", d.name);
    w.end_object();
  }
  w.end_array();
  w.field("libvirt_xml", evdev_inputs_xml(devices, o.grab_toggle));
  w.field("qemu_args", qemu_evdev_args(devices, o.grab_toggle));
  w.key("notes");
  write_json(w, notes);
  w.end_object();
  w.finish();
}

void print_text(const std::vector<InputDevice>& devices, const EvdevOptions& o, const Style& st) {
  if (devices.empty()) {
    std::cout << "No keyboard or mouse found under /dev/input/by-id (usual on a headless server or inside a\n"
                 "virtual machine): nothing to hand to a guest. Plug one in and run again.\n";
    return;
  }
  size_t keyboards = 0;
  for (const auto& d : devices) keyboards += d.kind == InputKind::keyboard;
  std::cout << st.bold(fmt::format("{} and {} under /dev/input/by-id", counted(keyboards, "keyboard", "keyboards"),
                                   counted(devices.size() - keyboards, "mouse", "mice")))
            << "\n";
  for (const auto& d : devices) {
    std::string where = d.event ? "-> " + *d.event : st.yellow("-> nothing (link leads nowhere; unplugged?)");
    std::cout << fmt::format("  {:<8}  {}  {}{}\n", input_kind_name(d.kind), d.path, where,
                             d.name ? "  " + st.dim(*d.name) : "");
  }
  std::string xml = evdev_inputs_xml(devices, o.grab_toggle);
  if (xml.empty()) {
    std::cout << "\nNone of them leads to an event device now; plug the device in and run again.\n";
    return;
  }
  std::cout << "\n" << st.bold("libvirt 7.4 or later: paste into <devices> of the domain ('virsh edit NAME'):") << "\n";
  std::cout << xml;
  std::cout << "\n" << st.bold("Plain QEMU: add these arguments:") << "\n";
  auto args = qemu_evdev_args(devices, o.grab_toggle);
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    std::cout << "  " << args[i] << " " << shell_quote(args[i + 1]) << (i + 2 < args.size() ? " \\" : "") << "\n";
  }
  std::cout << "\n";
  std::cout << fmt::format(
      "Press {} ({}; change with --grab-toggle) to move keyboard and mouse between host and guest.\n",
      grab_toggle_help(o.grab_toggle), o.grab_toggle);
  std::cout << "libvirt grants the guest these <input> paths itself; qemu.conf's cgroup_device_acl must list them\n"
               "only when the QEMU arguments are passed through <qemu:commandline> instead.\n";
}

}  // namespace

void add_evdev(CLI::App& app, GlobalOptions& g) {
  auto opts = std::make_shared<EvdevOptions>();
  CLI::App* cmd =
      app.add_subcommand("evdev", "keyboards and mice for evdev passthrough, with libvirt XML and QEMU arguments");
  cmd->description(
      "Hand the host's keyboard and mouse to a guest without passing a USB controller: QEMU reads their\n"
      "event devices, and a key combination (both Ctrl keys unless --grab-toggle says otherwise) moves\n"
      "them between host and guest. Lists the keyboards and mice under /dev/input/by-id (names that stay\n"
      "the same across reboots, unlike /dev/input/eventN) and prints the libvirt <input type='evdev'>\n"
      "elements (libvirt 7.4 or later) and the QEMU -object input-linux arguments that use them.");
  cmd->add_option("--grab-toggle", opts->grab_toggle, "keys that move keyboard and mouse between host and guest")
      ->check(CLI::IsMember(grab_toggle_keys()))
      ->type_name("KEYS")
      ->default_str("ctrl-ctrl");
  std::string keys = "\nGrab toggles (what to press):\n";
  for (const auto& k : grab_toggle_keys()) keys += fmt::format("  {:<16}{}\n", k, grab_toggle_help(k));
  cmd->footer(keys + "\nExamples:\n  vfioctl evdev\n  vfioctl evdev --grab-toggle scrolllock\n  vfioctl evdev --json");
  cmd->callback([&g, opts]() {
    Root root = open_root(g);
    Notes notes;
    auto devices = read_input_devices(root, notes);
    if (g.json) {
      print_json(devices, *opts, notes);
      return;
    }
    print_text(devices, *opts, make_style(g));
    if (g.verbose) print_notes(notes);
  });
}

}  // namespace vfioctl::cli
