#include "vfioctl/setup/layout.h"

#include <algorithm>

#include "vfioctl/setup/edits.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

std::vector<std::string> loader_entries(const Root& root) {
  std::vector<std::string> out;
  for (const char* dir : {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
    auto names = root.list(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (ends_with(n, ".conf")) out.push_back(std::string(dir) + "/" + n);
    }
  }
  return out;
}

// Files of a drop-in directory with this suffix, in byte order of their
// names (Root::list sorts), as full paths.
std::vector<std::string> dropins(const Root& root, const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  if (auto names = root.list(dir)) {
    for (const auto& n : *names) {
      if (ends_with(n, suffix) && n.size() > suffix.size()) out.push_back(dir + "/" + n);
    }
  }
  return out;
}

// The line of /etc/default/grub (1-based) that sources the grub.d drop-ins
// itself (Garuda: `for x in ${sysconfdir}/default/grub.d/*.cfg ; do ...
// source ...`), or 0.
int dropin_loop_line(const std::string& grub) {
  int n = 0;
  for (auto l : split(grub, '\n')) {
    ++n;
    std::string_view t = trim(l);
    if (starts_with(t, "#")) continue;
    if (t.find("default/grub.d/") != std::string_view::npos && t.find("*.cfg") != std::string_view::npos) return n;
  }
  return 0;
}

}  // namespace

bool has_tool(const Root& root, const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    if (root.exists(dir + name)) return true;
  }
  return false;
}

