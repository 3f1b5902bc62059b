// Doctor checks: each one both ways, on facts read from fixture hosts and
// then changed the way real hosts differ.
#include "vfioctl/plan/doctor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

Host fixture(const std::string& name) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name);
  return read_host(root);
}

Session offline() {
  Session s;
  s.live = false;
  return s;
}

const Finding& find(const std::vector<Finding>& fs, const std::string& id) {
  for (const auto& f : fs) {
    if (f.id == id) return f;
  }
  static const Finding none{"none", "", Severity::skip, "", "", "", "", ""};
  ADD_FAILURE() << "no finding " << id;
  return none;
}

Severity sev(const Host& h, const std::string& id, const Session& s = offline()) {
  return find(host_checks(h, s), id).severity;
}

void set_cmdline(Host& h, const std::string& line) {
  h.kernel.cmdline = line;
  h.kernel.args = parse_cmdline(line);
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(Doctor, IdsAreUniqueAndOrdered) {
  auto fs = host_checks(fixture("intel-desktop-z370"), offline());
  ASSERT_GE(fs.size(), 19u);
  for (size_t i = 1; i < fs.size(); ++i) EXPECT_LT(fs[i - 1].id, fs[i].id);
  for (const auto& f : fs) {
    EXPECT_FALSE(f.why.empty()) << f.id;
    EXPECT_FALSE(f.message.empty()) << f.id;
    if (f.severity == Severity::fail || f.severity == Severity::warn) {
      EXPECT_FALSE(f.fix.empty()) << f.id;
    }
  }
}

// docs/rules.md has a section per check, headed "### ID ".
TEST(Doctor, EveryHostCheckIsDocumented) {
  std::ifstream f(std::string(VFIOCTL_SOURCE_DIR) + "/docs/rules.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  for (const auto& c : host_checks(fixture("two-identical-gpus"), offline())) {
    EXPECT_TRUE(has(doc, "\n### " + c.id + " ")) << c.id;
  }
}

TEST(Doctor, H001VirtualizationExtensions) {
  Host h = fixture("amd-ryzen9-3900x");
  EXPECT_EQ(sev(h, "H001"), Severity::pass);
  h.platform.flags.erase("svm");
  auto f = find(host_checks(h, offline()), "H001");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "SVM Mode"));
  h.platform.flags.insert("hypervisor");
  EXPECT_TRUE(has(find(host_checks(h, offline()), "H001").message, "nested"));
}

TEST(Doctor, H002KvmDevice) {
  Host h = fixture("intel-desktop-z370");
  EXPECT_EQ(sev(h, "H002"), Severity::pass);
  Session live;
  live.kvm_usable = false;
  auto f = find(host_checks(h, live), "H002");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "usermod -aG kvm"));
  h.platform.kvm_device = false;
  f = find(host_checks(h, offline()), "H002");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "modprobe kvm_intel"));
}

TEST(Doctor, H003IommuWithTheFixForTheVendor) {
  Host intel = fixture("intel-desktop-z370");
  EXPECT_EQ(sev(intel, "H003"), Severity::pass);
  intel.groups.clear();
  intel.platform.iommu_units.clear();
  auto f = find(host_checks(intel, offline()), "H003");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "VT-d"));
  EXPECT_TRUE(has(f.fix, "intel_iommu=on"));

  // This AMD host boots with amd_iommu=off: the fix is to drop it.
  Host amd = fixture("amd-matisse-nnk");
  f = find(host_checks(amd, offline()), "H003");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "remove amd_iommu=off"));
  // Without it, the firmware option is the whole fix on AMD.
  set_cmdline(amd, "ro quiet");
  f = find(host_checks(amd, offline()), "H003");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.fix, "AMD-Vi"));
  EXPECT_FALSE(has(f.fix, "amd_iommu=on"));

  Host off = fixture("intel-desktop-z370");
  set_cmdline(off, "ro quiet intel_iommu=off");
  f = find(host_checks(off, offline()), "H003");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.message, "intel_iommu=off"));
}

