#include "vfioctl/setup/libvirt_hook.h"

#include <fmt/format.h>

#include "vfioctl/host/access.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

std::string libvirt_hook_script(const std::string& binary) {
  return fmt::format(
      "#!/bin/sh\n"
      "{}\n"
      "# Written by 'vfioctl hook install'; 'vfioctl hook uninstall' removes it.\n"
      "# libvirt runs it for every QEMU guest event with the domain XML on stdin;\n"
      "# vfioctl acts only on guests whose <metadata> has a <vfioctl:tune> element.\n"
      "exec {} hook run \"$@\"\n",
      kLibvirtHookMarker, shell_quote(binary));
}

HookChange plan_libvirt_hook(const Root& root, const std::optional<std::string>& binary) {
  HookChange h;
  FileChange& c = h.change;
  c.path = kLibvirtHookFile;
  c.before = root.read(kLibvirtHookFile);
  c.mode = FileMode{0755, 0, 0};
  bool install = binary.has_value();
  if (c.before && c.before->find(kLibvirtHookMarker) == std::string::npos)
    throw Error(ExitCode::refused,
                fmt::format("{} exists and was not written by vfioctl: it is left alone; move it elsewhere "
                            "in {} (any name) and run 'vfioctl hook {}' again",
                            kLibvirtHookFile, kLibvirtHookDir, install ? "install" : "uninstall"));
  if (!install) {
    c.after = std::nullopt;
    if (c.before) c.why = "remove the vfioctl libvirt hook";
    return h;
  }
  if (binary->empty() || (*binary)[0] != '/')
    throw input_error(fmt::format("--binary '{}': give an absolute path", *binary));
  c.after = libvirt_hook_script(*binary);
  c.why = "the libvirt hook that tunes the host while opted-in guests run";
  if (root.exists("/etc/libvirt/hooks/qemu"))
    h.notes.push_back(
        "note: /etc/libvirt/hooks/qemu exists and stays: libvirt runs it first, then every program in qemu.d/.");
  h.notes.push_back("Guests opt in with <vfioctl:tune> in their <metadata> ('vfioctl new' writes it; docs/hook.md).");
  h.notes.push_back("libvirt looks for hooks when it starts: restart libvirtd (or virtqemud) after installing.");
  return h;
}

bool libvirt_hook_installed(const Root& root) {
  auto hook = root.read(kLibvirtHookFile);
  return hook && hook->find(kLibvirtHookMarker) != std::string::npos;
}

bool libvirtd_running(const Root& root) {
  if (!root.is_live()) return false;
  for (const auto& pid : root.list("/proc").value_or(std::vector<std::string>{})) {
    if (!parse_int(pid)) continue;
    auto comm = root.read("/proc/" + pid + "/comm");
    if (!comm) continue;
    std::string c(trim(*comm));
    if (c == "libvirtd" || c == "virtqemud") return true;
  }
  return false;
}

}  // namespace vfioctl::setup
