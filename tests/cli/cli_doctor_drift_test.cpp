// vfioctl doctor's drift checks (H023-H027): configured, but not in effect.
// Each case copies a fixture host (tests/hosts) to a scratch root and
// changes only what the comment says: the kernel command line, a modprobe.d
// file, the CPU flags. Everything else stays the real host's.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Scratch {
 public:
  explicit Scratch(const std::string& fixture) {
    std::string tmpl = (fs::temp_directory_path() / "vfioctl-drift-XXXXXX").string();
    m_dir = ::mkdtemp(tmpl.data());
    // Hard links cost no copy of the fixture's megabytes; write() replaces
    // a file rather than writing through its link. Another filesystem than
    // the checkout's takes a real copy.
    auto opts = fs::copy_options::recursive | fs::copy_options::copy_symlinks;
    try {
      fs::copy(host(fixture), m_dir, opts | fs::copy_options::create_hard_links);
    } catch (const fs::filesystem_error&) {
      fs::remove_all(m_dir);
      fs::create_directory(m_dir);
      fs::copy(host(fixture), m_dir, opts);
    }
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  void write(const std::string& path, const std::string& text) const {
    auto p = m_dir / path.substr(1);
    fs::create_directories(p.parent_path());
    fs::remove(p);  // a link to the fixture's file: never write through it
    std::ofstream(p, std::ios::binary) << text;
  }
  std::string read(const std::string& path) const { return slurp(m_dir / path.substr(1)); }
  // Appends words to the fixture's own kernel command line.
  void cmdline(const std::string& words) const {
    std::string line = read("/proc/cmdline");
    while (!line.empty() && line.back() == '\n') line.pop_back();
    write("/proc/cmdline", line + " " + words + "\n");
  }
  std::string str() const { return m_dir.string(); }

  // doctor --json on this root: the finding of one id.
  json finding(const std::string& id) const {
    Result r = vfioctl({"--root", str(), "doctor", "--json"});
    json doc = r.json();
    for (const auto& c : doc["checks"]) {
      if (c["id"] == id) return c;
    }
    ADD_FAILURE() << "no " << id;
    return json::object();
  }

 private:
  fs::path m_dir;
};

bool has(const json& f, const std::string& what) {
  return f["message"].get<std::string>().find(what) != std::string::npos;
}
bool fix_has(const json& f, const std::string& what) {
  return f["fix"].is_string() && f["fix"].get<std::string>().find(what) != std::string::npos;
}

TEST(CliDoctorDrift, JsonHasTheNewChecks) {
  Result r = vfioctl({"--root", host("two-identical-gpus"), "doctor", "--json"});
  auto doc = r.json();
  for (const char* id : {"H023", "H024", "H025", "H026", "H027"}) {
    bool found = false;
    for (const auto& c : doc["checks"]) {
      if (c["id"] != id) continue;
      found = true;
      EXPECT_EQ(c["section"], "Configuration in effect") << id;
      EXPECT_FALSE(c["why"].get<std::string>().empty()) << id;
    }
    EXPECT_TRUE(found) << id;
  }
}

// A host tree has no initramfs image to list: always SKIP, saying why, even
// with vfio-pci's ids configured (two-identical-gpus + vfio-pci.ids=).
TEST(CliDoctorDrift, H023InitramfsIsSkippedUnderRoot) {
  Scratch s("two-identical-gpus");
  s.cmdline("vfio-pci.ids=10de:128b,10de:0e0f");
  auto f = s.finding("H023");
  EXPECT_EQ(f["result"], "skip");
  EXPECT_TRUE(has(f, "--root"));
  EXPECT_TRUE(has(f, "initramfs"));
}

// two-identical-gpus reserves 4096 2 MiB pages and no 1 GiB page.
TEST(CliDoctorDrift, H024FewerPagesThanConfigured) {
  Scratch s("two-identical-gpus");
  s.cmdline("hugepagesz=1G hugepages=4");
  auto f = s.finding("H024");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "1 GiB: hugepages=4, 0 reserved"));
  EXPECT_TRUE(fix_has(f, "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"));
}

TEST(CliDoctorDrift, H024OneGigPagesWithoutPdpe1gb) {
  Scratch s("two-identical-gpus");
  s.cmdline("hugepagesz=1G hugepages=4");
  // The CPU flags without pdpe1gb.
  std::string cpuinfo = s.read("/proc/cpuinfo");
  for (size_t at; (at = cpuinfo.find(" pdpe1gb")) != std::string::npos;) cpuinfo.erase(at, 8);
  s.write("/proc/cpuinfo", cpuinfo);
  auto f = s.finding("H024");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "hugepagesz=1G"));
  EXPECT_TRUE(has(f, "pdpe1gb"));
  EXPECT_TRUE(fix_has(f, "hugepagesz=2M hugepages=2048"));
}

