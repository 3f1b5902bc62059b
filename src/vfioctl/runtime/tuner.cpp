#include "vfioctl/runtime/tuner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {

using nlohmann::json;

std::string format_cpumask(const std::vector<int>& cpus) {
  int top = cpus.empty() ? 0 : *std::max_element(cpus.begin(), cpus.end());
  std::vector<unsigned> words(static_cast<size_t>(top / 32 + 1), 0);
  for (int c : cpus)
    if (c >= 0) words[static_cast<size_t>(c / 32)] |= 1u << (c % 32);
  std::string s = fmt::format("{:x}", words.back());
  for (size_t i = words.size() - 1; i-- > 0;) s += fmt::format(",{:08x}", words[i]);
  return s;
}

namespace {

std::vector<int> minus(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> r;
  for (int c : a)
    if (std::find(b.begin(), b.end(), c) == b.end()) r.push_back(c);
  return r;
}

std::string state_path(const std::string& domain) { return std::string(kStateDir) + "/" + domain + ".json"; }

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<long long> read_int(HostIo& io, const std::string& path) {
  auto s = io.read(path);
  if (!s) return std::nullopt;
  return parse_int(*s);
}

std::string page_name(long long kib) {
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0) return fmt::format("{} GiB", kib / (1024 * 1024));
  if (kib >= 1024 && kib % 1024 == 0) return fmt::format("{} MiB", kib / 1024);
  return fmt::format("{} KiB", kib);
}

// A process's start time (field 22 of /proc/PID/stat) and parent, which
// tell a reused pid apart and kernel threads (children of kthreadd, pid 2).
struct ProcInfo {
  std::string start;
  long long ppid = -1;
  std::string comm;
};
std::optional<ProcInfo> proc_info(HostIo& io, const std::string& pid) {
  auto stat = io.read("/proc/" + pid + "/stat");
  if (!stat) return std::nullopt;
  auto close = stat->rfind(')');
  auto open = stat->find('(');
  if (close == std::string::npos || open == std::string::npos) return std::nullopt;
  ProcInfo p;
  p.comm = stat->substr(open + 1, close - open - 1);
  auto fields = split_ws(std::string_view(*stat).substr(close + 1));
  // fields[0] is the state (field 3), so field N is fields[N - 3].
  if (fields.size() < 20) return std::nullopt;
  p.ppid = parse_int(fields[1]).value_or(-1);
  p.start = std::string(fields[19]);
  return p;
}

}  // namespace

// The work of one hook call, with its state files loaded.
struct Tuner::Impl {
  HostIo& io;
  std::ostream& out;
  const TunerOptions& opt;
  std::string domain;  // for log lines
  json host;           // host.json

  Impl(HostIo& i, std::ostream& o, const TunerOptions& op) : io(i), out(o), opt(op) {
    boot = std::string(trim(io.read("/proc/sys/kernel/random/boot_id").value_or("")));
    host = load(kHostState);
    // Kept across a reboot (a /run that is not a tmpfs): the settings it
    // records are gone; acting on it would take from the new boot's pool.
    if (stale(host)) host = json::object();
  }

  std::string boot;  // this boot's id; records carry the id of the boot they describe
  bool stale(const json& j) const {
    return j.is_object() && j.contains("boot") && !boot.empty() && j.value("boot", "") != boot;
  }

  // --- logging -----------------------------------------------------------
  void log(const std::string& message) {
    std::string line = "vfioctl hook: " + (domain.empty() ? "" : domain + ": ") + message;
    out << line << "\n";
    out.flush();
    if (!domain.empty() && io.exists("/var/log/libvirt/qemu"))
      io.append("/var/log/libvirt/qemu/" + domain + ".log", now_iso() + " " + line);
  }

  void over_budget(const std::string& action, double took, double budget, const std::string& advice) {
    if (took > budget)
      log(fmt::format("{} took {:.1f} s, over its {:.0f} s budget{}", action, took, budget, advice.empty() ? "" : ": " + advice));
  }

  void checkpoint(const std::string& name) {
    if (opt.pause_at != name) return;
    out << "vfioctl hook: paused at " << name << " (pid " << ::getpid() << ")" << std::endl;
    for (;;) ::pause();
  }

