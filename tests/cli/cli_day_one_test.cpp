// vfioctl new, day one, as a user meets it: images created with qemu-img
// only when the guest is written and never over a file; bad input (a
// missing bridge, a bridge over Wi-Fi, an unknown USB id, a missing ISO)
// exits 2 with the spec line and writes nothing; `list usb` on a scratch
// root; --installed on a written XML.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

class DayOne : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vfioctl-dayone-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path p = dir / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  // A fixture host copied to a scratch root, for the user-side files a test adds.
  std::string scratch_root() {
    fs::path root = dir / "root";
    Result r = shell("cp -a " + quote(host("intel-desktop-z370")) + " " + quote(root.string()));
    EXPECT_EQ(r.rc, 0) << r.out;
    return root.string();
  }
  void touch(const std::string& root, const std::string& path, const std::string& content = "") {
    fs::path p = fs::path(root) / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
  }

  size_t files_in(const fs::path& d) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
    return n;
  }

  fs::path dir;
};

// ---- images on the live host ----

TEST_F(DayOne, AnImageIsCreatedWhenTheGuestIsWrittenNeverInADryRunNorOverAFile) {
  if (shell("command -v qemu-img").rc != 0) {
    // scripts/test installs qemu-utils; in CI its absence is a failure.
    if (std::getenv("CI")) FAIL() << "qemu-img is missing (qemu-utils)";
    GTEST_SKIP() << "qemu-img is missing (qemu-utils)";
  }
  std::string img = (dir / "images" / "g.qcow2").string();
  fs::create_directories(dir / "images");
  std::string spec = write("g.toml", "memory = \"256M\"\nhugepages = \"off\"\ncpus = \"1c1t\"\n[[disk]]\nsource = \"" +
                                         img + "\"\nsize = \"64M\"\n[network]\nmode = \"none\"\n");
  // Dry run (XML to standard output): nothing is created, the command is shown.
  Result dry = vfioctl({"new", spec});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_FALSE(fs::exists(img));
  EXPECT_TRUE(has(dry.err, img +
                               " will be created when the guest is written (-o, --define): qemu-img create -q -f "
                               "qcow2 -o preallocation=metadata,cluster_size=2M " +
                               img + " 64M"))
      << dry.err;
  // Written: the image exists, qcow2 with 64 MiB of virtual size.
  std::string out = (dir / "g.xml").string();
  Result w = vfioctl({"new", spec, "-o", out});
  ASSERT_EQ(w.rc, 0) << w.err;
  ASSERT_TRUE(fs::exists(img));
  Result info = shell("qemu-img info --output=json " + quote(img));
  EXPECT_TRUE(has(info.out, "\"virtual-size\": 67108864")) << info.out;
  EXPECT_TRUE(has(info.out, "\"cluster-size\": 2097152")) << info.out;
  EXPECT_TRUE(
      has(slurp(out), "<driver name=\"qemu\" type=\"qcow2\" cache=\"none\" io=\"native\" discard=\"unmap\" />"));
  auto before = fs::last_write_time(img);
  // The same spec again: the image is used as it is, not made anew.
  Result again = vfioctl({"new", spec, "-o", out, "--force"});
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(fs::last_write_time(img), before);
  // Another size: exit 2 at the size line, nothing written, the image untouched.
  std::string spec2 =
      write("g2.toml", "memory = \"256M\"\nhugepages = \"off\"\ncpus = \"1c1t\"\n[[disk]]\nsource = \"" + img +
                           "\"\nsize = \"128M\"\n[network]\nmode = \"none\"\n");
  std::string out2 = (dir / "g2.xml").string();
  Result bad = vfioctl({"new", spec2, "-o", out2});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(has(bad.err, spec2 + ":6: disk.size 128M: " + img + " exists with 64M")) << bad.err;
  EXPECT_FALSE(fs::exists(out2));
  EXPECT_EQ(fs::last_write_time(img), before);
}

TEST_F(DayOne, AMissingIsoIsAnErrorAndNoImageIsCreated) {
  std::string img = (dir / "g.img").string();
  std::string spec = write("g.toml", "memory = \"256M\"\nhugepages = \"off\"\ncpus = \"1c1t\"\n[[disk]]\nsource = \"" +
                                         img + "\"\nsize = \"64M\"\n[install]\niso = \"" + (dir / "nope.iso").string() +
                                         "\"\n[network]\nmode = \"none\"\n");
  write("debian.iso", "");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"new", spec, "-o", out});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":8: install.iso " + (dir / "nope.iso").string() + " does not exist (" + dir.string() +
                             " has " + (dir / "debian.iso").string() + ")"))
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(img));
}

