// vfioctl new: golden XML for every example spec on four fixture hosts,
// each accepted by libvirt's schema and parser; requests a host cannot meet
// are errors at the spec line, and nothing is written.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// intel-i7-8700-isolated boots with isolcpus: vCPUs on its isolated cores;
// threadripper-1900x has two NUMA nodes: the guest on its GPU's node.
// rtx3090ti-rebar's GPU has a 32 GiB BAR: its guests get a 64-bit MMIO window.
const std::vector<std::string> kGoldenHosts = {"intel-desktop-z370", "intel-hybrid-13700k",    "two-identical-gpus",
                                               "amd-laptop-5800h",   "intel-i7-8700-isolated", "threadripper-1900x",
                                               "rtx3090ti-rebar"};

std::vector<fs::path> example_specs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/examples")) {
    if (e.path().extension() == ".toml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A golden host with tests/golden/overlay laid over it (ISOs, USB devices,
// bridges, DMI, libvirt's networks: tests/golden/overlay/README.md), made
// once per test program in a scratch directory.
std::string golden_root(const std::string& host_name) {
  static const fs::path base = fs::temp_directory_path() / ("vfioctl-golden-" + std::to_string(::getpid()));
  static const bool cleanup = [] {
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(base, ec);
    });
    return true;
  }();
  (void)cleanup;
  fs::path dir = base / host_name;
  if (!fs::exists(dir)) {
    fs::create_directories(base);
    Result r = shell("cp -a " + quote(host(host_name)) + " " + quote(dir.string()) + " && cp -a " +
                     quote(std::string(VFIOCTL_SOURCE_DIR) + "/tests/golden/overlay/.") + " " + quote(dir.string()));
    if (r.rc != 0) ADD_FAILURE() << r.out;
  }
  return dir.string();
}

// The user whose sound server the examples use (the overlay has
// /run/user/1000/pulse/native); vfioctl reads it from SUDO_UID.
const bool kSudoUid = [] { return ::setenv("SUDO_UID", "1000", 1) == 0; }();

fs::path golden_path(const fs::path& spec, const std::string& host_name) {
  return fs::path(VFIOCTL_SOURCE_DIR) / "tests/golden" / spec.stem() / (host_name + ".xml");
}

// Set VFIOCTL_UPDATE_GOLDEN=1 to rewrite the files after an intended change
// (then review the diff).
TEST(CliNewGolden, EveryExampleOnEveryGoldenHostMatches) {
  bool update = std::getenv("VFIOCTL_UPDATE_GOLDEN") != nullptr;
  auto specs = example_specs();
  ASSERT_GE(specs.size(), 4u);
  for (const auto& spec : specs) {
    for (const auto& h : kGoldenHosts) {
      SCOPED_TRACE(spec.filename().string() + " on " + h);
      Result r = vfioctl({"--root", golden_root(h), "new", spec.string()});
      ASSERT_EQ(r.rc, 0) << r.err;
      fs::path golden = golden_path(spec, h);
      if (update) {
        fs::create_directories(golden.parent_path());
        std::ofstream(golden, std::ios::binary) << r.out;
        continue;
      }
      ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with VFIOCTL_UPDATE_GOLDEN=1";
      EXPECT_EQ(r.out, slurp(golden)) << "differs from " << golden;
    }
  }
}

TEST(CliNewGolden, EveryGoldenFilePassesLibvirtsSchemaAndParser) {
  int checked = 0;
  for (const auto& spec : example_specs()) {
    for (const auto& h : kGoldenHosts) {
      fs::path golden = golden_path(spec, h);
      SCOPED_TRACE(golden.string());
      ASSERT_TRUE(fs::exists(golden));
      Result v = shell("virt-xml-validate " + quote(golden.string()) + " domain");
      EXPECT_EQ(v.rc, 0) << v.out;
      Result d = shell("virsh -q -c test:///default define --validate " + quote(golden.string()));
      EXPECT_EQ(d.rc, 0) << d.out;
      ++checked;
    }
  }
  EXPECT_GE(checked, 24);
}

