// Where a host keeps its boot configuration: which bootloader holds the
// kernel command line (and in which files), which initramfs system loads
// the early modules, and the commands that rebuild both. Read through Root
// only; nothing here edits a file (setup_plan does, from these layouts).
// docs/setup.md describes every layout and the order its files are read in.
#pragma once

#include <string>
#include <vector>

#include "vfioctl/host/root.h"
#include "vfioctl/setup/change.h"

namespace vfioctl::setup {

// Where the kernel command line lives and how the boot files are rebuilt.
struct BootLayout {
  // grub: /etc/default/grub (and grub.d); extlinux: Alpine's
  // /etc/update-extlinux.conf, a shell file like GRUB's that update-extlinux
  // sources; systemd_boot: loader entries and /etc/kernel/cmdline; ostree:
  // the deployments' arguments, changed only through `rpm-ostree kargs`.
  enum class Kind { grub, extlinux, systemd_boot, ostree } kind = Kind::grub;
  std::string grub_file;  // /etc/default/grub; extlinux: /etc/update-extlinux.conf
  std::string grub_var;   // GRUB_CMDLINE_LINUX_DEFAULT or GRUB_CMDLINE_LINUX; extlinux: default_kernel_opts
  // /etc/default/grub.d/*.cfg in the order grub-mkconfig sources them (byte
  // order of the names), when this GRUB reads them: Debian's grub-mkconfig
  // sources them after /etc/default/grub; some distributions (Garuda) add a
  // loop sourcing them to /etc/default/grub itself, at `grub_dropins_line`.
  std::vector<std::string> grub_dropins;
  int grub_dropins_line = 0;         // 0: after the whole file
  std::vector<std::string> entries;  // loader entries edited directly (systemd-boot, BLS)
  bool kernel_cmdline = false;       // /etc/kernel/cmdline present
  std::string kernelstub;            // /etc/kernelstub/configuration (Pop!_OS) when present
  std::vector<Command> regenerate;
  std::string describe;  // "GRUB (update-grub)"
};

struct InitramfsLayout {
  // mkinitfs: Alpine's (features in /etc/mkinitfs/mkinitfs.conf, each a
  // features.d/NAME.modules and NAME.files list).
  enum class Kind { initramfs_tools, mkinitcpio, dracut, mkinitfs, none } kind = Kind::none;
  // mkinitcpio: /etc/mkinitcpio.conf then /etc/mkinitcpio.conf.d/*.conf;
  // dracut: /etc/dracut.conf then /etc/dracut.conf.d/*.conf (existing ones).
  std::vector<std::string> files;
  std::vector<Command> regenerate;
  std::string describe;
};

// Reads which bootloader and initramfs system the root uses. detect_boot
// throws Error(refused) naming what it looked for when it recognises none.
BootLayout detect_boot(const Root& root);
InitramfsLayout detect_initramfs(const Root& root);

// Whether the root has this program in /usr/sbin, /usr/bin, /sbin or /bin.
bool has_tool(const Root& root, const std::string& name);

}  // namespace vfioctl::setup
