// doctor --guest: what a domain asks of the host (needs), the host's side
// read from scratch trees (qemu.conf, accounts, file modes, mounts, AppArmor
// logs, the libvirt hook, /dev/kvm), and the verdicts H201-H212.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "temp_tree.h"
#include "vfioctl/guest/needs.h"
#include "vfioctl/host/access.h"
#include "vfioctl/host/root.h"
#include "vfioctl/plan/guest_checks.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

using test::TempTree;

const Finding* find(const std::vector<Finding>& fs, const std::string& id) {
  auto it = std::find_if(fs.begin(), fs.end(), [&](const Finding& f) { return f.id == id; });
  return it == fs.end() ? nullptr : &*it;
}

const char* kDomain = R"(<domain type="kvm" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">
  <name>win11</name>
  <uuid>4c98ba58-72b8-4cdb-a5d7-b151dea180e4</uuid>
  <memory unit="GiB">16</memory>
  <memoryBacking><hugepages><page size="1" unit="G"/></hugepages><locked/></memoryBacking>
  <cpu mode="host-passthrough"><feature policy="require" name="vmx"/></cpu>
  <devices>
    <interface type="network"><source network="default"/><model type="virtio"/></interface>
    <hostdev mode="subsystem" type="pci"><source><address bus="0x01" slot="0" function="0"/></source><rom file="/var/lib/libvirt/vbios/gpu.rom"/></hostdev>
    <input type="evdev"><source dev="/dev/input/by-id/kbd-event-kbd" grab="all"/></input>
    <audio id="1" type="pulseaudio" serverName="/run/user/1000/pulse/native"/>
    <shmem name="looking-glass"><model type="ivshmem-plain"/><size unit="M">64</size></shmem>
  </devices>
  <qemu:commandline>
    <qemu:arg value="-object"/>
    <qemu:arg value="input-linux,id=mouse1,evdev=/dev/input/by-id/mouse-event-mouse"/>
  </qemu:commandline>
</domain>
)";

TEST(GuestNeeds, ReadsWhatTheDomainAsksOfTheHost) {
  GuestNeeds n = read_guest_needs(kDomain);
  EXPECT_EQ(n.name, "win11");
  EXPECT_EQ(n.uuid, "4c98ba58-72b8-4cdb-a5d7-b151dea180e4");
  EXPECT_EQ(n.memory_kib, 16LL * 1024 * 1024);
  EXPECT_EQ(n.hugepage_kib, 1024 * 1024);
  EXPECT_TRUE(n.locked);
  EXPECT_EQ(n.nested, "vmx");
  EXPECT_TRUE(n.virtio_net);
  EXPECT_EQ(n.roms, std::vector<std::string>{"/var/lib/libvirt/vbios/gpu.rom"});
  EXPECT_EQ(n.evdev, std::vector<std::string>{"/dev/input/by-id/kbd-event-kbd"});
  EXPECT_EQ(n.evdev_cmdline, std::vector<std::string>{"/dev/input/by-id/mouse-event-mouse"});
  EXPECT_EQ(n.audio_sockets, std::vector<std::string>{"/run/user/1000/pulse/native"});
  EXPECT_EQ(n.shmems, std::vector<std::string>{"looking-glass"});
  EXPECT_THROW(read_guest_needs("<network/>"), Error);
}

TEST(QemuConf, ParsesUserAndAMultiLineAclAndIgnoresComments) {
  QemuConf c = parse_qemu_conf(
      "#user = \"root\"\nuser = \"+1000\"  # the desktop user\n"
      "#cgroup_device_acl = [ \"/dev/x\" ]\ncgroup_device_acl = [\n  \"/dev/null\", \"/dev/kvm\",\n"
      "  \"/dev/input/by-id/a#b\"\n]\n");
  EXPECT_EQ(c.user, std::optional<std::string>("+1000"));
  ASSERT_TRUE(c.cgroup_device_acl);
  EXPECT_EQ(*c.cgroup_device_acl, (std::vector<std::string>{"/dev/null", "/dev/kvm", "/dev/input/by-id/a#b"}));
  EXPECT_EQ(c.acl_line, 4);
  EXPECT_FALSE(parse_qemu_conf("# nothing\n").user);
}

// A scratch host: libvirt-qemu (uid 64055) and alice (uid 1000, group kvm).
void accounts(const TempTree& t) {
  t.file("/etc/passwd",
         "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
         "libvirt-qemu:x:64055:108:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n");
  t.file("/etc/group", "root:x:0:\nkvm:x:104:libvirt-qemu,alice\nalice:x:1000:\n");
}