// What the plan promises, read back from one golden file.
TEST(CliNewGolden, WindowsGamingOnTheHybridHostPinsPCoresAndPassesTheGpuOnOneSlot) {
  Result r = vfioctl({"--root", golden_root("intel-hybrid-13700k"), "new",
                      std::string(VFIOCTL_SOURCE_DIR) + "/examples/windows-gaming.toml"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // cpus = auto: the 7 P-cores besides CPU 0's (CPUs 2..15), never CPU 0 or
  // 1; E-cores stay with the host, the emulator on one of them.
  EXPECT_TRUE(has(r.out, "<vcpupin vcpu=\"0\" cpuset=\"2\" />"));
  EXPECT_TRUE(has(r.out, "<vcpupin vcpu=\"13\" cpuset=\"15\" />"));
  EXPECT_FALSE(has(r.out, "cpuset=\"0\" />"));
  EXPECT_FALSE(has(r.out, "cpuset=\"1\" />"));
  EXPECT_TRUE(has(r.out, "<emulatorpin cpuset=\"16\" />"));
  EXPECT_TRUE(has(r.out, "<topology sockets=\"1\" dies=\"1\" cores=\"7\" threads=\"2\" />"));
  EXPECT_TRUE(
      has(r.out, "<source>\n        <address domain=\"0x0000\" bus=\"0x01\" slot=\"0x00\" function=\"0x0\" />"));
  EXPECT_TRUE(has(r.out, "function=\"0x0\" multifunction=\"on\" />"));
  EXPECT_TRUE(has(r.out, "<memballoon model=\"none\" />"));
  EXPECT_TRUE(has(r.out, "<hyperv mode=\"custom\">"));
  // The domain asks the libvirt hook to tune the host, and the host has no hook yet: said at the end.
  EXPECT_TRUE(has(r.err,
                  "  - vfioctl hook /etc/libvirt/hooks/qemu.d/vfioctl: tunes the host while the guest runs "
                  "(hugepages, isolate, governor, irq): 'vfioctl hook install --apply', then restart libvirtd"))
      << r.err;
  // A plain QEMU script has no libvirt hook to ask for: it tunes the host itself.
  Result script =
      vfioctl({"--root", golden_root("intel-hybrid-13700k"), "new",
               std::string(VFIOCTL_SOURCE_DIR) + "/examples/windows-gaming.toml", "--qemu-script",
               (fs::temp_directory_path() / ("vfioctl-hookless-" + std::to_string(::getpid()) + ".sh")).string()});
  ASSERT_EQ(script.rc, 0) << script.err;
  EXPECT_FALSE(has(script.err, "hook install")) << script.err;
  EXPECT_TRUE(has(script.err,
                  "The script tunes the host while the guest runs (hugepages, isolate, governor, irq) with 'vfioctl "
                  "tune', as the libvirt hook does"))
      << script.err;
  fs::remove(fs::temp_directory_path() / ("vfioctl-hookless-" + std::to_string(::getpid()) + ".sh"));
}

// Every example on every bundled host (bare fixtures, none of the golden
// overlay's files): a guest, or one of the documented refusals. A fixture is
// a host tree, not this host: the images, ISOs, bridges, USB devices and DMI
// tables the examples name and the tree lacks are said to be not checked,
// never an error, and nothing is created in it.
// A guest `new` wrote for a host draws no finding from `lint --root HOST`
// but L110 (free hugepages are the host's state at this moment: the hook
// reserves them when the guest starts).
void expect_lint_clean(const fs::path& host, const std::string& xml) {
  fs::path file = fs::temp_directory_path() / ("vfioctl-matrix-" + std::to_string(::getpid()) + ".xml");
  { std::ofstream(file) << xml; }
  Result l = vfioctl({"--root", host.string(), "lint", "--format", "json", file.string()});
  fs::remove(file);
  auto j = nlohmann::json::parse(l.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << l.out << l.err;
  ASSERT_TRUE(j["files"][0]["ok"].get<bool>()) << l.out;
  for (const auto& f : j["findings"]) {
    if (f["id"] == "L110") continue;
    ADD_FAILURE() << f["id"].get<std::string>() << " line " << f["line"] << ": " << f["message"].get<std::string>();
  }
}

TEST(CliNewMatrix, EveryExampleOnEveryBundledHost) {
  int guests = 0, refused = 0, forced = 0;
  for (const auto& e : fs::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts")) {
    if (!fs::is_directory(e.path() / "sys")) continue;  // README, hwloc's readings, the generator
    std::string name = e.path().filename().string();
    for (const auto& spec : example_specs()) {
      SCOPED_TRACE(name + " " + spec.filename().string());
      Result r = vfioctl({"--root", e.path().string(), "new", spec.string()});
      if (r.rc == 0) {
        ++guests;
        EXPECT_TRUE(has(r.out, "<domain type=")) << r.out;
        expect_lint_clean(e.path(), r.out);
        continue;
      }
      ++refused;
      EXPECT_EQ(r.rc, 2) << r.err;
      // amd-matisse-nnk boots with the IOMMU off; threadripper-3960x has two
      // GPUs, neither the boot GPU, and the examples ask for "gpu"; on the
      // Xeons (the BMC's VGA) and the Renoir APU the only GPU is the boot
      // GPU, which goes to a guest only with --force.
      bool boot_gpu = has(r.err, "is the host's boot GPU") && has(r.err, "add --force to pass this one");
      bool documented = (name == "amd-matisse-nnk" && has(r.err, "the IOMMU is off on this host")) ||
                        (name == "threadripper-3960x" && has(r.err, "'gpu' matches 2 devices") &&
                         has(r.err, "name one by address")) ||
                        boot_gpu;
      EXPECT_TRUE(documented) << r.err;
      if (boot_gpu) {
        ++forced;
        Result f = vfioctl({"--root", e.path().string(), "new", spec.string(), "--force"});
        EXPECT_EQ(f.rc, 0) << f.err;
        EXPECT_TRUE(has(f.err, "is the host's boot GPU: the host loses its console")) << f.err;
        expect_lint_clean(e.path(), f.out);
      }
    }
  }
  EXPECT_EQ(guests + refused, 78);  // 13 bundled hosts x 6 examples
  EXPECT_EQ(refused, 15) << guests << " guests, " << forced << " refused for the boot GPU";
  EXPECT_EQ(forced, 9) << "the Xeons' BMC VGA and the Renoir APU, three examples each";
  EXPECT_EQ(shell("git -C " + quote(std::string(VFIOCTL_SOURCE_DIR)) + " status --porcelain tests/hosts").out, "")
      << "nothing written into the fixtures";
}

// The README's walk-through, as printed (scripts/run is the built binary).
TEST(CliNewMatrix, TheReadmeWalkThroughRuns) {
  fs::path dir = fs::temp_directory_path() / ("vfioctl-readme-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* d : {"tests", "examples"}) fs::create_symlink(fs::path(VFIOCTL_SOURCE_DIR) / d, dir / d);
  // As root without sudo, as the README's reader may well be: the sound
  // server's user is the host's, not checked on a host tree.
  Result r = shell("cd " + quote(dir.string()) + " && env -u SUDO_UID " + quote(VFIOCTL_BIN) +
                   " --root tests/hosts/amd-ryzen9-3900x new examples/linux-desktop.toml --explain -o desk.xml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out,
                  "desktop_nvidia_debian12_x64_q35_uefi_2c4t: 4 vCPUs (2 cores x 2 threads), 8192 MiB on "
                  "4096 2 MiB pages"))
      << r.out;
  EXPECT_TRUE(has(r.out, "0b:00.0 -> guest 01:00.0  GP102 [GeForce GTX 1080 Ti]")) << r.out;
  EXPECT_TRUE(has(r.out,
                  "not checked: install.iso /var/lib/libvirt/images/debian-12.8.0-amd64-netinst.iso is not "
                  "in this host tree"))
      << r.out;
  EXPECT_TRUE(has(r.out, "not checked: audio.backend \"pulseaudio\" plays to a user's sound server")) << r.out;
  EXPECT_TRUE(has(slurp(dir / "desk.xml"), "<domain type=\"kvm\">"));
  fs::remove_all(dir);
}

class SpecFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vfioctl-new-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& text) {
    std::string p = (dir / "guest.toml").string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir;
};

TEST_F(SpecFile, TooManyCoresIsAnErrorAtTheSpecLine) {
  std::string spec = write("preset = \"linux-desktop\"\nmemory = \"8G\"\ncpus = \"12c24t\"\n");
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "new", spec, "-o", (dir / "out.xml").string()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":3: 12 cores asked")) << r.err;
  EXPECT_TRUE(has(r.err, "at most 11"));
  EXPECT_FALSE(fs::exists(dir / "out.xml"));
}