  // --- state files -------------------------------------------------------
  json load(const std::string& path) {
    auto text = io.read(path);
    if (!text) return json::object();
    try {
      auto j = json::parse(*text);
      if (j.is_object()) return j;
    } catch (const json::exception&) {
    }
    log(fmt::format("{} is not valid JSON: starting from an empty record (the file is left as {}.bad)", path, path));
    io.save(path + ".bad", *text);
    return json::object();
  }

  void save_host() {
    bool empty = true;
    for (const char* k : {"holders", "isolate", "governor", "irq", "irq_default"})
      if (host.contains(k) && !host[k].empty()) empty = false;
    if (empty) {
      if (!m_saved.empty() || io.exists(kHostState)) io.remove(kHostState);
      m_saved.clear();
      return;
    }
    host["version"] = 1;
    if (!boot.empty()) host["boot"] = boot;
    json record = host;
    record.erase("updated");
    std::string text = record.dump();
    if (text == m_saved) return;  // nothing changed since the last write
    host["updated"] = now_iso();
    io.save(kHostState, host.dump(2) + "\n");
    m_saved = text;
  }
  std::string m_saved;

  std::vector<int> online() {
    auto text = io.read("/sys/devices/system/cpu/online");
    if (auto cpus = text ? parse_cpulist(*text) : std::nullopt; cpus && !cpus->empty()) return *cpus;
    throw Error(ExitCode::refused, "/sys/devices/system/cpu/online cannot be read: is /sys mounted?");
  }

  // Union of the holders' CPUs for one action.
  std::vector<int> held(const std::string& action) {
    std::set<int> u;
    json holders = host.value("holders", json::object());
    for (const auto& [dom, h] : holders.items()) {
      auto actions = h.value("actions", std::vector<std::string>{});
      if (std::find(actions.begin(), actions.end(), action) == actions.end()) continue;
      if (auto c = parse_cpulist(h.value("cpus", ""))) u.insert(c->begin(), c->end());
    }
    return {u.begin(), u.end()};
  }

  // --- hugepages ---------------------------------------------------------
  struct Pool {
    std::string dir;  // .../hugepages-2048kB
    bool node = false;
  };

  std::optional<long long> default_page_kib() {
    auto meminfo = io.read("/proc/meminfo");
    if (!meminfo) return std::nullopt;
    for (const auto& l : split(*meminfo, '\n')) {
      if (!starts_with(l, "Hugepagesize:")) continue;
      auto words = split_ws(l.substr(13));
      if (!words.empty()) return parse_int(words[0]);
    }
    return std::nullopt;
  }

  Pool pool_for(long long kib, std::optional<int> node) {
    std::string size = fmt::format("hugepages-{}kB", kib);
    int nodes = 0;
    for (const auto& n : io.list("/sys/devices/system/node").value_or(std::vector<std::string>{}))
      if (starts_with(n, "node") && parse_int(n.substr(4))) ++nodes;
    if (node && nodes > 1) {
      std::string dir = fmt::format("/sys/devices/system/node/node{}/hugepages/{}", *node, size);
      if (io.exists(dir)) return {dir, true};
    }
    return {"/sys/kernel/mm/hugepages/" + size, false};
  }

  long long available(const Pool& p) {
    long long free = read_int(io, p.dir + "/free_hugepages").value_or(0);
    long long resv = p.node ? 0 : read_int(io, p.dir + "/resv_hugepages").value_or(0);
    return std::max(0LL, free - resv);
  }

