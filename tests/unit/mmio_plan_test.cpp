// The 64-bit MMIO window: BAR sums against OVMF's default 32 GiB, the window
// and address width asked for, and what the libvirt XML and the QEMU script
// say for a guest with the RTX 3090 Ti of tests/hosts/rtx3090ti-rebar.
#include "vfioctl/plan/mmio_plan.h"

#include <gtest/gtest.h>

#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/qemu_script.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

constexpr uint64_t GiB = uint64_t{1} << 30;
constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint64_t kPref64 = 0x14220c;

PciDevice card(std::vector<PciBar> bars) {
  PciDevice d;
  d.bars = std::move(bars);
  return d;
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(Mmio64, PowersOfTwo) {
  EXPECT_EQ(pow2_at_least(0), 1u);
  EXPECT_EQ(pow2_at_least(1), 1u);
  EXPECT_EQ(pow2_at_least(3), 4u);
  EXPECT_EQ(pow2_at_least(32 * GiB), 32 * GiB);
  EXPECT_EQ(pow2_at_least(32 * GiB + 1), 64 * GiB);
  EXPECT_EQ(pow2_at_least(UINT64_MAX), uint64_t{1} << 63);
  EXPECT_EQ(bytes_name(32 * GiB), "32 GiB");
  EXPECT_EQ(bytes_name(288 * MiB), "288 MiB");
  EXPECT_EQ(bytes_name(1000), "1000 bytes");
}

// Only 64-bit prefetchable memory BARs count, each rounded up to a power of two.
TEST(Mmio64, CountsPrefetchable64BitBarsOnly) {
  PciDevice d = card({{0, 0xc0000000, 16 * MiB, 0x40200},
                      {1, 0, 24 * GiB, kPref64},
                      {3, 0, 32 * MiB, kPref64},
                      {4, 0, 64 * MiB, 0x140204},
                      {5, 0x5000, 128, 0x40101}});
  EXPECT_EQ(prefetchable64_bytes(d), 32 * GiB + 32 * MiB);
  EXPECT_EQ(prefetchable64_bytes(PciDevice{}), 0u);
}

TEST(Mmio64, DefaultWindowHoldsSmallBars) {
  PciDevice d = card({{1, 0, 256 * MiB, kPref64}, {3, 0, 32 * MiB, kPref64}});
  auto m = plan_mmio64({&d}, 16384);
  EXPECT_EQ(m.bar_bytes, 288 * MiB);
  EXPECT_EQ(m.window_bytes, 0u);
  EXPECT_TRUE(has(m.why, "within the firmware's default 32 GiB window")) << m.why;
  EXPECT_TRUE(plan_mmio64({}, 16384).why.empty());
}

// 31 GiB of BARs and the 1 GiB reserve still fit in 32 GiB; one byte more
// does not.
TEST(Mmio64, ThresholdIsTheDefaultLessTheReserve) {
  PciDevice a = card({{1, 0, 16 * GiB, kPref64}, {3, 0, 8 * GiB, kPref64}, {5, 0, 4 * GiB, kPref64}});
  PciDevice b = card({{1, 0, 2 * GiB, kPref64}, {3, 0, 1 * GiB, kPref64}});
  EXPECT_EQ(plan_mmio64({&a, &b}, 8192).window_bytes, 0u);
  PciDevice c = card({{1, 0, 2 * GiB, kPref64}, {3, 0, 1 * GiB, kPref64}, {5, 0, 4096, kPref64}});
  EXPECT_EQ(plan_mmio64({&a, &c}, 8192).window_bytes, 64 * GiB);
}

// A 32 GiB BAR: a 64 GiB window; with 16 GiB of RAM it sits at 64 GiB and
// ends at 128 GiB (37 bits); with 64 GiB of RAM at 128 GiB, ending at 192
// GiB (38 bits). Two such cards: 128 GiB.
TEST(Mmio64, WindowAndAddressWidth) {
  PciDevice d = card({{1, 0, 32 * GiB, kPref64}, {3, 0, 32 * MiB, kPref64}});
  auto m = plan_mmio64({&d}, 16384);
  EXPECT_EQ(m.window_bytes, 64 * GiB);
  EXPECT_EQ(m.window_mib(), 65536u);
  EXPECT_EQ(m.phys_bits, 37);
  EXPECT_TRUE(has(m.why, "X-PciMmio64Mb=65536")) << m.why;
  EXPECT_EQ(plan_mmio64({&d}, 65536).phys_bits, 38);
  EXPECT_EQ(plan_mmio64({&d, &d}, 16384).window_bytes, 128 * GiB);
  // OVMF takes at most 16 TiB; a BAR past that (a hostile root) gets 16 TiB.
  PciDevice huge = card({{1, 0, uint64_t{1} << 50, kPref64}});
  EXPECT_EQ(plan_mmio64({&huge}, 16384).window_mib(), 0x1000000u);
}

GuestPlan plan_on_rebar(const std::string& preset, std::optional<std::string> extra = std::nullopt) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/rtx3090ti-rebar");
  Host host = read_host(root);
  Notes notes;
  std::string toml = "preset = \"" + preset + "\"\nmemory = \"16G\"\ncpus = \"4c8t\"\npassthrough = [\"01:00\"]\n" +
                     extra.value_or("");
  return plan_guest(host, parse_guest_spec(toml, "test.toml"), read_input_devices(root, notes));
}

