// The refusals of the setup planner that say what to do by hand: a host
// whose boot chain vfioctl does not know, and NixOS.
#include <fmt/format.h>

#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/setup_parts.h"
#include "vfioctl/util/diff.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

[[noreturn]] void refuse_by_hand(const ByHand& h, const Plan& plan) {
  std::string text = "vfioctl does not know how this host boots, so it changes nothing: " + join(h.looked_for, "; ") +
                     ".\nBy hand, the same setup is:";
  int n = 0;
  if (!h.cmdline.empty()) {
    text += fmt::format("\n{}. The kernel command line, in your boot loader's configuration; add by hand: {}", ++n,
                        h.cmdline);
  }
  // A new file whole; a file that exists as the change to it.
  for (const auto* f : plan.changed()) {
    if (!f->after) continue;
    text += fmt::format("\n{}. {} ({}){}\n", ++n, f->path, f->why, f->before ? ", this change:" : ":");
    std::string body = f->before ? unified_diff(f->path, f->before, f->after) : *f->after;
    for (auto l : split(body, '\n')) {
      if (!l.empty()) text += "     " + std::string(l) + "\n";
    }
    text.pop_back();
  }
  if (!h.modules.empty()) {
    text += fmt::format(
        "\n{}. Initramfs: load {} from it before any GPU driver, with /etc/modprobe.d/vfioctl.conf inside it", ++n,
        join(h.modules, " "));
  }
  for (const auto& c : plan.commands) text += fmt::format("\n{}. Run  {}  ({})", ++n, c.str(), c.why);
  text += fmt::format("\n{}. Rebuild the initramfs and the boot entries the way this host does, then reboot.", ++n);
  throw Error(ExitCode::refused, text);
}

[[noreturn]] void refuse_nixos(const Host& host, const SetupRequest& req, const Devices& dev,
                               const std::vector<KernelArg>& args) {
  std::vector<std::string> params;
  for (const auto& a : with_ids(args, dev.ids)) params.push_back("\"" + arg_str(a) + "\"");
  std::vector<std::string> lines;
  if (!params.empty()) lines.push_back("  boot.kernelParams = [ " + join(params, " ") + " ];");
  std::vector<std::string> modprobe;
  if (!dev.taken.empty()) {
    std::vector<std::string> mods;
    for (const auto& m : vfio_modules(host)) mods.push_back("\"" + m + "\"");
    lines.push_back("  boot.initrd.kernelModules = [ " + join(mods, " ") + " ];");
    if (!dev.ids.empty()) modprobe.push_back("options vfio-pci ids=" + join(dev.ids, ","));
    for (const auto& d : competing_drivers(host, dev.taken)) modprobe.push_back("softdep " + d + " pre: vfio-pci");
  }
  if (req.windows) modprobe.push_back("options kvm ignore_msrs=1 report_ignored_msrs=0");
  if (!modprobe.empty()) {
    lines.push_back("  boot.extraModprobeConfig = ''");
    for (const auto& m : modprobe) lines.push_back("    " + m);
    lines.push_back("  '';");
  }
  std::string text =
      "this is NixOS (/etc/NIXOS): it builds /etc and the boot entries from its configuration, so vfioctl edits "
      "neither. Put these lines in /etc/nixos/configuration.nix (or a module it imports), then run "
      "'nixos-rebuild boot' and reboot:\n" +
      join(lines, "\n");
  if (!dev.override_for.empty()) {
    std::vector<std::string> addrs;
    for (const auto& a : dev.override_for) addrs.push_back(a.str());
    text +=
        "\nThe host keeps another device with the same id, so these are bound by address instead of ids: set "
        "driver_override to vfio-pci for " +
        join(addrs, " ") + " in boot.initrd.preDeviceCommands";
  }
  throw Error(ExitCode::refused, text);
}

}  // namespace vfioctl::setup
