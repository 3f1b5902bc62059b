// setup on hosts that already carry part of a passthrough setup: what the
// host does after the edits, read by the programs that read these files at
// boot, not by vfioctl's own parser:
// - GRUB's command line: /bin/sh sources /etc/default/grub (and, where
//   grub-mkconfig does, /etc/default/grub.d/*.cfg) as grub-mkconfig does;
// - loader entries: their options lines;
// - modprobe.d: kmod's `modprobe -C DIR -c` (the options lines in the order
//   modprobe joins them; the module keeps the last ids=);
// - mkinitcpio and dracut: bash sources their files and prints the arrays;
// - initramfs-tools: the modules file's lines, in order.
// For every case of setup_scratch.h: the ids the host passed before and the
// ones the request adds are every place's list after; each argument setup
// manages is on each command line once; the vfio modules load before any GPU
// driver; the first softdep of each driver loads vfio-pci.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "run.h"
#include "setup_scratch.h"

namespace vfioctl::test {
namespace {

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join_words(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
  return out;
}

std::string norm(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

std::set<std::string> id_set(const std::string& list) {
  std::set<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',') {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

bool debian_grub(const Case& c) {
  return std::string(c.distro) == "debian-12" || std::string(c.distro) == "ubuntu-24.04";
}

struct Effective {
  std::vector<std::pair<std::string, std::vector<std::string>>> cmdlines;  // where, words
  std::vector<std::string> options;                                        // modprobe -c "options vfio_pci" args
  std::map<std::string, std::vector<std::string>> softdep;                 // first softdep line per module
  std::vector<std::string> initramfs;                                      // modules, load order
  std::vector<std::pair<std::string, std::string>> initramfs_ids;          // initramfs-tools "vfio_pci ids=" lines
};

Effective effective(const Case& c, const fs::path& root) {
  Effective e;
  std::string r = quote(root.string());
  std::string distro = c.distro;
  if (fs::exists(root / "etc/default/grub") && distro != "arch-systemd-boot") {
    std::string script = "cd / && sysconfdir=" + r + "/etc; . \"$sysconfdir/default/grub\" >/dev/null 2>&1; ";
    if (debian_grub(c))
      script += "for x in \"$sysconfdir\"/default/grub.d/*.cfg; do [ -e \"$x\" ] && . \"$x\" >/dev/null 2>&1; done; ";
    script += "printf '%s %s' \"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\"";
    e.cmdlines.push_back({"GRUB", words(sh("sh -c " + quote(script)))});
  }
  bool bls = distro == "arch-systemd-boot" ||
             slurp(root / "etc/default/grub").find("GRUB_ENABLE_BLSCFG=true") != std::string::npos;
  if (bls && fs::exists(root / "boot/loader/entries")) {
    for (const auto& f : fs::directory_iterator(root / "boot/loader/entries")) {
      std::vector<std::string> w;
      std::istringstream in(slurp(f.path()));
      for (std::string line; std::getline(in, line);) {
        auto lw = words(line);
        if (!lw.empty() && lw[0] == "options") w.insert(w.end(), lw.begin() + 1, lw.end());
      }
      e.cmdlines.push_back({f.path().filename().string(), w});
    }
  }
  std::string conf = sh("modprobe -C " + r + "/etc/modprobe.d -c 2>/dev/null");
  std::istringstream in(conf);
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.size() >= 2 && w[0] == "options" && norm(w[1]) == "vfio_pci")
      e.options.insert(e.options.end(), w.begin() + 2, w.end());
    if (w.size() >= 2 && w[0] == "softdep" && !e.softdep.count(norm(w[1])))
      e.softdep[norm(w[1])] = std::vector<std::string>(w.begin() + 2, w.end());
  }
  if (fs::exists(root / "etc/initramfs-tools/modules")) {
    std::istringstream mods(slurp(root / "etc/initramfs-tools/modules"));
    for (std::string line; std::getline(mods, line);) {
      auto w = words(line);
      if (w.empty() || w[0][0] == '#') continue;
      e.initramfs.push_back(norm(w[0]));
      for (size_t i = 1; i < w.size(); ++i) {
        if (norm(w[0]) == "vfio_pci" && w[i].rfind("ids=", 0) == 0) e.initramfs_ids.push_back({line, w[i].substr(4)});
      }
    }
  } else if (fs::exists(root / "etc/mkinitcpio.conf")) {
    e.initramfs = words(sh("bash -c " + quote("source " + r + "/etc/mkinitcpio.conf; for f in " + r +
                                              "/etc/mkinitcpio.conf.d/*.conf; do [ -e \"$f\" ] && source \"$f\"; done; "
                                              "echo \"${MODULES[@]}\"")));
  } else {
    e.initramfs = words(sh("bash -c " + quote("for f in " + r + "/etc/dracut.conf " + r +
                                              "/etc/dracut.conf.d/*.conf; do [ -e \"$f\" ] && source \"$f\"; done; "
                                              "echo $force_drivers")));
  }
  for (auto& m : e.initramfs) m = norm(m);
  return e;
}

// Every vfio-pci id list the host has, with where it is.
std::vector<std::pair<std::string, std::set<std::string>>> id_lists(const Effective& e, bool only_effective) {
  std::vector<std::pair<std::string, std::set<std::string>>> out;
  std::optional<std::string> last;
  for (const auto& o : e.options) {
    if (o.rfind("ids=", 0) == 0) {
      if (!only_effective) out.push_back({"modprobe.d options line", id_set(o.substr(4))});
      last = o.substr(4);
    }
  }
  if (only_effective && last) out.push_back({"modprobe.d (the last ids=)", id_set(*last)});
  for (const auto& [where, w] : e.cmdlines) {
    for (const auto& word : w) {
      if (norm(word.substr(0, word.find('='))) == "vfio_pci.ids") out.push_back({where, id_set(word.substr(13))});
    }
  }
  for (const auto& [line, ids] : e.initramfs_ids) out.push_back({"initramfs-tools: " + line, id_set(ids)});
  return out;
}

class SetupMerge : public ::testing::TestWithParam<Case> {};

TEST_P(SetupMerge, TheHostKeepsWhatItPassedAndGainsTheRequestOnce) {
  const Case& c = GetParam();
  Scratch s(c);
  Effective before = effective(c, s.dir());
  std::set<std::string> want;
  for (const auto& [where, ids] : id_lists(before, false)) want.insert(ids.begin(), ids.end());
  for (const auto& id : c.adds) want.insert(id);

  Result applied = s.run(with(c.args, {"--apply"}));
  ASSERT_EQ(applied.rc, 0) << applied.err;
  Effective after = effective(c, s.dir());

  // One id list, everywhere it is written.
  auto lists = id_lists(after, true);
  if (!want.empty()) {
    EXPECT_FALSE(lists.empty()) << "no vfio-pci ids anywhere";
  }
  for (const auto& [where, ids] : lists) EXPECT_EQ(ids, want) << where;

  // A built-in vfio_pci reads only the command line: every one has the ids.
  bool builtin = false;
  for (const auto& f : fs::recursive_directory_iterator(s.dir() / "lib/modules")) {
    if (f.path().filename() == "modules.builtin") builtin |= slurp(f.path()).find("vfio-pci.ko") != std::string::npos;
  }
  if (builtin && !want.empty()) {
    for (const auto& [where, w] : after.cmdlines) {
      bool has =
          std::any_of(w.begin(), w.end(), [](const std::string& x) { return norm(x).rfind("vfio_pci.ids=", 0) == 0; });
      EXPECT_TRUE(has) << where << ": vfio_pci is built in, and this command line has no vfio-pci.ids";
    }
  }

  // Each argument once on each command line; nothing that turns the IOMMU off.
  bool intel = std::string(c.host).find("intel") != std::string::npos;
  for (const auto& [where, w] : after.cmdlines) {
    SCOPED_TRACE(where);
    std::map<std::string, int> count;
    int pt = 0, intel_on = 0;
    for (const auto& word : w) {
      std::string key = norm(word.substr(0, word.find('=')));
      std::string value = word.find('=') == std::string::npos ? "" : word.substr(word.find('=') + 1);
      ++count[key];
      auto tokens = id_set(value);  // a comma list
      if (key == "iommu") {
        pt += static_cast<int>(tokens.count("pt"));
        EXPECT_FALSE(tokens.count("off") || tokens.count("nopt")) << word;
      }
      if (key == "intel_iommu") {
        intel_on += static_cast<int>(tokens.count("on"));
        EXPECT_FALSE(tokens.count("off")) << word;
      }
    }
    EXPECT_EQ(pt, 1) << "iommu=pt once";
    if (intel) {
      EXPECT_EQ(intel_on, 1) << "intel_iommu=on once";
    }
    for (const char* k :
         {"vfio_pci.ids", "intel_iommu", "hugepages", "hugepagesz", "isolcpus", "nohz_full", "rcu_nocbs"}) {
      EXPECT_LE(count[k], 1) << k;
    }
  }

  // The vfio modules before any GPU driver in the initramfs.
  auto first = [&](const std::string& m) {
    auto it = std::find(after.initramfs.begin(), after.initramfs.end(), m);
    return it == after.initramfs.end() ? std::string::npos : static_cast<size_t>(it - after.initramfs.begin());
  };
  size_t gpu = std::string::npos;
  for (const char* d : {"amdgpu", "radeon", "nouveau", "nvidia", "nvidia_drm", "nvidia_modeset", "i915", "xe"})
    gpu = std::min(gpu, first(d));
  for (const char* m : {"vfio", "vfio_iommu_type1", "vfio_pci"}) {
    EXPECT_NE(first(m), std::string::npos) << m << " is not in the initramfs";
    EXPECT_LT(first(m), gpu) << m << " loads after a GPU driver";
    EXPECT_EQ(std::count(after.initramfs.begin(), after.initramfs.end(), m),
              std::max<long>(1, std::count(before.initramfs.begin(), before.initramfs.end(), m)))
        << m << ": listed again";
  }

  // modprobe uses the first softdep line of a driver: it loads vfio-pci.
  for (const auto& [module, args] : after.softdep) {
    if (!before.softdep.count(module) && module != "nouveau" && module != "amdgpu" && module != "nvidia" &&
        module != "snd_hda_intel" && module != "radeon")
      continue;
    bool has = false;
    for (const auto& a : args) has |= norm(a) == "vfio_pci";
    EXPECT_TRUE(has) << "softdep " << module;
  }
  // Softdep lines vfioctl writes are not repeats of the user's.
  std::string ours = slurp(s.dir() / "etc/modprobe.d/vfioctl.conf");
  for (const auto& [module, args] : before.softdep) {
    EXPECT_EQ(ours.find("softdep " + module + " "), std::string::npos) << module << " had a softdep already";
  }
}

INSTANTIATE_TEST_SUITE_P(Hosts, SetupMerge, ::testing::ValuesIn(cases()), [](const ::testing::TestParamInfo<Case>& p) {
  std::string n = p.param.name;
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

// A second setup adds a device: the first one stays passed.
TEST(SetupMergeSteps, ASecondSetupKeepsTheFirstDevice) {
  const Case& c = find_case("debian-12_z370");
  Scratch s(c);
  auto before = tree(s.dir());
  ASSERT_EQ(s.run({"setup", "--device", "01:00.0", "--windows", "--apply"}).rc, 0);
  Result second = s.run({"setup", "--device", "00:16.0", "--apply"});
  ASSERT_EQ(second.rc, 0) << second.err;
  Effective e = effective(c, s.dir());
  std::set<std::string> want = {"10de:1d01", "10de:0fb8", "8086:a2ba"};
  auto lists = id_lists(e, true);
  ASSERT_FALSE(lists.empty());
  for (const auto& [where, ids] : lists) EXPECT_EQ(ids, want) << where;
  std::string conf = slurp(s.dir() / "etc/modprobe.d/vfioctl.conf");
  EXPECT_NE(conf.find("options kvm ignore_msrs=1"), std::string::npos) << "the first run's --windows stays:\n" << conf;
  EXPECT_NE(conf.find("softdep nouveau pre: vfio-pci"), std::string::npos) << conf;
  EXPECT_NE(conf.find("softdep mei_me pre: vfio-pci"), std::string::npos) << conf;
  // A third run that asks for something else keeps what the first two added.
  Result third = s.run({"setup", "--hugepages", "2G", "--hugepage-size", "2M", "--apply"});
  ASSERT_EQ(third.rc, 0) << third.err;
  e = effective(c, s.dir());
  ASSERT_EQ(e.cmdlines.size(), 1u);
  EXPECT_EQ(join_words(e.cmdlines[0].second),
            "quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8,8086:a2ba hugepagesz=2M hugepages=1024");
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  // Undo, newest first, gives the tree back.
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// --remove takes one device out of the list the user wrote, wherever it is.
TEST(SetupMergeSteps, RemoveTakesOneDeviceOutWhereTheUserWroteIt) {
  const Case& c = find_case("arch-systemd-boot_ids-cmdline");
  Scratch s(c);
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--remove", "8086:15b6", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  Effective e = effective(c, s.dir());
  std::set<std::string> want = {"10de:1b81", "10de:10f0"};
  auto lists = id_lists(e, true);
  ASSERT_FALSE(lists.empty());
  for (const auto& [where, ids] : lists) EXPECT_EQ(ids, want) << where;
  EXPECT_EQ(s.run({"setup", "--remove", "8086:15b6", "--apply"}).rc, 2) << "not passed any more";
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  EXPECT_EQ(differences(before, tree(s.dir())), "");

  // The last id out: the argument goes, and the rest of the line stays.
  Scratch t(find_case("debian-12_ids-modprobe"));
  Result out = t.run({"setup", "--remove", "10de:1b80", "--remove", "10de:10f0", "--apply"});
  ASSERT_EQ(out.rc, 0) << out.err;
  std::string vfio = slurp(t.dir() / "etc/modprobe.d/vfio.conf");
  EXPECT_EQ(vfio.find("ids="), std::string::npos) << vfio;
  EXPECT_NE(vfio.find("softdep nouveau pre: vfio-pci"), std::string::npos) << vfio;

  // Out of vfioctl's own block: the IOMMU arguments it added stay.
  Scratch u(find_case("debian-12_z370"));
  ASSERT_EQ(u.run({"setup", "--device", "01:00.0", "--apply"}).rc, 0);
  ASSERT_EQ(u.run({"setup", "--remove", "01:00.0", "--apply"}).rc, 0);
  Effective ue = effective(find_case("debian-12_z370"), u.dir());
  ASSERT_EQ(ue.cmdlines.size(), 1u);
  EXPECT_EQ(join_words(ue.cmdlines[0].second), "quiet intel_iommu=on iommu=pt");
  EXPECT_TRUE(id_lists(ue, false).empty());

  Result unknown = t.run({"setup", "--remove", "gpu-that-is-not-there"});
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_NE(unknown.err.find("--remove 'gpu-that-is-not-there'"), std::string::npos) << unknown.err;
}

// Requests that need no bootloader change work where vfioctl knows no
// bootloader; the others say what to add by hand.
TEST(SetupMergeSteps, AnUnknownBootloaderIsFineWhenNoArgumentIsNeeded) {
  Scratch s(find_case("ubuntu-24.04_identical-gpus"));
  fs::remove(s.dir() / "etc/default/grub");
  Result windows = s.run({"setup", "--windows", "--apply"});
  ASSERT_EQ(windows.rc, 0) << windows.err;
  EXPECT_NE(slurp(s.dir() / "etc/modprobe.d/vfioctl.conf").find("options kvm ignore_msrs=1"), std::string::npos);
  // This host boots with amd_iommu=on iommu=pt already: the device needs no new argument.
  Result device = s.run({"setup", "--device", "24:00.0"});
  ASSERT_EQ(device.rc, 0) << device.err;
  ASSERT_EQ(s.run({"setup", "--device", "24:00.0", "--apply"}).rc, 0);
  EXPECT_NE(device.err.find("bootloader: not recognised, and the running kernel has the arguments already"),
            std::string::npos)
      << device.err;
  Result isolate = s.run({"setup", "--isolate", "2-5"});
  EXPECT_EQ(isolate.rc, 3);
  EXPECT_NE(isolate.err.find("add by hand: isolcpus=managed_irq,domain,2-5 nohz_full=2-5 rcu_nocbs=2-5"),
            std::string::npos)
      << isolate.err;
}

// A value that turns the IOMMU off is replaced where it is written, and said.
TEST(SetupMergeSteps, AConflictingArgumentIsReplacedWhereItIs) {
  const Case& c = find_case("debian-12_z370");
  Scratch s(c);
  fs::path grub = s.dir() / "etc/default/grub";
  std::string text = slurp(grub);
  const std::string from = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off iommu=pt iommu=pt\"");
  std::ofstream(grub, std::ios::binary) << text;
  Result dry = s.run({"setup", "--device", "01:00.0"});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.err.find("/etc/default/grub:9: intel_iommu=off replaced by intel_iommu=on"), std::string::npos)
      << dry.err;
  EXPECT_NE(dry.err.find("/etc/default/grub:9: iommu=pt dropped"), std::string::npos) << dry.err;
  ASSERT_EQ(s.run({"setup", "--device", "01:00.0", "--apply"}).rc, 0);
  Effective e = effective(c, s.dir());
  ASSERT_EQ(e.cmdlines.size(), 1u);
  EXPECT_EQ(join_words(e.cmdlines[0].second), "quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8");
}

// A GRUB file the shell cannot read is not edited: exit 2, named.
TEST(SetupMergeSteps, AQuoteThatNeverClosesIsRefused) {
  Scratch s(find_case("debian-12_z370"));
  fs::path grub = s.dir() / "etc/default/grub";
  std::ofstream(grub, std::ios::binary | std::ios::app) << "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=pt\n";
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--device", "01:00.0", "--apply"});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("/etc/default/grub:40: the quote opened on this line never closes"), std::string::npos) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// Pop!_OS: kernelstub writes the entries from its configuration at each
// kernel update. Its options count for the merge; vfioctl edits the entry and
// says which kernelstub command keeps the arguments. The configuration is a
// real one (tests/setup/existing/9-vindex10-popos); the entry is made up in
// the shape kernelstub writes.
TEST(SetupMergeSteps, KernelstubIsReadAndTheCommandToKeepTheArgumentsIsPrinted) {
  Case c = find_case("ubuntu-24.04_identical-gpus");
  c.host = "intel-desktop-z370";
  c.overlays = {"9-vindex10-popos"};
  Scratch s(c);
  fs::remove(s.dir() / "etc/default/grub");
  fs::remove(s.dir() / "boot/grub/grub.cfg");
  fs::create_directories(s.dir() / "boot/efi/loader/entries");
  std::ofstream(s.dir() / "boot/efi/loader/entries/Pop_OS-current.conf")
      << "title Pop!_OS\nlinux /EFI/Pop_OS-0000/vmlinuz.efi\ninitrd /EFI/Pop_OS-0000/initrd.img\n"
         "options root=UUID=00000000-0000-0000-0000-000000000000 ro loglevel=7 systemd.show_status=true\n";
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--device", "01:00.0", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("run  kernelstub -o \"loglevel=7 resume=UUID=c117c9f9-83e4-48cb-b425-451d605fb21b "
                       "systemd.show_status=true intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8\""),
            std::string::npos)
      << r.err;
  EXPECT_NE(slurp(s.dir() / "boot/efi/loader/entries/Pop_OS-current.conf")
                .find("systemd.show_status=true intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8\n"),
            std::string::npos);
  EXPECT_EQ(slurp(s.dir() / "etc/kernelstub/configuration"),
            slurp(kSource / "tests/setup/existing/9-vindex10-popos/etc/kernelstub/configuration"));
  ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// NixOS builds /etc from its configuration: setup refuses and prints the
// configuration.nix lines that do the same. The .nix file beside it is a real
// one (tests/setup/chains/D1-...), which setup does not read.
TEST(SetupChains, NixosIsRefusedWithTheConfigurationLines) {
  Scratch s(find_case("debian-12_z370"));
  lay(s, "D1-nixos-nimueller-virtualization");
  std::ofstream(s.dir() / "etc/NIXOS") << "";
  auto before = tree(s.dir());
  Result r = s.run({"setup", "--device", "01:00.0", "--windows", "--apply"});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find("this is NixOS (/etc/NIXOS)"), std::string::npos) << r.err;
  EXPECT_NE(
      r.err.find("  boot.kernelParams = [ \"intel_iommu=on\" \"iommu=pt\" \"vfio-pci.ids=10de:1d01,10de:0fb8\" ];"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  boot.initrd.kernelModules = [ \"vfio\" \"vfio_iommu_type1\" \"vfio_pci\" ];"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  boot.extraModprobeConfig = ''\n    options vfio-pci ids=10de:1d01,10de:0fb8\n    softdep "
                       "nouveau pre: vfio-pci\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("    options kvm ignore_msrs=1 report_ignored_msrs=0\n  '';"), std::string::npos) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// Proxmox VE with proxmox-boot-tool: a systemd-boot host (ZFS root) boots
// /etc/kernel/cmdline, applied with `proxmox-boot-tool refresh`; a GRUB host
// keeps /etc/default/grub but is applied the same way. The command lines and
// GRUB file are published ones (tests/setup/chains/B4-..., B6-...);
// /etc/kernel/proxmox-boot-uuids was found in no public repository: it holds
// the boot partitions' UUIDs, one per line, and this one is made up.
TEST(SetupChains, ProxmoxAppliesWithProxmoxBootTool) {
  for (const char* chain : {"B4-cmdline-adrianlsy-zfs", "B6-grub-spongey-pve"}) {
    SCOPED_TRACE(chain);
    Scratch s(find_case("debian-12_z370"));
    lay(s, chain);
    fs::create_directories(s.dir() / "etc/kernel");
    std::ofstream(s.dir() / "etc/kernel/proxmox-boot-uuids") << "A1B2-C3D4\n";
    auto before = tree(s.dir());
    Result r = s.run({"setup", "--device", "01:00.0", "--apply", "--regenerate"});
    ASSERT_EQ(r.rc, 0) << r.err;
    std::string log = slurp(s.log());
    EXPECT_EQ(log, "proxmox-boot-tool refresh\nupdate-initramfs -u -k all\n");
    if (std::string(chain).rfind("B4", 0) == 0) {
      EXPECT_EQ(slurp(s.dir() / "etc/kernel/cmdline"),
                "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt isolcpus=2-7 nohz_full=2-7 rcu_nocbs=2-7 "
                "vfio-pci.ids=10de:1d01,10de:0fb8\n");
      EXPECT_EQ(slurp(s.dir() / "etc/default/grub"), before.at("etc/default/grub")) << "GRUB does not boot this host";
    } else {
      Effective e = effective(find_case("debian-12_z370"), s.dir());
      ASSERT_EQ(e.cmdlines.size(), 1u);
      EXPECT_NE(join_words(e.cmdlines[0].second).find("intel_iommu=on vfio-pci.ids=10de:1d01,10de:0fb8"),
                std::string::npos)
          << join_words(e.cmdlines[0].second);
    }
    Result again = s.run({"setup", "--device", "01:00.0", "--apply"});
    EXPECT_NE(again.out.find("Nothing to change"), std::string::npos) << again.out;
    ASSERT_EQ(s.run({"undo", "--apply"}).rc, 0);
    EXPECT_EQ(differences(before, tree(s.dir())), "");
  }
}

}  // namespace
}  // namespace vfioctl::test
