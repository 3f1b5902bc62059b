// vfioctl list on fixture hosts and on this machine (IOMMU on or off, as its /sys says).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "live_host.h"
#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

const json* find_group(const json& doc, int id) {
  for (const auto& g : doc["groups"]) {
    if (g["id"] == id) return &g;
  }
  return nullptr;
}

std::vector<int> group_ids(const json& doc) {
  std::vector<int> ids;
  for (const auto& g : doc["groups"]) ids.push_back(g["id"].get<int>());
  return ids;
}

std::vector<std::string> addresses(const json& devices) {
  std::vector<std::string> out;
  for (const auto& d : devices) out.push_back(d["address"]);
  return out;
}

json list_json(const std::string& host_name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--root", host(host_name), "list", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  Result r = vfioctl(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.json();
}

// This machine's IOMMU is on or off as /sys/kernel/iommu_groups says; list
// says which, and lists the PCI functions in /sys/bus/pci/devices.
TEST(CliList, LiveHostSaysWhetherTheIommuIsOnAndListsDevices) {
  bool on = live::iommu_groups();
  bool pci = !live::pci_functions().empty();
  Result r = vfioctl({"list"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(has(r.out, "The IOMMU is off"), !on) << r.out;
  if (pci) {
    EXPECT_TRUE(has(r.out, on ? "IOMMU group " : "PCI devices:")) << r.out;
  }
  Result j = vfioctl({"list", "--json"});
  ASSERT_EQ(j.rc, 0);
  auto doc = j.json();
  EXPECT_EQ(doc["iommu_enabled"], on);
  EXPECT_EQ(doc["groups"].empty(), !on);
  if (!on) {
    EXPECT_EQ(doc["devices_without_group"].empty(), !pci);
  }
}

TEST(CliList, UnknownSelectorIsExitTwoAndTeachesTheForms) {
  Result r = vfioctl({"list", "graphics"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "unknown selector 'graphics'"));
  EXPECT_TRUE(has(r.err, "10de:1b81"));
  EXPECT_TRUE(r.out.empty());
}

// The JSON contract other tools rely on.
TEST(CliList, JsonCarriesTheContractFields) {
  auto doc = list_json("intel-desktop-z370");
  ASSERT_TRUE(doc["groups"].is_array());
  ASSERT_TRUE(doc["devices_without_group"].is_array());
  const json* g2 = find_group(doc, 2);
  ASSERT_NE(g2, nullptr);
  EXPECT_EQ((*g2)["verdict"], "passable");
  json gpu;
  for (const auto& d : (*g2)["devices"]) {
    if (d["address"] == "0000:01:00.0") gpu = d;
  }
  ASSERT_FALSE(gpu.is_null());
  EXPECT_EQ(gpu["vendor_id"], "10de");
  EXPECT_EQ(gpu["device_id"], "1d01");
  EXPECT_EQ(gpu["class"], "0300");
  EXPECT_EQ(gpu["driver"], "nouveau");
  EXPECT_EQ(gpu["iommu_group"], 2);
  EXPECT_EQ(gpu["parent"], "0000:00:01.0");
  // A device without a driver has driver null, not a string.
  const json* g1 = find_group(doc, 1);
  ASSERT_NE(g1, nullptr);
  EXPECT_TRUE((*g1)["devices"][0]["driver"].is_null());
  EXPECT_EQ((*g1)["verdict"], "none");
}

TEST(CliList, GroupsAreSortedAsNumbers) {
  auto doc = list_json("threadripper-3960x");
  auto ids = group_ids(doc);
  ASSERT_GT(ids.size(), 20u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  Result r = vfioctl({"--root", host("threadripper-3960x"), "list"});
  // "IOMMU group 2" is printed before "IOMMU group 10".
  EXPECT_LT(r.out.find("IOMMU group 2 "), r.out.find("IOMMU group 10 "));
}

TEST(CliList, VerdictsPassableSharedAndNone) {
  auto doc = list_json("intel-desktop-z370");
  // GPU and its audio function behind a root port: passable.
  const json* g2 = find_group(doc, 2);
  ASSERT_NE(g2, nullptr);
  EXPECT_EQ(addresses((*g2)["devices"]), (std::vector<std::string>{"0000:00:01.0", "0000:01:00.0", "0000:01:00.1"}));
  // The chipset group: audio, SMBus, LPC and PMC must leave together.
  const json* g10 = find_group(doc, 10);
  ASSERT_NE(g10, nullptr);
  EXPECT_EQ((*g10)["verdict"], "shared");
  auto eps = (*g10)["endpoints"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(eps.begin(), eps.end(), "0000:00:1f.3"), eps.end());
  EXPECT_NE(std::find(eps.begin(), eps.end(), "0000:00:1f.4"), eps.end());

  Result r = vfioctl({"--root", host("intel-desktop-z370"), "list"});
  EXPECT_TRUE(has(r.out,
                  "IOMMU group 10  shared: these devices can only leave the host together: "
                  "00:1f.0, 00:1f.2, 00:1f.3 (snd_hda_intel), 00:1f.4 (i801_smbus)"));
  EXPECT_TRUE(has(r.out, "IOMMU group 2  passable"));
  EXPECT_TRUE(has(r.out,
                  "01:00.0 VGA compatible controller: NVIDIA Corporation GP108 [GeForce GT 1030] [10de:1d01] (rev a1)  "
                  "driver: nouveau"));
}

TEST(CliList, ReadyWhenEveryEndpointIsOnVfioPci) {
  auto doc = list_json("two-identical-gpus");
  const json* g = find_group(doc, 23);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)["verdict"], "ready");
  for (const auto& d : (*g)["devices"]) EXPECT_EQ(d["driver"], "vfio-pci");
  // The twin card on the host driver is only passable.
  const json* twin = find_group(doc, 27);
  ASSERT_NE(twin, nullptr);
  EXPECT_EQ((*twin)["verdict"], "passable");
}

TEST(CliList, WarnsWhenTwoDevicesShareAnId) {
  Result r = vfioctl({"--root", host("two-identical-gpus"), "list", "gpu"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "warning: 2 devices share the id 10de:128b (24:00.0, 2d:00.0)"));
  EXPECT_TRUE(has(r.out, "driver_override"));
  auto doc = list_json("two-identical-gpus");
  bool found = false;
  for (const auto& s : doc["shared_ids"]) {
    if (s["id"] == "10de:128b") {
      found = true;
      EXPECT_EQ(s["devices"], json({"0000:24:00.0", "0000:2d:00.0"}));
    }
  }
  EXPECT_TRUE(found);
  // A host with one card of each kind gets no such warning for its GPU.
  Result single = vfioctl({"--root", host("intel-desktop-z370"), "list", "gpu"});
  EXPECT_FALSE(has(single.out, "share the id"));
}

TEST(CliList, BootVgaResetAndSriovFlags) {
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "list"});
  EXPECT_TRUE(has(r.out, "driver: i915  [boot-vga reset:pm]"));
  EXPECT_TRUE(has(r.out, "driver: igb  [reset:flr,bus]"));
  Result s = vfioctl({"--root", host("amd-renoir-shared-chipset"), "list", "net"});
  EXPECT_TRUE(has(s.out, "[sr-iov:0/63vfs]"));
  auto doc = list_json("amd-renoir-shared-chipset", {"net"});
  EXPECT_EQ(doc["groups"][0]["devices"][0]["sriov_totalvfs"], 63);
}

