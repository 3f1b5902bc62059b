// Every fixture root under tests/hosts/ is exactly what vfioctl-hostgen makes
// of its description, and reads back as described.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "description.h"
#include "generate.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"

namespace vfioctl::hostgen {
namespace {

namespace fs = std::filesystem;

const fs::path kHosts = fs::path(VFIOCTL_SOURCE_DIR) / "tests/hosts";

std::vector<std::string> fixture_names() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kHosts / "src")) {
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Relative path -> "d", "l:TARGET" or "f:CONTENT".
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(dir).string();
    auto st = it->symlink_status();
    if (fs::is_symlink(st))
      out[rel] = "l:" + fs::read_symlink(it->path()).string();
    else if (fs::is_directory(st))
      out[rel] = "d";
    else
      out[rel] = "f:" + read_text_file(it->path());
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hostgen-test-XXXXXX").string();
    m_dir = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  const fs::path& dir() const { return m_dir; }

 private:
  fs::path m_dir;
};

TEST(hostgen_regen, AtLeastEightFixtures) { EXPECT_GE(fixture_names().size(), 8u); }

TEST(hostgen_regen, CheckedInTreesMatchTheGenerator) {
  for (const auto& name : fixture_names()) {
    SCOPED_TRACE(name);
    TempDir tmp;
    auto desc = load_description(kHosts / "src" / (name + ".toml"));
    generate_host(desc, tmp.dir() / name);
    auto want = snapshot(tmp.dir() / name);
    ASSERT_TRUE(fs::is_directory(kHosts / name)) << "run tests/hosts/regenerate";
    auto have = snapshot(kHosts / name);
    for (const auto& [path, v] : want) {
      auto it = have.find(path);
      if (it == have.end())
        ADD_FAILURE() << "missing in tests/hosts/" << name << ": " << path;
      else if (it->second != v)
        ADD_FAILURE() << "differs: tests/hosts/" << name << "/" << path;
    }
    for (const auto& [path, v] : have) {
      if (!want.count(path)) ADD_FAILURE() << "not generated: tests/hosts/" << name << "/" << path;
    }
  }
}

Host read(const std::string& name) { return read_host(Root::open((kHosts / name).string())); }

TEST(hostgen_fixtures, Ryzen3900xReadsBack) {
  Host h = read("amd-ryzen9-3900x");
  const PciDevice* gpu = h.device(*PciAddress::parse("0b:00.0"));
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->iommu_group, 30);
  ASSERT_TRUE(gpu->parent);
  EXPECT_EQ(gpu->parent->short_str(), "00:03.1");
  EXPECT_EQ(h.device(*PciAddress::parse("08:00.1"))->parent->short_str(), "03:08.0");  // same group
  EXPECT_EQ(h.device(*PciAddress::parse("0c:00.0"))->boot_vga, true);
  EXPECT_EQ(h.cpu.l3.size(), 4u);
  EXPECT_EQ(h.cpu.find(0)->siblings, (std::vector<int>{0, 12}));
  EXPECT_EQ(h.platform.vendor, CpuVendor::amd);
  EXPECT_TRUE(h.platform.flags.count("svm"));
  EXPECT_TRUE(h.platform.kvm_device);
  EXPECT_EQ(h.memory.pool(2048, std::nullopt)->total, 6144);
}

TEST(hostgen_fixtures, ChipsetGroupNvmeBehindCpuPort) {
  Host h = read("amd-renoir-shared-chipset");
  // The NVMe in its own group cannot sit behind the shared chipset switch.
  EXPECT_EQ(h.device(*PciAddress::parse("0b:00.0"))->parent->short_str(), "00:02.2");
  EXPECT_EQ(h.device(*PciAddress::parse("07:00.0"))->parent->short_str(), "03:00.0");
  EXPECT_FALSE(h.device(*PciAddress::parse("01:00.0"))->reset_methods);  // 4.19 kernel
  EXPECT_EQ(h.device(*PciAddress::parse("01:00.0"))->sriov_totalvfs, 63);
  EXPECT_EQ(h.group(10)->devices.size(), 12u);
}

TEST(hostgen_fixtures, HybridAndTwoSocket) {
  Host hy = read("intel-hybrid-13700k");
  EXPECT_TRUE(hy.cpu.hybrid);
  EXPECT_EQ(hy.cpu.find(16)->kind, CoreKind::efficiency);
  EXPECT_EQ(hy.cpu.find(15)->kind, CoreKind::performance);
  Host x = read("xeon-2socket");
  EXPECT_EQ(x.cpu.nodes.size(), 2u);
  EXPECT_EQ(x.cpu.find(48)->node, 1);
  EXPECT_FALSE(x.device(*PciAddress::parse("1f:08.0"))->parent);  // uncore root bus
  EXPECT_EQ(x.platform.iommu_units.size(), 2u);
  EXPECT_EQ(x.memory.pool(1048576, std::nullopt)->total, 64);
}

TEST(hostgen_fixtures, ThreadripperDriversAndIsolation) {
  Host h = read("threadripper-3960x");
  EXPECT_EQ(h.groups.size(), 73u);
  EXPECT_EQ(h.device(*PciAddress::parse("21:00.0"))->driver, "vfio-pci");
  EXPECT_EQ(h.device(*PciAddress::parse("01:00.0"))->driver, "nouveau");
  EXPECT_FALSE(h.device(*PciAddress::parse("20:02.0"))->driver);
  EXPECT_EQ(h.cpu.l3.size(), 8u);
  EXPECT_EQ(h.cpu.isolated.size(), 36u);
  EXPECT_EQ(h.platform.iommu_units.size(), 4u);
  EXPECT_EQ(h.kernel.params["vfio_pci"]["disable_vga"], "Y");
}

