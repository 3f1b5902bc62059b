#include "vfioctl/host/snapshot.h"

#include <gtest/gtest.h>
#include <sstream>

#include "temp_tree.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/json.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

namespace fs = std::filesystem;

// Every fact the readers produced, as JSON text: equal text, equal facts.
std::string facts(const Host& h) {
  std::ostringstream out;
  JsonWriter w(out);
  w.begin_object();
  w.key("pci");
  w.begin_array();
  for (const auto& d : h.pci) write_json(w, d);
  w.end_array();
  w.key("cpu");
  w.begin_object();
  write_json(w, h.cpu);
  w.end_object();
  w.key("memory");
  write_json(w, h.memory);
  w.key("kernel");
  write_json(w, h.kernel);
  w.key("platform");
  write_json(w, h.platform);
  w.key("notes");
  write_json(w, h.notes);
  w.end_object();
  w.finish();
  return out.str();
}

void small_host(const test::TempTree& t) {
  t.pci("/sys/devices/pci0000:00", "0000:00:01.0", "8086", "1901", "060400", "pcieport", 0);
  t.pci("/sys/devices/pci0000:00/0000:00:01.0", "0000:01:00.0", "10de", "1b81", "030000", "vfio-pci", 1);
  t.file("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config", std::string(256, '\0'));
  t.file("/sys/devices/system/cpu/online", "0-1\n");
  t.file("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "0-1\n");
  t.file("/sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n");
  t.file("/sys/devices/system/cpu/cpu1/topology/thread_siblings_list", "0-1\n");
  t.file("/sys/devices/system/cpu/cpu1/topology/physical_package_id", "0\n");
  t.file("/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
  t.file("/proc/cmdline", "intel_iommu=on\n");
  t.file("/proc/meminfo", "MemTotal: 1000 kB\n");
  t.file("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t: vmx\n");
  t.file("/dev/kvm", "");
  t.link("/sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
}

TEST(Snapshot, ReadsBackIdentically) {
  test::TempTree host;
  small_host(host);
  test::TempTree out;
  Root root(host.dir());
  root.set_recording(Recording::on);
  Host before = read_host(root);
  auto report = write_snapshot(root, out.str() + "/snap");
  EXPECT_GT(report.files, 5u);
  EXPECT_TRUE(report.skipped.empty()) << (report.skipped.empty() ? "" : report.skipped.front());

  Root copy(out.dir() / "snap");
  Host after = read_host(copy);
  EXPECT_EQ(facts(before), facts(after));

  // Links stay links, and files nobody read are not copied.
  EXPECT_TRUE(fs::is_symlink(out.dir() / "snap/sys/bus/pci/devices/0000:01:00.0"));
  EXPECT_TRUE(fs::is_symlink(out.dir() / "snap/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/driver"));
  EXPECT_FALSE(fs::exists(out.dir() / "snap/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config"));
  // A device node becomes an empty placeholder: its presence is the fact.
  EXPECT_TRUE(fs::is_regular_file(out.dir() / "snap/dev/kvm"));
}

TEST(Snapshot, MasksSerialsAndRefusesSecrets) {
  EXPECT_TRUE(snapshot_masks("/sys/class/dmi/id/product_serial"));
  EXPECT_TRUE(snapshot_masks("/sys/class/dmi/id/product_uuid"));
  EXPECT_FALSE(snapshot_masks("/sys/class/dmi/id/product_name"));
  EXPECT_TRUE(snapshot_allows("/sys/bus/pci/devices"));
  EXPECT_TRUE(snapshot_allows("/proc/cmdline"));
  EXPECT_FALSE(snapshot_allows("/proc/1/environ"));
  EXPECT_FALSE(snapshot_allows("/proc/self/status"));
  EXPECT_FALSE(snapshot_allows("/etc/shadow"));
  EXPECT_FALSE(snapshot_allows("/home/user/.ssh/id_rsa"));
  EXPECT_FALSE(snapshot_allows("/sys/../etc/shadow"));

  test::TempTree host;
  host.file("/sys/class/dmi/id/board_serial", "ABC123\n");
  host.file("/etc/shadow", "root:secret\n");
  Root root(host.dir());
  root.set_recording(Recording::on);
  root.read("/sys/class/dmi/id/board_serial");
  root.read("/etc/shadow");
  test::TempTree out;
  auto report = write_snapshot(root, out.str());
  EXPECT_EQ(report.masked, 1u);
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_EQ(report.skipped[0], "/etc/shadow");
  EXPECT_FALSE(fs::exists(out.dir() / "etc/shadow"));
  Root copy(out.dir());
  EXPECT_EQ(copy.read("/sys/class/dmi/id/board_serial"), "MASKED\n");
}

}  // namespace
}  // namespace vfioctl
