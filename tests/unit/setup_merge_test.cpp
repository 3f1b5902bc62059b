// What setup reads from a host's existing configuration (setup/current) and
// how it merges its wishes into it (setup/merge), without the command line:
// the command-line rules (replace a conflict, keep and report an ignored
// value, drop a repeat), the id list, the module order, GRUB's variables
// across drop-ins, modprobe.d in modprobe's order, and the in-place edits.
#include <gtest/gtest.h>

#include <map>

#include "temp_tree.h"
#include "vfioctl/setup/current.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/merge.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {
namespace {

using test::TempTree;

// The words of one written line, as the reader gives them (the nth
// occurrence of a word counted).
std::vector<CmdWord> cmd(const std::string& line) {
  std::vector<CmdWord> out;
  std::map<std::string, int> seen;
  for (auto w : split_ws(line)) out.push_back({std::string(w), {"/f", 1}, seen[std::string(w)]++});
  return out;
}

std::string merged(const std::string& line, const CmdlineWants& want, std::vector<std::string>* notes = nullptr) {
  auto words = cmd(line);
  auto m = merge_cmdline(words, want);
  if (notes) *notes = m.notes;
  return join(apply_merge(words, m), " ");
}

bool mentions(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

CmdlineWants intel() {
  CmdlineWants w;
  w.args = {{"intel_iommu", "on"}, {"iommu", "pt"}, {"vfio-pci.ids", "10de:1b81,10de:10f0"}};
  w.iommu = true;
  return w;
}

TEST(MergeCmdline, AnArgumentAlreadyThereIsNotAdded) {
  EXPECT_EQ(merged("quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0", intel()),
            "quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0");
  EXPECT_EQ(merged("quiet", intel()), "quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0");
  // Applied to its own output it changes nothing.
  std::string once = merged("ro iommu=soft", intel());
  EXPECT_EQ(merged(once, intel()), once);
}

TEST(MergeCmdline, AConflictIsReplacedInPlaceAndReported) {
  std::vector<std::string> notes;
  EXPECT_EQ(merged("ro intel_iommu=off iommu=nopt quiet", intel(), &notes),
            "ro intel_iommu=on iommu=pt quiet vfio-pci.ids=10de:1b81,10de:10f0");
  EXPECT_TRUE(mentions(notes, "/f:1: intel_iommu=off replaced by intel_iommu=on")) << notes[0];
  EXPECT_TRUE(mentions(notes, "iommu=nopt replaced by iommu=pt"));
  EXPECT_EQ(merged("iommu=off", intel()), "iommu=pt intel_iommu=on vfio-pci.ids=10de:1b81,10de:10f0");
  // Other values of a comma list stay with it.
  EXPECT_EQ(merged("intel_iommu=off,igfx_off", intel()),
            "intel_iommu=on,igfx_off iommu=pt vfio-pci.ids=10de:1b81,10de:10f0");
  EXPECT_EQ(merged("intel_iommu=igfx_off,on", intel()),
            "intel_iommu=igfx_off,on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0");
}

TEST(MergeCmdline, AValueTheKernelIgnoresIsKeptAndReported) {
  std::vector<std::string> notes;
  EXPECT_EQ(merged("iommu=1 amd_iommu=on", intel(), &notes),
            "iommu=1 amd_iommu=on intel_iommu=on iommu=pt vfio-pci.ids=10de:1b81,10de:10f0");
  EXPECT_TRUE(mentions(notes, "1 is not a value the kernel knows for iommu="));
  EXPECT_TRUE(mentions(notes, "amd_iommu=on is not an option the kernel knows"));
  // On AMD, amd_iommu=off turns the IOMMU off: it goes.
  CmdlineWants amd;
  amd.args = {{"iommu", "pt"}};
  amd.amd = amd.iommu = true;
  EXPECT_EQ(merged("amd_iommu=off quiet", amd, &notes), "quiet iommu=pt");
  EXPECT_TRUE(mentions(notes, "amd_iommu=off dropped (it turns the IOMMU off)"));
  EXPECT_EQ(merged("amd_iommu=off,fullflush", amd), "amd_iommu=fullflush iommu=pt");
  EXPECT_EQ(merged("intel_iommu=on iommu=pt", amd, &notes), "intel_iommu=on iommu=pt");
  EXPECT_TRUE(mentions(notes, "intel_iommu=on does nothing on an AMD CPU"));
}

TEST(MergeCmdline, ARepeatIsDroppedAndIdsKeepTheirSpelling) {
  std::vector<std::string> notes;
  EXPECT_EQ(merged("iommu=pt quiet iommu=pt vfio_pci.ids=10de:1b81 vfio-pci.ids=8086:15b6", intel(), &notes),
            "iommu=pt quiet vfio_pci.ids=10de:1b81,10de:10f0 intel_iommu=on");
  EXPECT_TRUE(mentions(notes, "iommu=pt dropped (it repeated iommu=pt)"));
  EXPECT_TRUE(mentions(notes, "vfio-pci.ids=8086:15b6 dropped"));
  CmdlineWants none;
  none.drop = {"vfio-pci.ids"};
  EXPECT_EQ(merged("ro vfio_pci.ids=10de:1b81 quiet", none), "ro quiet");
  CmdlineWants iso;
  iso.args = {{"isolcpus", "managed_irq,domain,2-7"}};
  EXPECT_EQ(merged("isolcpus=1-3 ro", iso, &notes), "isolcpus=managed_irq,domain,2-7 ro");
  EXPECT_TRUE(mentions(notes, "isolcpus=1-3 replaced by isolcpus=managed_irq,domain,2-7"));
}

TEST(MergeCmdline, AWordAnExpansionRepeatsIsMergedOnce) {
  // GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX quiet": the kernel gets
  // GRUB_CMDLINE_LINUX's words twice, but each is written once.
  CmdlineWants want;
  want.args = {{"iommu", "pt"}};
  std::vector<CmdWord> same = {{"iommu=pt", {"/g", 1}, 0}, {"iommu=pt", {"/g", 1}, 0}, {"quiet", {"/g", 2}, 0}};
  EXPECT_TRUE(merge_cmdline(same, want).empty()) << "not a repeat to drop: dropping it drops both";
  std::vector<CmdWord> off = {{"iommu=off", {"/g", 1}, 0}, {"iommu=off", {"/g", 1}, 0}};
  auto m = merge_cmdline(off, want);
  ASSERT_EQ(m.edits.size(), 1u);
  EXPECT_TRUE(m.add.empty());
  EXPECT_EQ(join(apply_merge(off, m), " "), "iommu=pt iommu=pt");
}

TEST(MergeIds, KeepsTheHostsOrderAddsOnceAndRemoves) {
  EXPECT_EQ(split_ids("10DE:1B81, 10de:10f0,,"), (std::vector<std::string>{"10de:1b81", "10de:10f0"}));
  EXPECT_EQ(merge_ids({"1002:683d", "1002:aab0"}, {"10de:1b81", "1002:683D"}, {"1002:aab0"}),
            (std::vector<std::string>{"1002:683d", "10de:1b81"}));
  // Both spellings of the argument are the id list; other words are not.
  EXPECT_EQ(ids_value("vfio_pci.ids=1:2,3:4"), "1:2,3:4");
  EXPECT_EQ(ids_value("vfio-pci.ids=5:6"), "5:6");
  EXPECT_EQ(ids_value("vfio-pci.disable_vga=1"), std::nullopt);
  EXPECT_EQ(ids_value("quiet"), std::nullopt);
}

TEST(ModuleOrder, OnlyWhatIsMissingBeforeTheFirstGpuDriver) {
  std::vector<std::string> need = {"vfio", "vfio_iommu_type1", "vfio_pci"};
  std::vector<std::string> gpu = {"amdgpu", "i915"};
  bool changed = true;
  EXPECT_EQ(order_modules({"vfio_pci", "vfio", "vfio_iommu_type1", "i915"}, need, gpu, &changed),
            (std::vector<std::string>{"vfio_pci", "vfio", "vfio_iommu_type1", "i915"}));
  EXPECT_FALSE(changed) << "present and early enough: the user's order stays";
  EXPECT_EQ(order_modules({"amdgpu", "iwlmvm", "vfio_pci", "vfio"}, need, gpu, &changed),
            (std::vector<std::string>{"vfio", "vfio_iommu_type1", "vfio_pci", "amdgpu", "iwlmvm"}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(order_modules({"btrfs"}, need, gpu),
            (std::vector<std::string>{"btrfs", "vfio", "vfio_iommu_type1", "vfio_pci"}));
  EXPECT_EQ(missing_modules({"vfio", "amdgpu", "vfio_pci"}, need, gpu),
            (std::vector<std::string>{"vfio_iommu_type1", "vfio_pci"}));
}

TEST(LineEdits, WholeWordsInPlace) {
  std::string t = "A=\"x iommu=off y\"\noptions\tiommu=off iommu=off\n";
  EXPECT_EQ(edit_words_in_lines(t, {{1, 0, "iommu=off", std::string("iommu=pt")}}),
            "A=\"x iommu=pt y\"\noptions\tiommu=off iommu=off\n");
  EXPECT_EQ(edit_words_in_lines(t, {{2, 1, "iommu=off", std::nullopt}, {2, 0, "iommu=off", std::string("z")}}),
            "A=\"x iommu=off y\"\noptions\tz\n");
  // Part of a longer word is not the word; a missing final newline stays missing.
  EXPECT_EQ(edit_words_in_lines("B=\"amd_iommu=off\"", {{1, 0, "iommu=off", std::string("x")}}), "B=\"amd_iommu=off\"");
  EXPECT_EQ(edit_words_in_lines("B=x y", {{1, 0, "x", std::string("w")}}), "B=w y");
  EXPECT_EQ(append_to_line("a\nb  \n", 2, "c d"), "a\nb c d\n");
  EXPECT_EQ(replace_lines("a\nb\nc\n", 2, 2, std::nullopt), "a\nc\n");
}

TEST(LineEdits, AStrayBeginLineStartsNoBlock) {
  std::string text = "A=1\n# BEGIN vfioctl (a comment someone copied)\nB=2\n";
  std::string once = set_managed_block(text, "t", "C=3");
  EXPECT_EQ(once, text + "# BEGIN vfioctl: t\nC=3\n# END vfioctl\n");
  EXPECT_EQ(managed_block_lines(once), std::make_pair(4, 6));
  EXPECT_EQ(set_managed_block(once, "t", "C=3"), once);
  EXPECT_EQ(set_managed_block(once, "t", ""), text) << "B=2 stays: it was never in a block";
  EXPECT_EQ(managed_block_lines(text), std::nullopt);
}

TEST(LineEdits, ArraysInEitherFormAndBlocksBeforeALine) {
  auto add = [](const std::vector<std::string>& w) {
    std::vector<std::string> out = {"vfio"};
    out.insert(out.end(), w.begin(), w.end());
    return out;
  };
  EXPECT_EQ(edit_array_at("X=1\nMODULES=(a b) # c\n", 2, add), "X=1\nMODULES=(vfio a b) # c\n");
  EXPECT_EQ(edit_array_at("MODULES=\"a b\"\n", 1, add), "MODULES=\"vfio a b\"\n");
  EXPECT_EQ(edit_array_at("MODULES=(\n  a\n  b\n)\nZ\n", 1, add), "MODULES=(vfio a b)\nZ\n");
  std::string mods = "vfio_pci\namdgpu\n";
  std::string once = set_managed_block_before(mods, "t", "vfio", 2);
  EXPECT_EQ(once, "vfio_pci\n# BEGIN vfioctl: t\nvfio\n# END vfioctl\namdgpu\n");
  EXPECT_EQ(set_managed_block_before(once, "t", "", 0), mods);
}

TEST(Current, GrubVariablesAcrossDropInsWithWhereEachWordIs) {
  TempTree t;
  t.file("/usr/sbin/update-grub", "#!/bin/sh\n");
  t.file("/boot/grub/grub.cfg", "");
  t.file("/etc/default/grub",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\n"
         "GRUB_CMDLINE_LINUX=\"ro intel_iommu=off\"\n"
         "# BEGIN vfioctl: t\nGRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} iommu=pt vfio-pci.ids=1:2\"\n"
         "# END vfioctl\n");
  t.file("/etc/default/grub.d/50-cloud.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1\n  console=ttyS0\"\n");
  t.file("/etc/default/grub.d/60-more.cfg",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT $X nomodeset\"\n");
  Root root(t.str());
  BootLayout boot = detect_boot(root);
  EXPECT_EQ(boot.grub_var, "GRUB_CMDLINE_LINUX_DEFAULT");
  ASSERT_EQ(boot.grub_dropins.size(), 2u);
  std::vector<std::string> notes;
  auto targets = read_cmdlines(root, boot, notes);
  ASSERT_EQ(targets.size(), 1u);
  const auto& g = targets[0];
  std::vector<std::string> text;
  for (const auto& w : g.words) text.push_back(w.text + "@" + w.at.str() + (w.ours ? "(ours)" : ""));
  EXPECT_EQ(
      join(text, " "),
      "ro@/etc/default/grub:2 intel_iommu=off@/etc/default/grub:2 console=tty1@/etc/default/grub.d/50-cloud.cfg:1 "
      "console=ttyS0@/etc/default/grub.d/50-cloud.cfg:2 $X@/etc/default/grub.d/60-more.cfg "
      "nomodeset@/etc/default/grub.d/60-more.cfg:1 iommu=pt@/etc/default/grub(ours) "
      "vfio-pci.ids=1:2@/etc/default/grub(ours)");
  // The last file that assigns the variable takes vfioctl's block.
  EXPECT_EQ(g.path, "/etc/default/grub.d/60-more.cfg");
  EXPECT_EQ(g.block_path, "/etc/default/grub");
}

TEST(Current, UpstreamGrubReadsDropInsOnlyWhereTheFileSourcesThem) {
  TempTree t;
  t.file("/usr/bin/grub-mkconfig", "#!/bin/sh\n");
  t.file("/boot/grub/grub.cfg", "");
  t.file("/etc/default/grub.d/a.cfg", "GRUB_CMDLINE_LINUX=\"from-dropin\"\n");
  t.file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"first\"\n");
  Root root(t.str());
  EXPECT_TRUE(detect_boot(root).grub_dropins.empty()) << "upstream grub-mkconfig does not source grub.d";
  // Garuda's /etc/default/grub sources them itself, at that line.
  t.file("/etc/default/grub",
         "GRUB_CMDLINE_LINUX=\"first\"\n"
         "for x in ${sysconfdir}/default/grub.d/*.cfg ; do if [ -e \"${x}\" ]; then source \"${x}\"; fi; done\n"
         "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX last\"\n");
  Root again(t.str());
  BootLayout boot = detect_boot(again);
  EXPECT_EQ(boot.grub_dropins_line, 2);
  std::vector<std::string> notes;
  auto targets = read_cmdlines(again, boot, notes);
  std::vector<std::string> text;
  for (const auto& w : targets.at(0).words) text.push_back(w.text);
  EXPECT_EQ(join(text, " "), "from-dropin last");
  EXPECT_EQ(targets[0].path, "/etc/default/grub");
}

TEST(Current, ModprobeInModprobesOrderWithContinuations) {
  TempTree t;
  t.file("/etc/modprobe.d/vfio.conf",
         "# x\noptions vfio-pci ids=1:2 \\\n  disable_vga=1\nsoftdep amdgpu pre: vfio-pci\n");
  t.file("/etc/modprobe.d/a.conf", "options vfio_pci ids=3:4\n");
  t.file("/lib/modprobe.d/a.conf", "options vfio_pci ids=hidden\n");
  t.file("/lib/modprobe.d/b.conf", "softdep amdgpu pre: other\n");
  t.file("/etc/modprobe.d/vfio.conf.bak", "options vfio_pci ids=ignored\n");
  Root root(t.str());
  auto mc = read_modprobe(root);
  EXPECT_EQ(mc.files, (std::vector<std::string>{"/etc/modprobe.d/a.conf", "/lib/modprobe.d/b.conf",
                                                "/etc/modprobe.d/vfio.conf"}));
  ASSERT_EQ(mc.lines.size(), 4u);
  EXPECT_EQ(option_value(mc.lines[0], "ids"), "3:4");
  EXPECT_FALSE(mc.lines[1].editable);
  EXPECT_EQ(mc.lines[2].module, "vfio_pci");
  EXPECT_EQ(mc.lines[2].at.line, 2);
  EXPECT_EQ(mc.lines[2].last_line, 3);
  EXPECT_EQ(option_value(mc.lines[2], "disable-vga"), "1");
}

TEST(Current, InitramfsListsOfEachSystem) {
  TempTree t;
  t.file("/etc/mkinitcpio.conf", "MODULES=(amdgpu)\nHOOKS=(base)\n");
  t.file("/etc/mkinitcpio.conf.d/vfio.conf", "MODULES=(vfio_pci vfio)\nMODULES+=(vfio-iommu-type1)\n");
  Root root(t.str());
  auto ir = detect_initramfs(root);
  auto m = read_initramfs_modules(root, ir);
  std::vector<std::string> names;
  for (const auto& w : m.modules) names.push_back(w.name);
  EXPECT_EQ(names, (std::vector<std::string>{"vfio_pci", "vfio", "vfio_iommu_type1"}));
  EXPECT_EQ(m.array.str(), "/etc/mkinitcpio.conf.d/vfio.conf:1");

  TempTree d;
  d.file("/etc/dracut.conf", "");
  d.file("/etc/dracut.conf.d/10-vfio.conf", "add_drivers+=\" vfio_pci vfio \"\nforce_drivers+=\" vfio-pci \"\n");
  Root droot(d.str());
  auto dm = read_initramfs_modules(droot, detect_initramfs(droot));
  ASSERT_EQ(dm.modules.size(), 1u);
  EXPECT_EQ(dm.modules[0].name, "vfio_pci");
  EXPECT_EQ(dm.add_only, (std::vector<std::string>{"vfio_pci", "vfio"}));
}

}  // namespace
}  // namespace vfioctl::setup