TEST(CliList, SelectorFormsPickTheirGroups) {
  const std::string h = "intel-desktop-z370";
  EXPECT_EQ(group_ids(list_json(h, {"01:00.0"})), std::vector<int>{2});
  EXPECT_EQ(group_ids(list_json(h, {"0000:01:00.0"})), std::vector<int>{2});
  EXPECT_EQ(group_ids(list_json(h, {"10de:1d01"})), std::vector<int>{2});
  EXPECT_EQ(group_ids(list_json(h, {"gpu"})), (std::vector<int>{0, 2}));
  EXPECT_EQ(group_ids(list_json(h, {"usb"})), std::vector<int>{3});
  EXPECT_EQ(group_ids(list_json(h, {"nvme"})), std::vector<int>{14});
  EXPECT_EQ(group_ids(list_json(h, {"net"})), (std::vector<int>{11, 12, 13}));
  // Several selectors: the union.
  EXPECT_EQ(group_ids(list_json(h, {"nvme", "usb"})), (std::vector<int>{3, 14}));
  // A well-formed selector that matches nothing is not an error.
  Result none = vfioctl({"--root", host(h), "list", "1234:5678"});
  EXPECT_EQ(none.rc, 0);
  EXPECT_TRUE(has(none.out, "No device matches."));
}