void owned(const TempTree& t, const std::string& path, unsigned uid, unsigned gid, mode_t mode) {
  std::string real = (t.dir() / path.substr(1)).string();
  ASSERT_EQ(::chown(real.c_str(), uid, gid), 0);
  ASSERT_EQ(::chmod(real.c_str(), mode), 0);
}

TEST(GuestAccess, TheUsersRuntimeDirectoryShutsQemuOutUntilQemuRunsAsThatUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files to other users";
  TempTree t;
  accounts(t);
  t.file("/etc/libvirt/qemu.conf", "#user = \"libvirt-qemu\"\n");
  t.file("/run/user/1000/pulse/native", "");
  owned(t, "/run/user/1000", 1000, 1000, 0700);
  owned(t, "/run/user/1000/pulse", 1000, 1000, 0755);
  owned(t, "/run/user/1000/pulse/native", 1000, 1000, 0666);
  t.file("/var/lib/libvirt/vbios/gpu.rom", "rom");
  owned(t, "/var/lib/libvirt/vbios/gpu.rom", 0, 0, 0600);
  t.file("/proc/mounts",
         "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
         "hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n");
  t.file("/proc/meminfo", "Hugepagesize:       2048 kB\n");
  t.file("/sys/module/kvm_intel/parameters/nested", "N\n");
  t.file("/sys/module/apparmor/parameters/enabled", "Y\n");
  t.file("/var/log/kern.log",
         "audit: type=1400 apparmor=\"DENIED\" operation=\"open\" "
         "profile=\"libvirt-4c98ba58-72b8-4cdb-a5d7-b151dea180e4\" "
         "name=\"/srv/rom.bin\" requested_mask=\"r\"\n"
         "audit: type=1400 apparmor=\"DENIED\" profile=\"libvirt-00000000-0000-0000-0000-000000000000\" name=\"/x\"\n");
  Root root(t.dir());
  GuestNeeds n = read_guest_needs(kDomain);
  GuestAccess a = read_guest_access(root, n);
  ASSERT_TRUE(a.qemu);
  EXPECT_EQ(a.qemu->name, "libvirt-qemu");
  Session s;
  s.memlock_bytes = 64 << 10;
  auto fs = guest_checks(n, a, s);
  ASSERT_TRUE(find(fs, "H203"));
  EXPECT_EQ(find(fs, "H203")->severity, Severity::fail);
  EXPECT_EQ(find(fs, "H203")->message,
            "libvirt-qemu may not use /run/user/1000/pulse/native: /run/user/1000 (mode 700) may not be entered");
  EXPECT_NE(find(fs, "H203")->fix.find("user = \"+1000\" in /etc/libvirt/qemu.conf"), std::string::npos);
  EXPECT_EQ(find(fs, "H204")->severity, Severity::fail);  // 0600 root: QEMU's user cannot read it
  EXPECT_EQ(find(fs, "H205")->severity, Severity::pass);  // pagesize=1024M is 1 GiB
  EXPECT_EQ(find(fs, "H202")->severity, Severity::fail);  // the <qemu:commandline> mouse is not in the ACL
  EXPECT_NE(find(fs, "H202")->message.find("/dev/input/by-id/mouse-event-mouse"), std::string::npos);
  EXPECT_EQ(find(fs, "H207")->severity, Severity::fail);  // one denial of this guest, not the other's
  EXPECT_NE(find(fs, "H207")->message.find("denied this guest 1 time(s)"), std::string::npos);
  EXPECT_EQ(find(fs, "H208")->severity, Severity::fail);
  EXPECT_EQ(find(fs, "H208")->message, "kvm_intel nested is N");
  EXPECT_EQ(find(fs, "H209")->severity, Severity::warn);  // no /dev/vhost-net
  EXPECT_EQ(find(fs, "H210")->severity, Severity::warn);
  EXPECT_EQ(find(fs, "H212")->severity, Severity::fail);
  EXPECT_EQ(find(fs, "H212")->message, "/dev/kvm does not exist");

  // QEMU as alice: the socket opens; the ACL names the mouse; the ROM is readable.
  t.file("/etc/libvirt/qemu.conf",
         "user = \"+1000\"\ncgroup_device_acl = [ \"/dev/null\", "
         "\"/dev/input/by-id/mouse-event-mouse\" ]\n");
  owned(t, "/var/lib/libvirt/vbios/gpu.rom", 0, 0, 0644);
  t.file("/sys/module/kvm_intel/parameters/nested", "Y\n");
  t.file("/dev/vhost-net", "");
  GuestAccess b = read_guest_access(root, n);
  auto ok = guest_checks(n, b, s);
  EXPECT_EQ(find(ok, "H201")->message, "QEMU runs as alice (uid 1000) (qemu.conf user)");
  EXPECT_EQ(find(ok, "H203")->severity, Severity::pass);
  EXPECT_EQ(find(ok, "H202")->severity, Severity::pass);
  EXPECT_EQ(find(ok, "H204")->severity, Severity::pass);
  EXPECT_EQ(find(ok, "H208")->severity, Severity::pass);
  EXPECT_EQ(find(ok, "H209")->severity, Severity::pass);
}