TEST(Doctor, KernelArgumentFixesNameTheFileAndLine) {
  Host h = fixture("intel-desktop-z370");
  h.groups.clear();
  h.platform.iommu_units.clear();
  h.system.distro = parse_os_release("ID=ubuntu\nID_LIKE=debian\n");
  h.system.boot.grub_line = 6;
  h.system.boot.grub_value = "quiet splash";
  auto f = find(host_checks(h, offline()), "H003");
  EXPECT_TRUE(has(f.fix,
                  "/etc/default/grub:6: GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\" -> "
                  "\"quiet splash intel_iommu=on\", then run 'update-grub' and reboot"))
      << f.fix;
  h.system.boot.grub_value = "quiet splash pcie_acs_override=downstream";
  set_cmdline(h, "ro quiet splash pcie_acs_override=downstream");
  f = find(host_checks(h, offline()), "H008");
  EXPECT_TRUE(has(f.fix, "/etc/default/grub:6: take pcie_acs_override out")) << f.fix;
  h.system.boot.kernel_cmdline = "root=/dev/nvme0n1p2 rw";
  f = find(host_checks(h, offline()), "H003");
  EXPECT_TRUE(has(f.fix, "/etc/kernel/cmdline: append intel_iommu=on")) << f.fix;
}

TEST(Doctor, H004NoOpArguments) {
  Host amd = fixture("amd-ryzen9-3900x");  // its command line has amd_iommu=on
  auto f = find(host_checks(amd, offline()), "H004");
  EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(has(f.message, "amd_iommu=on"));
  set_cmdline(amd, "ro quiet iommu=pt");
  EXPECT_EQ(sev(amd, "H004"), Severity::pass);
  Host intel = fixture("intel-desktop-z370");
  set_cmdline(intel, "ro intel_iommu=on");
  EXPECT_EQ(sev(intel, "H004"), Severity::pass);
}

TEST(Doctor, H005IommuPt) {
  Host h = fixture("amd-ryzen9-3900x");
  EXPECT_EQ(sev(h, "H005"), Severity::pass);
  set_cmdline(h, "ro quiet");
  EXPECT_EQ(sev(h, "H005"), Severity::info);
}

TEST(Doctor, H006InterruptRemapping) {
  Host h = fixture("intel-desktop-z370");
  h.system.remapped_irq_lines = 12;
  EXPECT_EQ(sev(h, "H006"), Severity::pass);
  h.system.remapped_irq_lines = 0;
  h.system.dmar_ir_capable = {{"dmar0", true}};
  set_cmdline(h, "ro intremap=off");
  auto f = find(host_checks(h, offline()), "H006");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.fix, "intremap=off"));
  h.system.dmar_ir_capable = {{"dmar0", false}};
  f = find(host_checks(h, offline()), "H006");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "cannot remap"));
  h.groups.clear();
  EXPECT_EQ(sev(h, "H006"), Severity::skip);
}

TEST(Doctor, H007VfioModules) {
  Host h = fixture("intel-desktop-z370");
  h.kernel.loaded = {"vfio"};
  h.kernel.builtin = {"vfio_pci"};
  h.kernel.builtin_known = true;
  h.system.module_files = {"vfio_iommu_type1"};
  h.system.module_files_known = true;
  auto f = find(host_checks(h, offline()), "H007");
  EXPECT_EQ(f.severity, Severity::pass);
  EXPECT_TRUE(has(f.message, "vfio: loaded"));
  EXPECT_TRUE(has(f.message, "vfio_pci: built in"));
  EXPECT_TRUE(has(f.message, "vfio_iommu_type1: available"));
  h.system.module_files.clear();
  f = find(host_checks(h, offline()), "H007");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.message, "vfio_iommu_type1"));
}

TEST(Doctor, H008AcsOverrideSaysWhetherItIsInEffect) {
  Host h = fixture("amd-ryzen9-3900x");
  EXPECT_EQ(sev(h, "H008"), Severity::pass);
  set_cmdline(h, "ro pcie_acs_override=downstream,multifunction");
  h.kernel.release = "6.1.0-18-amd64";
  auto f = find(host_checks(h, offline()), "H008");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "not in effect"));
  h.kernel.release = "6.6.8-zen1-1-zen";
  f = find(host_checks(h, offline()), "H008");
  EXPECT_FALSE(has(f.message, "not in effect"));
}

