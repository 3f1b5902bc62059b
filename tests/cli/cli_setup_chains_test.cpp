// setup on boot chains beyond GRUB, systemd-boot and kernel-install:
// Alpine with extlinux and with GRUB (mkinitfs, OpenRC) and an image-based
// (ostree) host. Each is applied, applied again (no change) and undone;
// what the host boots is read as its own tools read it (/bin/sh sources
// update-extlinux.conf and /etc/default/grub as update-extlinux and
// grub-mkconfig do), and the tools this machine lacks (update-extlinux,
// mkinitfs, rpm-ostree) are recorded, not run. The hosts are a fixture from
// tests/hosts with a distribution overlay (tests/setup/distros) and
// published files (tests/setup/chains, sources in its README) laid over it.
#include <gtest/gtest.h>

#include <cstdio>

#include "run.h"
#include "setup_scratch.h"

namespace vfioctl::test {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What update-extlinux gives the kernel: it sources the file and writes
// modules=$modules before $default_kernel_opts.
std::string extlinux_cmdline(const fs::path& root) {
  return sh("sh -c '. \"$0\"; printf \"modules=%s %s\" \"$modules\" \"$default_kernel_opts\"' " +
            (root / "etc/update-extlinux.conf").string());
}

std::string grub_cmdline(const fs::path& root) {
  return sh("sh -c '. \"$0\"; printf \"%s %s\" \"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\"' " +
            (root / "etc/default/grub").string());
}

// Alpine with extlinux: the arguments go to default_kernel_opts in
// /etc/update-extlinux.conf (quoted in one published file, unquoted in the
// other), the vfio modules join the initramfs's modules= list (Alpine's init
// loads those before it probes devices), and vfioctl's mkinitfs feature puts
// them and vfioctl.conf in the image.
TEST(SetupChains, AlpineExtlinuxAppliesAgainAndUndoes) {
  for (const char* chain : {"A1-extlinux-alpine-oci", "A1-extlinux-s6-alpy"}) {
    SCOPED_TRACE(chain);
    Scratch s(Case{"alpine-extlinux", "intel-desktop-z370", "alpine-3.20-extlinux", {}, {}, {}});
    lay(s, chain);
    lay(s, "A2-mkinitfs-pidac");
    std::string before_cmdline = extlinux_cmdline(s.dir());
    auto before = tree(s.dir());
    Result r = s.run({"setup", "--device", "01:00.0", "--apply", "--regenerate"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(slurp(s.log()), "update-extlinux\nmkinitfs\n");
    std::string cmdline = extlinux_cmdline(s.dir());
    EXPECT_TRUE(has(cmdline, " intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8")) << cmdline;
    EXPECT_TRUE(has(cmdline, ",vfio,vfio_iommu_type1,vfio_pci ")) << cmdline;
    // The user's words stay, in their order.
    for (const char* w : {"modules=sd-mod,usb-storage,", "console=ttyS0,115200", "quiet rootfstype=ext4"}) {
      if (has(before_cmdline, w)) {
        EXPECT_TRUE(has(cmdline, w)) << w << " in " << cmdline;
      }
    }
    std::string features =
        sh("sh -c '. \"$0\"; printf %s \"$features\"' " + (s.dir() / "etc/mkinitfs/mkinitfs.conf").string());
    EXPECT_EQ(features, "ata base cdrom ext4 keymap kms mmc raid scsi usb virtio vfioctl");
    EXPECT_TRUE(has(slurp(s.dir() / "etc/mkinitfs/features.d/vfioctl.modules"), "\nkernel/drivers/vfio\n"));
    EXPECT_TRUE(has(slurp(s.dir() / "etc/mkinitfs/features.d/vfioctl.files"), "\n/etc/modprobe.d/vfioctl.conf\n"));
    Result again = s.run({"setup", "--device", "01:00.0", "--apply"});
    EXPECT_EQ(again.rc, 0) << again.err;
    EXPECT_TRUE(has(again.out, "Nothing to change")) << again.out;
    ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
    EXPECT_EQ(differences(before, tree(s.dir())), "");
  }
}

// mkinitfs without a features= line uses its defaults: a line of vfioctl's
// would replace them, so setup refuses and writes nothing. A quoted
// modules= (not the installer's form) is rewritten whole, unquoted.
TEST(SetupChains, AlpineWithoutAFeaturesLineIsRefused) {
  Scratch s(Case{"alpine-nofeatures", "intel-desktop-z370", "alpine-3.20-extlinux", {}, {}, {}});
  std::ofstream(s.dir() / "etc/update-extlinux.conf")
      << "modules=\"sd-mod,usb-storage,ext4\"\ndefault_kernel_opts=console=ttyS0,115200\n";
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--device", "01:00.0", "--apply"});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_TRUE(has(r.err, "/etc/mkinitfs/mkinitfs.conf has no features= line")) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
  fs::create_directories(s.dir() / "etc/mkinitfs");
  std::ofstream(s.dir() / "etc/mkinitfs/mkinitfs.conf") << "features=\"ata base ext4\"\n";
  Result ok = s.run({"setup", "--device", "01:00.0", "--apply"});
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_TRUE(has(extlinux_cmdline(s.dir()),
                  "modules=sd-mod,usb-storage,ext4,vfio,vfio_iommu_type1,vfio_pci console=ttyS0,115200 intel_iommu=on"))
      << extlinux_cmdline(s.dir());
}

// Alpine with GRUB: modules= is a word of GRUB_CMDLINE_LINUX_DEFAULT there,
// extended where it is written; grub-mkconfig rebuilds grub.cfg.
TEST(SetupChains, AlpineGrubExtendsModulesWhereItIs) {
  Scratch s(Case{"alpine-grub", "intel-desktop-z370", "alpine-3.20-grub", {}, {}, {}});
  lay(s, "A2-mkinitfs-abhidg");
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--device", "01:00.0", "--apply", "--regenerate"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(slurp(s.log()), "grub-mkconfig -o /boot/grub/grub.cfg\nmkinitfs\n");
  std::string cmdline = grub_cmdline(s.dir());
  EXPECT_TRUE(has(cmdline, "modules=sd-mod,usb-storage,ext4,vfio,vfio_iommu_type1,vfio_pci quiet rootfstype=ext4 "))
      << cmdline;
  EXPECT_TRUE(has(cmdline, "intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8")) << cmdline;
  EXPECT_TRUE(has(r.err, "/etc/default/grub:4: modules=sd-mod,usb-storage,ext4 replaced by")) << r.err;
  EXPECT_TRUE(has(slurp(s.dir() / "etc/mkinitfs/mkinitfs.conf"), " nvme vfioctl\"")) << "the feature is named";
  Result again = s.run({"setup", "--device", "01:00.0", "--apply"});
  EXPECT_TRUE(has(again.out, "Nothing to change")) << again.out << again.err;
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// Without systemd nothing mounts hugetlbfs: /etc/fstab gets a mount on a
// directory the transaction creates, and undo takes both away.
TEST(SetupChains, OpenrcGetsAHugetlbfsMount) {
  Scratch s(Case{"alpine-hugepages", "intel-desktop-z370", "alpine-3.20-extlinux", {}, {}, {}});
  lay(s, "A1-extlinux-alpine-oci");
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--hugepages", "4G", "--hugepage-size", "2M", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(slurp(s.dir() / "etc/fstab"), "\nhugetlbfs /var/lib/vfioctl/hugepages hugetlbfs pagesize=2M 0 0\n"));
  EXPECT_TRUE(fs::is_directory(s.dir() / "var/lib/vfioctl/hugepages"));
  EXPECT_TRUE(has(extlinux_cmdline(s.dir()), " hugepagesz=2M hugepages=2048")) << extlinux_cmdline(s.dir());
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  EXPECT_FALSE(fs::exists(s.dir() / "var/lib/vfioctl/hugepages"));
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// An image-based host: the arguments go through rpm-ostree kargs, judged
// from the booted deployment (not the older one, which has intel_iommu=on);
// /etc/default/grub, dracut's files and the image's bootc kargs stay as
// they are; a second run before the restart changes nothing; undo deletes
// exactly the arguments the apply added.
TEST(SetupChains, OstreeGoesThroughRpmOstreeKargs) {
  Scratch s(Case{"ostree", "intel-desktop-z370", "silverblue-41", {}, {}, {}});
  lay(s, "C1-bootc-kargs-getchoo-nvidia");
  auto before = tree(s.dir());
  Result dry = s.run({"setup", "--device", "01:00.0"});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  const std::string kargs =
      "rpm-ostree kargs --append-if-missing=intel_iommu=on --append-if-missing=iommu=pt "
      "--append-if-missing=vfio-pci.ids=10de:1d01,10de:0fb8 --append-if-missing=rd.driver.pre=vfio_pci";
  EXPECT_TRUE(has(dry.out, kargs)) << dry.out;
  EXPECT_FALSE(has(dry.out, "etc/default/grub")) << dry.out;
  EXPECT_FALSE(has(dry.out, "dracut")) << dry.out;
  Result r = s.run({"setup", "--device", "01:00.0", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(slurp(s.log()), kargs + "\n");
  auto after = tree(s.dir());
  EXPECT_EQ(differences(before, after), "only after: etc/modprobe.d/\nonly after: etc/modprobe.d/vfioctl.conf\n");
  Result list = s.run({"--json", "undo", "--list"});
  EXPECT_TRUE(has(list.out, "\"append\": [\n        \"intel_iommu=on\",")) << list.out;
  Result again = s.run({"setup", "--device", "01:00.0", "--apply"});
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_TRUE(has(again.out, "Nothing to change")) << again.out;
  EXPECT_TRUE(has(again.err, "journal entry 1 gave the next deployment intel_iommu=on")) << again.err;
  EXPECT_EQ(slurp(s.log()), kargs + "\n") << "nothing run again";
  Result undo = s.run({"undo", "--apply"});
  ASSERT_EQ(undo.rc, 0) << undo.err;
  EXPECT_EQ(slurp(s.log()), kargs + "\n" +
                                "rpm-ostree kargs --delete-if-present=intel_iommu=on --delete-if-present=iommu=pt "
                                "--delete-if-present=vfio-pci.ids=10de:1d01,10de:0fb8 "
                                "--delete-if-present=rd.driver.pre=vfio_pci\n");
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// When rpm-ostree fails, nothing stays changed: the files are restored and
// the journal entry is undone.
TEST(SetupChains, OstreeFailureRestoresTheFiles) {
  Scratch s(Case{"ostree-fail", "intel-desktop-z370", "silverblue-41", {}, {}, {}});
  auto before = tree(s.dir());
  ::setenv("VFIOCTL_COMMAND_FAIL", "rpm-ostree", 1);
  Result r = s.run({"setup", "--device", "01:00.0", "--apply"});
  ::unsetenv("VFIOCTL_COMMAND_FAIL");
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_TRUE(has(r.err, "'rpm-ostree kargs")) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
  Result again = s.run({"setup", "--device", "01:00.0"});
  EXPECT_FALSE(has(again.err, "journal entry")) << "an undone entry is not pending: " << again.err;
}

// Under --root, rpm-ostree would run inside that tree: only with --chroot.
TEST(SetupChains, OstreeUnderRootNeedsChroot) {
  Scratch s(Case{"ostree-root", "intel-desktop-z370", "silverblue-41", {}, {}, {}});
  auto before = tree(s.dir());
  Result r = vfioctl({"--root", s.dir().string(), "setup", "--device", "01:00.0", "--apply"});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_TRUE(has(r.err, "add --chroot")) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// The host's own tools and packages in doctor's fixes and setup's messages.
TEST(SetupChains, AlpineMessagesNameAlpinesTools) {
  Scratch s(Case{"alpine-doctor", "intel-desktop-z370", "alpine-3.20-extlinux", {}, {}, {}});
  lay(s, "A1-extlinux-alpine-oci");
  Result d = s.run({"doctor"});
  EXPECT_TRUE(has(d.out,
                  "/etc/update-extlinux.conf:14: default_kernel_opts=\"quiet rootfstype=ext4\" -> \"quiet "
                  "rootfstype=ext4 iommu=pt\", then run 'update-extlinux'"))
      << d.out;
  EXPECT_FALSE(has(d.out, "/etc/default/grub")) << d.out;
  EXPECT_TRUE(has(d.out, "fix: apk add qemu-system-x86_64")) << d.out;
  fs::path spec = s.dir().string() + ".toml";
  std::ofstream(spec) << "memory = \"4G\"\n";
  Result f = s.run({"setup", "--for", spec.string()});
  fs::remove(spec);
  EXPECT_EQ(f.rc, 3) << f.err;
  EXPECT_TRUE(has(f.err, "apk add libvirt-daemon")) << f.err;
}

// The same on the other families: Arch's libvirt for setup --for, and a
// QEMU script generated for a Fedora host checks for Fedora's packages.
TEST(SetupChains, MessagesNameTheHostsPackages) {
  Scratch arch(find_case("arch-grub_3900x"));
  fs::path spec = arch.dir().string() + ".toml";
  std::ofstream(spec) << "memory = \"4G\"\n";
  Result f = arch.run({"setup", "--for", spec.string()});
  fs::remove(spec);
  EXPECT_EQ(f.rc, 3) << f.err;
  EXPECT_TRUE(has(f.err, "(pacman -S libvirt)")) << f.err;
  EXPECT_FALSE(has(f.err, "Debian")) << f.err;

  Scratch fedora(find_case("fedora-41_13700k"));
  fs::path script = fedora.dir().string() + ".sh";
  fs::path guest = fedora.dir().string() + ".toml";
  std::ofstream(guest) << "memory = \"4G\"\ntpm = true\n";
  Result n = fedora.run({"new", guest.string(), "--qemu-script", script.string()});
  fs::remove(guest);
  ASSERT_EQ(n.rc, 0) << n.err;
  std::string text = slurp(script);
  fs::remove(script);
  EXPECT_TRUE(has(text, "is missing (dnf install qemu-kvm)")) << text;
  EXPECT_TRUE(has(text, "is missing (dnf install edk2-ovmf)")) << text;
  EXPECT_TRUE(has(text, "swtpm is missing (dnf install swtpm)")) << text;
  EXPECT_FALSE(has(text, "apt")) << text;
  Result d = fedora.run({"doctor"});
  EXPECT_FALSE(has(d.out, "apt install")) << d.out;
}

// doctor on an image-based host points at rpm-ostree, not at GRUB's file.
TEST(SetupChains, OstreeDoctorFixesUseRpmOstree) {
  Scratch s(Case{"ostree-doctor", "intel-desktop-z370", "silverblue-41", {}, {}, {}});
  Result d = s.run({"doctor"});
  EXPECT_TRUE(has(d.out, "rpm-ostree kargs --append-if-missing=iommu=pt")) << d.out;
  EXPECT_FALSE(has(d.out, "/etc/default/grub")) << d.out;
}

}  // namespace
}  // namespace vfioctl::test