// /dev/kvm as a host without udev leaves it (0600 root:root), then as udev's
// rules set it (0660 root:kvm); a TCG guest does not open it.
TEST(GuestAccess, DevKvmMustOpenForQemusUserWhenTheGuestIsKvm) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files to other users";
  TempTree t;
  accounts(t);
  t.file("/dev/kvm", "");
  owned(t, "/dev/kvm", 0, 0, 0600);
  Root root(t.dir());
  GuestNeeds n = read_guest_needs(kDomain);
  EXPECT_TRUE(n.kvm);
  auto fs = guest_checks(n, read_guest_access(root, n), Session{});
  ASSERT_TRUE(find(fs, "H212"));
  EXPECT_EQ(find(fs, "H212")->severity, Severity::fail);
  EXPECT_EQ(find(fs, "H212")->message, "libvirt-qemu may not open /dev/kvm read-write (it is 600 root:root)");
  EXPECT_NE(find(fs, "H212")->fix.find("chown root:kvm /dev/kvm && chmod 0660 /dev/kvm"), std::string::npos);

  owned(t, "/dev/kvm", 0, 104, 0660);  // group kvm, which libvirt-qemu is in
  fs = guest_checks(n, read_guest_access(root, n), Session{});
  EXPECT_EQ(find(fs, "H212")->severity, Severity::pass);
  EXPECT_EQ(find(fs, "H212")->message, "libvirt-qemu may open /dev/kvm (it is 660 root:kvm)");

  std::string tcg = kDomain;
  tcg.replace(tcg.find("type=\"kvm\""), 10, "type=\"qemu\"");
  GuestNeeds q = read_guest_needs(tcg);
  EXPECT_FALSE(q.kvm);
  owned(t, "/dev/kvm", 0, 0, 0600);
  EXPECT_FALSE(find(guest_checks(q, read_guest_access(root, q), Session{}), "H212"));
}

TEST(GuestAccess, NoHugetlbfsOfThePageSizeAndNoKvmModule) {
  TempTree t;
  accounts(t);
  t.file("/proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n");
  t.file("/proc/meminfo", "Hugepagesize:       2048 kB\n");
  Root root(t.dir());
  GuestNeeds n = read_guest_needs(kDomain);
  auto fs = guest_checks(n, read_guest_access(root, n), Session{});
  EXPECT_EQ(find(fs, "H205")->severity, Severity::fail);
  EXPECT_EQ(find(fs, "H205")->message, "no hugetlbfs with 1G pages is mounted");
  EXPECT_EQ(find(fs, "H208")->message, "kvm_intel is not loaded (no /sys/module/kvm_intel/parameters/nested)");
  EXPECT_EQ(find(fs, "H207")->severity, Severity::pass);
  EXPECT_FALSE(find(fs, "H210"));  // the session's limit is unknown (not the live host)
}

