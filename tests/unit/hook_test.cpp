// The runtime tuning behind `vfioctl hook`, against a model of the kernel:
// a hugepage pool that can run short until memory is compacted, a cgroup v1
// cpuset hierarchy that resets a process's affinity when it moves (as the
// kernel does), IRQs some of which refuse user affinity, cpufreq governors
// and systemd's AllowedCPUs. Every test checks what a user relies on: the
// guest gets what it needs, and afterwards the host is exactly as before,
// also when the hook is killed at any point and `recover` runs.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/tuner.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {
namespace {

// Thrown by the model to stand for the hook being killed.
struct Killed {};

struct Proc {
  std::string comm;
  int ppid = 1;
  std::string start;
};

// What the host looks like; compared before and after.
struct Kernel {
  std::vector<int> online = {0, 1, 2, 3};
  long long nr = 8, used = 0;
  long long cap = 1'000'000;               // most pages the kernel can find now
  long long cap_after_compact = -1;        // what compaction makes possible
  std::map<int, std::string> governor = {{0, "schedutil"}, {1, "schedutil"}, {2, "schedutil"}, {3, "powersave"}};
  std::map<int, std::string> irq = {{24, "0-3"}, {25, "2"}, {26, "3"}, {40, "0-3"}};
  std::set<int> managed = {40};
  std::string irq_default = "f";
  std::map<std::string, std::set<int>> cgroups = {{"", {1, 2, 100, 101, 102, 103, 104}}};
  std::map<std::string, std::string> cgroup_cpus;
  std::map<int, std::vector<int>> affinity = {{1, {0, 1, 2, 3}},   {2, {0, 1, 2, 3}},   {100, {0, 1, 2, 3}},
                                              {101, {0, 1, 2, 3}}, {102, {0, 1, 2, 3}}, {103, {3}},
                                              {104, {0, 1, 2, 3}}};
  bool systemd = false;
  std::map<std::string, std::string> allowed = {{"system.slice", ""}, {"user.slice", ""}, {"init.scope", ""}};

  bool operator==(const Kernel& o) const {
    return nr == o.nr && governor == o.governor && irq == o.irq && irq_default == o.irq_default &&
           cgroups == o.cgroups && affinity == o.affinity && allowed == o.allowed;
  }
};

std::string dump(const Kernel& k) {
  std::ostringstream s;
  s << "nr=" << k.nr << " default=" << k.irq_default << "\n";
  for (const auto& [c, g] : k.governor) s << "gov " << c << "=" << g << "\n";
  for (const auto& [i, a] : k.irq) s << "irq " << i << "=" << a << "\n";
  for (const auto& [cg, pids] : k.cgroups) {
    s << "cgroup '" << cg << "':";
    for (int p : pids) s << " " << p;
    s << "\n";
  }
  for (const auto& [p, a] : k.affinity) s << "affinity " << p << "=" << format_cpulist(a) << "\n";
  for (const auto& [u, a] : k.allowed) s << "AllowedCPUs " << u << "=" << a << "\n";
  return s.str();
}

// sscanf with one %d that must consume the whole path.
bool match(const std::string& path, const char* pattern, int* n) {
  int end = -1;
  std::string fmt = std::string(pattern) + "%n";
  return std::sscanf(path.c_str(), fmt.c_str(), n, &end) == 1 && end == static_cast<int>(path.size());
}

void PrintTo(const Kernel& k, std::ostream* os) { *os << "\n" << dump(k); }

class ModelIo : public HostIo {
 public:
  Kernel k;
  std::map<int, Proc> procs = {{1, {"init", 0, "1"}},       {2, {"kthreadd", 0, "2"}},  {100, {"bash", 1, "500"}},
                               {101, {"kworker/0:1", 2, "600"}}, {102, {"libvirtd", 1, "700"}},
                               {103, {"pinned-tool", 1, "800"}}, {104, {"sshd", 1, "900"}}};
  std::map<std::string, std::string> files;  // /run/vfioctl/..., /run/libvirt/...
  std::vector<std::string> commands;
  std::vector<std::string> writes;           // every kernel write, "path=value"
  double clock = 0, compact_cost = 0.01;
  int kill_after = -1;                       // mutating operations before "the kill"
  int mutations = 0;

