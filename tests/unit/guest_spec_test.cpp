#include "vfioctl/guest/spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

std::string example(const std::string& name) { return std::string(VFIOCTL_SOURCE_DIR) + "/examples/" + name; }

// ---- names -----------------------------------------------------------------

TEST(GuestSpecNames, PresetsBusesAndPositions) {
  EXPECT_STREQ(preset_name(Preset::windows_gaming), "windows-gaming");
  EXPECT_STREQ(preset_name(Preset::windows_workstation), "windows-workstation");
  EXPECT_STREQ(preset_name(Preset::linux_desktop), "linux-desktop");
  EXPECT_STREQ(preset_name(Preset::linux_server), "linux-server");
  EXPECT_TRUE(preset_is_windows(Preset::windows_gaming));
  EXPECT_TRUE(preset_is_windows(Preset::windows_workstation));
  EXPECT_FALSE(preset_is_windows(Preset::linux_desktop));
  EXPECT_FALSE(preset_is_windows(Preset::linux_server));
  EXPECT_STREQ(disk_bus_name(DiskBus::virtio_scsi), "virtio-scsi");
  EXPECT_STREQ(disk_bus_name(DiskBus::virtio_blk), "virtio-blk");
  EXPECT_STREQ(disk_bus_name(DiskBus::sata), "sata");
  EXPECT_STREQ(disk_bus_name(DiskBus::nvme), "nvme");
  EXPECT_EQ((SpecPos{"win11.toml", 4}).str(), "win11.toml:4");
  EXPECT_EQ((SpecPos{"win11.toml", 0}).str(), "win11.toml");
}

// ---- sizes -----------------------------------------------------------------

TEST(SizeParse, Table) {
  struct Case {
    const char* text;
    std::optional<long long> mib;
  };
  const Case cases[] = {
      {"16G", 16384},
      {"16GiB", 16384},
      {"16g", 16384},
      {"16gib", 16384},
      {"512M", 512},
      {"512MiB", 512},
      {"512m", 512},
      {"2048", 2048},
      {"1.5G", 1536},
      {"0.5G", 512},
      {"1.25G", 1280},
      {"1.50G", 1536},
      {"2T", 2097152},
      {"1TiB", 1048576},
      {"0.5T", 524288},
      {" 16G ", 16384},
      {"16 G", 16384},
      {"016G", 16384},
      {"0", 0},
      {"0G", 0},
      {"1.3G", std::nullopt},  // 1331.2 MiB: not whole
      {"1.5", std::nullopt},   // 1.5 MiB
      {"16GB", std::nullopt},
      {"512MB", std::nullopt},
      {"1TB", std::nullopt},
      {"16K", std::nullopt},
      {"", std::nullopt},
      {"G", std::nullopt},
      {".5G", std::nullopt},
      {"16.G", std::nullopt},
      {"-1G", std::nullopt},
      {"+1G", std::nullopt},
      {"16 gigs", std::nullopt},
      {"1e3M", std::nullopt},
      {"16G16", std::nullopt},
      {"0x10G", std::nullopt},
      {"9999999999999999G", std::nullopt},  // 16 digits: too large
      {"9000000000000000M", std::nullopt},  // 16 digits
      {"999999999999999T", std::nullopt},   // overflows 64 bits in MiB
      {"999999999999999G", std::nullopt},   // past 1 PiB (limits::kMaxSizeMib)
      {"1024T", 1024LL * 1024 * 1024},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_size_mib(c.text), c.mib) << "'" << c.text << "'";
  }
}

// ---- the examples ----------------------------------------------------------

