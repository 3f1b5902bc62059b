// vfioctl setup / undo on scratch roots: a host fixture (tests/hosts) with a
// distribution's real default configuration laid over it
// (tests/setup/distros, sources in its README). For each case: the dry run
// writes nothing; --apply writes exactly the golden files and records the
// golden regenerate commands; a second --apply changes nothing; undo
// restores the tree byte for byte; and a write made to fail at each file
// (the file or its directory made immutable) exits 3 with the tree as it was.
// VFIOCTL_UPDATE_GOLDEN=1 rewrites tests/setup/golden/ from the output.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "live_host.h"
#include "run.h"
#include "setup_scratch.h"

namespace vfioctl::test {
namespace {

class SetupGolden : public ::testing::TestWithParam<Case> {};

TEST_P(SetupGolden, ApplyIsGoldenIdempotentAndUndoRestoresTheTree) {
  const Case& c = GetParam();
  Scratch s(c);
  auto before = tree(s.dir());

  Result dry = s.run(with(c.args, {}));
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.out.find("Dry run: nothing was written"), std::string::npos) << dry.out;
  EXPECT_EQ(differences(before, tree(s.dir())), "") << "the dry run wrote something";

  Result applied = s.run(with(c.args, {"--apply", "--regenerate"}));
  ASSERT_EQ(applied.rc, 0) << applied.err;
  auto after = tree(s.dir());

  // The changed files and the commands, against the golden copies.
  fs::path golden = kSource / "tests/setup/golden" / c.name;
  std::map<std::string, std::string> changed;
  for (const auto& [path, content] : after) {
    auto it = before.find(path);
    if (it == before.end() || it->second != content) {
      if (path.back() != '/') changed[path] = content;
    }
  }
  for (const auto& [path, content] : before) EXPECT_TRUE(after.count(path)) << path << " was removed";
  std::string commands = slurp(s.log());
  if (update_golden()) {
    fs::remove_all(golden);
    for (const auto& [path, content] : changed) {
      fs::create_directories((golden / "files" / path).parent_path());
      std::ofstream(golden / "files" / path, std::ios::binary) << content;
    }
    std::ofstream(golden / "commands.txt", std::ios::binary) << commands;
    std::string args;
    for (const auto& a : c.args) args += a + "\n";
    std::ofstream(golden / "args.txt", std::ios::binary) << args;
  }
  std::map<std::string, std::string> want;
  for (auto it = fs::recursive_directory_iterator(golden / "files"); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) want[fs::relative(it->path(), golden / "files").string()] = slurp(it->path());
  }
  EXPECT_EQ(changed, want) << "files written differ from " << golden << " (VFIOCTL_UPDATE_GOLDEN=1 rewrites it)";
  EXPECT_EQ(commands, slurp(golden / "commands.txt"));

  // Again: nothing to change, nothing written, no command run.
  Result again = s.run(with(c.args, {"--apply", "--regenerate"}));
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("Nothing to change"), std::string::npos) << again.out;
  EXPECT_EQ(differences(after, tree(s.dir())), "");
  EXPECT_EQ(slurp(s.log()), commands);

  // The dry-run undo shows the way back and writes nothing.
  Result undo_dry = s.run({"undo"});
  ASSERT_EQ(undo_dry.rc, 0) << undo_dry.err;
  EXPECT_EQ(differences(after, tree(s.dir())), "");

  Result undone = s.run({"undo", "--apply", "--regenerate"});
  ASSERT_EQ(undone.rc, 0) << undone.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "") << "undo left the tree different";
  EXPECT_EQ(slurp(s.log()), commands + commands) << "undo runs the same regenerate commands";

  Result list = s.run({"--json", "undo", "--list"});
  ASSERT_EQ(list.rc, 0) << list.err;
  auto j = list.json();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["state"], "undone");

  Result nothing = s.run({"undo", "--apply"});
  EXPECT_EQ(nothing.rc, 2) << "nothing left to undo";
}

// A write that fails at file k (k = every file the plan writes, and the
// journal before them): exit 3, and the tree is exactly as before.
// The write path is the same for every file (setup/transaction), so this
// runs on the distributions' defaults and on the hosts whose edits land in
// the user's own files (a grub.d drop-in, modprobe.d, a loader entry).
class SetupFailedWrite : public ::testing::TestWithParam<Case> {};

std::vector<Case> failed_write_cases() {
  std::vector<Case> out;
  for (const auto& c : cases()) {
    std::string n = c.name;
    if (c.overlays.empty() || n == "debian-12_grubd" || n == "debian-12_ids-modprobe" ||
        n == "arch-systemd-boot_ids-cmdline" || n == "arch-systemd-boot_listed")
      out.push_back(c);
  }
  return out;
}

