// The tuner's CPU work: host processes off the guests' CPUs (systemd,
// cgroup v2 or v1 cpuset), the performance governor, IRQ affinity.
#include "vfioctl/runtime/tuner_impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {

using nlohmann::json;
using tuner_detail::minus;
using tuner_detail::proc_info;
using tuner_detail::ProcInfo;
using tuner_detail::read_int;
using tuner_detail::state_path;

bool Tuner::Impl::exempt(const ProcInfo& p, const std::string& pid) {
  if (pid == "2" || p.ppid == 2) return true;                        // kernel threads
  if (opt.self > 0 && pid == std::to_string(opt.self)) return true;  // this hook
  // libvirt places guests relative to its own cgroup, and cpuset children
  // must stay inside their parent: its daemons stay where they are. QEMU
  // processes keep their own pinning.
  static const std::set<std::string> daemons = {"libvirtd", "virtqemud", "virtlogd", "virtlockd", "virtproxyd"};
  return daemons.count(p.comm) > 0 || starts_with(p.comm, "qemu-system") || starts_with(p.comm, "qemu-kvm");
}

std::string Tuner::Impl::detect_mechanism() {
  if (io.exists("/run/systemd/system")) return "systemd";
  if (auto c = io.read("/sys/fs/cgroup/cgroup.controllers")) {
    auto words = split_ws(*c);
    if (std::find(words.begin(), words.end(), "cpuset") != words.end()) return "cgroup-v2";
  }
  if (io.exists("/sys/fs/cgroup/cpuset/cpuset.cpus")) return "cgroup-v1";
  return "";
}

const std::vector<std::string>& Tuner::Impl::systemd_units() {
  static const std::vector<std::string> units = {"system.slice", "user.slice", "init.scope"};
  return units;
}

// Moves the parent cgroup's processes (except the exempt ones) into ours.
// A process may fork between the read of the list and its move (the child
// starts beside it in the parent): the list is read again while a pass
// still moves something, a few passes at most.
void Tuner::Impl::sweep(json& iso, const std::vector<int>& all) {
  std::string parent = iso.value("parent", ""), ours = iso.value("cgroup", "");
  int moved = 0, failed = 0;
  std::set<std::string> tried;
  for (int pass = 0; pass < 5; ++pass) {
    auto procs = io.read(parent + "/cgroup.procs");
    if (!procs) return;
    std::vector<std::pair<std::string, ProcInfo>> movers;
    for (const auto& w : split_ws(*procs)) {
      std::string pid(w);
      if (!tried.insert(pid).second) continue;  // tried already: exempt, or refused by the kernel
      auto p = proc_info(io, pid);
      if (!p || exempt(*p, pid)) continue;
      // A process with its own narrower affinity gets it back on release.
      if (auto cpus = io.affinity(static_cast<pid_t>(std::stol(pid))); cpus && *cpus != all)
        iso["affinity"][pid] = {{"start", p->start}, {"cpus", format_cpulist(*cpus)}};
      movers.emplace_back(pid, *p);
    }
    if (movers.empty()) break;
    if (!iso.value("affinity", json::object()).empty()) save_host();
    for (const auto& [pid, p] : movers) {
      try {
        io.write(ours + "/cgroup.procs", pid);
        ++moved;
      } catch (const IoError&) {
        ++failed;  // exited meanwhile, or a task the kernel keeps (EINVAL)
      }
    }
  }
  iso["moved"] = iso.value("moved", 0) + moved;
  if (moved + failed > 0)
    log(fmt::format("started: moved {} host processes into {}{}", moved, ours,
                    failed ? fmt::format(" ({} could not move: exited or pinned by the kernel)", failed) : ""));
}