TEST_F(SpecFile, MemoryBeyondTheHostIsAnError) {
  std::string spec = write("memory = \"64G\"\n");
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "new", spec});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":1: memory = \"64G\" is more than this host can give")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(SpecFile, DeviceInASharedGroupNamesTheOthers) {
  std::string spec = write("memory = \"8G\"\npassthrough = [\"00:1f.3\"]\n");
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":2: passthrough '00:1f.3': 00:1f.3 shares IOMMU group 10 with")) << r.err;
  EXPECT_TRUE(has(r.err, "00:1f.4 (i801_smbus)"));
}

TEST_F(SpecFile, AmbiguousKindAsksForAnAddress) {
  std::string spec = write("memory = \"8G\"\npassthrough = [\"gpu\"]\n");
  Result r = vfioctl({"--root", host("threadripper-3960x"), "new", spec});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":2: passthrough 'gpu' matches 2 devices (21:00.0 [10de:1b80], 4c:00.0 [1002:67df]); "
                                "name one by address, e.g. \"21:00.0\""))
      << r.err;
  // The boot GPU is left out when another remains.
  Result z = vfioctl({"--root", host("intel-desktop-z370"), "new", spec});
  EXPECT_EQ(z.rc, 0) << z.err;
  EXPECT_TRUE(has(z.out, "bus=\"0x01\" slot=\"0x00\" function=\"0x0\""));
  EXPECT_FALSE(has(z.out, "bus=\"0x00\" slot=\"0x02\""));
}