BootLayout detect_boot(const Root& root) {
  BootLayout b;
  auto entries = loader_entries(root);
  // Image-based hosts (Fedora Silverblue/Kinoite, Bazzite, bootc): the
  // boot entries are the deployments', written by ostree; /etc/default/grub
  // and the BLS files there are not what boots.
  if (root.exists("/run/ostree-booted")) {
    b.kind = BootLayout::Kind::ostree;
    b.describe = "ostree deployments (rpm-ostree kargs)";
    b.entries = entries;  // read only: the booted deployment's arguments
    return b;
  }
  bool kernel_cmdline = root.exists("/etc/kernel/cmdline");
  if (root.exists("/etc/kernelstub/configuration")) b.kernelstub = "/etc/kernelstub/configuration";
  bool grub_cfg = root.exists("/boot/grub/grub.cfg") || root.exists("/boot/grub2/grub.cfg");
  bool grub_tool = has_tool(root, "update-grub") || has_tool(root, "grub-mkconfig") || has_tool(root, "grub2-mkconfig");
  // Proxmox VE with proxmox-boot-tool: systemd-boot hosts (UEFI, ZFS root)
  // boot /etc/kernel/cmdline, GRUB hosts /etc/default/grub; both are copied
  // to the boot partitions by `proxmox-boot-tool refresh`, not update-grub.
  bool proxmox = root.exists("/etc/kernel/proxmox-boot-uuids");
  const Command refresh = {{"proxmox-boot-tool", "refresh"},
                           "copy the kernels and their command line to the boot partitions"};
  if (proxmox && kernel_cmdline) {
    b.kind = BootLayout::Kind::systemd_boot;
    b.kernel_cmdline = true;
    b.regenerate.push_back(refresh);
    b.describe = "Proxmox VE, systemd-boot through proxmox-boot-tool (/etc/kernel/cmdline)";
    return b;
  }
  if (auto grub = root.read("/etc/default/grub"); grub && (grub_cfg || grub_tool)) {
    b.kind = BootLayout::Kind::grub;
    b.grub_file = "/etc/default/grub";
    std::string user = without_managed_block(*grub);
    // Debian's grub-mkconfig (update-grub) sources /etc/default/grub.d/*.cfg
    // after /etc/default/grub; upstream's does not, unless the file itself
    // sources them.
    int loop = dropin_loop_line(user);
    if (has_tool(root, "update-grub") || loop > 0) {
      b.grub_dropins = dropins(root, "/etc/default/grub.d", ".cfg");
      b.grub_dropins_line = has_tool(root, "update-grub") ? 0 : loop;
    }
    b.grub_var = "GRUB_CMDLINE_LINUX";
    if (shell_value(user, "GRUB_CMDLINE_LINUX_DEFAULT")) b.grub_var = "GRUB_CMDLINE_LINUX_DEFAULT";
    for (const auto& d : b.grub_dropins) {
      if (auto text = root.read(d); text && shell_value(without_managed_block(*text), "GRUB_CMDLINE_LINUX_DEFAULT"))
        b.grub_var = "GRUB_CMDLINE_LINUX_DEFAULT";
    }
    // GRUB with Boot Loader Spec entries (Fedora, RHEL): each entry carries
    // its own options line, which grubby would edit; the entries are edited
    // here the same way, so that undo restores them byte for byte.
    if (shell_value(user, "GRUB_ENABLE_BLSCFG") == "true") b.entries = entries;
    if (proxmox) {
      b.regenerate.push_back(refresh);
      b.describe = "Proxmox VE, GRUB through proxmox-boot-tool (/etc/default/grub)";
    } else if (has_tool(root, "update-grub")) {
      b.regenerate.push_back({{"update-grub"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = b.grub_dropins.empty() ? "GRUB (/etc/default/grub, update-grub)"
                                          : "GRUB (/etc/default/grub and /etc/default/grub.d/*.cfg, update-grub)";
    } else if (has_tool(root, "grub2-mkconfig") || root.exists("/boot/grub2")) {
      b.regenerate.push_back(
          {{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = b.entries.empty()
                       ? "GRUB (/etc/default/grub, grub2-mkconfig)"
                       : "GRUB with BLS entries (/etc/default/grub, /boot/loader/entries, grub2-mkconfig)";
    } else {
      b.regenerate.push_back(
          {{"grub-mkconfig", "-o", "/boot/grub/grub.cfg"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = b.grub_dropins.empty()
                       ? "GRUB (/etc/default/grub, grub-mkconfig)"
                       : "GRUB (/etc/default/grub sourcing /etc/default/grub.d/*.cfg, grub-mkconfig)";
    }
    return b;
  }
  // Alpine's extlinux: update-extlinux writes /boot/extlinux.conf from
  // /etc/update-extlinux.conf (which it sources as shell), so an edit of
  // extlinux.conf's APPEND alone is lost at the next kernel update.
  if (root.exists("/etc/update-extlinux.conf") &&
      (has_tool(root, "update-extlinux") || root.exists("/boot/extlinux.conf"))) {
    b.kind = BootLayout::Kind::extlinux;
    b.grub_file = "/etc/update-extlinux.conf";
    b.grub_var = "default_kernel_opts";
    b.regenerate.push_back({{"update-extlinux"}, "rebuild /boot/extlinux.conf from /etc/update-extlinux.conf"});
    b.describe = "extlinux (/etc/update-extlinux.conf, update-extlinux)";
    return b;
  }
  if (!entries.empty() || kernel_cmdline) {
    b.kind = BootLayout::Kind::systemd_boot;
    b.entries = entries;
    b.kernel_cmdline = kernel_cmdline;
    if (kernel_cmdline && has_tool(root, "kernel-install")) {
      b.regenerate.push_back({{"kernel-install", "add-all"}, "reinstall the kernels with /etc/kernel/cmdline"});
    }
    b.describe =
        kernel_cmdline ? "systemd-boot / kernel-install (/etc/kernel/cmdline)" : "systemd-boot (loader entries)";
    if (!b.kernelstub.empty()) b.describe = "systemd-boot managed by kernelstub (loader entries)";
    return b;
  }
  throw Error(ExitCode::refused,
              "no bootloader configuration recognised: looked for /etc/default/grub with /boot/grub*/grub.cfg (GRUB), "
              "loader entries in /boot/loader/entries, /efi/loader/entries or /boot/efi/loader/entries "
              "(systemd-boot), /etc/kernel/cmdline (kernel-install), /etc/update-extlinux.conf (extlinux) and "
              "/run/ostree-booted (rpm-ostree). vfioctl does not guess where the kernel "
              "command line lives");
}

InitramfsLayout detect_initramfs(const Root& root) {
  InitramfsLayout l;
  if (root.exists("/etc/initramfs-tools") || has_tool(root, "update-initramfs")) {
    l.kind = InitramfsLayout::Kind::initramfs_tools;
    l.files = {"/etc/initramfs-tools/modules"};
    l.regenerate.push_back({{"update-initramfs", "-u", "-k", "all"}, "rebuild the initramfs images"});
    l.describe = "initramfs-tools (/etc/initramfs-tools/modules, update-initramfs)";
  } else if (root.exists("/etc/mkinitcpio.conf")) {
    l.kind = InitramfsLayout::Kind::mkinitcpio;
    l.files = {"/etc/mkinitcpio.conf"};
    for (auto& d : dropins(root, "/etc/mkinitcpio.conf.d", ".conf")) l.files.push_back(std::move(d));
    l.regenerate.push_back({{"mkinitcpio", "-P"}, "rebuild the initramfs images of every preset"});
    l.describe = l.files.size() > 1 ? "mkinitcpio (/etc/mkinitcpio.conf, /etc/mkinitcpio.conf.d, mkinitcpio -P)"
                                    : "mkinitcpio (/etc/mkinitcpio.conf, mkinitcpio -P)";
  } else if (root.exists("/etc/dracut.conf") || root.exists("/etc/dracut.conf.d") || has_tool(root, "dracut")) {
    l.kind = InitramfsLayout::Kind::dracut;
    if (root.exists("/etc/dracut.conf")) l.files.push_back("/etc/dracut.conf");
    for (auto& d : dropins(root, "/etc/dracut.conf.d", ".conf")) l.files.push_back(std::move(d));
    l.regenerate.push_back({{"dracut", "--regenerate-all", "--force"}, "rebuild the initramfs images"});
    l.describe = "dracut (/etc/dracut.conf.d, dracut --regenerate-all)";
  } else if (root.exists("/etc/mkinitfs/mkinitfs.conf") || has_tool(root, "mkinitfs")) {
    l.kind = InitramfsLayout::Kind::mkinitfs;
    l.files = {"/etc/mkinitfs/mkinitfs.conf"};
    l.regenerate.push_back({{"mkinitfs"}, "rebuild the initramfs of the running kernel"});
    l.describe = "mkinitfs (/etc/mkinitfs/mkinitfs.conf, features.d, mkinitfs)";
  }
  return l;
}

}  // namespace vfioctl::setup