  void prepare(const DomainTune& d, json& st) {
    if (!d.hugepage_kib) {
      log("prepare: the guest's memory is not backed by hugepages: nothing to reserve");
      return;
    }
    long long kib = *d.hugepage_kib;
    if (kib == 0) {
      auto def = default_page_kib();
      if (!def) throw Error(ExitCode::refused, "prepare: /proc/meminfo has no Hugepagesize: this kernel has no hugepages");
      kib = *def;
    }
    Pool pool = pool_for(kib, d.node);
    std::string nr_path = pool.dir + "/nr_hugepages";
    auto before = read_int(io, nr_path);
    if (!before)
      throw Error(ExitCode::refused, fmt::format("prepare: {} cannot be read: the kernel has no {} pages{}", nr_path, page_name(kib),
                                                 kib >= 1024 * 1024 ? " (1 GiB pages need the CPU flag pdpe1gb)" : ""));
    long long need = (d.memory_kib + kib - 1) / kib;
    long long have = available(pool);
    std::string where = pool.node ? fmt::format(" on NUMA node {}", *d.node) : "";
    if (have >= need) {
      log(fmt::format("prepare: {} {} pages needed, {} free{}: the pool is large enough", need, page_name(kib), have, where));
      return;
    }
    long long short_by = need - have;
    if (kib >= 1024 * 1024)
      throw Error(ExitCode::refused,
                  fmt::format("prepare: the guest needs {} 1 GiB pages{}, {} are free, and 1 GiB pages can only be reserved at boot: "
                              "run 'vfioctl setup --hugepages-for SPEC --apply --regenerate' (or add hugepagesz=1G hugepages={} to the "
                              "kernel command line) and reboot",
                              need, where, have, *before + short_by));
    // Write-ahead: the pool as it was and the goal, before the kernel
    // changes anything; `added` follows once it is known.
    st["hugepages"] = {{"size_kib", kib}, {"node", pool.node ? json(*d.node) : json()}, {"pool", nr_path},
                       {"need", need},    {"before", *before}, {"target", *before + short_by},
                       {"added", nullptr}};
    io.save(state_path(d.name), st.dump(2) + "\n");

    double t0 = io.now();
    long long now_nr = *before;
    int attempts = 0;
    while (now_nr < *before + short_by) {
      if (attempts > 0 && io.now() - t0 > opt.budgets.hugepages) break;
      if (attempts == 2) break;
      ++attempts;
      // Compaction makes contiguous 2 MiB blocks out of fragmented free memory.
      if (io.exists("/proc/sys/vm/compact_memory")) {
        try {
          io.write("/proc/sys/vm/compact_memory", "1");
        } catch (const IoError& e) {
          log(fmt::format("prepare: compacting memory failed ({}); reserving anyway", e.what()));
        }
      }
      try {
        io.write(nr_path, std::to_string(*before + short_by));
      } catch (const IoError& e) {
        log(fmt::format("prepare: writing {} failed: {}", nr_path, e.what()));
      }
      now_nr = read_int(io, nr_path).value_or(*before);
    }
    checkpoint("hugepages");
    long long added = std::max(0LL, now_nr - *before);
    double took = io.now() - t0;
    if (now_nr < *before + short_by) {
      // Give back what did arrive: the guest will not start anyway.
      if (added > 0) {
        try {
          io.write(nr_path, std::to_string(*before));
        } catch (const IoError& e) {
          log(fmt::format("prepare: giving back {} pages failed: {}", added, e.what()));
          st["hugepages"]["added"] = added;
          io.save(state_path(d.name), st.dump(2) + "\n");
          throw;
        }
      }
      st.erase("hugepages");
      io.save(state_path(d.name), st.dump(2) + "\n");
      throw Error(ExitCode::refused,
                  fmt::format("prepare: the guest needs {} more {} pages{} but the kernel found only {} after compacting memory "
                              "(free memory is short or fragmented); the pool is back at {}. Free memory, or reserve the pages at boot: "
                              "'vfioctl setup --hugepages-for SPEC --apply --regenerate'",
                              short_by, page_name(kib), where, added, *before));
    }
    st["hugepages"]["added"] = added;
    io.save(state_path(d.name), st.dump(2) + "\n");
    log(fmt::format("prepare: reserved {} more {} pages{} (pool {} -> {}) in {:.2f} s", added, page_name(kib), where, *before,
                    now_nr, took));
    over_budget("prepare: the hugepage reservation", took, opt.budgets.hugepages,
                "reserve these pages at boot instead (vfioctl setup --hugepages-for SPEC)");
  }

  void give_back_pages(json& st) {
    if (!st.contains("hugepages")) return;
    auto& hp = st["hugepages"];
    std::string nr_path = hp.value("pool", "");
    auto now_nr = read_int(io, nr_path);
    if (!now_nr) {
      log(fmt::format("release: {} cannot be read: the pages added for this guest stay reserved", nr_path));
      return;
    }
    long long added;
    if (hp["added"].is_number()) {
      added = hp["added"].get<long long>();
    } else {
      // The hook stopped between its write and its record: what the pool
      // gained, but never more than it asked for.
      long long before = hp.value("before", 0LL), target = hp.value("target", 0LL);
      added = std::clamp(*now_nr - before, 0LL, std::max(0LL, target - before));
    }
    if (added <= 0) {
      st.erase("hugepages");
      return;
    }
    long long want = std::max(0LL, *now_nr - added);
    try {
      io.write(nr_path, std::to_string(want));
    } catch (const IoError& e) {
      log(fmt::format("release: giving back {} pages failed: {}", added, e.what()));
      throw Error(ExitCode::refused, fmt::format("release: {}", e.what()));
    }
    auto after = read_int(io, nr_path).value_or(want);
    log(fmt::format("release: gave back {} {} pages (pool {} -> {}{})", added,
                    page_name(hp.value("size_kib", 0LL)), *now_nr, after,
                    after > want ? fmt::format("; {} are still in use and leave as they are freed", after - want) : ""));
    st.erase("hugepages");
  }