TEST_F(SpecFile, NoIommuIsAnErrorPointingAtDoctor) {
  std::string spec = write("memory = \"8G\"\npassthrough = [\"24:00.0\"]\n");
  Result r = vfioctl({"--root", host("amd-matisse-nnk"), "new", spec});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "the IOMMU is off")) << r.err;
  EXPECT_TRUE(has(r.err, "vfioctl doctor"));
}

TEST_F(SpecFile, OutputIsWrittenOnceAndNotReplacedWithoutForce) {
  std::string spec = write("memory = \"4G\"\ncpus = \"2c4t\"\n");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "new", spec, "-o", out, "--explain"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(slurp(out), "<domain type=\"kvm\">"));
  EXPECT_TRUE(has(r.err, "vCPU 0"));
  EXPECT_TRUE(has(r.err, "host, emulator, iothread 1"));
  Result again = vfioctl({"--root", host("amd-ryzen9-3900x"), "new", spec, "-o", out});
  EXPECT_EQ(again.rc, 2);
  EXPECT_TRUE(has(again.err, "exists"));
  Result forced = vfioctl({"--root", host("amd-ryzen9-3900x"), "new", spec, "-o", out, "--force"});
  EXPECT_EQ(forced.rc, 0) << forced.err;
  // No temporary file is left next to it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 2);  // guest.toml and g.xml
}