TEST(GuestSpecExamples, WindowsGaming) {
  GuestSpec s = load_guest_spec(example("windows-gaming.toml"));
  EXPECT_EQ(s.file, example("windows-gaming.toml"));
  EXPECT_EQ(s.preset, Preset::windows_gaming);
  EXPECT_EQ(s.os, "win11");
  EXPECT_EQ(s.name, "win11-gaming");
  EXPECT_EQ(s.memory_mib, 16384);
  EXPECT_EQ(s.memory_pos.str(), example("windows-gaming.toml") + ":6");
  EXPECT_FALSE(s.hugepage_kib);
  EXPECT_FALSE(s.hugepages_off);
  EXPECT_TRUE(s.cpus_auto);
  EXPECT_EQ(s.cores, 0);
  EXPECT_EQ(s.threads, 0);
  EXPECT_EQ(s.cpus_pos.line, 8);
  EXPECT_EQ(s.passthrough, std::vector<std::string>{"gpu"});
  EXPECT_EQ(s.passthrough_pos.line, 9);
  EXPECT_FALSE(s.romfile);
  ASSERT_EQ(s.disks.size(), 1u);
  EXPECT_EQ(s.disks[0].source, "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNX0T000000X");
  EXPECT_EQ(s.disks[0].bus, DiskBus::virtio_scsi);
  EXPECT_EQ(s.disks[0].format, "raw");
  EXPECT_FALSE(s.disks[0].size_mib);
  EXPECT_FALSE(s.disks[0].cdrom);
  EXPECT_EQ(s.disks[0].pos.line, 12);
  ASSERT_TRUE(s.install);
  EXPECT_EQ(s.install->iso, "/var/lib/libvirt/images/Win11_23H2_English_x64.iso");
  EXPECT_EQ(s.install->iso_pos.line, 18);
  EXPECT_EQ(s.install->drivers, InstallSpec::Drivers::automatic);
  EXPECT_EQ(s.install->drivers_pos.line, 19);
  EXPECT_EQ(s.audio.backend, AudioBackend::pipewire);
  EXPECT_EQ(s.audio.pos.line, 33);
  EXPECT_TRUE(s.smbios.from_host);
  EXPECT_FALSE(s.smbios.keep_serials);
  EXPECT_TRUE(s.usb.empty());
  EXPECT_FALSE(s.nested);
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::nat);
  EXPECT_EQ(s.network.network, "default");
  EXPECT_EQ(s.network.bridge, "");
  EXPECT_FALSE(s.network.mac);
  EXPECT_EQ(s.network.pos.line, 21);
  EXPECT_EQ(s.input.evdev, "auto");
  EXPECT_TRUE(s.input.devices.empty());
  EXPECT_EQ(s.input.grab_toggle, "ctrl-ctrl");
  EXPECT_EQ(s.input.pos.line, 24);
  ASSERT_TRUE(s.looking_glass);
  EXPECT_EQ(s.looking_glass->width, 2560);
  EXPECT_EQ(s.looking_glass->height, 1440);
  EXPECT_EQ(s.looking_glass->pos.line, 28);
  EXPECT_TRUE(s.secure_boot);
  EXPECT_TRUE(s.tpm);
}