void Tuner::Impl::apply_isolate(const std::vector<int>& guest) {
  auto all = online();
  json& iso = host["isolate"];
  if (guest.empty()) {
    if (!iso.is_null() && !iso.empty() && !restore_isolate(iso)) {
      save_host();  // the cgroup stays recorded for `hook recover`
      return;
    }
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
      log("started: no cpuset controller (no systemd, cgroup v2 without cpuset, no /sys/fs/cgroup/cpuset): host "
          "processes "
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
      if (r.exit_code != 0)
        log(fmt::format("started: systemctl set-property {} AllowedCPUs={} failed: {}", u, cpus, trim(r.output)));
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
  iso.erase("leftover");
  save_host();
  checkpoint("isolate");
  log(fmt::format("started: host processes ({}) confined to CPUs {}", ours, cpus));
}

// Moves every process of `cgroup` to `parent` and removes it. Processes
// fork while they move (a child starts in its parent's cgroup), so the
// moves repeat until rmdir succeeds or the budget is spent.
bool Tuner::Impl::drain(const std::string& cgroup, const std::string& parent, double budget, std::string* why,
                        int* moved, int* passes) {
  const double t0 = io.now();
  for (;;) {
    ++*passes;
    const std::string procs = io.read(cgroup + "/cgroup.procs").value_or("");
    for (const auto& w : split_ws(procs)) {
      try {
        io.write(parent + "/cgroup.procs", std::string(w));
        ++*moved;
      } catch (const IoError&) {
        // exited meanwhile
      }
    }
    try {
      io.rmdir(cgroup);
      return true;
    } catch (const IoError& e) {
      if (e.err() == ENOENT) return true;
      *why = std::strerror(e.err());
    }
    if (io.now() - t0 >= budget) return false;
    io.sleep(0.002 * std::min(*passes, 25));  // 2 ms, growing to 50 ms
  }
}

// Moves every process in our cgroup back to its parent and removes it.
// Returns false when the cgroup stays: it then gets every CPU, so nothing
// in it is confined, and the record keeps it for `hook recover`.
bool Tuner::Impl::empty_cgroup(json& iso) {
  std::string parent = iso.value("parent", ""), ours = iso.value("cgroup", "");
  if (!io.exists(ours)) return true;
  const double t0 = io.now();
  int moved = 0, passes = 0;
  std::string why;
  if (drain(ours, parent, opt.budgets.empty_cgroup, &why, &moved, &passes)) {
    log(fmt::format("release: moved {} processes back from {} and removed it{}", moved, ours,
                    passes > 1 ? fmt::format(" ({} passes: processes forked as they moved)", passes) : ""));
    return true;
  }
  std::string all = format_cpulist(online());
  try {
    io.write(ours + "/cpuset.cpus", all);
  } catch (const IoError& e) {
    log(fmt::format("release: cannot give {} every CPU: {}", ours, e.what()));
  }
  iso["leftover"] = true;
  log(
      fmt::format("release: cannot remove {} ({}): processes kept forking into it for {:.1f} s over {} passes; it "
                  "now has every CPU ({}), so nothing in it is confined. 'vfioctl hook recover --apply' removes it",
                  ours, why, io.now() - t0, passes, all));
  return false;
}

// --- a guest's own cgroup (guests without libvirt) ------------------------

namespace {

// A systemd unit name for the guest: characters outside [A-Za-z0-9:_.] as
// \xHH, as systemd-escape writes them.
std::string scope_unit(const std::string& domain) {
  std::string r = "vfioctl-guest-";
  for (unsigned char c : domain) {
    if (std::isalnum(c) || c == ':' || c == '_' || c == '.')
      r += static_cast<char>(c);
    else
      r += fmt::format("\\x{:02x}", c);
  }
  return r + ".scope";
}

}  // namespace

void Tuner::Impl::place_cgroup(json& st, pid_t pid) {
  const std::string path = state_path(domain);
  std::string mech = detect_mechanism();
  if (mech.empty()) {
    log("no cpuset controller: QEMU is not confined with the host processes anyway; it stays where it starts");
    return;
  }
  if (mech == "systemd") {
    std::string unit = scope_unit(domain);
    st["cgroup"] = {{"mechanism", mech}, {"unit", unit}};
    io.save(path, st.dump(2) + "\n");
    // A transient scope adopting a running process, as machined does for
    // libvirt: what `systemd-run --scope` does for a new one.
    auto r = io.run({"busctl", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                     "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))", unit, "fail", "2",
                     "PIDs", "au", "1", std::to_string(pid), "Slice", "s", "machine.slice", "0"});
    if (r.exit_code != 0)
      throw Error(ExitCode::refused,
                  fmt::format("cannot start the scope {} for process {}: {}; QEMU would be confined with the host "
                              "processes",
                              unit, pid, trim(r.output)));
    log(fmt::format("process {} (and what it starts) runs in {} (machine.slice), outside the host confinement", pid,
                    unit));
    return;
  }
  std::string parent = mech == "cgroup-v2" ? "/sys/fs/cgroup" : "/sys/fs/cgroup/cpuset";
  std::string ours = parent + "/vfioctl.guest." + domain;
  st["cgroup"] = {{"mechanism", mech}, {"path", ours}, {"parent", parent}};
  io.save(path, st.dump(2) + "\n");  // write-ahead: release removes it
  try {
    if (!io.exists(ours)) io.mkdir(ours);
    if (mech == "cgroup-v1") {
      io.write(ours + "/cpuset.mems", std::string(trim(io.read(parent + "/cpuset.mems").value_or("0"))));
      io.write(ours + "/cpuset.cpus", std::string(trim(io.read(parent + "/cpuset.cpus").value_or(""))));
    }
    io.write(ours + "/cgroup.procs", std::to_string(pid));
  } catch (const IoError& e) {
    throw Error(ExitCode::refused, fmt::format("cannot put process {} in {}: {}", pid, ours, e.what()));
  }
  log(fmt::format("process {} (and what it starts) runs in {}, outside the host confinement", pid, ours));
}

void Tuner::Impl::remove_guest_cgroup(json& st) {
  json cg = st.value("cgroup", json());
  if (!cg.is_object()) return;
  std::string mech = cg.value("mechanism", "");
  // A scope ends by itself once its processes have.
  if (mech == "systemd") return;
  std::string ours = cg.value("path", ""), parent = cg.value("parent", "");
  // Only what place() makes: a vfioctl.guest.* directory in a cpuset hierarchy.
  if (parent != "/sys/fs/cgroup" && parent != "/sys/fs/cgroup/cpuset") return;
  if (ours.rfind(parent + "/vfioctl.guest.", 0) != 0 || ours.find('/', parent.size() + 1) != std::string::npos) return;
  if (!io.exists(ours)) return;
  int moved = 0, passes = 0;
  std::string why;
  if (drain(ours, parent, opt.budgets.empty_cgroup, &why, &moved, &passes))
    log(fmt::format(
        "release: removed {}{}", ours,
        moved ? fmt::format(" ({} {} still in it moved to {})", moved, moved == 1 ? "process" : "processes", parent)
              : ""));
  else
    log(fmt::format("release: cannot remove {} ({}); remove it with rmdir once it is empty", ours, why));
}

bool Tuner::Impl::restore_isolate(json& iso) {
  std::string mech = iso.value("mechanism", "");
  if (mech == "systemd") {
    json units = iso.value("units", json::object());
    for (const auto& [u, v] : units.items()) {
      auto r = io.run({"systemctl", "set-property", "--runtime", u, "AllowedCPUs=" + v.get<std::string>()});
      if (r.exit_code != 0) log(fmt::format("release: systemctl set-property {} failed: {}", u, trim(r.output)));
    }
    log("release: systemd slices have their CPUs back");
    return true;
  }
  std::string parent = iso.value("parent", "");
  bool removed = empty_cgroup(iso);
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
  iso.erase("affinity");
  if (!removed) return false;
  if (mech == "cgroup-v2" && iso.value("enabled_cpuset", false)) {
    try {
      io.write(parent + "/cgroup.subtree_control", "-cpuset");
    } catch (const IoError&) {
      // another cgroup uses cpuset now: it stays enabled
    }
  }
  return true;
}

// --- governor ------------------------------------------------------------
void Tuner::Impl::apply_governor(const std::vector<int>& guest) {
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
      log(fmt::format("started: CPU {} has no performance governor (it has {}): left at {}", cpu,
                      join(std::vector<std::string>(avail.begin(), avail.end()), ", "), c));
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
    log(fmt::format(
        "started: CPUs {} have no cpufreq driver (a VM, or frequency fixed by firmware): governor left alone",
        format_cpulist(missing)));
}

// --- IRQ affinity --------------------------------------------------------
void Tuner::Impl::apply_irq(const std::vector<int>& guest) {
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
    log(fmt::format("{}: {} {} IRQs{}", guest.empty() ? "release" : "started",
                    guest.empty() ? "restored the affinity of" : "moved", changed,
                    guest.empty() ? "" : fmt::format(" to CPUs {}", format_cpulist(rest))) +
        (refused ? fmt::format(" ({} kept by the kernel)", refused) : ""));
}

}  // namespace vfioctl::runtime