// An NVMe disk: libvirt 9.0 has no emulated NVMe bus, so the XML is refused
// at the spec line (exit 2, nothing written) with what to use instead; the
// QEMU script alone gives the disk an NVMe controller of its own.
// [hide] on the z370's GTX 1070 in Windows: each XML libvirt's schema and
// parser accept, that lint passes (the bit cleared: no L014 for the
// enlightenments Windows would ignore), the choice in --explain.
TEST_F(SpecFile, HiddenHypervisorXmlPassesLibvirtAndLint) {
  const std::string base =
      "preset = \"windows-gaming\"\nos = \"win10\"\nmemory = \"8G\"\ncpus = \"2c4t\"\npassthrough = [\"gpu\"]\n"
      "[network]\nmode = \"none\"\n";
  struct Case {
    std::string hide;
    std::vector<std::string> present, absent;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"",
       {"<hidden state=\"on\" />", "<vendor_id state=\"on\" value=\"vfioctlguest\" />", "<hyperv mode=\"custom\">"},
       {"name=\"hypervisor\""},
       "hypervisor hidden (KVM's signature hidden, Hyper-V vendor id 'vfioctlguest'): a Windows guest with an "
       "NVIDIA GPU"},
      {"[hide]\nhypervisor = false\n", {"<hyperv mode=\"custom\">"}, {"<kvm>", "vendor_id"}, ""},
      {"[hide]\ncpuid_bit = false\n",
       {"<hidden state=\"on\" />", "<feature policy=\"disable\" name=\"hypervisor\" />"},
       {"<hyperv", "hypervclock"},
       "the CPU's hypervisor bit is off: Windows takes itself for bare metal and ignores the Hyper-V enlightenments"},
  };
  std::string out = (dir / "g.xml").string();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.hide);
    std::string spec = write(base + c.hide);
    fs::remove(out);
    Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "--explain", "-o", out});
    ASSERT_EQ(r.rc, 0) << r.err;
    std::string xml = slurp(out);
    for (const auto& p : c.present) EXPECT_TRUE(has(xml, p)) << p << "\n" << xml;
    for (const auto& a : c.absent) EXPECT_FALSE(has(xml, a)) << a << "\n" << xml;
    if (!c.why.empty()) {
      EXPECT_TRUE(has(r.err, c.why)) << r.err;
    }
    Result v = shell("virt-xml-validate " + quote(out) + " domain");
    EXPECT_EQ(v.rc, 0) << v.out;
    Result d = shell("virsh -q -c test:///default define --validate " + quote(out));
    EXPECT_EQ(d.rc, 0) << d.out;
    expect_lint_clean(host("intel-desktop-z370"), xml);
  }
  // A bad value stops at its line, nothing written.
  std::string spec = write(base + "[hide]\nvendor_id = \"MuchTooLongId\"\n");
  fs::remove(out);
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "-o", out});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, spec + ":9: hide.vendor_id 'MuchTooLongId' must be 1 to 12")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// Each virtio controller on its own iothread, all pinned to the housekeeping
// core: libvirt takes it, lint finds nothing, --explain says why.
TEST_F(SpecFile, IothreadPerVirtioControllerPassesLibvirtAndLint) {
  std::string spec = write(
      "memory = \"4G\"\ncpus = \"2c4t\"\n[network]\nmode = \"none\"\n[[disk]]\nsource = \"/srv/a.img\"\nbus = "
      "\"virtio-blk\"\n[[disk]]\nsource = \"/srv/b.img\"\n");
  std::string out = (dir / "g.xml").string();
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "--explain", "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string xml = slurp(out);
  EXPECT_TRUE(has(xml, "<iothreads>2</iothreads>")) << xml;
  EXPECT_TRUE(has(r.err, "2 iothreads for 2 virtio disk controllers (one each), all on CPUs 3,7")) << r.err;
  EXPECT_TRUE(has(r.err, "host, emulator, iothreads 1-2")) << r.err;
  Result v = shell("virt-xml-validate " + quote(out) + " domain");
  EXPECT_EQ(v.rc, 0) << v.out;
  Result d = shell("virsh -q -c test:///default define --validate " + quote(out));
  EXPECT_EQ(d.rc, 0) << d.out;
  expect_lint_clean(host("intel-desktop-z370"), xml);
}