  // --- isolation -----------------------------------------------------------
  bool exempt(const ProcInfo& p, const std::string& pid) {
    if (pid == "2" || p.ppid == 2) return true;                           // kernel threads
    if (opt.self > 0 && pid == std::to_string(opt.self)) return true;     // this hook
    // libvirt places guests relative to its own cgroup, and cpuset children
    // must stay inside their parent: its daemons stay where they are. QEMU
    // processes keep their own pinning.
    static const std::set<std::string> daemons = {"libvirtd", "virtqemud", "virtlogd", "virtlockd", "virtproxyd"};
    return daemons.count(p.comm) > 0 || starts_with(p.comm, "qemu-system") || starts_with(p.comm, "qemu-kvm");
  }

  std::string detect_mechanism() {
    if (io.exists("/run/systemd/system")) return "systemd";
    if (auto c = io.read("/sys/fs/cgroup/cgroup.controllers")) {
      auto words = split_ws(*c);
      if (std::find(words.begin(), words.end(), "cpuset") != words.end()) return "cgroup-v2";
    }
    if (io.exists("/sys/fs/cgroup/cpuset/cpuset.cpus")) return "cgroup-v1";
    return "";
  }

  static const std::vector<std::string>& systemd_units() {
    static const std::vector<std::string> units = {"system.slice", "user.slice", "init.scope"};
    return units;
  }

  // Moves the parent cgroup's processes (except the exempt ones) into ours.
  void sweep(json& iso, const std::vector<int>& all) {
    std::string parent = iso.value("parent", ""), ours = iso.value("cgroup", "");
    auto procs = io.read(parent + "/cgroup.procs");
    if (!procs) return;
    std::vector<std::pair<std::string, ProcInfo>> movers;
    for (const auto& w : split_ws(*procs)) {
      std::string pid(w);
      auto p = proc_info(io, pid);
      if (!p || exempt(*p, pid)) continue;
      // A process with its own narrower affinity gets it back on release.
      if (auto cpus = io.affinity(static_cast<pid_t>(std::stol(pid))); cpus && *cpus != all)
        iso["affinity"][pid] = {{"start", p->start}, {"cpus", format_cpulist(*cpus)}};
      movers.emplace_back(pid, *p);
    }
    if (!iso.value("affinity", json::object()).empty()) save_host();
    int moved = 0, failed = 0;
    for (const auto& [pid, p] : movers) {
      try {
        io.write(ours + "/cgroup.procs", pid);
        ++moved;
      } catch (const IoError&) {
        ++failed;  // exited meanwhile, or a task the kernel keeps (EINVAL)
      }
    }
    iso["moved"] = iso.value("moved", 0) + moved;
    if (moved + failed > 0)
      log(fmt::format("started: moved {} host processes into {}{}", moved, ours,
                      failed ? fmt::format(" ({} could not move: exited or pinned by the kernel)", failed) : ""));
  }