TEST(Doctor, H009UnsafeInterrupts) {
  Host h = fixture("intel-desktop-z370");
  EXPECT_EQ(sev(h, "H009"), Severity::pass);
  h.kernel.params["vfio_iommu_type1"]["allow_unsafe_interrupts"] = "Y";
  EXPECT_EQ(sev(h, "H009"), Severity::warn);
  h.kernel.params["vfio_iommu_type1"]["allow_unsafe_interrupts"] = "N";
  set_cmdline(h, "vfio_iommu_type1.allow_unsafe_interrupts=1");
  EXPECT_EQ(sev(h, "H009"), Severity::warn);
}

TEST(Doctor, H010ObsoleteOptions) {
  Host h = fixture("intel-desktop-z370");
  EXPECT_EQ(sev(h, "H010"), Severity::pass);
  set_cmdline(h, "kvm.allow_unsafe_assigned_interrupts=1");
  auto f = find(host_checks(h, offline()), "H010");
  EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(has(f.message, "4.12"));
}

TEST(Doctor, H011AndH012Pages) {
  Host h = fixture("amd-ryzen9-3900x");
  EXPECT_EQ(sev(h, "H011"), Severity::pass);
  h.platform.flags.erase("pdpe1gb");
  EXPECT_EQ(sev(h, "H011"), Severity::info);
  h.memory.thp_enabled = "madvise";
  EXPECT_EQ(sev(h, "H012"), Severity::pass);
  h.memory.thp_enabled = "never";
  EXPECT_EQ(sev(h, "H012"), Severity::info);
}

TEST(Doctor, H013CpuIsolation) {
  Host h = fixture("amd-ryzen9-3900x");
  EXPECT_EQ(sev(h, "H013"), Severity::info);
  set_cmdline(h, "isolcpus=domain,managed_irq,3-11,15-23 nohz_full=3-11,15-23 rcu_nocbs=3-11,15-23");
  EXPECT_EQ(sev(h, "H013"), Severity::pass);
  set_cmdline(h, "isolcpus=3-11 nohz_full=3-5");
  EXPECT_EQ(sev(h, "H013"), Severity::warn);
  set_cmdline(h, "isolcpus=0-5");
  EXPECT_EQ(sev(h, "H013"), Severity::fail);
  set_cmdline(h, "nohz_full=x-y");
  EXPECT_EQ(sev(h, "H013"), Severity::fail);
}

TEST(Doctor, H014IgnoreMsrs) {
  Host h = fixture("intel-desktop-z370");
  h.kernel.params["kvm"]["ignore_msrs"] = "N";
  auto f = find(host_checks(h, offline()), "H014");
  EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(has(f.fix, "kvm.ignore_msrs=1"));
  h.kernel.params["kvm"]["ignore_msrs"] = "Y";
  EXPECT_TRUE(find(host_checks(h, offline()), "H014").fix.empty());
  h.kernel.params.erase("kvm");
  EXPECT_EQ(sev(h, "H014"), Severity::skip);
}

