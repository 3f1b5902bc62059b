// A --root tree is untrusted input (a snapshot someone sent for help): links
// in it, absolute or through "..", must resolve inside it. Each test crafts
// a root from a fixture host with links that lead out of it, to files beside
// the root standing for this machine's own (a canary text in each), runs a
// command on it, and checks that no output holds a canary and that nothing
// outside the root changed. Every test runs twice: with the kernel's
// openat2(RESOLVE_IN_ROOT) and with the component walk (VFIOCTL_RESOLVE=walk).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = VFIOCTL_SOURCE_DIR;
const std::string kCanary = "CANARY-OUTSIDE-THE-ROOT";

// Every regular file (content) and link (target) under a directory.
std::map<std::string, std::string> snapshot_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), dir).string();
    if (it->is_symlink())
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      out[rel] = slurp(it->path());
    else
      out[rel + "/"] = "";
  }
  return out;
}

class HostileRoot : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ::setenv("VFIOCTL_RESOLVE", GetParam().c_str(), 1);
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name)
      if (c == '/') c = '-';
    m_dir = fs::path(VFIOCTL_BINARY_DIR) / "tests/hostile-work" / name;
    fs::remove_all(m_dir);
    fs::create_directories(m_dir / "outside");
    // What stands for this machine's own files.
    for (const char* f : {"secret", "os-release", "modprobe.d/keep.conf", "log", "override", "cmdline"})
      write(m_dir / "outside" / f, kCanary + "\n");
    write(m_dir / "outside/core_id", "987654\n");  // a number, so a reader would take it
    write(m_dir / "outside/uevent",
          "DRIVER=canarydrv\nPCI_CLASS=30000\nPCI_ID=10DE:1D01\nPCI_SUBSYS_ID=1849:3E92\nPCI_SLOT_NAME=0000:01:00.0\n");
    fs::create_directories(m_dir / "outside/lib/vfioctl");
    m_outside = snapshot_of(m_dir / "outside");
  }
  void TearDown() override {
    ::unsetenv("VFIOCTL_RESOLVE");
    EXPECT_EQ(snapshot_of(m_dir / "outside"), m_outside) << "something outside the root changed";
    if (!HasFailure()) fs::remove_all(m_dir);
  }

  static void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  // A copy of fixture host `host` (and a distribution's boot files) as the root.
  fs::path root(const std::string& host, const std::string& distro = "") {
    fs::path r = m_dir / "root";
    auto opts = fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing;
    fs::copy(kSource / "tests/hosts" / host, r, opts);
    if (!distro.empty()) fs::copy(kSource / "tests/setup/distros" / distro, r, opts);
    return r;
  }

  // Replaces `path` in the root with a link to `target`.
  static void plant(const fs::path& root, const std::string& path, const std::string& target) {
    fs::path p = root / path.substr(1);
    std::error_code ec;
    fs::remove_all(p, ec);
    fs::create_directories(p.parent_path());
    fs::create_symlink(target, p);
  }

  // "../" enough times to climb from `path` in the root past the root's own directory.
  static std::string climb(const std::string& path) {
    std::string up;
    for (char c : path)
      if (c == '/') up += "../";
    return up + "../../../../../../..";
  }

  fs::path outside(const std::string& name) const { return m_dir / "outside" / name; }

  Result run(const fs::path& root, std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root.string()});
    return vfioctl(args);
  }

  static void no_canary(const Result& r, const std::string& what) {
    EXPECT_EQ(r.out.find(kCanary), std::string::npos) << what << " printed an outside file:\n" << r.out;
    EXPECT_EQ(r.err.find(kCanary), std::string::npos) << what << " printed an outside file:\n" << r.err;
  }

  fs::path m_dir;
  std::map<std::string, std::string> m_outside;
};

TEST_P(HostileRoot, DoctorReadsTheKernelVersionInsideTheRoot) {
  for (bool absolute : {true, false}) {
    fs::path r = root("intel-desktop-z370");
    const std::string p = "/proc/sys/kernel/osrelease";
    plant(r, p, absolute ? outside("secret").string() : climb(p) + outside("secret").string());
    Result d = run(r, {"doctor"});
    no_canary(d, absolute ? "doctor (absolute link)" : "doctor (.. link)");
    Result j = run(r, {"doctor", "--json"});
    no_canary(j, "doctor --json");
    fs::remove_all(r);
  }
}