TEST(CliDoctorDrift, H024PassesWhenTheKernelReservedWhatWasAsked) {
  Scratch s("two-identical-gpus");
  s.cmdline("hugepages=2048");  // the default size, 2 MiB: 4096 reserved
  auto f = s.finding("H024");
  EXPECT_EQ(f["result"], "pass");
  EXPECT_TRUE(has(f, "2 MiB: hugepages=2048, 4096 reserved"));
}

// two-identical-gpus has CPUs 0-15.
TEST(CliDoctorDrift, H025IsolatedCpusThatDoNotExist) {
  Scratch s("two-identical-gpus");
  s.cmdline("isolcpus=managed_irq,domain,4-7,12-19 nohz_full=4-7,12-15");
  auto f = s.finding("H025");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "isolcpus names CPUs 16-19"));
  EXPECT_FALSE(has(f, "nohz_full names"));
  EXPECT_TRUE(fix_has(f, "isolcpus=managed_irq,domain,4-7,12-15"));
}

// threadripper-3960x isolates 6-23,30-47 of its 48 CPUs, unchanged.
TEST(CliDoctorDrift, H025PassesWhenEveryIsolatedCpuExists) {
  Scratch s("threadripper-3960x");
  auto f = s.finding("H025");
  EXPECT_EQ(f["result"], "pass");
  EXPECT_TRUE(has(f, "isolcpus=6-23,30-47"));
}

// The guides' blacklist of snd_hda_intel, meant for the GPU's HDMI audio,
// also takes the onboard audio (2f:00.4), which stays with the host.
TEST(CliDoctorDrift, H026BlacklistedModuleAHostDeviceNeeds) {
  Scratch s("two-identical-gpus");
  s.cmdline("vfio-pci.ids=10de:128b,10de:0e0f");
  s.write("/etc/modprobe.d/blacklist-gpu.conf", "blacklist nouveau\nblacklist snd_hda_intel\n");
  auto f = s.finding("H026");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "snd_hda_intel is blacklisted (/etc/modprobe.d/blacklist-gpu.conf:2)"));
  EXPECT_TRUE(has(f, "2f:00.4 [1022:1487]"));
  EXPECT_FALSE(has(f, "nouveau"));  // both GT 710s are meant for vfio-pci
  EXPECT_TRUE(fix_has(f, "/etc/modprobe.d/blacklist-gpu.conf:2: remove `blacklist snd_hda_intel`"));
}

TEST(CliDoctorDrift, H026OnTheCommandLine) {
  Scratch s("two-identical-gpus");
  s.cmdline("module_blacklist=r8169");
  auto f = s.finding("H026");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "r8169 is blacklisted (the kernel command line"));
  EXPECT_TRUE(has(f, "27:00.0"));
}

TEST(CliDoctorDrift, H026PassesWhenOnlyPassedDevicesUseTheModule) {
  Scratch s("two-identical-gpus");
  s.cmdline("vfio-pci.ids=10de:128b,10de:0e0f");
  s.write("/etc/modprobe.d/blacklist-gpu.conf", "blacklist nouveau\n");
  auto f = s.finding("H026");
  EXPECT_EQ(f["result"], "pass");
  EXPECT_TRUE(has(f, "nouveau blacklisted"));
}

// The second GT 710 (2d:00.0, 2d:00.1) is on nouveau and snd_hda_intel.
TEST(CliDoctorDrift, H027DeviceMeantForVfioOnAnotherDriver) {
  Scratch s("two-identical-gpus");
  s.write("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:128b,10de:0e0f\n");
  auto f = s.finding("H027");
  EXPECT_EQ(f["result"], "warn");
  EXPECT_TRUE(has(f, "2d:00.0 [10de:128b]"));
  EXPECT_TRUE(has(f, "bound to nouveau"));
  EXPECT_TRUE(has(f, "/etc/modprobe.d/vfio.conf:1"));
  EXPECT_TRUE(fix_has(f, "softdep nouveau pre: vfio-pci"));
  EXPECT_EQ(f["where"], "0000:2d:00.0");
  // --device says the same under H102.
  json doc = vfioctl({"--root", s.str(), "doctor", "--device", "2d:00.0", "--json"}).json();
  bool h102 = false;
  for (const auto& c : doc["checks"]) {
    if (c["id"] != "H102") continue;
    h102 = true;
    EXPECT_EQ(c["result"], "warn");
    EXPECT_TRUE(fix_has(c, "softdep nouveau pre: vfio-pci"));
  }
  EXPECT_TRUE(h102);
}

// threadripper-3960x has its GTX 1080 (21:00.0, 21:00.1) on vfio-pci.
TEST(CliDoctorDrift, H027PassesWhenTheDevicesAreOnVfio) {
  Scratch s("threadripper-3960x");
  s.cmdline("vfio-pci.ids=10de:1b80,10de:10f0");
  auto f = s.finding("H027");
  EXPECT_EQ(f["result"], "pass");
  EXPECT_TRUE(has(f, "21:00.0, 21:00.1 on vfio-pci"));
}

}  // namespace
}  // namespace vfioctl::test