// --json carries what the XML and the script get: iothreads, [hide], the
// 64-bit MMIO window and the tuning actions.
TEST_F(SpecFile, JsonReportsIothreadsHideTheMmioWindowAndTune) {
  std::string spec = write(
      "preset = \"windows-gaming\"\nos = \"win10\"\nmemory = \"8G\"\ncpus = \"2c4t\"\npassthrough = [\"gpu\"]\n"
      "[network]\nmode = \"none\"\n[[disk]]\nsource = \"/srv/a.img\"\nbus = \"virtio-blk\"\n");
  Result r = vfioctl({"--root", host("rtx3090ti-rebar"), "--json", "new", spec});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["iothreads"], 1);
  EXPECT_TRUE(j["hide"]["kvm"].get<bool>()) << "Windows with an NVIDIA GPU hides KVM by default";
  EXPECT_EQ(j["hide"]["vendor_id"], "vfioctlguest");
  EXPECT_TRUE(j["hide"]["cpuid_bit"].get<bool>());
  ASSERT_TRUE(j["mmio64"]["window_mib"].is_number()) << j["mmio64"].dump();
  std::string xml = j["xml"].get<std::string>();
  EXPECT_TRUE(has(xml, "opt/ovmf/X-PciMmio64Mb,string=" + std::to_string(j["mmio64"]["window_mib"].get<long long>())))
      << "the window reported is the one written";
  EXPECT_GE(j["mmio64"]["bar_bytes"].get<long long>(), 32LL << 30);
  EXPECT_TRUE(j["mmio64"]["phys_bits"].is_number());
  EXPECT_EQ(j["tune"], nlohmann::json::parse(R"(["hugepages", "isolate", "governor", "irq"])"));

  spec = write(
      "preset = \"linux-server\"\nmemory = \"2G\"\nhugepages = \"off\"\n[tune]\nactions = []\n[network]\nmode = "
      "\"none\"\n");
  r = vfioctl({"--root", host("intel-desktop-z370"), "--json", "new", spec});
  ASSERT_EQ(r.rc, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["mmio64"]["window_mib"].is_null());
  EXPECT_FALSE(j["hide"]["kvm"].get<bool>());
  EXPECT_TRUE(j["tune"].empty());
}

// Windows with evdev: the next steps name the virtio-input driver.
TEST_F(SpecFile, WindowsEvdevNamesTheVirtioInputDriver) {
  std::string spec = write(
      "preset = \"windows-workstation\"\nos = \"win10\"\nmemory = \"8G\"\ncpus = \"2c4t\"\n[network]\nmode = "
      "\"none\"\n[[disk]]\nsource = \"/srv/w.img\"\n[install]\niso = \"/srv/win10.iso\"\ndrivers = "
      "\"/srv/virtio-win.iso\"\n[input]\nevdev = [\"/dev/input/by-id/usb-kbd-event-kbd\"]\n");
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.err,
                  "install the virtio-input driver for the evdev keyboard and mouse: folder vioinput\\w10\\amd64 on "
                  "the virtio-win CD-ROM (/srv/virtio-win.iso; virtio-win-guest-tools.exe installs it too); without "
                  "it Windows reads them through the emulated PS/2 devices"))
      << r.err;
  EXPECT_TRUE(has(r.out, "<input type=\"keyboard\" bus=\"virtio\" />")) << r.out;
  // Already installed (no [install]): the same driver, from the ISO.
  spec = write(
      "preset = \"windows-workstation\"\nos = \"win10\"\nmemory = \"8G\"\ncpus = \"2c4t\"\n[network]\nmode = "
      "\"none\"\n[input]\nevdev = [\"/dev/input/by-id/usb-kbd-event-kbd\"]\n");
  r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.err,
                  "install the virtio-input driver for the evdev keyboard and mouse from the virtio-win ISO "
                  "(folder vioinput\\w10\\amd64"))
      << r.err;
}

