// lint on real users' domain XMLs (tests/lint/realdata, sources in
// tests/lint/README.md): the findings expected on each, by rule and line,
// alone and against a fixture host. And every guest vfioctl itself writes
// (tests/golden) lints clean.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixture_hosts.h"
#include "vfioctl/lint/lint.h"

namespace vfioctl::lint {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = VFIOCTL_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using test::fixture_host;

// "L021@176" per finding, in report order.
std::vector<std::string> ids_and_lines(const std::string& file, const Host* host) {
  auto path = kSource / "tests/lint/realdata" / file;
  FileReport r = lint_text(file, slurp(path), host, {});
  EXPECT_TRUE(r.ok) << file << ": " << r.error;
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.finding.id + "@" + std::to_string(f.line));
  return out;
}

using V = std::vector<std::string>;

// Ids of the error findings.
V error_ids(const std::string& file, const Host* host) {
  auto path = kSource / "tests/lint/realdata" / file;
  FileReport r = lint_text(file, slurp(path), host, {});
  V out;
  for (const auto& f : r.findings) {
    if (f.finding.severity == Severity::fail) out.push_back(f.finding.id);
  }
  return out;
}

TEST(LintRealdata, JoePOnItsOwnHost) {
  const char* file = "joe-p_vfio-headless_win10_ryzen3900x.xml";
  // No emulatorpin (15), GPU functions on two guest slots (158), virtio balloon (202).
  V expected = {"L002@15", "L021@158", "L009@202"};
  EXPECT_EQ(ids_and_lines(file, nullptr), expected);
  // Its PCI listing is the 3900X fixture's: every hostdev exists and each group is whole.
  EXPECT_EQ(ids_and_lines(file, &fixture_host("amd-ryzen9-3900x")), expected);
}

TEST(LintRealdata, BryansteinerStaleHostdevs) {
  const char* file = "bryansteiner_gpu-passthrough-tutorial_win10_ryzen9-3900X.xml";
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L021@176", "L021@194", "L009@218"}));
  // On the 3900X fixture (another 3900X, whose lscpu it shares) the pinning is
  // right, but the 4-function card at 0d:00 and 07:00.1/.3 are not there, and
  // its 6144 free 2 MiB pages (joe-p's 12 GiB) are short of this guest's 16 GiB.
  EXPECT_EQ(
      ids_and_lines(file, &fixture_host("amd-ryzen9-3900x")),
      (V{"L110@12", "L021@176", "L105@182", "L105@188", "L021@194", "L105@200", "L105@206", "L105@212", "L009@218"}));
}

// The guests with a -cpu in <qemu:commandline> (L025) get no L014: the
// override, not <hyperv>, sets their enlightenments.
TEST(LintRealdata, LegionY540) {
  const char* file = "fanfan42_legion-y540_windowsgaming_i5-9300H.xml";
  // The -cpu in <qemu:commandline> (258) replaces libvirt's.
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L021@187", "L009@239", "L025@258"}));
  // Its CPU layout (N/N+4) is intel-desktop-z370's: pinning passes; that host's
  // GPU has two functions, so .2 and .3 do not exist there. The host is Intel,
  // so the required topoext (57) is an AMD feature on it, and it reserves no
  // hugepages (19).
  EXPECT_EQ(ids_and_lines(file, &fixture_host("intel-desktop-z370")),
            (V{"L110@19", "L026@57", "L021@187", "L105@200", "L105@206", "L009@239", "L025@258"}));
}

TEST(LintRealdata, Legion5OnItsOwnLayout) {
  const char* file = "fanfan42_legion5-17ACH6H_gam10lg_ryzen7-5800H.xml";
  // Its -cpu gives hv_vendor_id twice; QEMU takes the last, AMD, not the
  // XML's deadbeef (232).
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L021@208", "L025@232"}));
  EXPECT_EQ(error_ids(file, nullptr), (V{}));  // QEMU runs it: the last -cpu wins
  // Adjacent siblings, pins 2-15 in pairs, emulator on core 0, GPU group
  // whole; the fixture reserves no hugepages.
  EXPECT_EQ(ids_and_lines(file, &fixture_host("amd-laptop-5800h")), (V{"L110@12", "L021@208", "L025@232"}));
}