// ---- scratch roots: bridges, Wi-Fi, USB ----

TEST_F(DayOne, ABridgeOverWifiOrAMissingBridgeIsRefusedAndNothingIsWritten) {
  std::string root = scratch_root();
  touch(root, "/sys/class/net/wlp4s0/phy80211/name", "phy0\n");
  touch(root, "/sys/class/net/br0/bridge/bridge_id", "8000.001122334455\n");
  fs::create_directories(fs::path(root) / "sys/class/net/br0/brif");
  fs::create_symlink("../../wlp4s0", fs::path(root) / "sys/class/net/br0/brif/wlp4s0");
  std::string spec = write("g.toml", "memory = \"4G\"\n[network]\nbridge = \"br0\"\n");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"--root", root, "new", spec, "-o", out});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":3: bridge br0 holds wlp4s0, a Wi-Fi interface")) << r.err;
  EXPECT_TRUE(has(r.err, "use mode = \"nat\""));
  EXPECT_FALSE(fs::exists(out));
  std::string spec2 = write("g2.toml", "memory = \"4G\"\n[network]\nbridge = \"br1\"\n");
  Result m = vfioctl({"--root", root, "new", spec2, "-o", out});
  EXPECT_EQ(m.rc, 2);
  EXPECT_TRUE(has(m.err, spec2 + ":3: bridge br1 does not exist (interfaces: br0 (bridge), wlp4s0 (Wi-Fi))")) << m.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(DayOne, ListUsbAndAnUnknownUsbIdOnAScratchRoot) {
  std::string root = scratch_root();
  auto usb = [&](const std::string& port, const std::string& v, const std::string& p, const std::string& dev,
                 const std::string& name) {
    std::string d = "/sys/bus/usb/devices/" + port;
    touch(root, d + "/idVendor", v + "\n");
    touch(root, d + "/idProduct", p + "\n");
    touch(root, d + "/busnum", "1\n");
    touch(root, d + "/devnum", dev + "\n");
    touch(root, d + "/product", name + "\n");
    touch(root, d + "/speed", "12\n");
  };
  usb("1-4", "046d", "c08b", "6", "G502 HERO Gaming Mouse");
  usb("1-10", "1532", "011b", "5", "BlackWidow Classic");
  touch(root, "/sys/bus/usb/devices/usb1/idVendor", "1d6b\n");
  touch(root, "/sys/bus/usb/devices/1-4:1.0/bInterfaceClass", "03\n");
  Result l = vfioctl({"--root", root, "list", "usb"});
  ASSERT_EQ(l.rc, 0) << l.err;
  // Root hubs and interfaces are not listed; 1-4 sorts before 1-10.
  EXPECT_TRUE(has(l.out, "  1-4        046d:c08b  001/006  12M       G502 HERO Gaming Mouse\n")) << l.out;
  EXPECT_LT(l.out.find("1-4 "), l.out.find("1-10 "));
  EXPECT_FALSE(has(l.out, "1d6b"));
  EXPECT_FALSE(has(l.out, "1-4:1.0"));
  Result j = vfioctl({"--root", root, "--json", "list", "usb"});
  ASSERT_EQ(j.rc, 0) << j.err;
  EXPECT_EQ(j.json()["usb_devices"].size(), 2u);
  EXPECT_EQ(j.json()["usb_devices"][0]["id"], "046d:c08b");

  std::string spec = write("g.toml", "memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\n");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"--root", root, "new", spec, "-o", out});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":3: no USB device 046d:c52b on this host; this host has: 1-4 046d:c08b G502 HERO "
                                "Gaming Mouse; 1-10 1532:011b BlackWidow Classic"))
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  std::string ok = write("ok.toml", "memory = \"4G\"\n[[usb]]\nid = \"046d:c08b\"\n");
  Result g = vfioctl({"--root", root, "new", ok});
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_TRUE(has(g.out,
                  "<hostdev mode=\"subsystem\" type=\"usb\" managed=\"yes\">\n      <source>\n        <vendor "
                  "id=\"0x046d\" />\n        <product id=\"0xc08b\" />"))
      << g.out;
}

