// vfioctl doctor on this machine (what it must say derived from /sys) and on fixtures.
#include <gtest/gtest.h>

#include <sstream>

#include "live_host.h"
#include "run.h"

namespace vfioctl::test {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

const json* check(const json& doc, const std::string& id) {
  for (const auto& c : doc["checks"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

// On this machine doctor runs to the end, gives each failure a reason and a
// fix, and exits 1 exactly when a check fails; H003 fails when the machine
// has no IOMMU group (/sys/kernel/iommu_groups) and passes when it has.
TEST(CliDoctor, LiveHostRunsToTheEndAndExplainsEachFailure) {
  Result r = vfioctl({"doctor"});
  EXPECT_TRUE(has(r.out, "vfioctl doctor"));
  EXPECT_EQ(has(r.out, "FAIL  H003  IOMMU enabled"), !live::iommu_groups()) << r.out;
  // Every FAIL line is followed by its why and fix lines.
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  int fails = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("  FAIL  ", 0) != 0) continue;
    ++fails;
    ASSERT_LT(i + 2, lines.size());
    EXPECT_EQ(lines[i + 1].rfind("              why: ", 0), 0u) << lines[i];
    EXPECT_EQ(lines[i + 2].rfind("              fix: ", 0), 0u) << lines[i];
  }
  EXPECT_EQ(r.rc, fails > 0 ? 1 : 0) << r.err;
  if (fails > 0) {
    EXPECT_TRUE(has(r.out, "failed"));
  }
}

TEST(CliDoctor, JsonHasEveryCheckWithItsResult) {
  Result r = vfioctl({"doctor", "--json"});
  auto doc = r.json();
  for (int i = 1; i <= 20; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "H%03d", i);
    const json* c = check(doc, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_TRUE((*c)["result"].is_string());
    EXPECT_FALSE((*c)["why"].get<std::string>().empty());
  }
  EXPECT_EQ((*check(doc, "H003"))["result"] == "fail", !live::iommu_groups());
  EXPECT_EQ(r.rc, doc["summary"]["fail"].get<int>() > 0 ? 1 : 0);
}

TEST(CliDoctor, FixtureGivesVendorSpecificFixesAndSkipsSessionChecks) {
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "doctor", "--json"});
  auto doc = r.json();
  EXPECT_EQ((*check(doc, "H001"))["result"], "pass");
  EXPECT_EQ((*check(doc, "H003"))["result"], "pass");
  EXPECT_EQ((*check(doc, "H004"))["result"], "info");  // amd_iommu=on does nothing
  EXPECT_EQ((*check(doc, "H019"))["result"], "skip");
  Result text = vfioctl({"--root", host("amd-ryzen9-3900x"), "doctor"});
  EXPECT_TRUE(has(text.out, "Reading a host tree, not the live host"));
}

TEST(CliDoctor, DeviceChecksNameTheGroupCompanions) {
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "doctor", "--device", "00:1f.3"});
  EXPECT_TRUE(has(r.out, "Device 00:1f.3 [8086:a2f0]"));
  EXPECT_TRUE(has(r.out, "FAIL  H101  IOMMU group: group 10 also holds"));
  EXPECT_TRUE(has(r.out, "00:1f.4 (i801_smbus)"));
  EXPECT_EQ(r.rc, 1);
  Result gpu = vfioctl({"--root", host("two-identical-gpus"), "doctor", "-d", "gpu", "--json"});
  auto doc = gpu.json();
  int h105 = 0;
  for (const auto& c : doc["checks"]) {
    if (c["id"] == "H105") {
      ++h105;
      EXPECT_EQ(c["result"], "warn");
    }
  }
  EXPECT_EQ(h105, 2);  // one per GPU
}

TEST(CliDoctor, DeviceThatMatchesNothingIsExitTwo) {
  Result r = vfioctl({"--root", host("intel-desktop-z370"), "doctor", "--device", "1234:5678"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "no PCI device matches 1234:5678"));
  Result bad = vfioctl({"doctor", "--device", "graphics"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(has(bad.err, "unknown selector 'graphics'"));
}

}  // namespace
}  // namespace vfioctl::test
