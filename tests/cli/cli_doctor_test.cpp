// vfioctl doctor on this machine (no IOMMU, no /dev/kvm) and on fixtures.
#include <gtest/gtest.h>

#include <sstream>

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

// This machine lacks /dev/kvm and an IOMMU: doctor must run to the end,
// fail those checks with a reason and a fix each, and exit 1.
TEST(CliDoctor, LiveHostRunsToTheEndAndExplainsEachFailure) {
  Result r = vfioctl({"doctor"});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(has(r.out, "vfioctl doctor"));
  EXPECT_TRUE(has(r.out, "FAIL  H003  IOMMU enabled"));
  EXPECT_TRUE(has(r.out, "failed"));
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
  EXPECT_GE(fails, 1);
}

TEST(CliDoctor, JsonHasEveryCheckWithItsResult) {
  Result r = vfioctl({"doctor", "--json"});
  EXPECT_EQ(r.rc, 1);
  auto doc = r.json();
  for (int i = 1; i <= 20; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "H%03d", i);
    const json* c = check(doc, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_TRUE((*c)["result"].is_string());
    EXPECT_FALSE((*c)["why"].get<std::string>().empty());
  }
  EXPECT_EQ((*check(doc, "H003"))["result"], "fail");
  EXPECT_GE(doc["summary"]["fail"].get<int>(), 1);
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