TEST(Doctor, H015ToH018SoftwareWithDistroPackageNames) {
  Host h = fixture("intel-desktop-z370");
  h.system.distro = parse_os_release("ID=fedora\nVERSION_ID=40\n");
  auto fs = host_checks(h, offline());
  EXPECT_EQ(find(fs, "H015").severity, Severity::fail);
  EXPECT_EQ(find(fs, "H015").fix, "dnf install edk2-ovmf");
  EXPECT_EQ(find(fs, "H016").severity, Severity::warn);
  EXPECT_EQ(find(fs, "H018").fix, "dnf install qemu-kvm");
  h.system.distro = parse_os_release("ID=ubuntu\nID_LIKE=debian\n");
  fs = host_checks(h, offline());
  EXPECT_EQ(find(fs, "H015").fix, "apt install ovmf");
  EXPECT_EQ(find(fs, "H016").fix, "apt install swtpm swtpm-tools");
  h.system.firmware.known = true;
  h.system.firmware.present = {known_firmware()[0]};
  h.system.packages["ovmf"] = "2022.11-6";
  h.system.tools["swtpm"] = "/usr/bin/swtpm";
  h.system.tools["libvirtd"] = "/usr/sbin/libvirtd";
  h.system.tools["qemu"] = "/usr/bin/qemu-system-x86_64";
  fs = host_checks(h, offline());
  EXPECT_EQ(find(fs, "H015").severity, Severity::pass);
  EXPECT_EQ(find(fs, "H015").message,
            "/usr/share/OVMF/OVMF_CODE_4M.fd (ovmf 2022.11-6) (known path of Debian, Ubuntu; no firmware descriptor "
            "matched); no Secure Boot firmware with Microsoft's keys enrolled (Windows 11 guests need it)");
  EXPECT_EQ(find(fs, "H016").severity, Severity::pass);
  EXPECT_EQ(find(fs, "H017").severity, Severity::pass);
  EXPECT_EQ(find(fs, "H018").severity, Severity::pass);
}

// H015 on Debian 12's real descriptors (tests/firmware/debian-12): the file
// and how it was found, for plain UEFI and for Secure Boot.
TEST(Doctor, H015NamesTheFirmwareAndItsDescriptor) {
  Host h = fixture("intel-desktop-z370");
  Root fw(std::string(VFIOCTL_SOURCE_DIR) + "/tests/firmware/debian-12");
  Notes notes;
  h.system.firmware = read_firmware(fw, notes);
  h.system.packages["ovmf"] = "2022.11-6+deb12u2";
  auto f = find(host_checks(h, offline()), "H015");
  EXPECT_EQ(f.severity, Severity::pass);
  EXPECT_EQ(f.message,
            "/usr/share/OVMF/OVMF_CODE_4M.fd (ovmf 2022.11-6+deb12u2) (firmware descriptor "
            "/usr/share/qemu/firmware/60-edk2-x86_64.json); Secure Boot with Microsoft's keys: "
            "/usr/share/OVMF/OVMF_CODE_4M.ms.fd (firmware descriptor "
            "/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json)");
  // Descriptors whose files are gone, and no known pair: FAIL, naming why each was left out.
  h.system.firmware.present.clear();
  for (auto& d : h.system.firmware.descriptors) d.executable.exists = false;
  h.system.distro = parse_os_release("ID=debian\n");
  f = find(host_checks(h, offline()), "H015");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_NE(f.message.find("/usr/share/qemu/firmware/60-edk2-x86_64.json: /usr/share/OVMF/OVMF_CODE_4M.fd is missing"),
            std::string::npos)
      << f.message;
  EXPECT_EQ(f.fix, "apt install ovmf");
}

TEST(Doctor, H019MemlockOnlyLive) {
  Host h = fixture("intel-desktop-z370");
  EXPECT_EQ(sev(h, "H019"), Severity::skip);
  Session live;
  live.memlock_bytes = 64LL * 1024 * 1024;
  EXPECT_EQ(find(host_checks(h, live), "H019").severity, Severity::warn);
  live.memlock_bytes = -1;
  EXPECT_EQ(find(host_checks(h, live), "H019").severity, Severity::pass);
  live.memlock_bytes = 64LL * 1024 * 1024;
  live.root_user = true;
  EXPECT_EQ(find(host_checks(h, live), "H019").severity, Severity::pass);
}