TEST(GuestSpecExamples, WindowsWorkstation) {
  GuestSpec s = load_guest_spec(example("windows-workstation.toml"));
  EXPECT_EQ(s.preset, Preset::windows_workstation);
  EXPECT_EQ(s.os, "win10");
  EXPECT_EQ(s.name, "win10-work");
  EXPECT_EQ(s.memory_mib, 16384);
  ASSERT_TRUE(s.hugepage_kib);
  EXPECT_EQ(*s.hugepage_kib, 1048576);
  EXPECT_FALSE(s.hugepages_off);
  EXPECT_FALSE(s.cpus_auto);
  EXPECT_EQ(s.cores, 3);
  EXPECT_EQ(s.threads, 2);
  EXPECT_EQ(s.cpus_pos.line, 8);
  EXPECT_EQ(s.passthrough, std::vector<std::string>{"gpu"});
  EXPECT_EQ(s.romfile, "/var/lib/libvirt/vbios/gp102.rom");
  EXPECT_FALSE(s.secure_boot);
  EXPECT_TRUE(s.tpm);
  ASSERT_EQ(s.disks.size(), 2u);
  EXPECT_EQ(s.disks[1].bus, DiskBus::virtio_scsi);
  EXPECT_EQ(s.disks[0].source, "/var/lib/libvirt/images/win10-work.qcow2");
  EXPECT_EQ(s.disks[0].size_mib, 204800);
  EXPECT_EQ(s.disks[0].bus, DiskBus::virtio_blk);
  EXPECT_EQ(s.disks[0].format, "qcow2");
  EXPECT_FALSE(s.disks[0].cdrom);
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::nat);
  EXPECT_EQ(s.network.network, "default");
  EXPECT_EQ(s.network.mac, "52:54:00:3a:7c:01");
  EXPECT_EQ(s.input.evdev, "paths");
  EXPECT_EQ(s.input.devices.size(), 2u);
  EXPECT_EQ(s.input.grab_toggle, "scrolllock");
  EXPECT_FALSE(s.looking_glass);
}

TEST(GuestSpecExamples, LinuxDesktop) {
  GuestSpec s = load_guest_spec(example("linux-desktop.toml"));
  EXPECT_EQ(s.preset, Preset::linux_desktop);
  EXPECT_EQ(s.os, "debian12");
  EXPECT_FALSE(s.name);
  EXPECT_EQ(s.memory_mib, 8192);
  ASSERT_TRUE(s.hugepage_kib);
  EXPECT_EQ(*s.hugepage_kib, 2048);
  EXPECT_FALSE(s.cpus_auto);
  EXPECT_EQ(s.cores, 2);
  EXPECT_EQ(s.threads, 0);
  EXPECT_EQ(s.passthrough, std::vector<std::string>{"gpu"});
  EXPECT_FALSE(s.secure_boot);
  EXPECT_FALSE(s.tpm);
  ASSERT_EQ(s.disks.size(), 1u);
  EXPECT_EQ(s.disks[0].source, "/var/lib/libvirt/images/debian12.img");
  EXPECT_EQ(s.disks[0].size_mib, 65536);
  EXPECT_EQ(s.disks[0].bus, DiskBus::virtio_scsi);
  EXPECT_EQ(s.disks[0].format, "raw");
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::nat);
  EXPECT_EQ(s.network.pos.line, 0);
  EXPECT_EQ(s.input.evdev, "paths");
  EXPECT_EQ(s.input.devices, (std::vector<std::string>{"/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd",
                                                       "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse"}));
  EXPECT_EQ(s.input.grab_toggle, "scrolllock");
  ASSERT_TRUE(s.looking_glass);
  EXPECT_EQ(s.looking_glass->width, 1920);
  EXPECT_EQ(s.looking_glass->height, 1080);
}

TEST(GuestSpecExamples, LinuxServer) {
  GuestSpec s = load_guest_spec(example("linux-server.toml"));
  EXPECT_EQ(s.preset, Preset::linux_server);
  EXPECT_EQ(s.os, "debian12");
  EXPECT_EQ(s.name, "files");
  EXPECT_EQ(s.memory_mib, 4096);
  ASSERT_TRUE(s.hugepage_kib);
  EXPECT_EQ(*s.hugepage_kib, 0);
  EXPECT_TRUE(s.hugepages_off);
  EXPECT_FALSE(s.cpus_auto);
  EXPECT_EQ(s.cores, 2);
  EXPECT_EQ(s.threads, 2);
  EXPECT_TRUE(s.passthrough.empty());
  EXPECT_FALSE(s.secure_boot);
  EXPECT_FALSE(s.tpm);
  ASSERT_EQ(s.disks.size(), 1u);
  EXPECT_EQ(s.disks[0].source, "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K0000000");
  EXPECT_EQ(s.disks[0].bus, DiskBus::virtio_blk);
  EXPECT_EQ(s.disks[0].format, "raw");
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::bridge);
  EXPECT_EQ(s.network.bridge, "br0");
  EXPECT_EQ(s.network.mac, "52:54:00:00:f1:1e");
  EXPECT_EQ(s.network.pos.line, 15);
  EXPECT_EQ(s.input.evdev, "none");
  EXPECT_FALSE(s.looking_glass);
}

