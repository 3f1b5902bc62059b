// The day-one planner (guest/day_one.cpp) on hand-made host facts: disk
// images and their I/O modes, install media and the driver folder, USB
// lookup, network refusals (missing bridge, Wi-Fi, SR-IOV without a free
// VF), sound, SMBIOS; and --installed's removal of the CD-ROMs.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

using Kind = Root::FileInfo::Kind;

FileFact file(unsigned long long size, std::optional<unsigned long long> qcow2 = std::nullopt) {
  FileFact f;
  f.kind = Kind::regular;
  f.size = size;
  f.qcow2_size = qcow2;
  f.parent_is_dir = true;
  return f;
}

FileFact missing(std::vector<std::string> siblings = {}, bool dir = true) {
  FileFact f;
  f.parent_is_dir = dir;
  f.siblings = std::move(siblings);
  return f;
}

GuestEnv base_env() {
  GuestEnv env;
  env.known = true;
  env.user_uid = 1000;
  NetFact eth;
  eth.name = "enp5s0";
  eth.pci = PciAddress{0, 5, 0, 0};
  env.net["enp5s0"] = eth;
  NetFact wifi;
  wifi.name = "wlp4s0";
  wifi.wireless = true;
  env.net["wlp4s0"] = wifi;
  return env;
}

GuestPlan day_one(const std::string& toml, const GuestEnv& env, const Host& host = Host{}) {
  GuestPlan plan;
  plan.spec = parse_guest_spec(toml, "g.toml");
  plan.windows = preset_is_windows(plan.spec.preset);
  plan.legacy = plan.spec.preset == Preset::legacy_windows;
  plan.name = "guest";
  plan_day_one(host, env, plan);
  return plan;
}

std::string error_of(const std::string& toml, const GuestEnv& env, const Host& host = Host{}) {
  try {
    day_one(toml, env, host);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
  return "(no error)";
}

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

// ---- disks and images ----

TEST(DayOneDisks, AMissingImageWithASizeIsCreatedWithTheDocumentedOptions) {
  GuestEnv env = base_env();
  env.files["/img/a.qcow2"] = missing();
  env.files["/img/b.img"] = missing();
  GuestPlan p = day_one(
      "memory = \"4G\"\n[[disk]]\nsource = \"/img/a.qcow2\"\nsize = \"256G\"\n"
      "[[disk]]\nsource = \"/img/b.img\"\nsize = \"1.5G\"\n",
      env);
  ASSERT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.images[0].argv(),
            (std::vector<std::string>{"qemu-img", "create", "-q", "-f", "qcow2", "-o",
                                      "preallocation=metadata,cluster_size=2M", "/img/a.qcow2", "256G"}));
  EXPECT_EQ(p.images[1].argv(), (std::vector<std::string>{"qemu-img", "create", "-q", "-f", "raw", "-o",
                                                          "preallocation=falloc", "/img/b.img", "1536M"}));
  // A qcow2 image vfioctl preallocates takes native I/O; so does raw.
  EXPECT_STREQ(p.disks[0].io.io, "native");
  EXPECT_STREQ(p.disks[1].io.io, "native");
  EXPECT_EQ(p.disks[0].boot, 1);
  EXPECT_EQ(p.disks[1].boot, 0);
}

TEST(DayOneDisks, TheCacheAndIoTable) {
  EXPECT_STREQ(disk_io(Backing::block_device).cache, "none");
  EXPECT_STREQ(disk_io(Backing::block_device).io, "native");
  EXPECT_STREQ(disk_io(Backing::raw_file).io, "native");
  EXPECT_STREQ(disk_io(Backing::qcow2_preallocated).io, "native");
  EXPECT_STREQ(disk_io(Backing::qcow2).io, "threads");
  EXPECT_STREQ(disk_io(Backing::qcow2).cache, "none");
}

TEST(DayOneDisks, AnExistingImageIsUsedAsItIsAndNeverRecreated) {
  GuestEnv env = base_env();
  env.files["/img/a.qcow2"] = file(200704, 64ULL << 30);
  GuestPlan p = day_one("memory = \"4G\"\n[[disk]]\nsource = \"/img/a.qcow2\"\nsize = \"64G\"\n", env);
  EXPECT_TRUE(p.images.empty());
  // Not known to be preallocated: QEMU's thread pool, not Linux AIO.
  EXPECT_STREQ(p.disks[0].io.io, "threads");
  GuestPlan q = day_one("memory = \"4G\"\n[[disk]]\nsource = \"/img/a.qcow2\"\n", env);
  EXPECT_TRUE(q.images.empty());
}