TEST_P(SetupFailedWrite, AFailedWriteAnywhereLeavesTheTreeAsItWas) {
  const Case& c = GetParam();
  std::vector<std::string> targets;
  {
    Scratch probe(c);
    auto a = with(c.args, {});
    a.insert(a.begin(), "--json");
    Result planned = probe.run(a);
    ASSERT_EQ(planned.rc, 0) << planned.err;
    auto j = planned.json();
    for (const auto& f : j["files"]) targets.push_back(f["path"]);
  }
  ASSERT_FALSE(targets.empty());
  targets.insert(targets.begin(), "/var/lib/vfioctl/journal");
  for (const auto& target : targets) {
    SCOPED_TRACE(target);
    Scratch s(c);
    auto before = tree(s.dir());
    // The file itself when it exists, else its nearest existing directory.
    fs::path p = s.dir() / target.substr(1);
    if (target == "/var/lib/vfioctl/journal") {
      fs::create_directories(s.dir() / "var/lib");
      before = tree(s.dir());
      p = s.dir() / "var/lib";
    }
    while (!fs::exists(p)) p = p.parent_path();
    ASSERT_EQ(std::system(("chattr +i " + quote(p.string())).c_str()), 0)
        << "chattr +i needs an ext2/3/4 temporary directory and root";
    Result r = s.run(with(c.args, {"--apply"}));
    std::system(("chattr -i " + quote(p.string())).c_str());
    EXPECT_EQ(r.rc, 3) << r.out << r.err;
    EXPECT_NE(r.err.find("nothing changed"), std::string::npos) << r.err;
    EXPECT_EQ(differences(before, tree(s.dir())), "");
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& p) {
  std::string n = p.param.name;
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Distros, SetupGolden, ::testing::ValuesIn(cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Distros, SetupFailedWrite, ::testing::ValuesIn(failed_write_cases()), case_name);

Case debian() { return cases()[0]; }

TEST(Setup, RegenerateFailureRestoresTheFiles) {
  Scratch s(debian());
  auto before = tree(s.dir());
  ::setenv("VFIOCTL_COMMAND_FAIL", "update-initramfs", 1);
  Result r = s.run(with(debian().args, {"--apply", "--regenerate"}));
  ::unsetenv("VFIOCTL_COMMAND_FAIL");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("'update-initramfs -u -k all' failed"), std::string::npos) << r.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

TEST(Setup, UndoRefusesAFileEditedSinceAndForceRestoresIt) {
  Scratch s(debian());
  auto before = tree(s.dir());
  ASSERT_EQ(s.run(with(debian().args, {"--apply"})).rc, 0);
  std::ofstream(s.dir() / "etc/default/grub", std::ios::app) << "GRUB_TIMEOUT=3\n";
  Result r = s.run({"undo", "--apply"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("/etc/default/grub changed since entry 1"), std::string::npos) << r.err;
  Result forced = s.run({"undo", "--apply", "--force"});
  EXPECT_EQ(forced.rc, 0) << forced.err;
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

TEST(Setup, BadRequestsExit2AndWriteNothing) {
  Scratch s(debian());
  auto before = tree(s.dir());
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const auto& b : std::vector<Bad>{
           {{"setup"}, "nothing to set up"},
           {{"setup", "--device", "99:00.0", "--apply"}, "matches no device"},
           {{"setup", "--device", "00:1f.3", "--apply"}, "shares IOMMU group 10"},
           {{"setup", "--isolate", "0-3", "--apply"}, "includes CPU 0"},
           {{"setup", "--isolate", "2-40", "--apply"}, "does not exist"},
           {{"setup", "--hugepages", "1500M", "--hugepage-size", "1G", "--apply"}, "not a whole number of 1G pages"},
           {{"setup", "--hugepages", "9000G", "--apply"}, "the most it can reserve"},
           {{"setup", "--device", "01:00.0", "--regenerate"}, "add --apply"},
           {{"undo", "7"}, "no journal entry '7'"},
       }) {
    Result r = s.run(b.args);
    EXPECT_EQ(r.rc, 2) << b.args[1] << " " << b.args.back() << ": " << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
  }
  EXPECT_EQ(differences(before, tree(s.dir())), "");
}

// Two applies started at once on one host: never both in one journal entry,
// never a tree that mixes them. The one that loses the lock says so (exit 3).
TEST(Setup, TwoConcurrentAppliesNeverMix) {
  const Case& c = cases()[0];
  Scratch s(c);
  auto before = tree(s.dir());
  const std::string log = s.log();
  std::string bin = std::string("VFIOCTL_COMMAND_LOG=") + quote(log) + " LC_ALL=C " + quote(VFIOCTL_BIN) + " --root " +
                    quote(s.dir().string()) + " setup --apply ";
  int won = 0, lost = 0;
  for (int round = 0; round < 8; ++round) {
    fs::path a = s.dir().string() + ".a", b = s.dir().string() + ".b";
    // Each round asks for something the other does not, so both have work.
    std::string cmd = "(" + bin + "--device 01:00.0 --hugepages " + std::to_string(2 + round) + "G >" +
                      quote(a.string()) + " 2>&1; echo \"rc=$?\" >>" + quote(a.string()) + ") & (" + bin +
                      "--device 01:00.0 --windows --hugepages " + std::to_string(20 + round) + "G >" +
                      quote(b.string()) + " 2>&1; echo \"rc=$?\" >>" + quote(b.string()) + ") & wait";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::set<std::string> entries;
    for (const auto& f : {a, b}) {
      std::string out = slurp(f);
      fs::remove(f);
      if (out.find("rc=0") != std::string::npos) {
        ++won;
        auto at = out.find("Journal entry ");
        ASSERT_NE(at, std::string::npos) << out;
        std::string id = out.substr(at + 14, out.find(':', at) - at - 14);
        EXPECT_TRUE(entries.insert(id).second) << "two applies reported journal entry " << id;
      } else {
        ++lost;
        EXPECT_NE(out.find("rc=3"), std::string::npos) << out;
        bool locked = out.find("another vfioctl is changing this host") != std::string::npos;
        bool changed = out.find("changed since it was read") != std::string::npos;
        EXPECT_TRUE(locked || changed) << out;
      }
    }
  }
  EXPECT_GT(won, 0);
  // Every applied entry undone, newest first, gives the tree back byte for byte.
  for (;;) {
    Result u = s.run({"undo", "--apply"});
    if (u.rc != 0) {
      EXPECT_NE(u.err.find("nothing to undo"), std::string::npos) << u.err;
      break;
    }
  }
  EXPECT_EQ(differences(before, tree(s.dir())), "");
  std::cerr << "concurrent applies: " << won << " applied, " << lost << " refused\n";
}

TEST(Setup, RefusesAnUnknownBootloader) {
  Scratch bare(debian());
  fs::remove(bare.dir() / "etc/default/grub");
  Result none = bare.run({"setup", "--device", "01:00.0"});
  EXPECT_EQ(none.rc, 3);
  EXPECT_NE(none.err.find("no bootloader configuration recognised"), std::string::npos) << none.err;
  // Every part by hand: the command line, the modprobe.d file, the
  // initramfs list's change, and nothing written.
  EXPECT_NE(none.err.find("add by hand: intel_iommu=on iommu=pt vfio-pci.ids=10de:1d01,10de:0fb8"), std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("/etc/modprobe.d/vfioctl.conf (vfio-pci options, and vfio-pci loaded before the drivers "
                          "that would claim the devices):\n     # Written by vfioctl setup"),
            std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("     softdep nouveau pre: vfio-pci\n"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("/etc/initramfs-tools/modules (load the vfio modules from the initramfs, before GPU "
                          "drivers), this change:"),
            std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("     +vfio_pci\n"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("Run  update-initramfs -u -k all"), std::string::npos) << none.err;
  EXPECT_FALSE(fs::exists(bare.dir() / "etc/modprobe.d/vfioctl.conf"));
}

// The controller of the disk holding / (from /proc/mounts and /sys on this
// machine) is refused.
TEST(Setup, RefusesTheLiveRootDisk) {
  auto disk = live::root_pci_function();
  if (!disk) GTEST_SKIP() << "/ is not on a block device whose sysfs path names a PCI function";
  Result r = vfioctl({"setup", "--device", *disk});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find(*disk + " holds the root filesystem"), std::string::npos) << r.err;
}

// A machine without any boot configuration setup edits (a kernel booted
// directly, as in a VM or a container) is told so plainly, exit 3; one with
// a configuration never gets that answer.
TEST(Setup, LiveHostSaysWhatIsMissing) {
  Result r = vfioctl({"setup", "--hugepages", "2G", "--hugepage-size", "2M"});
  bool missing = r.err.find("no bootloader configuration recognised") != std::string::npos;
  if (live::boot_configuration()) {
    EXPECT_FALSE(missing) << r.err;
  } else {
    EXPECT_EQ(r.rc, 3) << r.err;
    EXPECT_TRUE(missing) << r.err;
  }
}

}  // namespace
}  // namespace vfioctl::test

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

// A copy of a host fixture whose sysfs files record what is written to them.
struct SysfsCopy {
  explicit SysfsCopy(const std::string& host) {
    dir = fs::temp_directory_path() / ("vfioctl-bind-" + host + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::copy(fs::path(VFIOCTL_SOURCE_DIR) / "tests/hosts" / host, dir,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  ~SysfsCopy() { fs::remove_all(dir); }
  std::string read(const std::string& path) const {
    auto p = dir / path.substr(1);
    return fs::exists(p) ? slurp(p) : "<absent>";
  }
  Result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", dir.string()});
    return vfioctl(args);
  }
  fs::path dir;
};

// The controller of the disk holding / (from /proc/mounts and /sys on this
// machine) is refused, even with --apply.
TEST(Bind, RefusesTheLiveRootDisk) {
  auto disk = live::root_pci_function();
  if (!disk) GTEST_SKIP() << "/ is not on a block device whose sysfs path names a PCI function";
  for (bool apply : {false, true}) {
    std::vector<std::string> args = {"bind", *disk};
    if (apply) args.push_back("--apply");
    Result r = vfioctl(args);
    EXPECT_EQ(r.rc, 3) << r.err;
    EXPECT_NE(r.err.find(*disk + " holds the root filesystem"), std::string::npos) << r.err;
  }
}

TEST(Bind, MovesTheWholeGroupAndRecordsTheDrivers) {
  SysfsCopy h("amd-ryzen9-3900x");
  const std::string gpu = "/sys/bus/pci/devices/0000:0b:00.0/driver_override";
  Result dry = h.run({"bind", "0b:00.0"});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.out.find("echo 'vfio-pci' > " + gpu), std::string::npos) << dry.out;
  EXPECT_EQ(h.read(gpu), "<absent>") << "a dry run writes nothing";

  Result r = h.run({"--json", "bind", "0b:00.0", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["devices"], nlohmann::json({"0000:0b:00.0", "0000:0b:00.1"}));
  EXPECT_EQ(h.read(gpu), "vfio-pci\n");
  EXPECT_EQ(h.read("/sys/bus/pci/devices/0000:0b:00.1/driver_override"), "vfio-pci\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers/nouveau/unbind"), "0000:0b:00.0\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers/snd_hda_intel/unbind"), "0000:0b:00.1\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers_probe"), "0000:0b:00.0\n0000:0b:00.1\n");
  auto state = nlohmann::json::parse(h.read("/var/lib/vfioctl/bound.json"));
  EXPECT_EQ(state["devices"]["0000:0b:00.0"], "nouveau");
  EXPECT_EQ(state["devices"]["0000:0b:00.1"], "snd_hda_intel");
}

TEST(Bind, RefusesTheBootGpuAndTheOnlyNetworkUnlessForced) {
  SysfsCopy h("amd-ryzen9-3900x");
  Result r = h.run({"bind", "0c:00.0", "--apply"});
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find("is the boot GPU"), std::string::npos) << r.err;
  EXPECT_EQ(h.read("/sys/bus/pci/devices/0000:0c:00.0/driver_override"), "<absent>");
  Result forced = h.run({"bind", "0c:00.0", "--force"});
  EXPECT_EQ(forced.rc, 0) << forced.err;
}