// Every file in examples/ parses (a new example cannot be broken).
TEST(GuestSpecExamples, EveryExampleParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(load_guest_spec(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 4);
}

// ---- defaults --------------------------------------------------------------

TEST(GuestSpecDefaults, OnlyMemory) {
  GuestSpec s = parse_guest_spec("memory = \"4G\"\n", "min.toml");
  EXPECT_EQ(s.file, "min.toml");
  EXPECT_EQ(s.preset, Preset::linux_desktop);
  EXPECT_EQ(s.os, "linux");
  EXPECT_FALSE(s.name);
  EXPECT_EQ(s.memory_mib, 4096);
  EXPECT_EQ(s.memory_pos.str(), "min.toml:1");
  EXPECT_FALSE(s.hugepage_kib);
  EXPECT_FALSE(s.hugepages_off);
  EXPECT_TRUE(s.cpus_auto);
  EXPECT_EQ(s.cores, 0);
  EXPECT_EQ(s.threads, 0);
  EXPECT_EQ(s.cpus_pos.str(), "min.toml");
  EXPECT_TRUE(s.passthrough.empty());
  EXPECT_EQ(s.passthrough_pos.str(), "min.toml");
  EXPECT_FALSE(s.romfile);
  EXPECT_TRUE(s.disks.empty());
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::nat);
  EXPECT_EQ(s.network.network, "default");
  EXPECT_EQ(s.network.bridge, "");
  EXPECT_FALSE(s.network.mac);
  EXPECT_EQ(s.network.pos.str(), "min.toml");
  EXPECT_EQ(s.input.evdev, "none");
  EXPECT_TRUE(s.input.devices.empty());
  EXPECT_EQ(s.input.grab_toggle, "ctrl-ctrl");
  EXPECT_FALSE(s.looking_glass);
  EXPECT_FALSE(s.secure_boot);
  EXPECT_FALSE(s.tpm);
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::automatic);
  EXPECT_TRUE(s.hide.cpuid_bit);
  EXPECT_FALSE(s.hide.vendor_id);
}

TEST(GuestSpecHide, Values) {
  const std::string w = "preset = \"windows-gaming\"\nmemory = \"4G\"\n[hide]\n";
  GuestSpec s = parse_guest_spec(w + "hypervisor = true\nvendor_id = \"AuthenticAMD\"\n", "h.toml");
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::on);
  EXPECT_TRUE(s.hide.cpuid_bit);
  EXPECT_EQ(s.hide.vendor_id, "AuthenticAMD");
  EXPECT_EQ(s.hide.vendor_id_pos.str(), "h.toml:5");
  EXPECT_EQ(s.hide.pos.str(), "h.toml:4");
  s = parse_guest_spec(w + "hypervisor = false\n", "h.toml");
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::off);
  s = parse_guest_spec(w + "hypervisor = \"auto\"\n", "h.toml");
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::automatic);
  // Clearing the bit is hiding: "auto" becomes on.
  s = parse_guest_spec(w + "cpuid_bit = false\n", "h.toml");
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::on);
  EXPECT_FALSE(s.hide.cpuid_bit);
  EXPECT_EQ(s.hide.cpuid_bit_pos.str(), "h.toml:4");
  // Linux may hide KVM too (no Hyper-V vendor id there).
  s = parse_guest_spec("memory = \"4G\"\n[hide]\nhypervisor = true\ncpuid_bit = false\n", "h.toml");
  EXPECT_EQ(s.hide.hypervisor, HideSpec::Mode::on);
  EXPECT_FALSE(s.hide.cpuid_bit);
}