TEST(Doctor, H021VhostNetAndH022Nested) {
  Host h = fixture("intel-desktop-z370");
  h.kernel.loaded.erase("vhost_net");
  h.kernel.builtin.erase("vhost_net");
  h.system.module_files_known = true;
  h.system.module_files.insert("vhost_net");
  EXPECT_EQ(sev(h, "H021"), Severity::pass);
  h.system.module_files.erase("vhost_net");
  EXPECT_EQ(sev(h, "H021"), Severity::warn);
  h.kernel.loaded.insert("kvm_intel");
  h.kernel.params["kvm_intel"]["nested"] = "N";
  EXPECT_EQ(sev(h, "H022"), Severity::info);
  EXPECT_NE(find(host_checks(h, offline()), "H022").fix.find("options kvm_intel nested=1"), std::string::npos);
  h.kernel.params["kvm_intel"]["nested"] = "Y";
  EXPECT_EQ(sev(h, "H022"), Severity::pass);
  h.kernel.loaded.erase("kvm_intel");
  h.kernel.loaded.erase("kvm_amd");
  EXPECT_EQ(sev(h, "H022"), Severity::skip);
}

TEST(Doctor, H020Governor) {
  Host h = fixture("intel-desktop-z370");
  h.system.governors.clear();
  EXPECT_EQ(sev(h, "H020"), Severity::skip);
  h.system.governors = {{"performance", 12}};
  EXPECT_EQ(sev(h, "H020"), Severity::pass);
  h.system.governors = {{"powersave", 12}};
  EXPECT_EQ(sev(h, "H020"), Severity::info);
}

const PciDevice& dev(const Host& h, const std::string& addr) {
  const PciDevice* d = h.device(*PciAddress::parse(addr));
  EXPECT_NE(d, nullptr) << addr;
  return *d;
}

TEST(DoctorDevice, H101GroupPassableOrSharedNamingTheOthers) {
  Host h = fixture("intel-desktop-z370");
  auto fs = device_checks(h, dev(h, "01:00.0"), offline());
  EXPECT_EQ(find(fs, "H101").severity, Severity::pass);
  fs = device_checks(h, dev(h, "00:1f.3"), offline());
  auto f = find(fs, "H101");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.message, "00:1f.4 (i801_smbus)"));
  Host off = fixture("amd-matisse-nnk");
  EXPECT_EQ(find(device_checks(off, off.pci.front(), offline()), "H101").severity, Severity::fail);
}

TEST(DoctorDevice, H102DriverAndBuiltIns) {
  Host h = fixture("two-identical-gpus");
  EXPECT_EQ(find(device_checks(h, dev(h, "24:00.0"), offline()), "H102").severity, Severity::pass);
  auto f = find(device_checks(h, dev(h, "2d:00.0"), offline()), "H102");
  EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(has(f.message, "nouveau"));
  h.kernel.builtin.insert("nouveau");
  f = find(device_checks(h, dev(h, "2d:00.0"), offline()), "H102");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.fix, "driver_override"));
}

TEST(DoctorDevice, H103BootVga) {
  Host h = fixture("two-identical-gpus");
  EXPECT_EQ(find(device_checks(h, dev(h, "2d:00.0"), offline()), "H103").severity, Severity::warn);
  EXPECT_EQ(find(device_checks(h, dev(h, "24:00.0"), offline()), "H103").severity, Severity::pass);
}

TEST(DoctorDevice, H104Reset) {
  Host h = fixture("intel-desktop-z370");
  EXPECT_EQ(find(device_checks(h, dev(h, "03:00.0"), offline()), "H104").severity, Severity::pass);
  EXPECT_EQ(find(device_checks(h, dev(h, "01:00.0"), offline()), "H104").severity, Severity::info);
  PciDevice d = dev(h, "01:00.0");
  d.reset_methods = std::vector<std::string>{};
  EXPECT_EQ(find(device_checks(h, d, offline()), "H104").severity, Severity::warn);
}

TEST(DoctorDevice, H105IdenticalIds) {
  Host h = fixture("two-identical-gpus");
  auto f = find(device_checks(h, dev(h, "24:00.0"), offline()), "H105");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "2d:00.0"));
  Host single = fixture("intel-desktop-z370");
  EXPECT_EQ(find(device_checks(single, dev(single, "01:00.0"), offline()), "H105").severity, Severity::pass);
}

