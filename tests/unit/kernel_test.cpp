#include "vfioctl/host/kernel.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/platform.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

TEST(Kernel, ParsesTheCommandLineLikeTheKernel) {
  auto args = parse_cmdline("BOOT_IMAGE=/vmlinuz ro quiet  intel_iommu=on acpi_osi=\"Windows 2015\" -- init-arg");
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[1].key, "ro");
  EXPECT_FALSE(args[1].value);
  EXPECT_EQ(args[3].value, "on");
  EXPECT_EQ(args[4].value, "Windows 2015");  // quotes group, and are dropped
}

TEST(Kernel, LastValueWinsAndDashesMatchUnderscores) {
  Kernel k;
  k.args = parse_cmdline("vfio-pci.ids=10de:1b81 iommu=pt vfio_pci.ids=10de:1b81,10de:10f0 quiet");
  EXPECT_EQ(k.arg("vfio_pci.ids"), "10de:1b81,10de:10f0");
  EXPECT_EQ(k.arg("vfio-pci.ids"), "10de:1b81,10de:10f0");
  EXPECT_EQ(k.arg("quiet"), "");
  EXPECT_FALSE(k.arg("intel_iommu"));
}

TEST(Kernel, ReadsModulesBuiltinsAndParameters) {
  test::TempTree t;
  t.file("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
  t.file("/proc/cmdline", "root=/dev/sda1 amd_iommu=on\n");
  t.file("/proc/modules", "vfio_pci 16384 0 - Live 0x0\nkvm_amd 155648 0 - Live 0x0\n");
  t.file("/lib/modules/6.1.0-18-amd64/modules.builtin",
         "kernel/drivers/vfio/vfio.ko\nkernel/drivers/usb/host/xhci-hcd.ko\n");
  t.file("/sys/module/kvm/parameters/ignore_msrs", "Y\n");
  Root root(t.dir());
  Notes notes;
  Kernel k = read_kernel(root, notes);
  EXPECT_EQ(k.release, "6.1.0-18-amd64");
  EXPECT_EQ(k.arg("amd_iommu"), "on");
  EXPECT_TRUE(k.loaded.count("vfio_pci"));
  EXPECT_TRUE(k.builtin_known);
  EXPECT_TRUE(k.builtin.count("xhci_hcd"));
  EXPECT_TRUE(k.has_module("vfio"));
  EXPECT_TRUE(k.has_module("vfio-pci"));
  EXPECT_FALSE(k.has_module("nouveau"));
  EXPECT_EQ(k.params["kvm"]["ignore_msrs"], "Y");
  EXPECT_TRUE(notes.empty());
}

TEST(Kernel, MissingFilesAreNotes) {
  test::TempTree t;
  t.mkdir("/proc");
  Root root(t.dir());
  Notes notes;
  Kernel k = read_kernel(root, notes);
  EXPECT_FALSE(k.release);
  EXPECT_FALSE(k.builtin_known);
  EXPECT_EQ(notes.size(), 2u);
}

TEST(Platform, VendorFlagsAndKvm) {
  test::TempTree t;
  t.file("/proc/cpuinfo",
         "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD Ryzen 9 3900X 12-Core Processor\n"
         "flags\t\t: fpu svm pdpe1gb topoext\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu\n");
  t.file("/dev/kvm", "");
  Root root(t.dir());
  Notes notes;
  Platform p = read_platform(root, notes);
  EXPECT_EQ(p.vendor, CpuVendor::amd);
  EXPECT_EQ(p.model_name, "AMD Ryzen 9 3900X 12-Core Processor");
  EXPECT_TRUE(p.has_flag("svm"));
  EXPECT_TRUE(p.has_flag("pdpe1gb"));
  EXPECT_TRUE(p.kvm_device);
  EXPECT_TRUE(p.iommu_units.empty());
}

}  // namespace
}  // namespace vfioctl