TEST_F(DayOne, ASnapshotCarriesUsbDevicesBridgesAndDmiWithSerialsMasked) {
  std::string root = scratch_root();
  touch(root, "/sys/bus/usb/devices/1-4/idVendor", "046d\n");
  touch(root, "/sys/bus/usb/devices/1-4/idProduct", "c08b\n");
  touch(root, "/sys/class/net/br0/bridge/bridge_id", "8000.001122334455\n");
  touch(root, "/sys/class/net/wlp4s0/wireless/.placeholder");
  fs::create_directories(fs::path(root) / "sys/class/net/br0/brif");
  fs::create_symlink("../../wlp4s0", fs::path(root) / "sys/class/net/br0/brif/wlp4s0");
  touch(root, "/sys/class/dmi/id/sys_vendor", "ACME\n");
  touch(root, "/sys/class/dmi/id/product_serial", "SN-123\n");
  std::string snap = (dir / "snap").string();
  Result s = vfioctl({"--root", root, "snapshot", "-o", snap});
  ASSERT_EQ(s.rc, 0) << s.err;
  Result a = vfioctl({"--root", root, "list", "usb"});
  Result b = vfioctl({"--root", snap, "list", "usb"});
  EXPECT_EQ(a.out, b.out);
  EXPECT_TRUE(has(b.out, "1-4        046d:c08b"));
  EXPECT_EQ(slurp(fs::path(snap) / "sys/class/dmi/id/product_serial"), "MASKED\n");
  EXPECT_EQ(slurp(fs::path(snap) / "sys/class/dmi/id/sys_vendor"), "ACME\n");
  std::string spec = write("g.toml", "memory = \"4G\"\n[network]\nbridge = \"br0\"\n");
  Result r = vfioctl({"--root", snap, "new", spec});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "bridge br0 holds wlp4s0, a Wi-Fi interface")) << r.err;
}

TEST_F(DayOne, ListUsbSaysPlainlyWhenTheHostHasNone) {
  std::string root = scratch_root();
  Result l = vfioctl({"--root", root, "list", "usb"});
  ASSERT_EQ(l.rc, 0) << l.err;
  EXPECT_TRUE(has(l.out, "none: /sys/bus/usb/devices lists no device")) << l.out;
}

// ---- --installed ----

TEST_F(DayOne, InstalledRemovesTheInstallMediaFromAWrittenXml) {
  std::string root = scratch_root();
  touch(root, "/srv/iso/debian.iso");
  std::string spec = write("g.toml",
                           "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sdb\"\n[install]\niso = "
                           "\"/srv/iso/debian.iso\"\n[network]\nmode = \"none\"\n");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"--root", root, "new", spec, "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(slurp(out), "device=\"cdrom\""));
  Result i = vfioctl({"new", "--installed", out});
  ASSERT_EQ(i.rc, 0) << i.err;
  EXPECT_TRUE(has(i.err, "Removed 1 CD-ROM(s) (/srv/iso/debian.iso); wrote " + out)) << i.err;
  std::string after = slurp(out);
  EXPECT_FALSE(has(after, "cdrom"));
  EXPECT_TRUE(has(after, "<boot order=\"1\"/>"));
  Result v = shell("virt-xml-validate " + quote(out) + " domain");
  EXPECT_EQ(v.rc, 0) << v.out;
  Result again = vfioctl({"new", "--installed", out});
  EXPECT_EQ(again.rc, 0);
  EXPECT_TRUE(has(again.err, "has no CD-ROM: nothing to remove")) << again.err;
  Result both = vfioctl({"new", spec, "--installed", out});
  EXPECT_EQ(both.rc, 2);
}

// ---- setup --for and doctor --guest ----