  void apply_isolate(const std::vector<int>& guest) {
    auto all = online();
    json& iso = host["isolate"];
    if (guest.empty()) {
      if (!iso.is_null() && !iso.empty()) restore_isolate(iso);
      host.erase("isolate");
      save_host();
      return;
    }
    auto rest = minus(all, guest);
    if (rest.empty()) {
      log(fmt::format("started: the guests' CPUs {} are all of the host's CPUs: host processes are left where they are",
                      format_cpulist(guest)));
      if (iso.is_null()) host.erase("isolate");
      return;
    }
    std::string cpus = format_cpulist(rest);
    if (iso.is_null() || iso.empty()) {
      std::string mech = detect_mechanism();
      if (mech.empty()) {
        host.erase("isolate");
        log("started: no cpuset controller (no systemd, cgroup v2 without cpuset, no /sys/fs/cgroup/cpuset): host processes "
            "are not confined");
        return;
      }
      iso = {{"mechanism", mech}};
      if (mech == "systemd") {
        for (const auto& u : systemd_units()) {
          auto r = io.run({"systemctl", "show", "--property=AllowedCPUs", "--value", u});
          iso["units"][u] = r.exit_code == 0 ? std::string(trim(r.output)) : "";
        }
      } else {
        std::string parent = mech == "cgroup-v2" ? "/sys/fs/cgroup" : "/sys/fs/cgroup/cpuset";
        iso["parent"] = parent;
        iso["cgroup"] = parent + "/" + kHostCgroup;
        iso["created"] = false;
        if (mech == "cgroup-v2") {
          auto sub = io.read(parent + "/cgroup.subtree_control").value_or("");
          auto words = split_ws(sub);
          iso["enabled_cpuset"] = std::find(words.begin(), words.end(), "cpuset") == words.end();
        }
      }
      save_host();  // write-ahead: what to undo, before anything changes
    }
    std::string mech = iso.value("mechanism", "");
    if (mech == "systemd") {
      for (const auto& u : systemd_units()) {
        auto r = io.run({"systemctl", "set-property", "--runtime", u, "AllowedCPUs=" + cpus});
        if (r.exit_code != 0) log(fmt::format("started: systemctl set-property {} AllowedCPUs={} failed: {}", u, cpus, trim(r.output)));
      }
      log(fmt::format("started: systemd slices {} confined to CPUs {}", join(systemd_units(), ", "), cpus));
      return;
    }
    std::string parent = iso.value("parent", ""), ours = iso.value("cgroup", "");
    try {
      if (!iso.value("created", false)) {
        if (iso.value("enabled_cpuset", false)) io.write(parent + "/cgroup.subtree_control", "+cpuset");
        if (!io.exists(ours)) io.mkdir(ours);
        iso["created"] = true;
        save_host();
        if (mech == "cgroup-v1") {
          std::string mems(trim(io.read(parent + "/cpuset.mems").value_or("0")));
          io.write(ours + "/cpuset.mems", mems);
        }
      }
      io.write(ours + "/cpuset.cpus", cpus);
    } catch (const IoError& e) {
      log(fmt::format("started: cannot set up {}: {}; host processes are not confined", ours, e.what()));
      return;
    }
    sweep(iso, all);
    save_host();
    checkpoint("isolate");
    log(fmt::format("started: host processes ({}) confined to CPUs {}", ours, cpus));
  }

  void restore_isolate(json& iso) {
    std::string mech = iso.value("mechanism", "");
    if (mech == "systemd") {
      json units = iso.value("units", json::object());
      for (const auto& [u, v] : units.items()) {
        auto r = io.run({"systemctl", "set-property", "--runtime", u, "AllowedCPUs=" + v.get<std::string>()});
        if (r.exit_code != 0) log(fmt::format("release: systemctl set-property {} failed: {}", u, trim(r.output)));
      }
      log("release: systemd slices have their CPUs back");
      return;
    }
    std::string parent = iso.value("parent", ""), ours = iso.value("cgroup", "");
    if (io.exists(ours)) {
      int moved = 0;
      // Processes may fork while they move: a few passes, then rmdir.
      for (int pass = 0; pass < 3; ++pass) {
        auto procs = io.read(ours + "/cgroup.procs").value_or("");
        auto pids = split_ws(procs);
        if (pids.empty()) break;
        for (const auto& w : pids) {
          try {
            io.write(parent + "/cgroup.procs", std::string(w));
            ++moved;
          } catch (const IoError&) {
          }
        }
      }
      try {
        io.rmdir(ours);
      } catch (const IoError& e) {
        log(fmt::format("release: cannot remove {}: {}", ours, e.what()));
      }
      log(fmt::format("release: moved {} processes back from {}", moved, ours));
    }
    int restored = 0;
    json affinity = iso.value("affinity", json::object());
    for (const auto& [pid, a] : affinity.items()) {
      auto p = proc_info(io, pid);
      if (!p || p->start != a.value("start", "")) continue;  // gone, or the pid was reused
      auto cpus = parse_cpulist(a.value("cpus", ""));
      if (!cpus) continue;
      try {
        io.set_affinity(static_cast<pid_t>(std::stol(pid)), *cpus);
        ++restored;
      } catch (const IoError&) {
      }
    }
    if (restored) log(fmt::format("release: restored the CPU affinity of {} processes", restored));
    if (mech == "cgroup-v2" && iso.value("enabled_cpuset", false)) {
      try {
        io.write(parent + "/cgroup.subtree_control", "-cpuset");
      } catch (const IoError&) {
        // another cgroup uses cpuset now: it stays enabled
      }
    }
  }