TEST_P(HostileRoot, ListAndTopoReadDeviceAndCpuFilesInsideTheRoot) {
  fs::path r = root("intel-desktop-z370");
  const std::string uevent = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/uevent";
  const std::string core = "/sys/devices/system/cpu/cpu0/topology/core_id";
  plant(r, uevent, outside("uevent").string());
  plant(r, core, climb(core) + outside("core_id").string());
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"list"}, {"list", "--json"}, {"topo"}, {"topo", "--json"}}) {
    Result res = run(r, cmd);
    EXPECT_EQ(res.rc, 0) << res.err;
    no_canary(res, cmd[0]);
    EXPECT_EQ(res.out.find("canarydrv"), std::string::npos) << res.out;
    EXPECT_EQ(res.out.find("987654"), std::string::npos) << res.out;
  }
  // The same names placed inside the root, under the link's own path, are what it reads.
  write(r / outside("uevent").string().substr(1),
        "DRIVER=insidedrv\nPCI_CLASS=30000\nPCI_ID=10DE:1D01\nPCI_SUBSYS_ID=1849:3E92\nPCI_SLOT_NAME=0000:01:00.0\n");
  Result inside = run(r, {"list", "--json"});
  EXPECT_NE(inside.out.find("insidedrv"), std::string::npos) << "an absolute link resolves from the root";
}

TEST_P(HostileRoot, SnapshotCopiesNothingFromOutside) {
  fs::path r = root("intel-desktop-z370", "debian-12");
  // etc -> /usr/lib, as on a host where os-release lives there: inside the
  // root that is the root's own usr/lib, never this machine's.
  fs::remove_all(r / "usr/lib");
  write(r / "usr/lib/os-release", "ID=inside\n");
  plant(r, "/etc", "/usr/lib");
  const std::string p = "/proc/sys/kernel/osrelease";
  plant(r, p, climb(p) + outside("secret").string());
  fs::path snap = m_dir / "snap";
  Result s = run(r, {"snapshot", "-o", snap.string()});
  ASSERT_EQ(s.rc, 0) << s.err;
  no_canary(s, "snapshot");
  for (const auto& [path, content] : snapshot_of(snap))
    EXPECT_EQ(content.find(kCanary), std::string::npos) << "the snapshot copied an outside file into " << path;
  EXPECT_EQ(slurp(snap / "usr/lib/os-release"), "ID=inside\n") << "the root's os-release, not this machine's";
}

TEST_P(HostileRoot, SnapshotNeverFollowsALinkPlantedWhereItsTemporaryFileGoes) {
  fs::path r = root("intel-desktop-z370");
  // Names a predictable scheme would use (a pid-numbered file beside the
  // output, for the next few thousand pids) are links to an outside file:
  // none may be written through.
  int last = std::stoi("0" + slurp("/proc/sys/kernel/ns_last_pid"));
  for (int pid = last; pid < last + 3000; ++pid) {
    fs::create_symlink(outside("secret"), m_dir / (".vfioctl-snapshot-" + std::to_string(pid) + ".tar.gz"));
    fs::create_symlink(outside("lib"), m_dir / (".vfioctl-snapshot-" + std::to_string(pid)));
  }
  fs::path out = m_dir / "host.tar.gz";
  Result s = run(r, {"snapshot", "-o", out.string()});
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out)));
  for (const auto& e : fs::directory_iterator(m_dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind(".vfioctl-snapshot-", 0) != 0) continue;
    EXPECT_TRUE(fs::is_symlink(e.symlink_status())) << n << " was left";
  }
}