TEST(DayOneDisks, AnExistingFileOfAnotherSizeIsAnErrorAtTheSizeLine) {
  GuestEnv env = base_env();
  env.files["/img/a.img"] = file(32ULL << 30);
  EXPECT_EQ(error_of("memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\n\nsize = \"64G\"\n", env),
            "g.toml:5: disk.size 64G: /img/a.img exists with 32G (nothing is created over an existing file); write "
            "size = \"32G\" to use it, or choose another path");
  env.files["/img/a.qcow2"] = file(1 << 20);
  EXPECT_EQ(error_of("memory = \"4G\"\n[[disk]]\nsource = \"/img/a.qcow2\"\nsize = \"64G\"\n", env),
            "g.toml:3: disk.source /img/a.qcow2 exists and is not a qcow2 image (format = \"qcow2\"); nothing is "
            "created over an existing file: choose another path");
}

TEST(DayOneDisks, AMissingImageWithoutASizeOrDirectoryIsAnError) {
  GuestEnv env = base_env();
  env.files["/img/a.img"] = missing({"/img/old.img"});
  EXPECT_EQ(error_of("memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\n", env),
            "g.toml:3: disk.source /img/a.img does not exist (/img has /img/old.img); add size = \"64G\" to create "
            "it when the guest is written");
  env.files["/nodir/a.img"] = missing({}, false);
  EXPECT_EQ(error_of("memory = \"4G\"\n[[disk]]\nsource = \"/nodir/a.img\"\nsize = \"8G\"\n", env),
            "g.toml:3: disk.source /nodir/a.img: the directory /nodir does not exist; create it first");
}

// ---- install media ----

TEST(DayOneInstall, WindowsGetsTheInstallerAndDriversAsSataCdromsAndTheDriverFolder) {
  GuestEnv env = base_env();
  env.files["/iso/win.iso"] = file(6ULL << 30);
  env.files["/dev/nvme0n1"] = FileFact{Kind::block, 0, std::nullopt, true, {}, false, std::nullopt};
  env.virtio_win = "/usr/share/virtio-win/virtio-win.iso";
  GuestPlan p = day_one(
      "preset = \"windows-gaming\"\nmemory = \"8G\"\n[[disk]]\nsource = \"/dev/nvme0n1\"\n"
      "[install]\niso = \"/iso/win.iso\"\n",
      env);
  ASSERT_EQ(p.disks.size(), 3u);
  EXPECT_EQ(p.disks[0].boot, 1);  // the disk first: once installed, it boots
  EXPECT_EQ(p.disks[1].role, DiskRole::installer);
  EXPECT_EQ(p.disks[1].bus, DiskBus::sata);
  EXPECT_EQ(p.disks[1].boot, 2);
  EXPECT_EQ(p.disks[2].role, DiskRole::drivers);
  EXPECT_EQ(p.disks[2].source, "/usr/share/virtio-win/virtio-win.iso");
  EXPECT_EQ(p.disks[2].boot, 0);
  EXPECT_TRUE(any_contains(p.next_steps, "pick the folder vioscsi\\w11\\amd64")) << p.next_steps[0];
  GuestPlan blk = day_one(
      "preset = \"windows-workstation\"\nos = \"win2k22\"\nmemory = \"8G\"\n[[disk]]\n"
      "source = \"/dev/nvme0n1\"\nbus = \"virtio-blk\"\n[install]\niso = \"/iso/win.iso\"\n",
      env);
  EXPECT_TRUE(any_contains(blk.next_steps, "pick the folder viostor\\2k22\\amd64"));
}