TEST(DoctorDevice, H106RootFilesystem) {
  Host h = fixture("intel-desktop-z370");
  h.system.root_source = "/dev/nvme0n1p2";
  h.system.root_devices = {*PciAddress::parse("05:00.0")};
  EXPECT_EQ(find(device_checks(h, dev(h, "05:00.0"), offline()), "H106").severity, Severity::fail);
  EXPECT_EQ(find(device_checks(h, dev(h, "01:00.0"), offline()), "H106").severity, Severity::pass);
}

TEST(DoctorDevice, H107OnlyNetworkInterface) {
  Host h = fixture("intel-desktop-z370");
  NetInterface wired{"enp3s0", PciAddress::parse("03:00.0"), false, true};
  h.system.net = {wired};
  auto f = find(device_checks(h, dev(h, "03:00.0"), offline()), "H107");
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_TRUE(has(f.message, "enp3s0"));
  h.system.net[0].default_route = false;
  h.system.net.push_back({"eno1", PciAddress::parse("00:1f.6"), false, true});
  EXPECT_EQ(find(device_checks(h, dev(h, "03:00.0"), offline()), "H107").severity, Severity::info);
}

// Listing the image runs a tool that takes seconds on a large image: doctor
// lists it only when something is meant for vfio-pci, and once.
TEST(Doctor, H023ListsTheImageOnlyWhenNeeded) {
  Host h = fixture("intel-desktop-z370");  // no device on vfio-pci
  Session live;
  int listings = 0;
  live.list_initramfs = [&listings]() {
    ++listings;
    Initramfs ir;
    ir.status = Initramfs::Status::listed;
    ir.image = "/boot/initrd.img-5.15.0-58-generic";
    ir.lister = "lsinitramfs";
    ir.modules = {"vfio_pci"};
    return ir;
  };
  set_cmdline(h, "ro quiet");
  EXPECT_EQ(sev(h, "H023", live), Severity::pass);
  EXPECT_EQ(listings, 0);
  set_cmdline(h, "ro quiet vfio-pci.ids=10de:1d01,10de:0fb8");
  EXPECT_EQ(sev(h, "H023", live), Severity::pass);
  EXPECT_EQ(listings, 1);
  host_checks(h, live);
  EXPECT_EQ(listings, 1) << "listed once per doctor run";
}

// H023 on the live host: the image's listing (a fake one here) against what
// is configured. two-identical-gpus keeps vfio_pci as a module.
TEST(Doctor, H023InitramfsHoldsVfioPciAndItsIds) {
  Host h = fixture("two-identical-gpus");
  Session live;
  live.initramfs.status = Initramfs::Status::listed;
  live.initramfs.image = "/boot/initrd.img-5.15.0-58-generic";
  live.initramfs.lister = "lsinitramfs";
  live.initramfs.modules = {"vfio_pci", "vfio", "vfio_iommu_type1"};
  set_cmdline(h, "ro quiet vfio-pci.ids=10de:128b,10de:0e0f");
  EXPECT_EQ(sev(h, "H023", live), Severity::pass);

  live.initramfs.modules = {"nouveau"};
  auto f = find(host_checks(h, live), "H023");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "/boot/initrd.img-5.15.0-58-generic"));
  EXPECT_TRUE(has(f.message, "vfio-pci's module"));
  EXPECT_TRUE(has(f.fix, "/etc/initramfs-tools/modules"));
  EXPECT_TRUE(has(f.fix, "update-initramfs -u"));

  // Ids only in modprobe.d: the image needs the file.
  live.initramfs.modules = {"vfio_pci"};
  set_cmdline(h, "ro quiet");
  ModprobeLine l;
  l.kind = ModprobeLine::Kind::options;
  l.at = {"/etc/modprobe.d/vfio.conf", 1};
  l.module = "vfio_pci";
  l.args = {"ids=10de:128b,10de:0e0f"};
  h.system.modprobe.lines.push_back(l);
  f = find(host_checks(h, live), "H023");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "not /etc/modprobe.d/vfio.conf"));
  live.initramfs.files = {"etc/modprobe.d/vfio.conf"};
  EXPECT_EQ(sev(h, "H023", live), Severity::pass);

  live.initramfs.status = Initramfs::Status::no_lister;
  f = find(host_checks(h, live), "H023");
  EXPECT_EQ(f.severity, Severity::skip);
  EXPECT_TRUE(has(f.message, "lsinitramfs"));
  // Nothing meant for vfio-pci: nothing the image must hold.
  h.system.modprobe.lines.clear();
  for (auto& d : h.pci) {
    if (d.driver == "vfio-pci") d.driver.reset();
  }
  EXPECT_EQ(sev(h, "H023", live), Severity::pass);
}