TEST_P(HostileRoot, SetupWritesModprobeAndTheJournalInsideTheRoot) {
  fs::path r = root("intel-desktop-z370", "debian-12");
  plant(r, "/etc/modprobe.d", outside("modprobe.d").string());
  plant(r, "/var/lib/vfioctl", climb("/var/lib/vfioctl") + outside("lib/vfioctl").string());
  plant(r, "/etc/kernel/cmdline", outside("cmdline").string());
  ::setenv("VFIOCTL_COMMAND_LOG", (m_dir / "commands").c_str(), 1);
  Result a = run(r, {"setup", "--device", "01:00.0", "--apply"});
  ::unsetenv("VFIOCTL_COMMAND_LOG");
  ASSERT_EQ(a.rc, 0) << a.err;
  no_canary(a, "setup --apply");
  // As if the root were "/": the absolute link names a directory inside it.
  EXPECT_TRUE(fs::exists(r / outside("modprobe.d").string().substr(1) / "vfioctl.conf")) << a.out;
  Result u = run(r, {"undo", "--apply"});
  EXPECT_EQ(u.rc, 0) << u.err;
  no_canary(u, "undo --apply");
}

TEST_P(HostileRoot, RegenerateUnderARootNeedsChroot) {
  fs::path r = root("intel-desktop-z370", "debian-12");
  auto before = snapshot_of(r);
  Result a = run(r, {"setup", "--device", "01:00.0", "--apply", "--regenerate"});
  EXPECT_EQ(a.rc, 2) << a.err;
  EXPECT_NE(a.err.find("add --chroot"), std::string::npos) << a.err;
  EXPECT_EQ(snapshot_of(r), before) << "refused before anything was written";
}

TEST_P(HostileRoot, BindAndUnbindWriteAttributesInsideTheRoot) {
  fs::path r = root("amd-ryzen9-3900x");
  const std::string dev = "/sys/devices/pci0000:00/0000:00:03.1/0000:0b:00.0";
  ASSERT_TRUE(fs::is_directory(r / dev.substr(1))) << "the fixture's GPU moved";
  plant(r, dev + "/driver_override", outside("override").string());
  plant(r, "/var/lib/vfioctl", outside("lib/vfioctl").string());
  Result b = run(r, {"bind", "0b:00.0", "--apply"});
  ASSERT_EQ(b.rc, 0) << b.err;
  no_canary(b, "bind --apply");
  EXPECT_EQ(slurp(r / outside("override").string().substr(1)), "vfio-pci\n")
      << "written where the link points, in the root";
}

TEST_P(HostileRoot, UnbindRefusesADriverNameThatIsAPath) {
  fs::path r = root("two-identical-gpus");
  write(r / "var/lib/vfioctl/bound.json", R"({"version": 1, "devices": {"0000:24:00.0": "../../../../../../../../..)" +
                                              outside("lib").string() + R"("}})");
  Result u = run(r, {"unbind", "24:00.0", "--apply"});
  EXPECT_EQ(u.rc, 2) << u.err;
  EXPECT_NE(u.err.find("bound.json: device 0000:24:00.0 has driver"), std::string::npos) << u.err;
  EXPECT_FALSE(fs::exists(outside("lib/bind")));
}

TEST_P(HostileRoot, TheHookKeepsItsStateAndLogInsideTheRoot) {
  fs::path r = root("intel-desktop-z370");
  const std::string name = "g";
  plant(r, "/var/log/libvirt/qemu/" + name + ".log", outside("log").string());
  plant(r, "/run/vfioctl", climb("/run/vfioctl") + outside("lib").string());
  fs::path xml = m_dir / "g.xml";
  write(xml,
        "<domain type='kvm'><name>g</name><metadata><t:tune xmlns:t='urn:vfioctl:tune:1' actions='isolate'/>"
        "</metadata><memory unit='MiB'>64</memory><vcpu placement='static'>1</vcpu><cputune>"
        "<vcpupin vcpu='0' cpuset='1'/></cputune></domain>");
  for (const char* op : {"prepare", "started", "release"}) {
    Result h = shell("LC_ALL=C VFIOCTL_RESOLVE=" + GetParam() + " " + quote(VFIOCTL_BIN) + " --root " +
                     quote(r.string()) + " hook run g " + op + " begin - <" + quote(xml.string()));
    EXPECT_EQ(h.rc, 0) << op << ": " << h.out;
    EXPECT_EQ(h.out.find(kCanary), std::string::npos) << h.out;
  }
  Result st = run(r, {"hook", "status", "--json"});
  EXPECT_EQ(st.rc, 0) << st.err;
  no_canary(st, "hook status");
}

INSTANTIATE_TEST_SUITE_P(Resolvers, HostileRoot, ::testing::Values("kernel", "walk"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace vfioctl::test