  // --- governor ------------------------------------------------------------
  void apply_governor(const std::vector<int>& guest) {
    json& gov = host["governor"];
    if (gov.is_null()) gov = json::object();
    // CPUs no longer held get their governor back.
    for (auto it = gov.begin(); it != gov.end();) {
      int cpu = std::stoi(it.key());
      if (std::find(guest.begin(), guest.end(), cpu) != guest.end()) {
        ++it;
        continue;
      }
      std::string path = fmt::format("/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor", cpu);
      try {
        io.write(path, it.value().get<std::string>());
        log(fmt::format("release: CPU {} governor back to {}", cpu, it.value().get<std::string>()));
      } catch (const IoError& e) {
        log(fmt::format("release: {}", e.what()));
      }
      it = gov.erase(it);
    }
    std::vector<int> changed, missing;
    std::vector<std::pair<int, std::string>> todo;
    for (int cpu : guest) {
      if (gov.contains(std::to_string(cpu))) continue;
      std::string dir = fmt::format("/sys/devices/system/cpu/cpu{}/cpufreq", cpu);
      auto cur = io.read(dir + "/scaling_governor");
      if (!cur) {
        missing.push_back(cpu);
        continue;
      }
      std::string c(trim(*cur));
      if (c == "performance") continue;
      std::string avail_text = io.read(dir + "/scaling_available_governors").value_or("performance");
      auto avail = split_ws(avail_text);
      if (std::find(avail.begin(), avail.end(), "performance") == avail.end()) {
        log(fmt::format("started: CPU {} has no performance governor (it has {}): left at {}", cpu, join(std::vector<std::string>(avail.begin(), avail.end()), ", "), c));
        continue;
      }
      gov[std::to_string(cpu)] = c;
      todo.emplace_back(cpu, dir + "/scaling_governor");
    }
    save_host();
    for (const auto& [cpu, path] : todo) {
      try {
        io.write(path, "performance");
        changed.push_back(cpu);
      } catch (const IoError& e) {
        log(fmt::format("started: {}", e.what()));
        gov.erase(std::to_string(cpu));
      }
    }
    if (gov.empty()) host.erase("governor");
    save_host();
    if (!changed.empty()) log(fmt::format("started: performance governor on CPUs {}", format_cpulist(changed)));
    if (!missing.empty())
      log(fmt::format("started: CPUs {} have no cpufreq driver (a VM, or frequency fixed by firmware): governor left alone",
                      format_cpulist(missing)));
  }

  // --- IRQ affinity --------------------------------------------------------
  void apply_irq(const std::vector<int>& guest) {
    json& irq = host["irq"];
    if (irq.is_null()) irq = json::object();
    auto all = online();
    auto rest = minus(all, guest);
    if (!guest.empty() && rest.empty()) {
      log("started: the guests hold every CPU: IRQ affinity left alone");
      return;
    }
    struct Change {
      std::string irq, path, want;
      bool fresh;  // its original was recorded by this call
    };
    std::vector<Change> todo;
    for (const auto& name : io.list("/proc/irq").value_or(std::vector<std::string>{})) {
      if (!parse_int(name)) continue;
      std::string path = "/proc/irq/" + name + "/smp_affinity_list";
      auto cur_text = io.read(path);
      if (!cur_text) continue;
      std::string cur(trim(*cur_text));
      std::string orig = irq.contains(name) ? irq[name].get<std::string>() : cur;
      std::string want = orig;
      if (!guest.empty()) {
        auto o = parse_cpulist(orig);
        if (!o) continue;
        auto w = minus(*o, guest);
        want = format_cpulist(w.empty() ? rest : w);
      }
      if (want == cur) {
        if (guest.empty()) irq.erase(name);
        continue;
      }
      bool fresh = !irq.contains(name);
      if (fresh) irq[name] = orig;
      todo.push_back({name, path, want, fresh});
    }
    std::string def_path = "/proc/irq/default_smp_affinity";
    std::optional<std::string> def_want;
    if (auto cur = io.read(def_path)) {
      std::string c(trim(*cur));
      if (!host.contains("irq_default")) host["irq_default"] = c;
      std::string orig = host["irq_default"].get<std::string>();
      if (guest.empty()) {
        if (c != orig) def_want = orig;
      } else if (auto o = parse_cpumask(orig)) {
        auto w = minus(*o, guest);
        def_want = format_cpumask(w.empty() ? rest : w);
        if (parse_cpumask(c) == parse_cpumask(*def_want)) def_want.reset();
      }
    }
    save_host();  // originals first
    int changed = 0, refused = 0;
    for (const auto& c : todo) {
      try {
        io.write(c.path, c.want);
        ++changed;
        if (guest.empty()) irq.erase(c.irq);
      } catch (const IoError&) {
        // Managed IRQs (per-queue interrupts of NVMe and the like) refuse
        // user affinity: the kernel spreads them itself.
        ++refused;
        if (c.fresh) irq.erase(c.irq);
      }
    }
    if (def_want) {
      try {
        io.write(def_path, *def_want);
      } catch (const IoError& e) {
        log(fmt::format("{}", e.what()));
      }
    }
    if (guest.empty()) {
      irq = json::object();
      host.erase("irq_default");
    }
    if (irq.empty()) host.erase("irq");
    save_host();
    if (changed || refused)
      log(fmt::format("{}: {} {} IRQs{}", guest.empty() ? "release" : "started", guest.empty() ? "restored the affinity of" : "moved",
                      changed, guest.empty() ? "" : fmt::format(" to CPUs {}", format_cpulist(rest))) +
          (refused ? fmt::format(" ({} kept by the kernel)", refused) : ""));
  }