TEST(hostgen_fixtures, ThreadripperDevicesOnBothNodes) {
  Host h = read("threadripper-1900x");
  EXPECT_EQ(h.cpu.nodes.size(), 2u);
  EXPECT_EQ(h.cpu.find(4)->node, 1);
  // Die 0's root bus 00: the guest GPU and the on-die USB controller.
  EXPECT_EQ(h.device(*PciAddress::parse("08:00.0"))->numa_node, 0);
  EXPECT_EQ(h.device(*PciAddress::parse("09:00.3"))->numa_node, 0);
  EXPECT_EQ(h.device(*PciAddress::parse("04:00.0"))->numa_node, 0);  // behind the chipset
  // Die 1's root bus 40: the NVMe, the USB card and the host GPU.
  EXPECT_EQ(h.device(*PciAddress::parse("41:00.0"))->numa_node, 1);
  EXPECT_EQ(h.device(*PciAddress::parse("42:00.0"))->numa_node, 1);
  EXPECT_EQ(h.device(*PciAddress::parse("43:00.0"))->numa_node, 1);
  EXPECT_EQ(h.device(*PciAddress::parse("42:00.0"))->iommu_group, 33);
  EXPECT_EQ(h.device(*PciAddress::parse("41:00.0"))->iommu_group, 32);
}

TEST(hostgen_fixtures, IsolatedCoffeeLake) {
  Host h = read("intel-i7-8700-isolated");
  std::vector<int> want = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11};
  EXPECT_EQ(h.cpu.isolated, want);
  EXPECT_EQ(h.cpu.nohz_full, want);
  EXPECT_EQ(h.cpu.find(1)->siblings, (std::vector<int>{1, 7}));
  EXPECT_TRUE(h.cpu.find(7)->isolated);
  EXPECT_FALSE(h.cpu.find(6)->isolated);
  EXPECT_EQ(h.device(*PciAddress::parse("00:02.0"))->boot_vga, true);
  EXPECT_EQ(h.device(*PciAddress::parse("01:00.0"))->iommu_group, 2);
}

// A description with a listing of two root buses and two NUMA nodes, plus
// the [numa] table given; returns the error text, "" when it loads.
std::string numa_error(const std::string& numa) {
  TempDir tmp;
  fs::create_directories(tmp.dir() / "listings");
  std::ofstream(tmp.dir() / "listings/l.txt")
      << "IOMMU group 0 00:01.0 Host bridge [0600]: A [1022:1452]\n"
         "IOMMU group 1 40:01.0 Host bridge [0600]: A [1022:1452]\n"
         "IOMMU group 3 40:01.1 PCI bridge [0604]: A [1022:1453]\n"
         "IOMMU group 2 41:00.0 Non-Volatile memory controller [0108]: S [144d:a804]\n";
  std::ofstream(tmp.dir() / "h.toml") << "source = \"s\"\nlisting = \"listings/l.txt\"\n[cpu]\nmodel_name = \"m\"\n"
                                         "[cpu.shape]\nnuma_nodes = 2\n[kernel]\nrelease = \"r\"\ncmdline = \"c\"\n"
                                      << numa;
  try {
    auto d = load_description(tmp.dir() / "h.toml");
    generate_host(d, tmp.dir() / "out");
    std::ifstream in(tmp.dir() / "out/sys/bus/pci/devices/0000:41:00.0/numa_node");
    std::string node;
    std::getline(in, node);
    return node == "1" ? "" : "numa_node " + node;
  } catch (const InputError& e) {
    return e.what();
  }
}

TEST(hostgen_description, NumaRootBusesGiveEachDeviceItsNode) {
  EXPECT_EQ(numa_error("[numa]\nroot_buses = { \"00\" = 0, \"40\" = 1 }\n"), "");
  std::string e = numa_error("[numa]\nroot_buses = { \"41\" = 1 }\n");
  EXPECT_NE(e.find("h.toml:11"), std::string::npos) << e;
  EXPECT_NE(e.find("bus 41 is not a root bus"), std::string::npos) << e;
  e = numa_error("[numa]\nroot_buses = { \"40\" = 2 }\n");
  EXPECT_NE(e.find("node 2 is not a node of the CPU topology (0-1)"), std::string::npos) << e;
  e = numa_error("[numa]\nroot_buses = { \"4x\" = 1 }\n");
  EXPECT_NE(e.find("'4x' is not a bus"), std::string::npos) << e;
  e = numa_error("[numa]\nroot_buses = { \"40\" = 1 }\nnodes = 2\n");
  EXPECT_NE(e.find("h.toml:12"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'nodes' in [numa]"), std::string::npos) << e;
}

TEST(hostgen_description, UnknownKeyNamesFileAndLine) {
  TempDir tmp;
  fs::create_directories(tmp.dir() / "listings");
  std::ofstream(tmp.dir() / "listings/l.txt")
      << "IOMMU group 1 01:00.0 VGA compatible controller [0300]: X [10de:1b80]\n";
  std::ofstream(tmp.dir() / "h.toml") << "source = \"s\"\nlisting = \"listings/l.txt\"\n[cpu]\nmodel_name = \"m\"\n"
                                         "[cpu.shape]\ncores = 4\n";
  try {
    load_description(tmp.dir() / "h.toml");
    FAIL();
  } catch (const InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("h.toml:6"), std::string::npos) << what;
    EXPECT_NE(what.find("cores"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace vfioctl::hostgen
