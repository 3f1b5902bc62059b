// Facts of the machine the tests run on, read the plain way (/sys, /proc),
// for the tests that run vfioctl on the live host: each derives what vfioctl
// must say from these rather than assuming one machine.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace vfioctl::test::live {

namespace fs = std::filesystem;

// Whether /sys/kernel/iommu_groups holds a group: the IOMMU is on.
inline bool iommu_groups() {
  std::error_code ec;
  fs::directory_iterator it("/sys/kernel/iommu_groups", ec);
  return !ec && it != fs::directory_iterator();
}

// The PCI functions in /sys/bus/pci/devices ("0000:00:02.0"), sorted.
inline std::vector<std::string> pci_functions() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/bus/pci/devices", ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// The PCI function ("00:02.0") of the controller of the block device holding
// /, when / is a /dev node whose sysfs path names one directly (not
// device-mapper, md, overlay or a network file system).
inline std::optional<std::string> root_pci_function() {
  std::ifstream mounts("/proc/mounts");
  std::string source;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream f(line);
    std::string dev, dir;
    f >> dev >> dir;
    if (dir == "/" && dev != "rootfs") source = dev;
  }
  if (source.rfind("/dev/", 0) != 0) return std::nullopt;
  std::error_code ec;
  fs::path node = fs::canonical(source, ec);
  if (ec) return std::nullopt;
  fs::path sys = fs::canonical(fs::path("/sys/class/block") / node.filename(), ec);
  if (ec) return std::nullopt;
  std::optional<std::string> last;
  for (const auto& part : sys) {
    std::string p = part.string();
    if (p.size() == 12 && p[4] == ':' && p[7] == ':' && p[10] == '.') last = p.substr(5);
  }
  return last;
}

// Whether one of the boot configurations vfioctl setup edits is on this
// machine (GRUB, loader entries, kernel-install, extlinux, rpm-ostree).
inline bool boot_configuration() {
  std::error_code ec;
  for (const char* p : {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries",
                        "/etc/kernel/cmdline", "/etc/update-extlinux.conf", "/run/ostree-booted"}) {
    if (fs::exists(p, ec)) return true;
  }
  if (!fs::exists("/etc/default/grub", ec)) return false;
  for (const auto& e : fs::directory_iterator("/boot", ec)) {
    if (e.path().filename().string().rfind("grub", 0) == 0 && fs::exists(e.path() / "grub.cfg", ec)) return true;
  }
  return false;
}

}  // namespace vfioctl::test::live