// Every output is checked before anything is written: a --qemu-script into a
// missing directory leaves no -o file behind (nor images, on the live host).
TEST_F(SpecFile, AnOutputThatCannotBeWrittenStopsBeforeAnyIsWritten) {
  std::string spec = write("memory = \"4G\"\nhugepages = \"off\"\n[network]\nmode = \"none\"\n");
  std::string xml = (dir / "g.xml").string(), script = (dir / "missing" / "g.sh").string();
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "-o", xml, "--qemu-script", script});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_TRUE(has(r.err, script + ": directory " + (dir / "missing").string() + " does not exist")) << r.err;
  EXPECT_FALSE(has(r.err, "Wrote ")) << r.err;
  EXPECT_FALSE(fs::exists(xml));
  // An existing file names the option that would overwrite it.
  std::ofstream(xml) << "mine\n";
  r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "-o", xml});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_TRUE(has(r.err, xml + " exists; choose another -o, or add --force to replace it")) << r.err;
  EXPECT_EQ(slurp(xml), "mine\n");
}

TEST_F(SpecFile, NvmeDiskIsRefusedInTheXmlAndWrittenInTheScript) {
  std::string spec = write(
      "memory = \"4G\"\nhugepages = \"off\"\n[[disk]]\nsource = \"/srv/vm/fast.img\"\nbus = \"nvme\"\n"
      "[network]\nmode = \"none\"\n");
  std::string xml = (dir / "g.xml").string(), script = (dir / "g.sh").string();
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {}, {"-o", xml}, {"--qemu-script", script, "-o", xml}, {"--qemu-script", script, "--json"}}) {
    std::vector<std::string> args = {"--root", host("intel-desktop-z370"), "new", spec};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = vfioctl(args);
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_TRUE(has(r.err, spec + ":5: disk.bus \"nvme\" (/srv/vm/fast.img): libvirt 9.0.0 has no emulated NVMe disk"))
        << r.err;
    EXPECT_TRUE(has(r.err, "use bus = \"virtio-scsi\""));
    EXPECT_TRUE(has(r.err, "vfioctl new SPEC --qemu-script FILE"));
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(fs::exists(xml));
    EXPECT_FALSE(fs::exists(script));
  }
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "--qemu-script", script});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string text = slurp(script);
  EXPECT_TRUE(has(text,
                  "  -drive file=/srv/vm/fast.img,if=none,format=raw,id=drive-nvme0,cache=none,aio=native,"
                  "discard=unmap\n"))
      << text;
  EXPECT_TRUE(has(text, "  -device nvme,serial=vfioctl"));
  EXPECT_TRUE(has(text, ",drive=drive-nvme0,id=nvme0,bootindex=1\n"));
  EXPECT_FALSE(has(text, "scsi-hd"));
  EXPECT_FALSE(has(text, "scsi0"));
  // --define asks the libvirt it defines in for its version (libvirt's test
  // driver: this machine's libvirt library, as virsh reports it): refused
  // before 11.5.
  Result v = shell("virsh -c test:///default version");
  int major = 0, minor = 0;
  auto at = v.out.find("Using library: libvirt ");
  if (v.rc != 0 || at == std::string::npos || std::sscanf(v.out.c_str() + at + 23, "%d.%d", &major, &minor) != 2)
    GTEST_SKIP() << "no libvirt version from virsh: " << v.out;
  Result d = vfioctl({"--root", host("intel-desktop-z370"), "new", spec, "--define", "--connect", "test:///default"});
  if (major < 11 || (major == 11 && minor < 5)) {
    EXPECT_EQ(d.rc, 2) << d.err;
    EXPECT_TRUE(has(d.err, spec + ":5: disk.bus \"nvme\" (/srv/vm/fast.img): libvirt ")) << d.err;
    EXPECT_TRUE(has(d.err, "has no emulated NVMe disk")) << d.err;
  } else {
    EXPECT_FALSE(has(d.err, "has no emulated NVMe disk")) << d.err;
  }
}

}  // namespace
// Placement on the two-node Threadripper 1900X (tests/hosts/threadripper-
// 1900x: bus 00 on node 0 holds the GTX 1080 at 08:00; bus 40 on node 1 the
// NVMe drive 41:00.0): the guest goes to its devices' node, and devices on
// both nodes are explained.
TEST_F(SpecFile, NumaFollowsEveryPassedDeviceAndExplainsAConflict) {
  std::string nvme =
      write("preset = \"linux-server\"\nmemory = \"4G\"\ncpus = \"2c4t\"\npassthrough = [\"41:00.0\"]\n");
  std::string out = (dir / "out.xml").string();
  Result r = vfioctl({"--root", host("threadripper-1900x"), "new", nvme, "--explain", "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.err, "NUMA node 1: the node of the passed devices 41:00.0 (NVMe drive)")) << r.err;
  std::string xml = slurp(out);
  EXPECT_TRUE(has(xml, "<memory mode=\"strict\" nodeset=\"1\" />")) << xml;
  EXPECT_TRUE(has(xml, "<vcpupin vcpu=\"0\" cpuset=\"4\" />")) << xml;  // node 1: CPUs 4-7,12-15

  std::string both =
      write("preset = \"linux-server\"\nmemory = \"4G\"\ncpus = \"2c4t\"\npassthrough = [\"08:00\", \"41:00.0\"]\n");
  Result b = vfioctl({"--root", host("threadripper-1900x"), "new", both, "--explain", "-o", out, "--force"});
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_TRUE(has(b.err,
                  "the passed devices sit on different NUMA nodes (node 0: 08:00.0 (GPU); node 1: 41:00.0 (NVMe "
                  "drive)): the guest's vCPUs and memory go to node 0 (the GPU's), so the DMA of 41:00.0 (NVMe "
                  "drive) crosses between the nodes"))
      << b.err;
  EXPECT_TRUE(has(slurp(out), "<memory mode=\"strict\" nodeset=\"0\" />"));
}

// The isolated i7-8700 (isolcpus=1-5,7-11, siblings N / N+6): vCPUs on
// isolated cores, the emulator on core 0, and a request beyond the
// isolated cores names them.
TEST_F(SpecFile, IsolatedCoresTakeTheVcpusAndBoundTheRequest) {
  std::string spec = write("preset = \"linux-server\"\nmemory = \"4G\"\ncpus = \"2c4t\"\n");
  std::string out = (dir / "out.xml").string();
  Result r = vfioctl({"--root", host("intel-i7-8700-isolated"), "new", spec, "--explain", "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(slurp(out), "<emulatorpin cpuset=\"0,6\" />"));
  EXPECT_TRUE(has(r.err, "vCPUs on isolated CPUs only (isolcpus=1-5,7-11, nohz_full=1-5,7-11)")) << r.err;
  Result lint = vfioctl({"--root", host("intel-i7-8700-isolated"), "lint", out});
  EXPECT_EQ(lint.rc, 0) << lint.out;
  EXPECT_FALSE(has(lint.out, "L109")) << lint.out;

  std::string big = write("preset = \"linux-server\"\nmemory = \"4G\"\ncpus = \"6c12t\"\n");
  Result e = vfioctl({"--root", host("intel-i7-8700-isolated"), "new", big});
  EXPECT_EQ(e.rc, 2);
  EXPECT_TRUE(has(e.err, big + ":3: 6 cores asked, but the host isolates 5 whole cores a guest can use (CPUs "
                               "1-5,7-11: isolcpus=1-5,7-11, nohz_full=1-5,7-11): ask for at most 5"))
      << e.err;
}

}  // namespace vfioctl::test