TEST(Mmio64, TheRebarCardGetsAWindowInTheXmlAndTheScript) {
  GuestPlan plan = plan_on_rebar("windows-gaming");
  EXPECT_EQ(plan.mmio.bar_bytes, 32 * GiB + 32 * MiB);
  EXPECT_EQ(plan.mmio.window_bytes, 64 * GiB);
  std::string xml = libvirt_xml(plan);
  EXPECT_TRUE(has(xml, "<domain type=\"kvm\" xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\">")) << xml;
  EXPECT_TRUE(has(xml, "<maxphysaddr mode=\"passthrough\" />")) << xml;
  EXPECT_TRUE(has(xml, "<pcihole64 unit=\"KiB\">67108864</pcihole64>")) << xml;
  EXPECT_TRUE(
      has(xml, "<qemu:arg value=\"-fw_cfg\" />\n    <qemu:arg value=\"name=opt/ovmf/X-PciMmio64Mb,string=65536\" />"))
      << xml;
  std::string s = qemu_script(plan);
  EXPECT_TRUE(has(s, "  -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=65536")) << s;
  EXPECT_TRUE(has(s, "  -global q35-pcihost.pci-hole64-size=65536M")) << s;
  EXPECT_TRUE(has(s, ",host-phys-bits=on")) << s;

  XmlOptions tcg;
  tcg.virt_type = "qemu";
  EXPECT_TRUE(has(libvirt_xml(plan, tcg), "<maxphysaddr mode=\"emulate\" bits=\"37\" />"));
  QemuOptions qtcg;
  qtcg.virt_type = "qemu";
  EXPECT_TRUE(has(qemu_script(plan, qtcg), "-cpu Skylake-Client,phys-bits=37")) << qemu_script(plan, qtcg);
}

// i440fx + SeaBIOS: no fw_cfg for OVMF, a warning instead.
TEST(Mmio64, LegacyGuestsGetAWarningNotAWindow) {
  GuestPlan plan = plan_on_rebar("legacy-windows");
  EXPECT_EQ(plan.mmio.window_bytes, 0u);
  std::string xml = libvirt_xml(plan);
  EXPECT_FALSE(has(xml, "qemu:commandline"));
  EXPECT_FALSE(has(xml, "maxphysaddr"));
  bool warned = false;
  for (const auto& w : plan.warnings) warned = warned || has(w, "SeaBIOS");
  EXPECT_TRUE(warned);
}

}  // namespace
}  // namespace vfioctl