TEST(Bind, UnbindReturnsToTheRecordedDriver) {
  SysfsCopy h("two-identical-gpus");
  fs::create_directories(h.dir / "var/lib/vfioctl");
  std::ofstream(h.dir / "var/lib/vfioctl/bound.json")
      << R"({"version": 1, "devices": {"0000:24:00.0": "nouveau", "0000:24:00.1": null}})";
  Result r = h.run({"unbind", "24:00.0", "--apply"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(h.read("/sys/bus/pci/devices/0000:24:00.0/driver_override"), "\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers/vfio-pci/unbind"), "0000:24:00.0\n0000:24:00.1\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers/nouveau/bind"), "0000:24:00.0\n");
  EXPECT_EQ(h.read("/sys/bus/pci/drivers_probe"), "0000:24:00.1\n") << "no recorded driver: the kernel chooses";
  auto state = nlohmann::json::parse(h.read("/var/lib/vfioctl/bound.json"));
  EXPECT_TRUE(state["devices"].empty());
}

TEST(Bind, BadSelectorsExit2) {
  SysfsCopy h("amd-ryzen9-3900x");
  EXPECT_EQ(h.run({"bind", "zz:00.0"}).rc, 2);
  EXPECT_EQ(h.run({"bind", "99:00.0"}).rc, 2);
  Result shared = h.run({"bind", "00:14.0"});
  EXPECT_EQ(shared.rc, 2) << shared.err;
  EXPECT_NE(shared.err.find("shares IOMMU group 15 with 00:14.3"), std::string::npos) << shared.err;
}

}  // namespace
}  // namespace vfioctl::test