TEST(CliList, FixtureWithoutIommuExplainsWhatToEnable) {
  Result r = vfioctl({"--root", host("amd-matisse-nnk"), "list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "The IOMMU is off"));
  EXPECT_TRUE(has(r.out, "AMD-Vi"));
  auto doc = list_json("amd-matisse-nnk");
  EXPECT_EQ(doc["iommu_enabled"], false);
  EXPECT_TRUE(doc["groups"].empty());
  EXPECT_GT(doc["devices_without_group"].size(), 10u);
}

TEST(CliList, BadRootIsExitTwoNamingIt) {
  Result missing = vfioctl({"--root", "/nonexistent/host", "list"});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_TRUE(has(missing.err, "/nonexistent/host"));
  EXPECT_TRUE(missing.out.empty());
  Result not_host = vfioctl({"--root", std::string(VFIOCTL_SOURCE_DIR) + "/src", "list"});
  EXPECT_EQ(not_host.rc, 2);
  EXPECT_TRUE(has(not_host.err, "not a host tree"));
}

// A copy of a fixture with a corrupt device: garbage ids, and a group link
// that leads nowhere. Both devices are still listed, each with a note.
class CorruptHost : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vfioctl-corrupt-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::copy(host("intel-desktop-z370"), dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    // 05:00.0 (NVMe): vendor and uevent hold garbage.
    fs::path nvme = fs::canonical(dir / "sys/bus/pci/devices/0000:05:00.0");
    std::ofstream(nvme / "vendor") << "0xzz!!\n";
    std::ofstream(nvme / "uevent") << "PCI_ID=garbage\n";
    // 04:00.0 (Wi-Fi): its group link leads to group 99, which does not
    // exist, and group 13 no longer lists it.
    fs::path wifi = fs::canonical(dir / "sys/bus/pci/devices/0000:04:00.0");
    fs::remove(wifi / "iommu_group");
    fs::create_directory_symlink("../../../../kernel/iommu_groups/99", wifi / "iommu_group");
    fs::remove(dir / "sys/kernel/iommu_groups/13/devices/0000:04:00.0");
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(CorruptHost, GarbageVendorIsListedWithANote) {
  Result r = vfioctl({"--root", dir.string(), "list", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto doc = r.json();
  const json* g14 = find_group(doc, 14);
  ASSERT_NE(g14, nullptr);
  const json& nvme = (*g14)["devices"][0];
  EXPECT_EQ(nvme["address"], "0000:05:00.0");
  EXPECT_TRUE(nvme["vendor_id"].is_null());
  ASSERT_FALSE(nvme["notes"].empty());
  EXPECT_TRUE(has(nvme["notes"][0].get<std::string>(), "vendor"));
  // The other attributes still count: class from its own file.
  EXPECT_EQ(nvme["class"], "0108");
}

TEST_F(CorruptHost, DanglingGroupLinkIsListedUngroupedWithANote) {
  Result r = vfioctl({"--root", dir.string(), "list", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto doc = r.json();
  ASSERT_EQ(doc["devices_without_group"].size(), 1u);
  const json& wifi = doc["devices_without_group"][0];
  EXPECT_EQ(wifi["address"], "0000:04:00.0");
  EXPECT_TRUE(wifi["iommu_group"].is_null());
  ASSERT_FALSE(wifi["notes"].empty());
  EXPECT_TRUE(has(wifi["notes"][0].get<std::string>(), "missing group '99'"));
  bool noted = false;
  for (const auto& n : doc["notes"]) {
    if (has(n["path"].get<std::string>(), "0000:04:00.0/iommu_group")) noted = true;
  }
  EXPECT_TRUE(noted);
  // Text mode lists it under its own heading, and -v prints the note.
  Result t = vfioctl({"--root", dir.string(), "-v", "list"});
  EXPECT_TRUE(has(t.out, "Devices without an IOMMU group:"));
  EXPECT_TRUE(has(t.out, "04:00.0 Network controller"));
  EXPECT_TRUE(has(t.err, "leads to missing group '99'"));
}

}  // namespace
}  // namespace vfioctl::test