TEST(GuestSpecDefaults, WindowsPresetsMeanWin11WithSecureBootAndTpm) {
  for (const char* preset : {"windows-gaming", "windows-workstation"}) {
    GuestSpec s = parse_guest_spec(std::string("preset = \"") + preset + "\"\nmemory = \"8G\"\n", "w.toml");
    EXPECT_EQ(preset_name(s.preset), std::string(preset));
    EXPECT_EQ(s.os, "win11");
    EXPECT_TRUE(s.secure_boot);
    EXPECT_TRUE(s.tpm);
  }
  GuestSpec win10 = parse_guest_spec("preset = \"windows-gaming\"\nos = \"win10\"\nmemory = \"8G\"\n", "w.toml");
  EXPECT_EQ(win10.os, "win10");
  EXPECT_FALSE(win10.secure_boot);
  EXPECT_FALSE(win10.tpm);
  GuestSpec off =
      parse_guest_spec("preset = \"windows-gaming\"\nmemory = \"8G\"\nsecure_boot = false\ntpm = false\n", "w.toml");
  EXPECT_FALSE(off.secure_boot);
  EXPECT_FALSE(off.tpm);
  GuestSpec server = parse_guest_spec("preset = \"linux-server\"\nmemory = \"1G\"\n", "s.toml");
  EXPECT_EQ(server.preset, Preset::linux_server);
  EXPECT_EQ(server.os, "linux");
  EXPECT_FALSE(server.secure_boot);
  GuestSpec linux_sb = parse_guest_spec("memory = \"1G\"\nsecure_boot = true\n", "s.toml");
  EXPECT_TRUE(linux_sb.secure_boot);
  EXPECT_FALSE(linux_sb.tpm);
}

TEST(GuestSpecDefaults, DiskFormatsBusesAndKinds) {
  GuestSpec s = parse_guest_spec(
      "memory = \"4G\"\n"
      "[[disk]]\nsource = \"/dev/sdb\"\n"
      "[[disk]]\nsource = \"/images/a.qcow2\"\n"
      "[[disk]]\nsource = \"/images/B.QCOW2\"\n"
      "[[disk]]\nsource = \"/images/c.img\"\nsize = \"1.5G\"\n"
      "[[disk]]\nsource = \"/images/d.qcow2\"\nformat = \"raw\"\nbus = \"nvme\"\n"
      "[[disk]]\nsource = \"/iso/e.iso\"\nkind = \"cdrom\"\nbus = \"sata\"\n"
      "[[disk]]\nsource = \"/images/f.img\"\nkind = \"disk\"\nbus = \"sata\"\n",
      "d.toml");
  ASSERT_EQ(s.disks.size(), 7u);
  EXPECT_EQ(s.disks[0].format, "raw");
  EXPECT_EQ(s.disks[0].bus, DiskBus::virtio_scsi);
  EXPECT_EQ(s.disks[0].pos.str(), "d.toml:2");
  EXPECT_EQ(s.disks[1].format, "qcow2");
  EXPECT_EQ(s.disks[2].format, "qcow2");
  EXPECT_EQ(s.disks[3].format, "raw");
  EXPECT_EQ(s.disks[3].size_mib, 1536);
  EXPECT_EQ(s.disks[4].format, "raw");
  EXPECT_EQ(s.disks[4].bus, DiskBus::nvme);
  EXPECT_TRUE(s.disks[5].cdrom);
  EXPECT_EQ(s.disks[5].bus, DiskBus::sata);
  EXPECT_EQ(s.disks[5].format, "raw");
  EXPECT_FALSE(s.disks[6].cdrom);
  EXPECT_EQ(s.disks[6].bus, DiskBus::sata);
  EXPECT_EQ(s.disks[6].pos.line, 19);
}

