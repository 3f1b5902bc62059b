// The initramfs listing: each lister's output form, the image of the
// running kernel, the programs behind an interface (a fake one here).
#include "vfioctl/host/initramfs.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"
#include "vfioctl/host/system.h"

namespace vfioctl {
namespace {

using test::TempTree;

// Output shapes of the three tools, a few lines of each: lsinitramfs and
// lsinitcpio print one path a line, lsinitrd `ls -l` lines after a header.
const char* const kLsinitramfs =
    ".\nkernel\nkernel/x86/microcode/AuthenticAMD.bin\netc/modprobe.d\netc/modprobe.d/vfio.conf\n"
    "usr/lib/modules/6.1.0-18-amd64/kernel/drivers/vfio/pci/vfio-pci.ko\n"
    "usr/lib/modules/6.1.0-18-amd64/kernel/drivers/vfio/vfio_iommu_type1.ko\n";
const char* const kLsinitcpio =
    "./\nusr/lib/modules/6.7.4-arch1-1/kernel/drivers/vfio/pci/vfio-pci.ko.zst\n"
    "usr/lib/modules/6.7.4-arch1-1/kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko.zst\n";
const char* const kLsinitrd =
    "Image: /boot/initramfs-6.7.4-200.fc39.x86_64.img: 40M\n"
    "========================================================================\n"
    "dracut modules:\nbash\nsystemd\n"
    "========================================================================\n"
    "drwxr-xr-x  12 root     root            0 Feb  9 10:11 .\n"
    "lrwxrwxrwx   1 root     root            7 Feb  9 10:11 lib -> usr/lib\n"
    "-rw-r--r--   1 root     root          131 Feb  9 10:11 etc/modprobe.d/vfio.conf\n"
    "-rw-r--r--   1 root     root        30712 Feb  9 10:11 "
    "usr/lib/modules/6.7.4-200.fc39.x86_64/kernel/drivers/vfio/pci/vfio-pci.ko.xz\n";

TEST(Initramfs, ParsesEachListersOutput) {
  auto a = parse_initramfs_listing(kLsinitramfs);
  EXPECT_NE(std::find(a.begin(), a.end(), "etc/modprobe.d/vfio.conf"), a.end());
  EXPECT_EQ(std::find(a.begin(), a.end(), "."), a.end());
  auto b = parse_initramfs_listing(kLsinitcpio);
  EXPECT_EQ(b.front(), "usr/lib/modules/6.7.4-arch1-1/kernel/drivers/vfio/pci/vfio-pci.ko.zst");
  auto c = parse_initramfs_listing(kLsinitrd);
  EXPECT_NE(std::find(c.begin(), c.end(), "lib"), c.end());  // the link, not its target
  EXPECT_EQ(std::find(c.begin(), c.end(), "usr/lib"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "etc/modprobe.d/vfio.conf"), c.end());
}

class FakePrograms : public Programs {
 public:
  std::vector<std::string> installed;
  std::string output;
  int exit_code = 0;
  mutable std::vector<std::string> last;
  bool exists(const std::string& name) const override {
    return std::find(installed.begin(), installed.end(), name) != installed.end();
  }
  ProcessResult run(const std::vector<std::string>& argv) const override {
    last = argv;
    return {exit_code, output};
  }
};

TEST(Initramfs, ListsTheRunningKernelsImageWithTheInstalledTool) {
  TempTree t;
  Root root(t.str());
  FakePrograms p;
  EXPECT_EQ(read_initramfs(root, "6.1.0-18-amd64", std::nullopt, p).status, Initramfs::Status::not_live);
  auto ir = list_initramfs(root, "6.1.0-18-amd64", std::nullopt, p);
  EXPECT_EQ(ir.status, Initramfs::Status::no_image);
  EXPECT_NE(ir.detail.find("/boot/initrd.img-6.1.0-18-amd64"), std::string::npos);

  t.file("/boot/initrd.img-6.1.0-18-amd64", "not listed here");
  EXPECT_EQ(list_initramfs(root, "6.1.0-18-amd64", std::nullopt, p).status, Initramfs::Status::no_lister);

  p.installed = {"lsinitrd", "lsinitramfs"};
  p.output = kLsinitramfs;
  ir = list_initramfs(root, "6.1.0-18-amd64", std::nullopt, p);
  ASSERT_EQ(ir.status, Initramfs::Status::listed);
  EXPECT_EQ(ir.lister, "lsinitramfs");
  EXPECT_EQ(ir.image, "/boot/initrd.img-6.1.0-18-amd64");
  EXPECT_EQ(p.last.back(), (t.dir() / "boot/initrd.img-6.1.0-18-amd64").string());
  EXPECT_TRUE(ir.modules.count("vfio_pci"));
  EXPECT_TRUE(ir.modules.count("vfio_iommu_type1"));
  EXPECT_TRUE(ir.holds("/etc/modprobe.d/vfio.conf"));
  EXPECT_FALSE(ir.holds("/etc/modprobe.d/other.conf"));
  EXPECT_TRUE(ir.holds("/lib/modules/6.1.0-18-amd64/kernel/drivers/vfio/pci/vfio-pci.ko"));  // merged /usr

  p.exit_code = 1;
  p.output = "lsinitramfs: cannot open image\n";
  ir = list_initramfs(root, "6.1.0-18-amd64", std::nullopt, p);
  EXPECT_EQ(ir.status, Initramfs::Status::failed);
  EXPECT_EQ(ir.detail, "lsinitramfs: cannot open image");
}

// systemd-boot names the image on the command line, relative to the ESP.
TEST(Initramfs, TakesTheImageTheCommandLineNames) {
  TempTree t;
  t.file("/boot/initramfs-linux-lts.img", "x");
  t.file("/boot/initramfs-linux.img", "x");
  Root root(t.str());
  FakePrograms p;
  p.installed = {"lsinitcpio"};
  p.output = kLsinitcpio;
  auto ir = list_initramfs(root, "6.6.16-1-lts", std::string("\\initramfs-linux-lts.img"), p);
  EXPECT_EQ(ir.image, "/boot/initramfs-linux-lts.img");
  EXPECT_TRUE(ir.modules.count("amdgpu"));
}

TEST(ModuleAliases, MatchTheKernelsModalias) {
  System s;
  s.aliases_known = true;
  s.pci_aliases = {{"pci:v00001022d00001487sv*sd*bc*sc*i*", "snd_hda_intel"},
                   {"pci:v*d*sv*sd*bc04sc03i00*", "snd_hda_intel"},
                   {"pci:v000010DEd*sv*sd*bc03sc*i*", "nouveau"}};
  EXPECT_EQ(modules_for_alias(s, "pci:v00001022d00001487sv00001462sd00007C35bc04sc03i00"),
            std::vector<std::string>{"snd_hda_intel"});
  EXPECT_EQ(modules_for_alias(s, "pci:v000010DEd0000128Bsv00001043sd00008576bc03sc00i00"),
            std::vector<std::string>{"nouveau"});
  EXPECT_TRUE(modules_for_alias(s, "pci:v00008086d00001539sv00008086sd00000000bc02sc00i00").empty());
}

}  // namespace
}  // namespace vfioctl