  static constexpr const char* kPool = "/sys/kernel/mm/hugepages/hugepages-2048kB";
  static constexpr const char* kCpuset = "/sys/fs/cgroup/cpuset";

  void mutate() {
    if (kill_after >= 0 && mutations++ >= kill_after) throw Killed{};
  }

  std::optional<std::string> cgroup_of(const std::string& path, std::string* attr) {
    std::string p = path;
    if (!starts_with(p, kCpuset)) return std::nullopt;
    p = p.substr(std::string(kCpuset).size());
    if (!p.empty() && p[0] == '/') p = p.substr(1);
    if (k.cgroups.count(p)) {  // the cgroup directory itself
      *attr = "";
      return p;
    }
    auto slash = p.rfind('/');
    std::string cg = slash == std::string::npos ? "" : p.substr(0, slash);
    *attr = slash == std::string::npos ? p : p.substr(slash + 1);
    if (!k.cgroups.count(cg)) return std::nullopt;
    return cg;
  }

  std::string boot_id = "boot-1";

  std::optional<std::string> read(const std::string& path) override {
    if (files.count(path)) return files[path];
    if (path == "/proc/sys/kernel/random/boot_id") return boot_id + "\n";
    if (path == "/sys/devices/system/cpu/online") return format_cpulist(k.online) + "\n";
    if (path == "/proc/meminfo") return "MemTotal: 16000000 kB\nHugepagesize:       2048 kB\n";
    if (path == std::string(kPool) + "/nr_hugepages") return std::to_string(k.nr) + "\n";
    if (path == std::string(kPool) + "/free_hugepages") return std::to_string(k.nr - k.used) + "\n";
    if (path == std::string(kPool) + "/resv_hugepages") return "0\n";
    int n = 0;
    if (match(path, "/proc/irq/%d/smp_affinity_list", &n) && k.irq.count(n)) return k.irq[n] + "\n";
    if (path == "/proc/irq/default_smp_affinity") return k.irq_default + "\n";
    if (match(path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", &n) && k.governor.count(n))
      return k.governor[n] + "\n";
    if (match(path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_available_governors", &n) &&
        k.governor.count(n))
      return "performance powersave schedutil\n";
    if (match(path, "/proc/%d/stat", &n) && procs.count(n)) {
      const Proc& p = procs[n];
      std::string s = std::to_string(n) + " (" + p.comm + ") S " + std::to_string(p.ppid) + " 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + p.start + " 0 0\n";
      return s;
    }
    std::string attr;
    if (auto cg = cgroup_of(path, &attr)) {
      if (attr == "cgroup.procs") {
        std::string s;
        for (int p : k.cgroups[*cg]) s += std::to_string(p) + "\n";
        return s;
      }
      if (attr == "cpuset.cpus") return (cg->empty() ? format_cpulist(k.online) : k.cgroup_cpus[*cg]) + "\n";
      if (attr == "cpuset.mems") return "0\n";
    }
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> list(const std::string& path) override {
    if (path == "/proc/irq") {
      std::vector<std::string> r = {"default_smp_affinity"};
      for (const auto& [n, a] : k.irq) r.push_back(std::to_string(n));
      return r;
    }
    if (path == "/sys/devices/system/node") return std::vector<std::string>{"node0"};
    if (path == kStateDir) {
      std::vector<std::string> r;
      for (const auto& [p, c] : files)
        if (starts_with(p, std::string(kStateDir) + "/") && p.find('/', std::string(kStateDir).size() + 1) == std::string::npos)
          r.push_back(p.substr(std::string(kStateDir).size() + 1));
      return r;
    }
    return std::nullopt;
  }

  bool exists(const std::string& path) override {
    if (files.count(path)) return true;
    if (path == "/run/systemd/system") return k.systemd;
    if (path == "/proc/sys/vm/compact_memory" || path == kPool) return true;
    if (path == std::string(kCpuset) + "/cpuset.cpus") return true;
    std::string attr;
    if (auto cg = cgroup_of(path, &attr)) return attr.empty() || attr == "cgroup.procs" || attr == "cpuset.cpus";
    int n = 0;
    if (match(path, "/proc/%d/stat", &n)) return procs.count(n) > 0;
    return false;
  }

  void write(const std::string& path, const std::string& value) override {
    mutate();
    writes.push_back(path + "=" + value);
    int n = 0;
    if (path == "/proc/sys/vm/compact_memory") {
      clock += compact_cost;
      if (k.cap_after_compact >= 0) k.cap = k.cap_after_compact;
      return;
    }
    if (path == std::string(kPool) + "/nr_hugepages") {
      long long want = std::stoll(value);
      k.nr = std::max(k.used, std::min(want, k.cap));
      return;
    }
    if (match(path, "/proc/irq/%d/smp_affinity_list", &n)) {
      if (k.managed.count(n)) throw IoError(path, EIO);
      k.irq[n] = value;
      return;
    }
    if (path == "/proc/irq/default_smp_affinity") {
      k.irq_default = value;
      return;
    }
    if (match(path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", &n) && k.governor.count(n)) {
      k.governor[n] = value;
      return;
    }
    std::string attr;
    if (auto cg = cgroup_of(path, &attr)) {
      if (attr == "cgroup.procs") {
        int pid = std::stoi(value);
        if (!procs.count(pid)) throw IoError(path, ESRCH);
        if (procs[pid].ppid == 2 || pid == 2) throw IoError(path, EINVAL);
        for (auto& [c, pids] : k.cgroups) pids.erase(pid);
        k.cgroups[*cg].insert(pid);
        // The kernel resets the affinity of a task that changes cpuset.
        k.affinity[pid] = cg->empty() ? k.online : *parse_cpulist(k.cgroup_cpus[*cg]);
        return;
      }
      if (attr == "cpuset.cpus") {
        k.cgroup_cpus[*cg] = value;
        for (int pid : k.cgroups[*cg]) k.affinity[pid] = *parse_cpulist(value);
        return;
      }
      if (attr == "cpuset.mems") return;
    }
    throw IoError(path, ENOENT);
  }

  void mkdir(const std::string& path) override {
    mutate();
    std::string prefix = std::string(kCpuset) + "/";
    if (!starts_with(path, prefix)) throw IoError(path, EACCES);
    std::string cg = path.substr(prefix.size());
    if (k.cgroups.count(cg)) throw IoError(path, EEXIST);
    k.cgroups[cg] = {};
    k.cgroup_cpus[cg] = "";
  }

  void rmdir(const std::string& path) override {
    mutate();
    std::string cg = path.substr(std::string(kCpuset).size() + 1);
    if (!k.cgroups.count(cg)) throw IoError(path, ENOENT);
    if (!k.cgroups[cg].empty()) throw IoError(path, EBUSY);
    k.cgroups.erase(cg);
    k.cgroup_cpus.erase(cg);
  }

  void save(const std::string& path, const std::string& content) override {
    mutate();
    files[path] = content;
  }
  void remove(const std::string& path) override {
    mutate();
    files.erase(path);
  }
  void append(const std::string& path, const std::string& line) override { files[path] += line + "\n"; }

  ProcessResult run(const std::vector<std::string>& argv) override {
    commands.push_back(join(argv, " "));
    if (argv.size() == 5 && argv[1] == "show") return {0, k.allowed[argv[4]] + "\n"};
    if (argv.size() == 5 && argv[1] == "set-property") {
      mutate();
      k.allowed[argv[3]] = argv[4].substr(std::string("AllowedCPUs=").size());
      return {0, ""};
    }
    return {1, "unknown"};
  }

  std::optional<std::vector<int>> affinity(pid_t pid) override {
    if (!k.affinity.count(pid)) return std::nullopt;
    return k.affinity[pid];
  }
  void set_affinity(pid_t pid, const std::vector<int>& cpus) override {
    mutate();
    k.affinity[pid] = cpus;
  }
  double now() override { return clock; }
  std::shared_ptr<void> lock() override { return nullptr; }
};

std::string domain_xml(const std::string& name, const std::string& cpus, const std::string& actions = "hugepages isolate governor irq",
                       long long mib = 64, const std::string& page = "<page size='2' unit='M'/>") {
  std::string pins;
  int i = 0;
  for (const auto& c : split(cpus, ','))
    pins += "<vcpupin vcpu='" + std::to_string(i++) + "' cpuset='" + std::string(c) + "'/>";
  return "<domain type='kvm'><name>" + name + "</name><uuid>00000000-0000-0000-0000-00000000000" + std::to_string(name.size() % 10) +
         "</uuid><metadata><t:tune xmlns:t='urn:vfioctl:tune:1' actions='" + actions + "'/></metadata>" +
         "<memory unit='MiB'>" + std::to_string(mib) + "</memory>" +
         (page.empty() ? "" : "<memoryBacking><hugepages>" + page + "</hugepages></memoryBacking>") +
         "<vcpu placement='static'>" + std::to_string(i) + "</vcpu><cputune>" + pins + "</cputune></domain>";
}

// Runs one libvirt event as the hook does; returns its exit status.
int event(ModelIo& io, const std::string& xml, const std::string& op, std::string* log = nullptr) {
  std::ostringstream out;
  Tuner t(io, out);
  auto d = parse_domain_tune(xml);
  int rc = t.run(op, op == "release" ? "end" : "begin", d);
  if (log) *log += out.str();
  return rc;
}

// ---- the domain XML ---------------------------------------------------------

TEST(DomainTune, OptInIsByNamespaceNotByPrefix) {
  auto d = parse_domain_tune(domain_xml("g", "2,3"));
  EXPECT_TRUE(d.opted_in);
  EXPECT_EQ(d.name, "g");
  EXPECT_EQ(d.actions, (std::vector<std::string>{"hugepages", "isolate", "governor", "irq"}));
  EXPECT_EQ(d.memory_kib, 64 * 1024);
  EXPECT_EQ(d.hugepage_kib, 2048);
  EXPECT_EQ(d.vcpu_cpus, (std::vector<int>{2, 3}));

  auto other = parse_domain_tune(
      "<domain><name>x</name><metadata><vfioctl:tune xmlns:vfioctl='http://example.org/other' actions='isolate'/></metadata></domain>");
  EXPECT_FALSE(other.opted_in) << "the same name in another namespace is someone else's element";
  EXPECT_FALSE(parse_domain_tune("<domain><name>x</name></domain>").opted_in);
}

TEST(DomainTune, ReadsUnitsNodesAndLibvirtCpusets) {
  auto d = parse_domain_tune(
      "<domain><name>n</name><metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='irq hugepages'/></metadata>"
      "<memory unit='GiB'>2</memory><memoryBacking><hugepages/></memoryBacking>"
      "<numatune><memory mode='strict' nodeset='1'/></numatune>"
      "<vcpu placement='static' cpuset='0-7,^3'>4</vcpu></domain>");
  EXPECT_EQ(d.actions, (std::vector<std::string>{"hugepages", "irq"})) << "kept in the order the hook performs them";
  EXPECT_EQ(d.memory_kib, 2LL * 1024 * 1024);
  EXPECT_EQ(d.hugepage_kib, 0) << "<hugepages/> without a size: the host's default";
  EXPECT_EQ(d.node, 1);
  EXPECT_EQ(d.vcpu_cpus, (std::vector<int>{0, 1, 2, 4, 5, 6, 7})) << "<vcpu cpuset> when there is no vcpupin";
  EXPECT_EQ(parse_libvirt_cpuset("1-5,^2-3,9"), (std::vector<int>{1, 4, 5, 9}));
  EXPECT_FALSE(parse_libvirt_cpuset("1-x"));
}

TEST(DomainTune, BadInputNamesTheDomainAndTheElement) {
  auto expect_error = [](const std::string& xml, const std::string& part) {
    try {
      parse_domain_tune(xml);
      ADD_FAILURE() << "no error for " << xml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error(domain_xml("g", "1", "hugepages isolat"), "domain 'g': <vfioctl:tune actions> has 'isolat'");
  expect_error("<domain><name>g</name><cputune><vcpupin vcpu='0' cpuset='one'/></cputune></domain>", "<vcpupin vcpu='0' cpuset='one'>");
  expect_error("<domain><name>g</name><memory unit='parsecs'>4</memory></domain>", "parsecs");
  expect_error("<domani/>", "no <domain> element");
  expect_error("<domain><name>g", "domain XML on stdin");
}

// ---- events -------------------------------------------------------------------

TEST(Hook, ADomainThatDidNotOptInIsNotTouched) {
  ModelIo io;
  Kernel before = io.k;
  std::string xml = "<domain><name>plain</name><memory unit='GiB'>4</memory><cputune><vcpupin vcpu='0' cpuset='2'/></cputune></domain>";
  for (const char* op : {"prepare", "started", "release"}) EXPECT_EQ(event(io, xml, op), 0);
  EXPECT_TRUE(io.writes.empty());
  EXPECT_TRUE(io.files.empty()) << "no state, no log";
  EXPECT_EQ(io.k, before);
}

TEST(Hook, PrepareAddsExactlyTheShortfallAndReleaseTakesExactlyThatBack) {
  ModelIo io;
  io.k.nr = 10;
  io.k.used = 4;  // 6 free; the guest needs 32 (64 MiB of 2 MiB pages)
  std::string xml = domain_xml("g", "2", "hugepages");
  std::string log;
  EXPECT_EQ(event(io, xml, "prepare", &log), 0) << log;
  EXPECT_EQ(io.k.nr, 36) << "grew by 32 - 6 = 26";
  EXPECT_NE(log.find("reserved 26 more 2 MiB pages (pool 10 -> 36)"), std::string::npos) << log;
  EXPECT_NE(io.files.at("/run/vfioctl/g.json").find("\"added\": 26"), std::string::npos);
  // The guest takes its pages; meanwhile someone else grows the pool by 5.
  io.k.used += 32;
  io.k.nr += 5;
  io.k.used -= 32;  // the guest stopped
  EXPECT_EQ(event(io, xml, "release", &log), 0);
  EXPECT_EQ(io.k.nr, 15) << "only the 26 the hook added go back; the other 5 stay";
  EXPECT_FALSE(io.files.count("/run/vfioctl/g.json"));
}

TEST(Hook, AnAmplePoolIsLeftAlone) {
  ModelIo io;
  io.k.nr = 64;
  std::string log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_EQ(io.k.nr, 64);
  EXPECT_TRUE(io.writes.empty());
  EXPECT_NE(log.find("32 2 MiB pages needed, 64 free"), std::string::npos) << log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "release"), 0);
  EXPECT_EQ(io.k.nr, 64);
}

TEST(Hook, CompactionIsTriedAndAShortPoolIsGivenBackWithAClearError) {
  ModelIo io;
  io.k.nr = 0;
  io.k.cap = 10;  // fragmented: only 10 pages to be had
  std::string log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "prepare", &log), 1);
  EXPECT_EQ(io.k.nr, 0) << "the 10 pages found are given back: the guest cannot start anyway";
  EXPECT_NE(log.find("needs 32 more 2 MiB pages but the kernel found only 10 after compacting memory"), std::string::npos) << log;
  EXPECT_NE(log.find("vfioctl setup --hugepages-for"), std::string::npos) << "says how to reserve them at boot";
  EXPECT_EQ(std::count(io.writes.begin(), io.writes.end(), "/proc/sys/vm/compact_memory=1"), 2) << "compacted before each try";
  EXPECT_EQ(io.files["/run/vfioctl/g.json"].find("size_kib"), std::string::npos) << "nothing left to give back";

  ModelIo io2;
  io2.k.nr = 0;
  io2.k.cap = 10;
  io2.k.cap_after_compact = 100;  // compaction frees contiguous blocks
  EXPECT_EQ(event(io2, domain_xml("g", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_EQ(io2.k.nr, 32);
  EXPECT_EQ(io2.writes.front(), "/proc/sys/vm/compact_memory=1") << "compaction first";
}

TEST(Hook, OneGibPagesAreOnlyReportedWithTheBootTimeFix) {
  ModelIo io;
  std::string log;
  EXPECT_EQ(event(io, domain_xml("big", "2", "hugepages", 4096, "<page size='1' unit='G'/>"), "prepare", &log), 1);
  EXPECT_NE(log.find("the kernel has no 1 GiB pages"), std::string::npos) << log;
  EXPECT_TRUE(io.writes.empty());
}

TEST(Hook, OverTheBudgetSaysSoInTheLog) {
  ModelIo io;
  io.k.nr = 0;
  io.compact_cost = 12;  // compaction takes 12 s on this host
  std::string log;
  EXPECT_EQ(event(io, domain_xml("slow", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_NE(log.find("the hugepage reservation took 12.0 s, over its 10 s budget"), std::string::npos) << log;
}

TEST(Hook, StartedConfinesHostProcessesAndReleaseRestoresEverything) {
  ModelIo io;
  Kernel before = io.k;
  std::string xml = domain_xml("g", "2,3", "isolate governor irq");
  std::string log;
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started", &log), 0) << log;
  // Host processes moved into the host cpuset, on CPUs 0-1 only.
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1");
  EXPECT_EQ(io.k.cgroups.at(kHostCgroup), (std::set<int>{1, 100, 103, 104}));
  EXPECT_EQ(io.k.cgroups.at(""), (std::set<int>{2, 101, 102})) << "kernel threads and libvirtd stay";
  for (int pid : io.k.cgroups.at(kHostCgroup)) EXPECT_EQ(io.k.affinity[pid], (std::vector<int>{0, 1})) << pid;
  // Governor and IRQs.
  EXPECT_EQ(io.k.governor[2], "performance");
  EXPECT_EQ(io.k.governor[3], "performance");
  EXPECT_EQ(io.k.governor[0], "schedutil");
  EXPECT_EQ(io.k.irq[24], "0-1");
  EXPECT_EQ(io.k.irq[25], "0-1") << "an IRQ only on guest CPUs goes to the host's";
  EXPECT_EQ(io.k.irq[40], "0-3") << "a managed IRQ refuses and is left";
  EXPECT_EQ(io.k.irq_default, "3");
  EXPECT_NE(log.find("(1 kept by the kernel)"), std::string::npos) << log;

  ASSERT_EQ(event(io, xml, "release", &log), 0) << log;
  EXPECT_EQ(io.k, before) << dump(io.k) << "\nwanted\n" << dump(before);
  EXPECT_EQ(io.k.affinity[103], (std::vector<int>{3})) << "a process's own affinity comes back";
  EXPECT_TRUE(io.files.empty() || (io.files.size() == 0)) << "no state left";
}

TEST(Hook, TwoGuestsReleaseInAnyOrderAndKeepEachOthersCpus) {
  for (bool a_first : {true, false}) {
    ModelIo io;
    io.k.nr = 0;
    Kernel before = io.k;
    std::string a = domain_xml("a", "2"), b = domain_xml("b", "3");
    for (const auto& x : {a, b}) {
      ASSERT_EQ(event(io, x, "prepare"), 0);
      ASSERT_EQ(event(io, x, "started"), 0);
      io.k.used += 32;
    }
    EXPECT_EQ(io.k.nr, 64);
    EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1");
    const std::string& first = a_first ? a : b;
    io.k.used -= 32;
    ASSERT_EQ(event(io, first, "release"), 0);
    EXPECT_EQ(io.k.nr, 32) << "the other guest's pages stay";
    EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), a_first ? "0-2" : "0-1,3") << "the other guest's CPU stays isolated";
    EXPECT_EQ(io.k.governor[a_first ? 2 : 3], before.governor[a_first ? 2 : 3]);
    EXPECT_EQ(io.k.governor[a_first ? 3 : 2], "performance");
    io.k.used -= 32;
    ASSERT_EQ(event(io, a_first ? b : a, "release"), 0);
    EXPECT_EQ(io.k, before) << dump(io.k);
    EXPECT_TRUE(io.files.empty());
  }
}

TEST(Hook, SystemdSlicesGetAllowedCpusAndTheirOldValuesBack) {
  ModelIo io;
  io.k.systemd = true;
  io.k.allowed["user.slice"] = "0-3";
  Kernel before = io.k;
  std::string xml = domain_xml("g", "3", "isolate");
  ASSERT_EQ(event(io, xml, "started"), 0);
  EXPECT_EQ(io.k.allowed["system.slice"], "0-2");
  EXPECT_EQ(io.k.allowed["user.slice"], "0-2");
  EXPECT_EQ(io.k.allowed["init.scope"], "0-2");
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << "systemd owns the cgroups: no cgroup of ours";
  ASSERT_EQ(event(io, xml, "release"), 0);
  EXPECT_EQ(io.k, before) << dump(io.k);
  EXPECT_NE(std::find(io.commands.begin(), io.commands.end(), "systemctl set-property --runtime user.slice AllowedCPUs=0-3"),
            io.commands.end());
}

TEST(Hook, GuestsOnEveryCpuLeaveTheHostAlone) {
  ModelIo io;
  Kernel before = io.k;
  std::string log;
  ASSERT_EQ(event(io, domain_xml("all", "0-3", "isolate irq"), "started", &log), 0);
  EXPECT_EQ(io.k, before);
  EXPECT_NE(log.find("all of the host's CPUs"), std::string::npos) << log;
}

// The property the state files exist for: kill the hook after any number of
// changes, in any event, and `recover` brings the host back to exactly how
// it was (the guest is not running any more).
TEST(Hook, KilledAtAnyPointRecoverRestoresTheHost) {
  for (const char* op : {"prepare", "started", "release"}) {
    for (int kill = 0;; ++kill) {
      ModelIo io;
      io.k.nr = 0;
      Kernel before = io.k;
      std::string xml = domain_xml("g", "2,3");
      bool finished = false;
      // Run up to the event to kill in, then kill it after `kill` changes.
      for (const char* step : {"prepare", "started", "release"}) {
        if (std::string(step) == op) io.kill_after = kill;
        try {
          event(io, xml, step);
          if (std::string(step) == op) finished = true;
        } catch (const Killed&) {
          break;
        }
        if (std::string(step) == "started") io.k.used = 0;  // the guest ran and stopped
      }
      io.kill_after = -1;
      std::ostringstream out;
      Tuner t(io, out);
      t.recover(t.stale_domains());
      EXPECT_EQ(io.k, before) << "killed in " << op << " after " << kill << " changes\n"
                              << dump(io.k) << out.str();
      EXPECT_EQ(t.states().size(), 0u) << op << " " << kill;
      EXPECT_FALSE(io.files.count(kHostState)) << op << " " << kill << "\n" << io.files[kHostState];
      if (finished) break;
      ASSERT_LT(kill, 200);
    }
  }
}

TEST(Hook, RecoverLeavesRunningGuestsAlone) {
  ModelIo io;
  std::string a = domain_xml("a", "2", "isolate"), b = domain_xml("b", "3", "isolate");
  ASSERT_EQ(event(io, a, "started"), 0);
  ASSERT_EQ(event(io, b, "started"), 0);
  // a's QEMU is alive (libvirt's pid file names a live process); b's is gone.
  io.files["/run/libvirt/qemu/a.pid"] = "100";
  std::ostringstream out;
  Tuner t(io, out);
  EXPECT_EQ(t.stale_domains(), (std::vector<std::string>{"b"}));
  t.recover(t.stale_domains());
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1,3") << "a's CPU is still kept free";
  ASSERT_EQ(t.states().size(), 1u);
  EXPECT_EQ(t.states()[0].domain, "a");
}

// A /run that survives a reboot keeps records whose settings are gone: the
// pool the new boot reserved must not lose the pages the old record added.
TEST(Hook, RecordsFromBeforeARebootAreDroppedWithoutTouchingTheHost) {
  ModelIo io;
  io.k.nr = 0;
  std::string xml = domain_xml("g", "2,3");
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started"), 0);
  ASSERT_EQ(io.k.nr, 32);
  // Reboot: a new boot id, the kernel's settings back to the boot's own.
  ModelIo fresh;
  fresh.files = io.files;
  fresh.boot_id = "boot-2";
  fresh.k.nr = 100;  // reserved on the new kernel command line
  Kernel before = fresh.k;
  std::ostringstream out;
  Tuner t(fresh, out);
  EXPECT_TRUE(t.states().empty()) << "status does not show settings that are gone";
  EXPECT_TRUE(t.host_state_json().find("boot-1") != std::string::npos) << "still on disk until recover";
  t.recover(t.stale_domains());
  EXPECT_EQ(fresh.k, before) << dump(fresh.k);
  EXPECT_FALSE(fresh.files.count("/run/vfioctl/g.json"));
  EXPECT_FALSE(fresh.files.count(kHostState));
  // The same guest's next start after the reboot works from a clean slate.
  ASSERT_EQ(event(fresh, xml, "prepare"), 0);
  EXPECT_EQ(fresh.k.nr, 100) << "100 free pages hold the guest's 32";
  ASSERT_EQ(event(fresh, xml, "release"), 0);
  EXPECT_EQ(fresh.k, before);
}

TEST(Hook, CpumaskFormat) {
  EXPECT_EQ(format_cpumask({0}), "1");
  EXPECT_EQ(format_cpumask({0, 1, 2, 3}), "f");
  EXPECT_EQ(format_cpumask({0, 33}), "2,00000001");
  EXPECT_EQ(parse_cpumask(format_cpumask({1, 5, 40, 63})), (std::vector<int>{1, 5, 40, 63}));
}

}  // namespace
}  // namespace vfioctl::runtime
