// A scratch host tree in a fresh temporary directory, removed afterwards.
// Tests build exactly the sysfs/procfs files a case needs.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace vfioctl::test {

class TempTree {
 public:
  TempTree() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vfioctl-test-XXXXXX").string();
    m_dir = ::mkdtemp(tmpl.data());
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::filesystem::path& dir() const { return m_dir; }
  std::string str() const { return m_dir.string(); }

  // Writes a file at a host path ("/sys/..."), creating parents.
  void file(const std::string& path, const std::string& content) const {
    auto p = m_dir / path.substr(1);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  // Creates a symbolic link at a host path with the target as given.
  void link(const std::string& path, const std::string& target) const {
    auto p = m_dir / path.substr(1);
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::create_symlink(target, p);
  }
  void mkdir(const std::string& path) const { std::filesystem::create_directories(m_dir / path.substr(1)); }

  // A PCI device the way the kernel lays it out: the real directory under
  // its parent bridge, a link in /sys/bus/pci/devices, optional driver and
  // group links.
  void pci(const std::string& parent_dir, const std::string& addr, const std::string& vendor, const std::string& device,
           const std::string& cls, const std::string& driver = "", int group = -1) const {
    std::string dir = parent_dir + "/" + addr;
    file(dir + "/vendor", "0x" + vendor + "\n");
    file(dir + "/device", "0x" + device + "\n");
    file(dir + "/class", "0x" + cls + "\n");
    file(dir + "/revision", "0x01\n");
    file(dir + "/numa_node", "-1\n");
    std::string up;
    for (size_t i = 0, n = std::count(dir.begin(), dir.end(), '/'); i < n - 1; ++i) up += "../";
    // /sys/bus/pci/devices/X -> ../../../devices/...
    link("/sys/bus/pci/devices/" + addr, "../../.." + dir.substr(4));
    if (!driver.empty()) {
      mkdir("/sys/bus/pci/drivers/" + driver);
      link(dir + "/driver", up + "bus/pci/drivers/" + driver);
    }
    if (group >= 0) {
      std::string g = "/sys/kernel/iommu_groups/" + std::to_string(group);
      mkdir(g + "/devices");
      link(dir + "/iommu_group", up + "kernel/iommu_groups/" + std::to_string(group));
      link(g + "/devices/" + addr, "../../../../devices" + dir.substr(12));
    }
  }

 private:
  std::filesystem::path m_dir;
};

}  // namespace vfioctl::test