TEST(GuestSpecDefaults, CpuForms) {
  auto cpus = [](const std::string& body) { return parse_guest_spec("memory = \"4G\"\n" + body, "c.toml"); };
  GuestSpec a = cpus("cpus = \"auto\"\n");
  EXPECT_TRUE(a.cpus_auto);
  EXPECT_EQ(a.cores, 0);
  EXPECT_EQ(a.threads, 0);
  EXPECT_EQ(a.cpus_pos.line, 2);
  GuestSpec b = cpus("cpus = \"4c4t\"\n");
  EXPECT_FALSE(b.cpus_auto);
  EXPECT_EQ(b.cores, 4);
  EXPECT_EQ(b.threads, 1);
  GuestSpec c = cpus("cpus = \"8C16T\"\n");
  EXPECT_EQ(c.cores, 8);
  EXPECT_EQ(c.threads, 2);
  GuestSpec d = cpus("cores = 3\nthreads = 1\n");
  EXPECT_FALSE(d.cpus_auto);
  EXPECT_EQ(d.cores, 3);
  EXPECT_EQ(d.threads, 1);
  EXPECT_EQ(d.cpus_pos.line, 2);
  GuestSpec e = cpus("threads = 1\n");  // auto size, no SMT siblings
  EXPECT_TRUE(e.cpus_auto);
  EXPECT_EQ(e.cores, 0);
  EXPECT_EQ(e.threads, 1);
  EXPECT_EQ(e.cpus_pos.line, 2);
}

TEST(GuestSpecDefaults, HugepageForms) {
  auto huge = [](const std::string& value, const std::string& memory = "4G") {
    return parse_guest_spec("memory = \"" + memory + "\"\nhugepages = " + value + "\n", "h.toml");
  };
  EXPECT_FALSE(huge("\"auto\"").hugepage_kib);
  EXPECT_EQ(huge("\"2M\"").hugepage_kib, 2048);
  EXPECT_EQ(huge("\"2MiB\"").hugepage_kib, 2048);
  EXPECT_EQ(huge("\"1G\"").hugepage_kib, 1048576);
  EXPECT_EQ(huge("\"1GiB\"").hugepage_kib, 1048576);
  EXPECT_EQ(huge("\"2M\"", "1.5G").hugepage_kib, 2048);
  GuestSpec off = huge("\"off\"");
  EXPECT_EQ(off.hugepage_kib, 0);
  EXPECT_TRUE(off.hugepages_off);
  GuestSpec no = huge("false");
  EXPECT_EQ(no.hugepage_kib, 0);
  EXPECT_TRUE(no.hugepages_off);
  GuestSpec yes = huge("true");
  EXPECT_FALSE(yes.hugepage_kib);
  EXPECT_FALSE(yes.hugepages_off);
}

TEST(GuestSpecDefaults, NetworkAndInputForms) {
  GuestSpec bridge = parse_guest_spec("memory = \"4G\"\n[network]\nbridge = \"br-lan\"\n", "n.toml");
  EXPECT_EQ(bridge.network.mode, NetworkSpec::Mode::bridge);
  EXPECT_EQ(bridge.network.bridge, "br-lan");
  EXPECT_EQ(bridge.network.pos.str(), "n.toml:2");
  GuestSpec explicit_bridge =
      parse_guest_spec("memory = \"4G\"\n[network]\nmode = \"bridge\"\nbridge = \"br0\"\n", "n.toml");
  EXPECT_EQ(explicit_bridge.network.mode, NetworkSpec::Mode::bridge);
  EXPECT_EQ(explicit_bridge.network.bridge, "br0");
  GuestSpec none = parse_guest_spec("memory = \"4G\"\n[network]\nmode = \"none\"\n", "n.toml");
  EXPECT_EQ(none.network.mode, NetworkSpec::Mode::none);
  GuestSpec nat =
      parse_guest_spec("memory = \"4G\"\n[network]\nnetwork = \"lab\"\nmac = \"52:54:00:AB:CD:EF\"\n", "n.toml");
  EXPECT_EQ(nat.network.mode, NetworkSpec::Mode::nat);
  EXPECT_EQ(nat.network.network, "lab");
  EXPECT_EQ(nat.network.mac, "52:54:00:ab:cd:ef");
  GuestSpec input = parse_guest_spec("memory = \"4G\"\n[input]\nevdev = \"auto\"\n", "i.toml");
  EXPECT_EQ(input.input.evdev, "auto");
  EXPECT_EQ(input.input.grab_toggle, "ctrl-ctrl");
  EXPECT_EQ(input.input.pos.line, 2);
  GuestSpec dotted = parse_guest_spec("memory = \"4G\"\ninput.evdev = \"none\"\n", "i.toml");
  EXPECT_EQ(dotted.input.evdev, "none");
}