// H205's fix is the mount this host's init system needs for the page size,
// and the fstab line setup writes for it (hugepage_boot()).
TEST(GuestAccess, H205FixForEachPageSizeAndInitSystem) {
  TempTree t;
  accounts(t);
  t.file("/proc/mounts", "proc /proc proc rw 0 0\n");
  t.file("/proc/meminfo", "Hugepagesize:       2048 kB\n");
  Root root(t.dir());
  std::string two_m = kDomain;
  const std::string one_g = "<page size=\"1\" unit=\"G\"/>";
  two_m.replace(two_m.find(one_g), one_g.size(), "<page size=\"2\" unit=\"M\"/>");
  auto fix = [&](const std::string& xml) {
    GuestNeeds n = read_guest_needs(xml);
    auto findings = guest_checks(n, read_guest_access(root, n), Session{});
    auto f = find(findings, "H205");
    EXPECT_EQ(f->severity, Severity::fail);
    return f->fix;
  };
  // systemd: 2 MiB pages at /dev/hugepages by dev-hugepages.mount; 1 GiB
  // pages need a mount setup writes.
  EXPECT_NE(fix(two_m).find("systemctl start dev-hugepages.mount"), std::string::npos) << fix(two_m);
  std::string gig = fix(kDomain);
  EXPECT_NE(gig.find("mkdir -p /dev/hugepages1G && mount -t hugetlbfs -o pagesize=1G hugetlbfs /dev/hugepages1G"),
            std::string::npos)
      << gig;
  EXPECT_NE(gig.find("'hugetlbfs1g /dev/hugepages1G hugetlbfs pagesize=1G 0 0'"), std::string::npos) << gig;
  // OpenRC: nothing mounts hugetlbfs; vfioctl's directory, for both sizes.
  t.file("/etc/runlevels/default/.keep", "");
  std::string om = fix(two_m);
  EXPECT_NE(om.find("mount -t hugetlbfs -o pagesize=2M hugetlbfs /var/lib/vfioctl/hugepages,"), std::string::npos)
      << om;
  EXPECT_NE(om.find("'hugetlbfs /var/lib/vfioctl/hugepages hugetlbfs pagesize=2M 0 0'"), std::string::npos) << om;
  EXPECT_NE(fix(kDomain).find("/var/lib/vfioctl/hugepages1G"), std::string::npos);
}

// A guest that opts into tuning needs the hook where libvirt runs it.
TEST(GuestAccess, TheHookForAGuestThatAsksToBeTuned) {
  std::string xml = kDomain;
  xml.replace(xml.find("<memory"), 0,
              "<metadata><t:tune xmlns:t=\"urn:vfioctl:tune:1\" actions=\"isolate irq\"/></metadata>\n  ");
  GuestNeeds n = read_guest_needs(xml);
  EXPECT_TRUE(n.tune);
  EXPECT_EQ(n.tune_actions, (std::vector<std::string>{"isolate", "irq"}));

  TempTree t;
  accounts(t);
  Root root(t.dir());
  auto verdict = [&]() { return *find(guest_checks(n, read_guest_access(root, n), Session{}), "H211"); };
  Finding missing = verdict();
  EXPECT_EQ(missing.severity, Severity::warn);
  EXPECT_EQ(missing.message,
            "<vfioctl:tune> asks for isolate, irq, but /etc/libvirt/hooks/qemu.d/vfioctl does not "
            "exist: nothing will tune the host");
  EXPECT_EQ(missing.fix, "vfioctl hook install --apply, then restart libvirtd (or virtqemud)");

  std::string hook = (t.dir() / "etc/libvirt/hooks/qemu.d/vfioctl").string();
  t.file("/etc/libvirt/hooks/qemu.d/vfioctl", "#!/bin/sh\nexec my-own-hook \"$@\"\n");
  ASSERT_EQ(::chmod(hook.c_str(), 0755), 0);
  EXPECT_EQ(verdict().severity, Severity::warn);
  EXPECT_NE(verdict().message.find("was not written by vfioctl"), std::string::npos);

  t.file("/etc/libvirt/hooks/qemu.d/vfioctl",
         std::string("#!/bin/sh\n") + kLibvirtHookMarker + "\nexec vfioctl hook run \"$@\"\n");
  ASSERT_EQ(::chmod(hook.c_str(), 0644), 0);
  EXPECT_EQ(verdict().severity, Severity::fail);
  EXPECT_EQ(verdict().fix, "chmod 755 /etc/libvirt/hooks/qemu.d/vfioctl");

  ASSERT_EQ(::chmod(hook.c_str(), 0755), 0);
  EXPECT_EQ(verdict().severity, Severity::pass);

  // A guest without the element gets no H211; one with an unknown action is a bad input.
  EXPECT_FALSE(find(guest_checks(read_guest_needs(kDomain), GuestAccess{}, Session{}), "H211"));
  std::string typo = xml;
  typo.replace(typo.find("isolate irq"), 11, "isolate irqs");
  EXPECT_THROW(read_guest_needs(typo), Error);
}

}  // namespace
}  // namespace vfioctl