  // --- shared settings -------------------------------------------------------
  void reconcile() {
    double t0 = io.now();
    apply_isolate(held("isolate"));
    over_budget("CPU isolation", io.now() - t0, opt.budgets.isolate, "");
    t0 = io.now();
    apply_governor(held("governor"));
    over_budget("the governor change", io.now() - t0, opt.budgets.governor, "");
    t0 = io.now();
    apply_irq(held("irq"));
    over_budget("the IRQ affinity change", io.now() - t0, opt.budgets.irq, "");
    save_host();
  }

  bool running(const std::string& dom) {
    auto pid = io.read("/run/libvirt/qemu/" + dom + ".pid");
    if (!pid) return false;
    auto p = parse_int(*pid);
    return p && io.exists("/proc/" + std::to_string(*p) + "/stat");
  }
};

Tuner::Tuner(HostIo& io, std::ostream& log, TunerOptions options) : m_io(io), m_log(log), m_opt(std::move(options)) {}

int Tuner::run(const std::string& operation, const std::string& sub_operation, const DomainTune& d) {
  (void)sub_operation;
  if (!d.opted_in || d.actions.empty()) return 0;
  try {
    if (operation == "prepare") prepare(d);
    else if (operation == "started") started(d);
    else if (operation == "release") release(d.name);
    return 0;
  } catch (const Error& e) {
    m_log << "vfioctl hook: " << d.name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // A host file that cannot be written: before the guest starts, it must
    // not start half-prepared; afterwards the guest runs untuned (the
    // record says what was done) and `hook recover` can finish the work.
    m_log << "vfioctl hook: " << d.name << ": " << operation << ": " << e.what() << "\n";
    return operation == "prepare" ? 1 : 0;
  }
}

void Tuner::prepare(const DomainTune& d) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.domain = d.name;
  // State left by a run that never reached release (a crash) goes first.
  if (m_io.exists(state_path(d.name))) {
    impl.log("prepare: state of an earlier run that was never released: releasing it first");
    lock.reset();
    release(d.name);
    lock = m_io.lock();
    impl.host = impl.load(kHostState);
  }
  json st = {{"version", 1}, {"domain", d.name}, {"uuid", d.uuid}, {"actions", d.actions}, {"phase", "prepared"},
             {"updated", now_iso()}, {"boot", impl.boot}};
  m_io.save(state_path(d.name), st.dump(2) + "\n");
  if (d.wants("hugepages")) impl.prepare(d, st);
}