TEST(DayOneInstall, WindowsWithoutADriverIsoIsWarnedThatSetupWillNotSeeTheDisk) {
  GuestEnv env = base_env();
  env.files["/iso/win.iso"] = file(6ULL << 30);
  env.files["/dev/nvme0n1"] = FileFact{Kind::block, 0, std::nullopt, true, {}, false, std::nullopt};
  GuestPlan p = day_one(
      "preset = \"windows-gaming\"\nmemory = \"8G\"\n[[disk]]\nsource = \"/dev/nvme0n1\"\n"
      "[install]\niso = \"/iso/win.iso\"\n",
      env);
  EXPECT_EQ(p.disks.size(), 2u);
  EXPECT_TRUE(any_contains(p.warnings, "g.toml:5: no virtio-win ISO found")) << p.warnings.size();
  EXPECT_TRUE(any_contains(p.warnings, "Windows Setup will not see the virtio disk"));
  GuestPlan none = day_one(
      "preset = \"windows-gaming\"\nmemory = \"8G\"\n[[disk]]\nsource = \"/dev/nvme0n1\"\n"
      "[install]\niso = \"/iso/win.iso\"\ndrivers = \"none\"\n",
      env);
  EXPECT_TRUE(any_contains(none.warnings, "g.toml:7: install.drivers = \"none\": Windows Setup will not see"));
  // Linux has the drivers built in: no driver ISO, no warning.
  GuestPlan linux =
      day_one("memory = \"8G\"\n[[disk]]\nsource = \"/dev/nvme0n1\"\n[install]\niso = \"/iso/win.iso\"\n", env);
  EXPECT_EQ(linux.disks.size(), 2u);
  EXPECT_FALSE(any_contains(linux.warnings, "virtio"));
}

TEST(DayOneInstall, AMissingIsoIsAnErrorThatSaysWhatExistsInstead) {
  GuestEnv env = base_env();
  env.files["/iso/Win11.iso"] = missing({"/iso/Win10.iso", "/iso/debian.iso"});
  EXPECT_EQ(error_of("memory = \"4G\"\n[install]\niso = \"/iso/Win11.iso\"\n", env),
            "g.toml:3: install.iso /iso/Win11.iso does not exist (/iso has /iso/Win10.iso, /iso/debian.iso)");
  env.files["/iso/Win11.iso"] = file(1 << 30);
  env.files["/iso/virtio.iso"] = missing({}, false);
  EXPECT_EQ(error_of("memory = \"4G\"\n[install]\niso = \"/iso/Win11.iso\"\ndrivers = \"/iso/virtio.iso\"\n", env),
            "g.toml:4: install.drivers /iso/virtio.iso does not exist (the directory /iso does not exist either)");
}

// ---- USB ----

UsbDevice usb(const std::string& port, unsigned v, unsigned p, int bus, int dev, const std::string& name) {
  UsbDevice u;
  u.port = port;
  u.vendor = v;
  u.product = p;
  u.busnum = bus;
  u.devnum = dev;
  u.name = name;
  return u;
}

TEST(DayOneUsb, AnUnknownIdListsTheDevicesTheHostHas) {
  GuestEnv env = base_env();
  env.usb = {usb("1-4", 0x046d, 0xc08b, 1, 6, "G502"), usb("1-5", 0x1532, 0x011b, 1, 5, "BlackWidow")};
  EXPECT_EQ(error_of("memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\n", env),
            "g.toml:3: no USB device 046d:c52b on this host; this host has: 1-4 046d:c08b G502; 1-5 1532:011b "
            "BlackWidow");
  env.usb.clear();
  EXPECT_EQ(error_of("memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\n", env),
            "g.toml:3: no USB device 046d:c52b on this host; this host has no USB devices (/sys/bus/usb/devices "
            "lists none)");
}

TEST(DayOneUsb, TwoDevicesWithOneIdNeedAPort) {
  GuestEnv env = base_env();
  env.usb = {usb("1-4", 0x046d, 0xc52b, 1, 6, "Receiver"), usb("3-1.2", 0x046d, 0xc52b, 3, 9, "Receiver")};
  EXPECT_EQ(error_of("memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\n", env),
            "g.toml:3: 2 USB devices are 046d:c52b (ports 1-4, 3-1.2); add port = \"1-4\" (or another) to say which");
  GuestPlan p = day_one("memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\nport = \"3-1.2\"\n", env);
  ASSERT_EQ(p.usb.size(), 1u);
  EXPECT_EQ(p.usb[0].host.busnum, 3);
  EXPECT_EQ(p.usb[0].host.devnum, 9);
  EXPECT_TRUE(p.usb[0].by_port);
  EXPECT_EQ(error_of("memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\nport = \"2-1\"\n", env),
            "g.toml:3: no USB device 046d:c52b at port 2-1; it is at 1-4, 3-1.2");
}

