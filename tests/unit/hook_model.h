// A model of the kernel for the hook's tests (hook_test.cpp): a hugepage pool
// that can run short until memory is compacted, a cgroup v1 cpuset hierarchy
// that resets a process's affinity when it moves (as the kernel does), IRQs
// some of which refuse user affinity, cpufreq governors and systemd's
// AllowedCPUs, behind the HostIo the tuner uses.
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/tuner.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime::test_model {

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
  long long cap = 1'000'000;         // most pages the kernel can find now
  long long cap_after_compact = -1;  // what compaction makes possible
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

inline std::string dump(const Kernel& k) {
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
inline bool match(const std::string& path, const char* pattern, int* n) {
  int end = -1;
  std::string fmt = std::string(pattern) + "%n";
  return std::sscanf(path.c_str(), fmt.c_str(), n, &end) == 1 && end == static_cast<int>(path.size());
}

inline void PrintTo(const Kernel& k, std::ostream* os) { *os << "\n" << dump(k); }

class ModelIo : public HostIo {
 public:
  Kernel k;
  std::map<int, Proc> procs = {{1, {"init", 0, "1"}},         {2, {"kthreadd", 0, "2"}},
                               {100, {"bash", 1, "500"}},     {101, {"kworker/0:1", 2, "600"}},
                               {102, {"libvirtd", 1, "700"}}, {103, {"pinned-tool", 1, "800"}},
                               {104, {"sshd", 1, "900"}}};
  std::map<std::string, std::string> files;  // /run/vfioctl/..., /run/libvirt/...
  std::vector<std::string> commands;
  std::vector<std::string> writes;  // every kernel write, "path=value"
  double clock = 0, compact_cost = 0.01;
  // A busy host: while non-zero, every process moved out of a cgroup other
  // than the root leaves a child it forked just before behind in it (-1:
  // forever, as a fork loop would).
  int forks = 0;
  int next_pid = 1000;
  int kill_after = -1;  // mutating operations before "the kill"
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
    if (match(path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_available_governors", &n) && k.governor.count(n))
      return "performance powersave schedutil\n";
    if (match(path, "/proc/%d/stat", &n) && procs.count(n)) {
      const Proc& p = procs[n];
      std::string s = std::to_string(n) + " (" + p.comm + ") S " + std::to_string(p.ppid) +
                      " 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + p.start + " 0 0\n";
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
    if (starts_with(path, kStateDir)) {
      // The files right under path, and the directories on the way to deeper ones.
      std::set<std::string> r;
      std::string dir = path + "/";
      for (const auto& [p, c] : files) {
        if (!starts_with(p, dir)) continue;
        std::string rest = p.substr(dir.size());
        r.insert(rest.substr(0, rest.find('/')));
      }
      if (r.empty()) return std::nullopt;
      return std::vector<std::string>(r.begin(), r.end());
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
        std::string from;
        for (auto& [c, pids] : k.cgroups)
          if (pids.erase(pid)) from = c;
        k.cgroups[*cg].insert(pid);
        if (!from.empty() && from != *cg && forks != 0) {
          int child = next_pid++;
          procs[child] = {"worker", pid, std::to_string(10000 + child)};
          k.cgroups[from].insert(child);
          k.affinity[child] = *parse_cpulist(k.cgroup_cpus[from]);
          if (forks > 0) --forks;
        }
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
    if (!argv.empty() && argv[0] == "busctl") {
      mutate();
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
  void sleep(double seconds) override { clock += seconds; }
  // Processes that end when the tuner waits for them.
  std::set<int> end_when_waited;
  void wait_exit(pid_t pid, double seconds) override {
    clock += seconds;
    if (end_when_waited.erase(pid)) exit_process(pid);
  }
  // A process ends: gone from /proc, its cgroup and the affinity table.
  void exit_process(int pid) {
    procs.erase(pid);
    k.affinity.erase(pid);
    for (auto& [cg, pids] : k.cgroups) pids.erase(pid);
  }
  std::shared_ptr<void> lock() override { return nullptr; }
};

inline std::string domain_xml(const std::string& name, const std::string& cpus,
                              const std::string& actions = "hugepages isolate governor irq", long long mib = 64,
                              const std::string& page = "<page size='2' unit='M'/>") {
  std::string pins;
  int i = 0;
  for (const auto& c : split(cpus, ','))
    pins += "<vcpupin vcpu='" + std::to_string(i++) + "' cpuset='" + std::string(c) + "'/>";
  return "<domain type='kvm'><name>" + name + "</name><uuid>00000000-0000-0000-0000-00000000000" +
         std::to_string(name.size() % 10) + "</uuid><metadata><t:tune xmlns:t='urn:vfioctl:tune:1' actions='" +
         actions + "'/></metadata>" + "<memory unit='MiB'>" + std::to_string(mib) + "</memory>" +
         (page.empty() ? "" : "<memoryBacking><hugepages>" + page + "</hugepages></memoryBacking>") +
         "<vcpu placement='static'>" + std::to_string(i) + "</vcpu><cputune>" + pins + "</cputune></domain>";
}

// Runs one libvirt event as the hook does; returns its exit status.
inline int event(ModelIo& io, const std::string& xml, const std::string& op, std::string* log = nullptr) {
  std::ostringstream out;
  Tuner t(io, out);
  auto d = parse_domain_tune(xml);
  int rc = t.run(op, op == "release" ? "end" : "begin", d);
  if (log) *log += out.str();
  return rc;
}

}  // namespace vfioctl::runtime::test_model