TEST(GuestSpecDefaults, PassthroughSelectorsAsGiven) {
  GuestSpec s = parse_guest_spec(
      "memory = \"4G\"\npassthrough = [\n  \"gpu\",\n  \"audio\",\n  \"01:00.0\",\n  \"0000:02:00\",\n"
      "  \"10DE:1B81\",\n]\n",
      "p.toml");
  EXPECT_EQ(s.passthrough, (std::vector<std::string>{"gpu", "audio", "01:00.0", "0000:02:00", "10DE:1B81"}));
  EXPECT_EQ(s.passthrough_pos.str(), "p.toml:2");
  GuestSpec empty = parse_guest_spec("memory = \"4G\"\npassthrough = []\n", "p.toml");
  EXPECT_TRUE(empty.passthrough.empty());
}

TEST(GuestSpecDefaults, NameCharacters) {
  GuestSpec s = parse_guest_spec("memory = \"4G\"\nname = \"Game_VM.v2+test-1\"\n", "n.toml");
  EXPECT_EQ(s.name, "Game_VM.v2+test-1");
  GuestSpec longest = parse_guest_spec("memory = \"4G\"\nname = \"" + std::string(64, 'a') + "\"\n", "n.toml");
  EXPECT_EQ(longest.name, std::string(64, 'a'));
}

TEST(GuestSpecDefaults, MinimumSizes) {
  EXPECT_EQ(parse_guest_spec("memory = \"256M\"\n", "m.toml").memory_mib, 256);
  EXPECT_EQ(parse_guest_spec("memory = \"0.25G\"\n", "m.toml").memory_mib, 256);
  GuestSpec lg = parse_guest_spec(
      "memory = \"4G\"\npassthrough = [\"gpu\"]\n[looking_glass]\nresolution = \"320x16384\"\n", "l.toml");
  EXPECT_EQ(lg.looking_glass->width, 320);
  EXPECT_EQ(lg.looking_glass->height, 16384);
}

TEST(GuestSpecLoad, MissingFileAndDirectory) {
  try {
    load_guest_spec("/nonexistent/vfioctl/spec.toml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(std::string(e.what()), "/nonexistent/vfioctl/spec.toml: cannot read the spec: No such file or directory");
  }
  try {
    load_guest_spec(std::string(VFIOCTL_SOURCE_DIR) + "/examples");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(std::string(e.what()),
              std::string(VFIOCTL_SOURCE_DIR) +
                  "/examples: the spec is a directory, not a regular file; give the file itself");
  }
}

TEST(GuestSpecLoad, ErrorsNameThePathAsGiven) {
  auto dir = std::filesystem::temp_directory_path() / ("guest_spec_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "bad.toml").string();
  {
    std::ofstream out(path);
    out << "# a comment\nmemory = \"8G\"\nhugepages = \"3M\"\n";
  }
  try {
    load_guest_spec(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3: hugepages '3M' is not one of auto, 2M, 1G, off; did you mean '2M'?");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vfioctl