// ---- network ----

TEST(DayOneNetwork, AMissingBridgeIsAnErrorWithTheAlternatives) {
  GuestEnv env = base_env();
  EXPECT_EQ(error_of("memory = \"4G\"\n[network]\nbridge = \"br0\"\n", env),
            "g.toml:3: bridge br0 does not exist (interfaces: enp5s0, wlp4s0 (Wi-Fi)); create it over a wired "
            "interface (NetworkManager: nmcli connection add type bridge ifname br0 ...), or use mode = \"nat\", or "
            "mode = \"macvtap\" with dev = \"enp5s0\"");
  EXPECT_EQ(error_of("memory = \"4G\"\n[network]\nbridge = \"enp5s0\"\n", env),
            "g.toml:3: enp5s0 is an interface, not a bridge (interfaces: enp5s0, wlp4s0 (Wi-Fi)); use mode = "
            "\"macvtap\" with dev = \"enp5s0\", or make a bridge over it");
}

TEST(DayOneNetwork, ABridgeOverWifiIsRefused) {
  GuestEnv env = base_env();
  NetFact br;
  br.name = "br0";
  br.bridge = true;
  br.ports = {"wlp4s0"};
  env.net["br0"] = br;
  EXPECT_EQ(error_of("memory = \"4G\"\n[network]\nbridge = \"br0\"\n", env),
            "g.toml:3: bridge br0 holds wlp4s0, a Wi-Fi interface: an access point takes frames only from the "
            "address that joined it, so a guest behind a Wi-Fi bridge gets no network; use mode = \"nat\"");
  env.net["br0"].ports = {"enp5s0"};
  GuestPlan p = day_one("memory = \"4G\"\n[network]\nbridge = \"br0\"\n", env);
  EXPECT_EQ(p.net.source, "br0");
  EXPECT_EQ(error_of("memory = \"4G\"\n[network]\ndev = \"wlp4s0\"\n", env),
            "g.toml:3: network.dev wlp4s0 is Wi-Fi: macvtap gives the guest its own MAC address, which an access "
            "point drops; use mode = \"nat\"");
}

TEST(DayOneNetwork, NatSaysHowToCreateAMissingLibvirtNetwork) {
  GuestEnv env = base_env();
  env.libvirt_config = true;
  GuestPlan p = day_one("memory = \"4G\"\n", env);
  EXPECT_TRUE(any_contains(p.warnings,
                           "libvirt has no network 'default' on this host; create it: virsh net-define "
                           "/usr/share/libvirt/networks/default.xml"));
  env.libvirt_networks = {"default"};
  env.libvirt_autostart = {"default"};
  EXPECT_TRUE(day_one("memory = \"4G\"\n", env).warnings.empty());
}

TEST(DayOneNetwork, SriovTakesAVfWithoutAHostInterface) {
  Host host;
  PciDevice pf;
  pf.address = PciAddress{0, 5, 0, 0};
  pf.sriov_totalvfs = 8;
  pf.sriov_numvfs = 2;
  PciDevice vf1;
  vf1.address = PciAddress{0, 5, 0x10, 0};
  vf1.physfn = pf.address;
  vf1.iommu_group = 40;
  PciDevice vf2 = vf1;
  vf2.address = PciAddress{0, 5, 0x10, 2};
  vf2.iommu_group = 41;
  host.pci = {pf, vf1, vf2};
  host.groups.push_back(IommuGroup{});
  GuestEnv env = base_env();
  NetFact vfnet;
  vfnet.name = "enp5s0v0";
  vfnet.pci = vf1.address;
  env.net["enp5s0v0"] = vfnet;
  GuestPlan p = day_one("memory = \"4G\"\n[network]\npf = \"enp5s0\"\n", env, host);
  ASSERT_TRUE(p.net.vf);
  EXPECT_EQ(*p.net.vf, vf2.address);
  host.pci = {pf};
  EXPECT_EQ(error_of("memory = \"4G\"\n[network]\npf = \"enp5s0\"\n", env, host),
            "g.toml:3: network.pf enp5s0 has no virtual functions enabled (0 of 8); enable some: echo 4 > "
            "/sys/class/net/enp5s0/device/sriov_numvfs");
}

// ---- sound and SMBIOS ----

