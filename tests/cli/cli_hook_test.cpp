// `vfioctl hook` as a user and libvirt meet it: install/uninstall next to an
// existing hook (dry run first, journaled, undoable), `hook run` with the
// domain XML on stdin (bad input exits 2 and writes nothing), status and
// recover. Host files are a scratch tree (--root), in which kernel
// attributes are plain files; tests/unit/hook_test.cpp checks the tuning
// against a model of the kernel, tests/e2e/libvirt_hook_test.cpp on the host.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../unit/temp_tree.h"
#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

const std::string kHook = "/etc/libvirt/hooks/qemu.d/vfioctl";

// A host with 4 CPUs, a 2 MiB pool of 8 free pages, a cgroup v1 cpuset with
// one process, two IRQs and a governor on CPU 3.
void host_tree(const TempTree& t) {
  t.file("/sys/devices/system/cpu/online", "0-3\n");
  t.file("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "schedutil\n");
  t.file("/sys/devices/system/cpu/cpu3/cpufreq/scaling_available_governors", "performance schedutil\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "8\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "8\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0\n");
  t.file("/proc/meminfo", "Hugepagesize:       2048 kB\n");
  t.file("/proc/sys/vm/compact_memory", "");
  t.file("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  t.file("/sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  t.file("/sys/fs/cgroup/cpuset/cgroup.procs", "4242\n");
  t.file("/proc/4242/stat", "4242 (sshd) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n");
  t.file("/proc/irq/24/smp_affinity_list", "0-3\n");
  t.file("/proc/irq/25/smp_affinity_list", "3\n");
  t.file("/proc/irq/default_smp_affinity", "f\n");
}

std::string tuned_xml(const std::string& name, const std::string& actions = "hugepages isolate governor irq") {
  return "<domain type='kvm'><name>" + name +
         "</name><metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='" + actions +
         "'/></metadata><memory unit='MiB'>64</memory><memoryBacking><hugepages/></memoryBacking>"
         "<vcpu placement='static'>1</vcpu><cputune><vcpupin vcpu='0' cpuset='3'/></cputune></domain>\n";
}

// `vfioctl --root ROOT hook run NAME OP SUB -` with `xml` on stdin.
Result hook_run(const TempTree& t, const std::string& name, const std::string& op, const std::string& xml) {
  fs::path in = t.dir() / "stdin.xml";
  std::ofstream(in) << xml;
  return shell("LC_ALL=C " + quote(VFIOCTL_BIN) + " --root " + quote(t.str()) + " hook run " + quote(name) + " " + op +
               (op == "release" ? " end" : " begin") + " - <" + quote(in.string()));
}

std::string read(const TempTree& t, const std::string& path) { return slurp(t.dir() / path.substr(1)); }

TEST(CliHook, InstallIsADryRunThenWritesTheDispatcherBesideAnExistingHook) {
  TempTree t;
  host_tree(t);
  t.file("/etc/libvirt/hooks/qemu", "#!/bin/sh\n# the user's own hook\n");
  Result dry = vfioctl({"--root", t.str(), "hook", "install", "--binary", "/usr/local/bin/vfioctl"});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.out.find("+++ b" + kHook), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("+exec /usr/local/bin/vfioctl hook run \"$@\""), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("/etc/libvirt/hooks/qemu exists and stays"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("restart libvirtd"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(t.dir() / kHook.substr(1))) << "a dry run writes nothing";

  Result apply = vfioctl({"--root", t.str(), "hook", "install", "--binary", "/usr/local/bin/vfioctl", "--apply"});
  ASSERT_EQ(apply.rc, 0) << apply.err;
  struct stat st {};
  ASSERT_EQ(::stat((t.dir() / kHook.substr(1)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u) << "libvirt runs only executable files";
  EXPECT_EQ(read(t, "/etc/libvirt/hooks/qemu"), "#!/bin/sh\n# the user's own hook\n");
  Result again = vfioctl({"--root", t.str(), "hook", "install", "--binary", "/usr/local/bin/vfioctl", "--apply"});
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("already as wanted"), std::string::npos) << again.out;

  // Journaled like setup: undo takes it back.
  Result undo = vfioctl({"--root", t.str(), "undo", "--apply"});
  EXPECT_EQ(undo.rc, 0) << undo.err;
  EXPECT_FALSE(fs::exists(t.dir() / kHook.substr(1)));
  EXPECT_TRUE(fs::exists(t.dir() / "etc/libvirt/hooks/qemu"));
}

TEST(CliHook, AForeignFileIsNeverOverwrittenAndUninstallRemovesOnlyOurs) {
  TempTree t;
  host_tree(t);
  t.file(kHook, "#!/bin/sh\necho someone else's\n");
  for (const char* cmd : {"install", "uninstall"}) {
    Result r = vfioctl({"--root", t.str(), "hook", cmd, "--apply"});
    EXPECT_EQ(r.rc, 3) << cmd;
    EXPECT_NE(r.err.find(kHook + " exists and was not written by vfioctl"), std::string::npos) << r.err;
    EXPECT_EQ(read(t, kHook), "#!/bin/sh\necho someone else's\n");
  }
  fs::remove(t.dir() / kHook.substr(1));
  Result none = vfioctl({"--root", t.str(), "hook", "uninstall", "--apply"});
  EXPECT_EQ(none.rc, 0);
  EXPECT_NE(none.out.find("is not installed"), std::string::npos) << none.out;
  ASSERT_EQ(vfioctl({"--root", t.str(), "hook", "install", "--apply"}).rc, 0);
  Result un = vfioctl({"--root", t.str(), "hook", "uninstall", "--apply"});
  EXPECT_EQ(un.rc, 0) << un.err;
  EXPECT_FALSE(fs::exists(t.dir() / kHook.substr(1)));
}

TEST(CliHook, RunWithBadInputExits2AndWritesNothing) {
  TempTree t;
  host_tree(t);
  struct Case {
    std::string xml, message;
  };
  std::vector<Case> cases = {
      {"", "no domain XML on stdin"},
      {"<domain><name>g</name>", "domain XML on stdin:"},
      {"<network/>", "no <domain> element"},
      {tuned_xml("g", "hugepages isolation"),
       "<vfioctl:tune actions> has 'isolation', which is not one of hugepages, isolate, governor, irq"},
  };
  for (const auto& c : cases) {
    Result r = hook_run(t, "g", "prepare", c.xml);
    EXPECT_EQ(r.rc, 2) << c.message << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl")) << "nothing written";
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "8\n");

  // A guest without the element: nothing read or written, exit 0.
  Result plain = hook_run(t, "plain", "prepare", "<domain><name>plain</name><memory>4194304</memory></domain>");
  EXPECT_EQ(plain.rc, 0) << plain.out;
  EXPECT_EQ(plain.out, "");
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl"));
}

TEST(CliHook, ACycleShowsInStatusAndLeavesTheTreeAsItWas) {
  TempTree t;
  host_tree(t);
  Result r = hook_run(t, "g", "prepare", tuned_xml("g"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("reserved 24 more 2 MiB pages (pool 8 -> 32)"), std::string::npos) << r.out;
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "32");
  r = hook_run(t, "g", "started", tuned_xml("g"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(read(t, "/sys/fs/cgroup/cpuset/vfioctl.host/cpuset.cpus"), "0-2");
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "performance");
  EXPECT_EQ(read(t, "/proc/irq/25/smp_affinity_list"), "0-2");
  EXPECT_EQ(read(t, "/proc/irq/default_smp_affinity"), "7");

  Result st = vfioctl({"--root", t.str(), "hook", "status", "--json"});
  ASSERT_EQ(st.rc, 0) << st.err;
  auto j = st.json();
  EXPECT_FALSE(j["installed"].get<bool>());
  ASSERT_EQ(j["guests"].size(), 1u);
  EXPECT_EQ(j["guests"][0]["domain"], "g");
  EXPECT_EQ(j["guests"][0]["phase"], "started");
  EXPECT_EQ(j["guests"][0]["cpus"], "3");
  EXPECT_EQ(j["guests"][0]["hugepages"]["added"], 24);
  EXPECT_EQ(j["host"]["holders"]["g"]["cpus"], "3");
  EXPECT_EQ(j["host"]["governor"]["3"], "schedutil") << "the original is recorded";
  Result text = vfioctl({"--root", t.str(), "hook", "status"});
  EXPECT_NE(text.out.find("g (started, not running): 24 2048 kB pages added"), std::string::npos) << text.out;

  r = hook_run(t, "g", "release", tuned_xml("g"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "8");
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "schedutil");
  EXPECT_EQ(read(t, "/proc/irq/25/smp_affinity_list"), "3");
  EXPECT_EQ(read(t, "/proc/irq/default_smp_affinity"), "f");
  EXPECT_FALSE(fs::exists(t.dir() / "sys/fs/cgroup/cpuset/vfioctl.host"));
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl/g.json"));
  EXPECT_NE(vfioctl({"--root", t.str(), "hook", "status"}).out.find("No tuning in force."), std::string::npos);
}

TEST(CliHook, RecoverIsADryRunSparesRunningGuestsAndNamesUnknownOnes) {
  TempTree t;
  host_tree(t);
  ASSERT_EQ(hook_run(t, "dead", "started", tuned_xml("dead", "governor")).rc, 0);
  ASSERT_EQ(hook_run(t, "alive", "started", tuned_xml("alive", "irq")).rc, 0);
  // libvirt's pid file for "alive" names a process that exists.
  t.file("/run/libvirt/qemu/alive.pid", "4242\n");

  Result dry = vfioctl({"--root", t.str(), "hook", "recover"});
  EXPECT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.out.find("would release dead"), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find("would release alive"), std::string::npos) << dry.out;
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "performance") << "dry run";

  Result unknown = vfioctl({"--root", t.str(), "hook", "recover", "nosuch", "--apply"});
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_NE(unknown.err.find("no tuning state for 'nosuch'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("alive, dead"), std::string::npos) << unknown.err;
  Result running = vfioctl({"--root", t.str(), "hook", "recover", "alive", "--apply"});
  EXPECT_EQ(running.rc, 3);
  EXPECT_NE(running.err.find("'alive' is running"), std::string::npos) << running.err;

  Result rec = vfioctl({"--root", t.str(), "hook", "recover", "--apply"});
  EXPECT_EQ(rec.rc, 0) << rec.err;
  EXPECT_NE(rec.out.find("Released dead."), std::string::npos) << rec.out;
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "schedutil");
  EXPECT_EQ(read(t, "/proc/irq/25/smp_affinity_list"), "0-2") << "alive still holds CPU 3";
  EXPECT_TRUE(fs::exists(t.dir() / "run/vfioctl/guests/alive.json"));
}

TEST(CliHook, HelpTeachesTheActionsAndTheSubcommands) {
  Result r = vfioctl({"hook", "--help"});
  EXPECT_EQ(r.rc, 0);
  for (const char* s : {"<vfioctl:tune", "hugepages", "isolate", "governor", "irq", "install", "uninstall", "run",
                        "status", "recover", "/run/vfioctl/"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  Result none = vfioctl({"hook"});
  EXPECT_EQ(none.rc, 2) << "a subcommand is required";
}

// `vfioctl tune`: the same tuning for a plain-QEMU guest, following a
// process (here the tree's sshd, pid 4242) instead of libvirt's pid file.
TEST(CliTune, StartIsADryRunThenTunesAndStopGivesItAllBack) {
  TempTree t;
  host_tree(t);
  const std::vector<std::string> start = {"--root",   t.str(), "tune",        "start", "g",     "--cpus", "3",
                                          "--memory", "64M",   "--hugepages", "2M",    "--pid", "4242"};
  Result dry = vfioctl(start);
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_NE(dry.out.find("would tune g:"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("Dry run: nothing was changed."), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl")) << "a dry run writes nothing";

  auto apply = start;
  apply.push_back("--apply");
  Result r = vfioctl(apply);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("g: tuned (hugepages, isolate, governor, irq)."), std::string::npos) << r.out;
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "32");
  EXPECT_EQ(read(t, "/sys/fs/cgroup/cpuset/vfioctl.guest.g/cgroup.procs"), "4242") << "placed before the sweep";
  EXPECT_EQ(read(t, "/sys/fs/cgroup/cpuset/vfioctl.guest.g/cpuset.cpus"), "0-3");
  EXPECT_EQ(read(t, "/sys/fs/cgroup/cpuset/vfioctl.host/cpuset.cpus"), "0-2");
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "performance");
  EXPECT_NE(r.err.find("vfioctl tune: g: "), std::string::npos) << r.err;

  Result st = vfioctl({"--root", t.str(), "hook", "status", "--json"});
  ASSERT_EQ(st.rc, 0) << st.err;
  auto j = st.json();
  ASSERT_EQ(j["guests"].size(), 1u);
  EXPECT_EQ(j["guests"][0]["via"], "script");
  EXPECT_EQ(j["guests"][0]["pid"], 4242);
  EXPECT_TRUE(j["guests"][0]["running"].get<bool>()) << "the followed process lives (same start time)";
  EXPECT_NE(vfioctl({"--root", t.str(), "hook", "status"}).out.find("g (started, plain QEMU, process 4242, running)"),
            std::string::npos);

  // Twice: refused while the process runs; stop too, unless --force.
  Result twice = vfioctl(apply);
  EXPECT_EQ(twice.rc, 3) << twice.err;
  EXPECT_NE(twice.err.find("'g' is tuned already and its process 4242 runs"), std::string::npos) << twice.err;
  Result stop = vfioctl({"--root", t.str(), "tune", "stop", "g", "--apply"});
  EXPECT_EQ(stop.rc, 3) << stop.err;
  EXPECT_NE(stop.err.find("--after QEMU_PID"), std::string::npos) << stop.err;
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "32") << "nothing given back";

  stop = vfioctl({"--root", t.str(), "--json", "tune", "stop", "g", "--force", "--apply"});
  ASSERT_EQ(stop.rc, 0) << stop.err;
  EXPECT_TRUE(stop.json()["applied"].get<bool>());
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "8");
  EXPECT_EQ(read(t, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"), "schedutil");
  EXPECT_FALSE(fs::exists(t.dir() / "sys/fs/cgroup/cpuset/vfioctl.guest.g"));
  EXPECT_FALSE(fs::exists(t.dir() / "sys/fs/cgroup/cpuset/vfioctl.host"));
  EXPECT_EQ(read(t, "/sys/fs/cgroup/cpuset/cgroup.procs"), "4242") << "the process is back in the root cpuset";
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl/guests/g.json"));
}

TEST(CliTune, BadInputExits2AndChangesNothing) {
  TempTree t;
  host_tree(t);
  auto bad = [&](std::vector<std::string> args, const std::string& part) {
    args.insert(args.begin(), {"--root", t.str(), "tune"});
    Result r = vfioctl(args);
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  };
  bad({"start", "g", "--cpus", "3-x", "--apply"}, "--cpus '3-x': not a CPU list");
  bad({"start", "g", "--cpus", "3", "--actions", "hugepages", "--apply"}, "needs --memory and --hugepages");
  bad({"start", "g", "--cpus", "2-9", "--actions", "isolate", "--apply"},
      "--cpus: CPU 4 is not online here (online: 0-3)");
  bad({"start", "g", "--cpus", "3", "--memory", "1G", "--hugepages", "3M", "--apply"},
      "--hugepages 3M: this host has no pool of 3072 kB pages (it has: hugepages-2048kB)");
  bad({"start", "g", "--cpus", "3", "--actions", "isolate,nap", "--apply"}, "'nap' is not one of");
  bad({"start", "g", "--cpus", "3", "--actions", "isolate", "--pid", "777", "--apply"}, "no process 777");
  bad({"start", "a/b", "--cpus", "3", "--actions", "isolate", "--apply"}, "holds a '/'");
  bad({"stop", "nosuch", "--apply"}, "no tuning state for 'nosuch'");
  EXPECT_FALSE(fs::exists(t.dir() / "run/vfioctl/guests")) << "nothing written";
  EXPECT_EQ(read(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "8\n");
}

}  // namespace
}  // namespace vfioctl::test