TEST(LintRealdata, StrixG814) {
  const char* file = "fanfan42_asus-rog-strix-g814_win11_i7-13650HX.xml";
  // -cpu host,kvm=on (208) against <kvm><hidden state='on'/>.
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L021@174", "L025@208"}));
  EXPECT_EQ(error_ids(file, nullptr), (V{}));  // QEMU runs it: the last -cpu wins
  // threads='1' hides the P-cores' SMT pairs (vCPUs 0-11 on 2-11,14-15) from
  // the guest (17); topoext on Intel (63); no 2 MiB pages reserved (12). The
  // 13700K fixture has its GPU group but no 6c:00.0 NVMe.
  EXPECT_EQ(ids_and_lines(file, &fixture_host("intel-hybrid-13700k")),
            (V{"L110@12", "L107@17", "L026@63", "L021@174", "L105@186", "L025@208"}));
}

TEST(LintRealdata, WhosbooshSecureBootBuild) {
  const char* file = "whosboosh_Win11-VFIO_win11-lookingglass-12700kf.xml";
  // OVMF_CODE.secboot.fd without secure='yes' and without smm (61);
  // hv_vendor_id=GuenineIntel in its -cpu against the XML's vendor_id (316).
  // Its <cpu> clears the hypervisor bit (83): Windows ignores the Hyper-V
  // enlightenments then, so L014 does not ask for the missing ones.
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L024@61", "L021@282", "L025@316"}));
  // On a hybrid Intel with adjacent P-core siblings, vCPUs 0-1 take CPU 0's
  // core (28); topoext on Intel (85); no 2 MiB pages (19); the fixture has
  // none of its PCI devices.
  EXPECT_EQ(
      ids_and_lines(file, &fixture_host("intel-hybrid-13700k")),
      (V{"L110@19", "L103@28", "L024@61", "L026@85", "L105@276", "L021@282", "L105@282", "L105@289", "L025@316"}));
}

TEST(LintRealdata, Stewi1014) {
  const char* file = "stewi1014_vfio_win11.xml";
  // No hugepages for 62.9 GiB (9), no emulatorpin (12), Hyper-V set short (57),
  // UTC clock on Windows (70), GPU functions split (230).
  EXPECT_EQ(ids_and_lines(file, nullptr), (V{"L010@9", "L002@12", "L014@57", "L015@70", "L021@230"}));
  // Its N/N+16 pairs are not siblings on the 24-core N/N+24 Threadripper
  // fixture (13); CPUs 24-29 are CPU 0-5's siblings, outside the fixture's
  // isolcpus=6-23,30-47 (14), and the 16 CPUs touch 6 of its 3-core L3
  // domains where 3 would do (13).
  EXPECT_EQ(ids_and_lines(file, &fixture_host("threadripper-3960x")),
            (V{"L010@9", "L002@12", "L102@13", "L108@13", "L103@14", "L109@14", "L014@57", "L015@70", "L021@230",
               "L105@230", "L105@236", "L105@242"}));
}

// Guests vfioctl writes must lint clean of errors and warnings, alone and on
// the host they were planned for.
TEST(LintRealdata, GoldenGuestsLintClean) {
  int checked = 0;
  for (const auto& spec : fs::directory_iterator(kSource / "tests/golden")) {
    if (!spec.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(spec.path())) {
      if (file.path().extension() != ".xml") continue;
      std::string host_name = file.path().stem().string();
      ASSERT_TRUE(fs::is_directory(kSource / "tests/hosts" / host_name)) << host_name;
      std::string text = slurp(file.path());
      for (const Host* host : {static_cast<const Host*>(nullptr), &fixture_host(host_name)}) {
        LintOptions opt;
        opt.min_severity = Severity::warn;
        // The fixtures' hugepage pools are their owners', not sized for these
        // guests: that is the host's state (setup reserves the pages), not the XML's.
        opt.disabled = {"L110"};
        FileReport r = lint_text(file.path().string(), text, host, opt);
        ASSERT_TRUE(r.ok) << r.error;
        for (const auto& f : r.findings) {
          ADD_FAILURE() << f.finding.where << ": " << f.finding.id << " " << f.finding.message
                        << (host ? " (with host)" : "");
        }
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 16);
}

}  // namespace
}  // namespace vfioctl::lint