TEST(DayOneAudio, PipewireUsesTheInvokingUsersSocketAndRootAloneIsAnError) {
  GuestEnv env = base_env();
  env.files["/run/user/1000/pulse/native"] = missing();
  GuestPlan p = day_one("memory = \"4G\"\n[audio]\nbackend = \"pipewire\"\n", env);
  EXPECT_EQ(p.audio_socket, "/run/user/1000/pulse/native");
  EXPECT_TRUE(any_contains(p.warnings, "no sound server socket at /run/user/1000/pulse/native: is pipewire-pulse"));
  env.user_uid = 0;
  EXPECT_EQ(error_of("memory = \"4G\"\n[audio]\nbackend = \"pulseaudio\"\n", env),
            "g.toml:3: audio.backend \"pulseaudio\" plays to a user's sound server, but vfioctl runs as root without "
            "sudo: run it as that user, or through sudo");
}

TEST(DayOneSmbios, HostStringsWithSerialsMaskedAndNoDmiIsAnError) {
  GuestEnv env = base_env();
  EXPECT_EQ(error_of("memory = \"4G\"\n[smbios]\nfrom_host = true\n", env),
            "g.toml:2: smbios.from_host: this host has no DMI tables (/sys/class/dmi/id is missing: a virtual "
            "machine without SMBIOS, or a board without it); remove [smbios]");
  env.dmi.present = true;
  env.dmi.fields = {{"sys_vendor", "ACME"},
                    {"product_serial", "SN123"},
                    {"product_uuid", "EBEF7CD8-A8CE-5311-A4B1-D8BBC18EB062"},
                    {"bios_date", "2022-09-06"}};
  GuestPlan p = day_one("memory = \"4G\"\n[smbios]\nfrom_host = true\n", env);
  ASSERT_EQ(p.sysinfo.size(), 1u);  // the date is not mm/dd/yyyy: left out
  EXPECT_EQ(p.sysinfo[0].first, "system");
  EXPECT_EQ(p.sysinfo[0].second,
            (std::vector<std::pair<std::string, std::string>>{{"manufacturer", "ACME"}, {"serial", "Default string"}}));
  EXPECT_EQ(p.uuid, name_uuid("guest"));
  GuestPlan keep = day_one("memory = \"4G\"\n[smbios]\nfrom_host = true\nkeep_serials = true\n", env);
  EXPECT_EQ(keep.sysinfo[0].second[1].second, "SN123");
  EXPECT_EQ(keep.uuid, "ebef7cd8-a8ce-5311-a4b1-d8bbc18eb062");
}

TEST(NameUuid, IsStableAndDiffersBetweenNames) {
  EXPECT_EQ(name_uuid("win11-gaming"), name_uuid("win11-gaming"));
  EXPECT_NE(name_uuid("win11-gaming"), name_uuid("win11-gamine"));
  std::string u = name_uuid("x");
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
}

// ---- --installed ----

TEST(RemoveInstallMedia, DropsTheCdromsAndRenumbersTheBootOrder) {
  std::string xml = R"(<domain type="kvm">
  <name>g</name>
  <os><type>hvm</type><boot dev="cdrom"/></os>
  <devices>
    <disk type="file" device="cdrom"><source file="/iso/win.iso"/><target dev="sda" bus="sata"/><boot order="1"/></disk>
    <disk type="block" device="disk"><source dev="/dev/nvme0n1"/><target dev="sdb" bus="scsi"/><boot order="2"/></disk>
    <disk type="file" device="cdrom"><source file="/iso/virtio-win.iso"/><target dev="sdc" bus="sata"/></disk>
  </devices>
</domain>
)";
  std::vector<std::string> removed;
  std::string out = remove_install_media(xml, removed);
  EXPECT_EQ(removed, (std::vector<std::string>{"/iso/win.iso", "/iso/virtio-win.iso"}));
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(out.c_str()));
  EXPECT_EQ(doc.select_nodes("//disk[@device='cdrom']").size(), 0u);
  EXPECT_EQ(doc.select_nodes("//os/boot").size(), 0u);
  EXPECT_STREQ(doc.select_node("//disk/boot").node().attribute("order").value(), "1");
  std::vector<std::string> again;
  remove_install_media(out, again);
  EXPECT_TRUE(again.empty());
  EXPECT_THROW(remove_install_media("<network/>", again), Error);
}

}  // namespace
}  // namespace vfioctl