// H027's reasons, in the order they are judged: a built-in driver, then the
// initramfs holding the driver and not vfio-pci.
TEST(Doctor, H027SaysWhyAnotherDriverHoldsTheDevice) {
  Host h = fixture("two-identical-gpus");
  set_cmdline(h, "ro quiet vfio-pci.ids=10de:128b");
  h.kernel.loaded.insert("vfio_pci");
  Session live;
  live.initramfs.status = Initramfs::Status::listed;
  live.initramfs.image = "/boot/initramfs-linux.img";
  live.initramfs.lister = "lsinitcpio";
  live.initramfs.modules = {"nouveau"};
  auto f = find(host_checks(h, live), "H027");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "2d:00.0"));
  EXPECT_TRUE(has(f.message, "holds nouveau but not vfio-pci"));
  EXPECT_TRUE(has(f.fix, "mkinitcpio -P"));
  h.kernel.builtin.insert("nouveau");
  f = find(host_checks(h, live), "H027");
  EXPECT_TRUE(has(f.message, "nouveau is built into the kernel"));
  EXPECT_TRUE(has(f.fix, "driver_override"));
}

// The RTX 3090 Ti with Resizable BAR: BAR 1 is 32 GiB, the whole default
// window; the generated defaults (a 256 MiB + 32 MiB card) fit; BARs that
// only together pass the window; a device without a resource file.
TEST(DoctorDevice, H108LargeBars) {
  Host h = fixture("rtx3090ti-rebar");
  auto f = find(device_checks(h, dev(h, "01:00.0"), offline()), "H108");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "BAR 1 is 32 GiB (Resizable BAR)")) << f.message;
  EXPECT_TRUE(has(f.fix, "X-PciMmio64Mb,string=65536")) << f.fix;
  EXPECT_TRUE(has(f.fix, "Resizable BAR off")) << f.fix;
  Host z = fixture("intel-desktop-z370");
  f = find(device_checks(z, dev(z, "01:00.0"), offline()), "H108");
  EXPECT_EQ(f.severity, Severity::pass);
  EXPECT_TRUE(has(f.message, "288 MiB")) << f.message;
  PciDevice two = dev(z, "01:00.0");
  two.bars = std::vector<PciBar>{{1, 0x4000000000, uint64_t{16} << 30, 0x14220c},
                                 {3, 0x4400000000, uint64_t{16} << 30, 0x14220c}};
  f = find(device_checks(z, two, offline()), "H108");
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_TRUE(has(f.message, "take 32 GiB")) << f.message;
  // Small now, but Resizable BAR offers up to 32 GiB: INFO.
  PciDevice grows = dev(z, "01:00.0");
  for (auto& b : *grows.bars) {
    if (b.index == 1) b.resizable_sizes = 0xff00;
  }
  f = find(device_checks(z, grows, offline()), "H108");
  EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(has(f.message, "BAR 1 is 256 MiB now; Resizable BAR lets it grow to 32 GiB")) << f.message;
  PciDevice unknown = dev(z, "01:00.0");
  unknown.bars.reset();
  for (const auto& x : device_checks(z, unknown, offline())) EXPECT_NE(x.id, "H108");
  // A 64-bit BAR that is not prefetchable does not count.
  PciDevice np = dev(z, "01:00.0");
  np.bars = std::vector<PciBar>{{0, 0x4000000000, uint64_t{64} << 30, 0x140204}};
  for (const auto& x : device_checks(z, np, offline())) EXPECT_NE(x.id, "H108");
}

}  // namespace
}  // namespace vfioctl