TEST_F(DayOne, SetupForWritesTheGuestsQemuConfBlockAndUndoRestoresIt) {
  std::string root = scratch_root();
  std::string original = "# Master configuration file for the QEMU driver.\n#user = \"libvirt-qemu\"\n";
  touch(root, "/etc/libvirt/qemu.conf", original);
  std::string conf = root + "/etc/libvirt/qemu.conf";
  std::string spec = write("g.toml",
                           "memory = \"4G\"\n[input]\nevdev = [\"/dev/input/by-id/kbd-event-kbd\"]\n"
                           "[audio]\nbackend = \"pipewire\"\n");
  ::setenv("SUDO_UID", "1000", 1);
  Result dry = vfioctl({"--root", root, "setup", "--for", spec});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_TRUE(has(dry.out, "+user = \"+1000\"\n")) << dry.out;
  EXPECT_TRUE(has(dry.out, "+    \"/dev/input/by-id/kbd-event-kbd\",\n"));
  EXPECT_TRUE(has(dry.out, "+    \"/dev/kvm\",\n"));  // libvirt's defaults stay in the list
  EXPECT_EQ(slurp(conf), original);
  Result apply = vfioctl({"--root", root, "setup", "--for", spec, "--apply"});
  ASSERT_EQ(apply.rc, 0) << apply.err;
  EXPECT_TRUE(has(slurp(conf), "# BEGIN vfioctl"));
  EXPECT_TRUE(has(apply.out, "Restart libvirtd for qemu.conf to take effect.")) << apply.out;
  Result again = vfioctl({"--root", root, "setup", "--for", spec});
  EXPECT_TRUE(has(again.out, "Nothing to change")) << again.out;
  Result undo = vfioctl({"--root", root, "undo", "--apply"});
  ASSERT_EQ(undo.rc, 0) << undo.err;
  EXPECT_EQ(slurp(conf), original);
  // The user's own `user` setting is theirs: refused, the file untouched.
  std::string theirs = "user = \"root\"\n";
  touch(root, "/etc/libvirt/qemu.conf", theirs);
  Result refused = vfioctl({"--root", root, "setup", "--for", spec, "--apply"});
  EXPECT_EQ(refused.rc, 3);
  EXPECT_TRUE(has(refused.err, "already sets user = \"root\"; the guest's sound needs user = \"+1000\""))
      << refused.err;
  EXPECT_EQ(slurp(conf), theirs);
  ::unsetenv("SUDO_UID");
}

TEST_F(DayOne, DoctorGuestChecksWhatTheHostMustAllow) {
  std::string root = scratch_root();
  touch(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:108::/var/lib/libvirt:/bin/false\n");
  touch(root, "/proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n");
  std::string xml = std::string(VFIOCTL_SOURCE_DIR) + "/tests/golden/windows-workstation/intel-desktop-z370.xml";
  Result r = vfioctl({"--root", root, "doctor", "--guest", xml});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "Guest win10-work")) << r.out;
  EXPECT_TRUE(has(r.out, "PASS  H201  QEMU user: QEMU runs as libvirt-qemu (uid 64055)"));
  EXPECT_TRUE(has(r.out, "FAIL  H204  ROM file: /var/lib/libvirt/vbios/gp102.rom does not exist"));
  EXPECT_TRUE(has(r.out, "FAIL  H205  hugetlbfs mount: no hugetlbfs with 1G pages is mounted"));
  // The generated guest asks to be tuned: the hook is looked for, and found once installed.
  EXPECT_TRUE(has(r.out,
                  "WARN  H211  vfioctl hook: <vfioctl:tune> asks for hugepages, isolate, governor, irq, but "
                  "/etc/libvirt/hooks/qemu.d/vfioctl does not exist"))
      << r.out;
  Result install = vfioctl({"--root", root, "hook", "install", "--apply", "--binary", "/usr/bin/vfioctl"});
  ASSERT_EQ(install.rc, 0) << install.err;
  Result after = vfioctl({"--root", root, "doctor", "--guest", xml});
  EXPECT_TRUE(has(after.out, "PASS  H211  vfioctl hook")) << after.out;
  Result j = vfioctl({"--root", root, "--json", "doctor", "--guest", xml});
  EXPECT_EQ(j.rc, 1);
  EXPECT_EQ(j.json()["checks"][0]["id"], "H201");
  Result bad = vfioctl({"doctor", "--guest", write("x.xml", "<network/>")});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(has(bad.err, "not a libvirt domain")) << bad.err;
  Result missing = vfioctl({"doctor", "--guest", "/nonexistent/win11.xml"});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_TRUE(has(missing.err, "--guest /nonexistent/win11.xml: cannot read the domain XML: No such file or directory"))
      << missing.err;
}

}  // namespace
}  // namespace vfioctl::test
