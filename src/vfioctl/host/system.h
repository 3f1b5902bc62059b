// The system around the hardware: distribution, the virtualization software
// installed, kernel module files, interrupt remapping in effect, CPU
// frequency governors, and which PCI devices hold the root filesystem and
// the network. All read through Root, so fixtures and snapshots carry them.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vfioctl/host/firmware.h"
#include "vfioctl/host/modprobe.h"
#include "vfioctl/host/notes.h"
#include "vfioctl/host/pci.h"

namespace vfioctl {

class Root;

struct Distro {
  std::optional<std::string> id;           // "debian", "ubuntu", "fedora", "arch"
  std::vector<std::string> id_like;        // "debian", "rhel fedora"
  std::optional<std::string> version_id;   // "12"
  std::optional<std::string> pretty_name;  // "Debian GNU/Linux 12 (bookworm)"
  // The family that decides package names: "debian", "fedora", "arch",
  // "suse", "alpine", or "" when unknown (from ID, then ID_LIKE).
  std::string family() const;
  // The package that provides `what` ("ovmf", "swtpm", "qemu", "libvirt",
  // "qemu-img", "tar") on this family, e.g. "edk2-ovmf" on Fedora.
  std::string package(const std::string& what) const;
  // The command that installs `what` here ("apt install ovmf", "apk add
  // ovmf"); for an unknown family, the package names of the families vfioctl
  // knows.
  std::string install(const std::string& what) const;
};

struct NetInterface {
  std::string name;               // "enp3s0"
  std::optional<PciAddress> pci;  // the PCI function behind it, if any
  bool wireless = false;
  bool default_route = false;  // carries an IPv4 default route
};

// Where the kernel command line is configured.
struct BootConfig {
  // The last GRUB_CMDLINE_LINUX_DEFAULT= line of /etc/default/grub: its
  // number (1-based) and its value without quotes.
  std::optional<int> grub_line;
  std::string grub_value;
  // /etc/kernel/cmdline (kernel-install, systemd-boot), trimmed.
  std::optional<std::string> kernel_cmdline;
  // Alpine's /etc/update-extlinux.conf: the last default_kernel_opts= line.
  std::optional<int> extlinux_line;
  std::string extlinux_value;
  bool ostree = false;   // /run/ostree-booted: arguments through rpm-ostree kargs
  bool proxmox = false;  // /etc/kernel/proxmox-boot-uuids: applied with proxmox-boot-tool refresh
};

struct System {
  Distro distro;
  BootConfig boot;
  // The host boots with OpenRC (/etc/runlevels: Alpine, Gentoo): nothing
  // mounts hugetlbfs, and fstab is mounted before /dev holds directories.
  bool openrc = false;
  // Installed package versions from the dpkg database, for the packages
  // doctor reports on; empty when the host has no dpkg.
  std::map<std::string, std::string> packages;
  bool package_db = false;                   // /var/lib/dpkg/status readable
  std::map<std::string, std::string> tools;  // "qemu" -> "/usr/bin/qemu-system-x86_64"
  // Guest firmware: QEMU's descriptors and the known files present.
  FirmwareCatalog firmware;
  // Modules the running kernel can load from files (modules.dep), '_' names.
  std::set<std::string> module_files;
  bool module_files_known = false;
  // The "alias pci:..." lines of modules.dep's neighbour modules.alias:
  // pattern -> module ('_' name), in file order.
  std::vector<std::pair<std::string, std::string>> pci_aliases;
  bool aliases_known = false;
  // modprobe.d as modprobe reads it.
  ModprobeConfig modprobe;
  // Lines of /proc/interrupts delivered through a remapping chip ("IR-").
  std::optional<int> remapped_irq_lines;
  // Intel DMAR units: name -> whether the hardware can remap interrupts
  // (ecap bit 3).
  std::map<std::string, bool> dmar_ir_capable;
  // scaling_governor -> number of CPUs using it; empty without cpufreq.
  std::map<std::string, int> governors;
  // What "/" is mounted from, and the PCI functions under it.
  std::optional<std::string> root_source;
  std::set<PciAddress> root_devices;
  std::vector<NetInterface> net;
};

// The modules whose aliases match a device's modalias
// ("pci:v000010DEd00001B81sv...": the kernel's MODALIAS), '_' names, each once.
std::vector<std::string> modules_for_alias(const System& system, const std::string& modalias);

// Whether the host boots with OpenRC (/etc/runlevels).
bool boots_openrc(const Root& root);

System read_system(const Root& root, const std::optional<std::string>& kernel_release, Notes& notes);

// Parses os-release text (KEY=value, optionally quoted).
Distro parse_os_release(const std::string& text);

}  // namespace vfioctl