void Tuner::started(const DomainTune& d) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.domain = d.name;
  json st = impl.load(state_path(d.name));
  if (st.empty() || impl.stale(st)) st = {{"version", 1}, {"domain", d.name}, {"uuid", d.uuid}, {"actions", d.actions}};
  st["boot"] = impl.boot;
  st["phase"] = "started";
  st["updated"] = now_iso();
  std::vector<std::string> shared;
  for (const auto& a : d.actions)
    if (a != "hugepages") shared.push_back(a);
  if (shared.empty()) {
    m_io.save(state_path(d.name), st.dump(2) + "\n");
    return;
  }
  if (d.vcpu_cpus.empty()) {
    m_io.save(state_path(d.name), st.dump(2) + "\n");
    impl.log("started: the vCPUs are not pinned (<cputune><vcpupin>): no CPUs to isolate, governor and IRQs left alone");
    return;
  }
  std::string cpus = format_cpulist(d.vcpu_cpus);
  st["cpus"] = cpus;
  m_io.save(state_path(d.name), st.dump(2) + "\n");
  impl.host["holders"][d.name] = {{"cpus", cpus}, {"actions", shared}};
  impl.save_host();
  impl.reconcile();
}

void Tuner::release(const std::string& domain) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.domain = domain;
  json st = impl.load(state_path(domain));
  if (impl.stale(st)) {
    impl.log("release: the record is from before a reboot, whose settings are gone: dropped without touching the host");
    m_io.remove(state_path(domain));
    st = json::object();
  }
  bool held = impl.host.contains("holders") && impl.host["holders"].contains(domain);
  if (st.empty() && !held) return;
  impl.give_back_pages(st);
  if (st.contains("hugepages")) {
    m_io.save(state_path(domain), st.dump(2) + "\n");
    throw Error(ExitCode::refused, "release: the hugepages could not be given back; 'vfioctl hook recover' tries again");
  }
  if (held) {
    impl.host["holders"].erase(domain);
    impl.save_host();
  }
  impl.reconcile();
  m_io.remove(state_path(domain));
}

std::vector<StateSummary> Tuner::states() {
  Impl impl(m_io, m_log, m_opt);
  std::vector<StateSummary> r;
  for (const auto& f : m_io.list(kStateDir).value_or(std::vector<std::string>{})) {
    if (!ends_with(f, ".json") || f == "host.json") continue;
    std::string dom = f.substr(0, f.size() - 5);
    json st = impl.load(state_path(dom));
    if (impl.stale(st)) continue;  // from before a reboot: recover drops it
    StateSummary s;
    s.domain = st.value("domain", dom);
    s.phase = st.value("phase", "");
    s.running = impl.running(dom);
    s.cpus = st.value("cpus", "");
    s.actions = st.value("actions", std::vector<std::string>{});
    if (st.contains("hugepages")) {
      s.hugepage_kib = st["hugepages"].value("size_kib", 0LL);
      s.pages_added = st["hugepages"]["added"].is_number() ? st["hugepages"]["added"].get<long long>() : -1;
      s.pool = st["hugepages"].value("pool", "");
    }
    r.push_back(s);
  }
  return r;
}

std::vector<std::string> Tuner::stale_domains() {
  Impl impl(m_io, m_log, m_opt);
  std::set<std::string> doms;
  for (const auto& s : states())
    if (!s.running) doms.insert(s.domain);
  json holders = impl.host.value("holders", json::object());
  for (const auto& [dom, h] : holders.items())
    if (!impl.running(dom)) doms.insert(dom);
  return {doms.begin(), doms.end()};
}

std::vector<std::string> Tuner::recover(const std::vector<std::string>& domains) {
  {
    auto lock = m_io.lock();
    Impl impl(m_io, m_log, m_opt);
    for (const auto& f : m_io.list(kStateDir).value_or(std::vector<std::string>{})) {
      if (!ends_with(f, ".json") || f == "host.json") continue;
      std::string path = std::string(kStateDir) + "/" + f;
      if (impl.stale(impl.load(path))) {
        m_log << "vfioctl hook: " << path << " is from before a reboot: dropped\n";
        m_io.remove(path);
      }
    }
  }
  std::vector<std::string> done;
  for (const auto& d : domains) {
    release(d);
    done.push_back(d);
  }
  // Shared settings whose holders are all gone (or a crash in the middle
  // of a restore) come back to their originals here.
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.reconcile();
  return done;
}

std::string Tuner::host_state_json() {
  auto text = m_io.read(kHostState);
  if (!text) return "";
  try {
    return json::parse(*text).dump(2) + "\n";
  } catch (const json::exception&) {
    return "";  // unreadable: the next hook call sets it aside as host.json.bad
  }
}

}  // namespace vfioctl::runtime
