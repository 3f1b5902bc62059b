// Rules judged against the host's facts (--host): CPUs that exist, SMT
// siblings, the host's first core, IOMMU groups, device addresses; and where
// the vCPUs sit: guest SMT threads on E-cores, host siblings hidden from the
// guest, pins over more L3 domains or NUMA nodes than needed, pins outside
// the host's isolated CPUs.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/suggest.h"

namespace vfioctl::lint {

namespace {

PciAddress to_address(const PciLocation& l) {
  PciAddress a;
  a.domain = l.domain;
  a.bus = l.bus;
  a.device = l.slot;
  a.function = l.function;
  return a;
}

// Each host core as "a,b" for fixes, at most `limit` of them.
std::string cores_text(const Host& host, size_t limit) {
  std::vector<std::string> parts;
  auto cores = host.cpu.cores();
  for (size_t i = 0; i < cores.size() && i < limit; ++i) parts.push_back(cpus_text(cores[i]));
  if (cores.size() > limit) parts.push_back("...");
  return join(parts, " ");
}

const std::vector<int>* siblings_of(const Host& host, int cpu) {
  const Cpu* c = host.cpu.find(cpu);
  return c && !c->siblings.empty() ? &c->siblings : nullptr;
}

}  // namespace

// L101
void check_host_cpus_exist(const Domain& d, const Host* host, Emitter& out) {
  std::vector<int> online = host->cpu.online();
  if (online.empty()) return;  // the host's CPUs are unknown
  auto judge = [&](pugi::xml_node at, const std::string& what, const std::vector<int>& cpus) {
    std::vector<int> absent, offline;
    for (int c : cpus) {
      if (std::binary_search(online.begin(), online.end(), c)) continue;
      const Cpu* known = host->cpu.find(c);
      (known ? offline : absent).push_back(c);
    }
    if (absent.empty() && offline.empty()) return;
    std::vector<std::string> parts;
    if (!absent.empty()) {
      parts.push_back(fmt::format("host CPU{} {} {} not exist", absent.size() == 1 ? "" : "s", cpus_text(absent),
                                  absent.size() == 1 ? "does" : "do"));
    }
    if (!offline.empty()) {
      parts.push_back(fmt::format("host CPU{} {} {} offline", offline.size() == 1 ? "" : "s", cpus_text(offline),
                                  offline.size() == 1 ? "is" : "are"));
    }
    out.add(at, fmt::format("{}: {} (this host's online CPUs: {})", what, join(parts, "; "), cpus_text(online)),
            "pin to CPUs this host has ('vfioctl topo' shows its cores and siblings)");
  };
  if (auto set = parse_libvirt_cpuset(d.vcpu_node.attribute("cpuset").value()))
    judge(d.vcpu_node, "<vcpu cpuset>", *set);
  for (const auto& p : d.vcpupins) judge(p.node, fmt::format("vcpupin for vCPU {}", p.vcpu), p.cpus);
  if (d.emulatorpin) judge(d.emulatorpin->node, "emulatorpin", d.emulatorpin->cpus);
  for (const auto& t : d.iothreadpins) judge(t.node, fmt::format("iothreadpin for iothread {}", t.iothread), t.cpus);
}

// L102
void check_smt_siblings(const Domain& d, const Host* host, Emitter& out) {
  auto threads = declared_threads(d);
  if (!threads || *threads < 2 || host->cpu.cpus.empty()) return;
  int t = *threads;
  auto cores = guest_cores(d, t);
  std::vector<std::string> bad;
  pugi::xml_node first;
  for (const auto& c : cores) {
    if (on_efficiency_core(*host, c)) continue;  // L106
    const std::vector<int>* sib = siblings_of(*host, c.cpus.front());
    if (!sib) continue;
    bool together = std::all_of(c.cpus.begin(), c.cpus.end(),
                                [&](int cpu) { return std::find(sib->begin(), sib->end(), cpu) != sib->end(); });
    if (together) continue;
    if (!first) first = c.first;
    std::vector<std::string> vs, cs;
    for (int v : c.vcpus) vs.push_back(std::to_string(v));
    for (int cpu : c.cpus) cs.push_back(std::to_string(cpu));
    bad.push_back(fmt::format("vCPUs {} on {}", join(vs, ","), join(cs, ",")));
  }
  if (bad.empty() || !d.vcpus) return;
  size_t n = bad.size();
  if (n > 3) {
    bad.resize(3);
    bad.push_back("...");
  }
  int total = *d.vcpus / t;
  bool smt =
      std::any_of(host->cpu.cpus.begin(), host->cpu.cpus.end(), [](const Cpu& c) { return c.siblings.size() > 1; });
  std::string fix = smt ? fmt::format(
                              "pin the vCPUs of each guest core to the SMT siblings of one host core "
                              "(this host's cores: {}), or declare threads='1'",
                              cores_text(*host, 8))
                        : "this host has no SMT siblings: declare threads='1' and cores equal to the vCPU count";
  out.add(first,
          fmt::format("{} of {} guest cores (threads='{}') run on host CPUs that are not SMT siblings: {}", n, total, t,
                      join(bad, "; ")),
          fix);
}

// L103
void check_first_core(const Domain& d, const Host* host, Emitter& out) {
  std::vector<int> first_core = {0};
  if (const auto* sib = siblings_of(*host, 0)) first_core = *sib;
  std::vector<int> vcpus, cpus;
  pugi::xml_node at;
  for (const auto& p : d.vcpupins) {
    auto shared = intersect(p.cpus, first_core);
    if (shared.empty()) continue;
    if (!at) at = p.node;
    vcpus.push_back(p.vcpu);
    cpus.insert(cpus.end(), shared.begin(), shared.end());
  }
  if (vcpus.empty()) return;
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::sort(vcpus.begin(), vcpus.end());
  out.add(at,
          fmt::format("vCPU{} {} run{} on host CPU{} {}: the host's first core (CPU 0 and its siblings, {})",
                      vcpus.size() == 1 ? "" : "s", cpus_text(vcpus), vcpus.size() == 1 ? "s" : "",
                      cpus.size() == 1 ? "" : "s", cpus_text(cpus), cpus_text(first_core)),
          "pin the vCPUs to other cores and leave CPU 0's core to the host, the emulator and the iothreads");
}

// L104
void check_iommu_groups(const Domain& d, const Host* host, Emitter& out) {
  std::set<PciAddress> passed;
  for (const auto& h : d.pci_hostdevs) passed.insert(to_address(h.host));
  std::set<int> judged;
  auto held = [&](const PciAddress& a) {
    // A device blocks the group while a host driver holds it.
    const PciDevice* dev = host->device(a);
    if (passed.count(a)) return false;
    if (!dev) return false;
    return dev->driver && *dev->driver != "vfio-pci" && *dev->driver != "pci-stub";
  };
  auto describe = [&](const PciAddress& a) {
    const PciDevice* dev = host->device(a);
    return fmt::format("{} ({})", a.short_str(), dev && dev->driver ? *dev->driver : "no driver");
  };
  for (const auto& h : d.pci_hostdevs) {
    PciAddress addr = to_address(h.host);
    const PciDevice* dev = host->device(addr);
    if (!dev) continue;  // L105
    if (!dev->iommu_group) {
      if (!host->groups.empty() || judged.insert(-1).second) {
        out.add(h.node,
                fmt::format("host device {} is in no IOMMU group{}", addr.short_str(),
                            host->groups.empty() ? ": the IOMMU is off on this host" : ""),
                "turn the IOMMU on ('vfioctl doctor' names the firmware option and kernel argument)");
      }
      continue;
    }
    const IommuGroup* group = host->group(*dev->iommu_group);
    if (!group || !judged.insert(group->id).second) continue;
    std::vector<std::string> blockers;
    // Other functions of this device, then other devices (group_companions).
    for (const auto& a : group->devices) {
      if (a == addr || !a.same_slot(addr)) continue;
      const PciDevice* other = host->device(a);
      if (other && other->is_bridge()) continue;
      if (held(a)) blockers.push_back(describe(a));
    }
    for (const auto& a : group_companions(*host, *group, addr)) {
      if (a.same_slot(addr)) continue;
      if (held(a)) blockers.push_back(describe(a));
    }
    if (blockers.empty()) continue;
    out.add(h.node,
            fmt::format("IOMMU group {} of {} also holds {}, {} on a host driver and not passed: the guest cannot "
                        "start",
                        group->id, addr.short_str(), join(blockers, ", "),
                        blockers.size() == 1 ? "which stays" : "which stay"),
            fmt::format("pass {} to this guest too, or bind {} to vfio-pci (or unbind {}); 'vfioctl list' shows the "
                        "group",
                        blockers.size() == 1 ? "it" : "them", blockers.size() == 1 ? "it" : "them",
                        blockers.size() == 1 ? "it" : "them"));
  }
}

// L105
void check_hostdev_exists(const Domain& d, const Host* host, Emitter& out) {
  for (const auto& h : d.pci_hostdevs) {
    if (host->device(to_address(h.host))) continue;
    out.add(h.node, fmt::format("host device {} does not exist on this host", h.host.short_str()),
            "correct the <source> address ('vfioctl list' shows this host's devices), or remove the hostdev");
  }
}

// Where the vCPUs sit.

namespace {

// The host CPUs of every valid vCPU pin, sorted.
std::vector<int> pinned_cpus(const Domain& d) {
  std::set<int> all;
  for (const auto& p : d.vcpupins) {
    if (d.vcpus && p.vcpu >= *d.vcpus) continue;
    all.insert(p.cpus.begin(), p.cpus.end());
  }
  return {all.begin(), all.end()};
}

pugi::xml_node first_pin_on(const Domain& d, const std::vector<int>& cpus) {
  for (const auto& p : d.vcpupins) {
    if (!intersect(p.cpus, cpus).empty()) return p.node;
  }
  return d.cputune;
}

std::string list_of(const std::vector<std::string>& parts, size_t limit) {
  std::vector<std::string> shown(parts.begin(), parts.begin() + static_cast<long>(std::min(limit, parts.size())));
  if (parts.size() > limit) shown.push_back("...");
  return join(shown, "; ");
}

// How many of the largest groups it takes to hold `n` CPUs.
size_t groups_needed(std::vector<size_t> sizes, size_t n) {
  std::sort(sizes.rbegin(), sizes.rend());
  size_t held = 0, k = 0;
  while (k < sizes.size() && held < n) held += sizes[k++];
  return std::max<size_t>(k, 1);
}

}  // namespace

std::vector<GuestCore> guest_cores(const Domain& d, int threads) {
  std::map<int, const VcpuPin*> single;
  for (const auto& p : d.vcpupins) {
    if (p.cpus.size() == 1) single.emplace(p.vcpu, &p);
  }
  std::vector<GuestCore> out;
  if (!d.vcpus || threads < 1) return out;
  for (int base = 0; base + threads <= *d.vcpus; base += threads) {
    GuestCore c;
    for (int v = base; v < base + threads; ++v) {
      auto it = single.find(v);
      if (it == single.end()) break;
      c.vcpus.push_back(v);
      c.cpus.push_back(it->second->cpus.front());
      if (!c.first) c.first = it->second->node;
    }
    if (static_cast<int>(c.cpus.size()) == threads) out.push_back(std::move(c));
  }
  return out;
}

bool on_efficiency_core(const Host& host, const GuestCore& c) {
  return std::any_of(c.cpus.begin(), c.cpus.end(), [&](int cpu) {
    const Cpu* x = host.cpu.find(cpu);
    return x && x->kind == CoreKind::efficiency;
  });
}

std::optional<int> declared_threads(const Domain& d) {
  pugi::xml_node topo = d.root().child("cpu").child("topology");
  if (!topo) return 1;  // libvirt's default: one thread per core
  std::string_view text = topo.attribute("threads").value();
  if (text.empty()) return 1;
  auto t = parse_number(text);
  if (!t || *t == 0 || *t > 64) return std::nullopt;
  return static_cast<int>(*t);
}

// L106
void check_ecore_threads(const Domain& d, const Host* host, Emitter& out) {
  auto threads = declared_threads(d);
  if (!threads || *threads < 2 || !host->cpu.hybrid) return;
  auto cores = guest_cores(d, *threads);
  std::vector<std::string> bad;
  pugi::xml_node at;
  for (const auto& c : cores) {
    if (!on_efficiency_core(*host, c)) continue;
    if (!at) at = c.first;
    std::vector<std::string> kinds;
    for (int cpu : c.cpus) {
      const Cpu* x = host->cpu.find(cpu);
      kinds.push_back(std::to_string(cpu) + (x && x->kind == CoreKind::efficiency ? "E" : "P"));
    }
    bad.push_back(fmt::format("vCPUs {} on {}", cpus_text(c.vcpus), join(kinds, ",")));
  }
  if (bad.empty()) return;
  std::vector<std::string> pcores;
  for (const auto& core : host->cpu.cores()) {
    const Cpu* x = host->cpu.find(core.front());
    if (x && x->kind == CoreKind::performance && core.size() > 1) pcores.push_back(cpus_text(core));
  }
  std::string fix = fmt::format(
      "pin each guest core's {} vCPUs to the SMT siblings of one P-core{}, leave the E-cores "
      "to the host (or its emulator and iothreads), or declare threads='1'",
      *threads, pcores.empty() ? "" : " (" + list_of(pcores, 8) + ")");
  out.add(at,
          fmt::format("{} of {} guest cores (threads='{}') run on E-cores, which have no SMT siblings: {}", bad.size(),
                      cores.size(), *threads, list_of(bad, 3)),
          fix);
}

// L107
void check_hidden_siblings(const Domain& d, const Host* host, Emitter& out) {
  auto threads = declared_threads(d);
  if (!threads || *threads != 1 || !d.vcpus) return;
  // vCPUs pinned alone to each host core (keyed by its first sibling).
  std::map<int, std::map<int, int>> on_core;  // core -> host CPU -> vCPU
  pugi::xml_node at;
  for (const auto& c : guest_cores(d, 1)) {
    const Cpu* x = host->cpu.find(c.cpus.front());
    if (!x || x->siblings.size() < 2) continue;
    on_core[x->siblings.front()].emplace(c.cpus.front(), c.vcpus.front());
  }
  std::vector<std::string> pairs;
  bool consecutive = true;
  int paired = 0;
  for (const auto& [core, cpus] : on_core) {
    if (cpus.size() < 2) continue;
    std::vector<int> vcpus, hosts;
    for (const auto& [cpu, vcpu] : cpus) {
      hosts.push_back(cpu);
      vcpus.push_back(vcpu);
    }
    std::sort(vcpus.begin(), vcpus.end());
    if (vcpus.back() - vcpus.front() != static_cast<int>(vcpus.size()) - 1 || vcpus.front() % 2 != 0) {
      consecutive = false;
    }
    paired += static_cast<int>(vcpus.size());
    if (!at) at = first_pin_on(d, hosts);
    pairs.push_back(fmt::format("vCPUs {} on {}", cpus_text(vcpus), cpus_text(hosts)));
  }
  if (pairs.empty()) return;
  std::string fix =
      consecutive && paired == *d.vcpus && *d.vcpus % 2 == 0
          ? fmt::format(
                "declare <topology sockets='1' dies='1' cores='{}' threads='2'/> (each pair is already two "
                "consecutive vCPUs)",
                *d.vcpus / 2)
          : std::string(
                "pin the two siblings of each host core to consecutive vCPUs (0,1 2,3 ...) and declare "
                "threads='2', or pin each vCPU to a host core of its own");
  out.add(at,
          fmt::format("{} on the SMT siblings of one host core{}, but the guest topology (threads='1') presents "
                      "them as separate cores: {}",
                      pairs.size() == 1 ? "two vCPUs run" : fmt::format("{} pairs of vCPUs run", pairs.size()),
                      pairs.size() == 1 ? "" : " each", list_of(pairs, 3)),
          fix);
}

// L108
void check_span(const Domain& d, const Host* host, Emitter& out) {
  std::vector<int> cpus = pinned_cpus(d);
  if (cpus.empty()) return;
  struct Kind {
    const char* name;  // "L3 domain"
    std::function<std::optional<int>(const Cpu&)> of;
    std::map<int, size_t> sizes;  // group -> online CPUs
  };
  std::vector<Kind> kinds = {{"L3 domain", [](const Cpu& c) { return c.l3; }, {}},
                             {"NUMA node", [](const Cpu& c) { return c.node; }, {}}};
  for (const auto& l3 : host->cpu.l3) kinds[0].sizes[l3.index] = l3.cpus.size();
  for (const auto& n : host->cpu.nodes) {
    if (!n.cpus.empty()) kinds[1].sizes[n.id] = n.cpus.size();
  }
  for (auto& k : kinds) {
    if (k.sizes.size() < 2) continue;
    std::map<int, std::vector<int>> used;
    for (int c : cpus) {
      const Cpu* x = host->cpu.find(c);
      if (!x) continue;
      if (auto g = k.of(*x)) used[*g].push_back(c);
    }
    std::vector<size_t> sizes;
    for (const auto& [g, n] : k.sizes) sizes.push_back(n);
    size_t need = groups_needed(sizes, cpus.size());
    if (used.size() <= need) continue;
    std::vector<std::string> parts;
    for (const auto& [g, in] : used) parts.push_back(fmt::format("{} {}: {}", k.name, g, cpus_text(in)));
    out.add(first_pin_on(d, cpus),
            fmt::format("the vCPUs' {} host CPUs span {} {}s, where {} would hold them ({})", cpus.size(), used.size(),
                        k.name, need, list_of(parts, 4)),
            fmt::format("pin the vCPUs to whole cores of as few {}s as hold them ('vfioctl topo' lists them)", k.name));
  }
}

// L109
void check_isolation(const Domain& d, const Host* host, Emitter& out) {
  auto isolation = host_isolation(host->cpu, host->kernel);
  std::set<int> isolated(isolation.cpus.begin(), isolation.cpus.end());
  if (isolated.empty()) return;  // the host isolates nothing: doctor's H013 says so
  std::vector<int> outside, vcpus;
  for (const auto& p : d.vcpupins) {
    if (d.vcpus && p.vcpu >= *d.vcpus) continue;
    bool any = false;
    for (int c : p.cpus) {
      if (!isolated.count(c)) {
        outside.push_back(c);
        any = true;
      }
    }
    if (any) vcpus.push_back(p.vcpu);
  }
  if (outside.empty()) return;
  std::sort(outside.begin(), outside.end());
  outside.erase(std::unique(outside.begin(), outside.end()), outside.end());
  std::vector<int> iso(isolated.begin(), isolated.end());
  std::sort(vcpus.begin(), vcpus.end());
  vcpus.erase(std::unique(vcpus.begin(), vcpus.end()), vcpus.end());
  out.add(first_pin_on(d, outside),
          fmt::format("vCPU{} {} run{} on host CPU{} {}, which the host does not isolate ({})",
                      vcpus.size() == 1 ? "" : "s", cpus_text(vcpus), vcpus.size() == 1 ? "s" : "",
                      outside.size() == 1 ? "" : "s", cpus_text(outside), isolation.text()),
          fmt::format("pin the vCPUs to isolated CPUs ({}), or add their CPUs to isolcpus= and nohz_full=",
                      cpus_text(iso)));
}

// L111
void check_cpu_feature_names(const Domain& d, const Host* host, Emitter& out) {
  if (!host || !host->platform.libvirt_cpu_features) return;
  const auto& known = *host->platform.libvirt_cpu_features;
  for (pugi::xml_node f : d.root().child("cpu").children("feature")) {
    std::string name = f.attribute("name").value();
    if (name.empty() || known.count(name)) continue;
    // The closest known name, for a misspelling.
    Nearest near(name, Nearness{});
    for (const auto& k : known) near.offer(k);
    const std::string& close = near.best();
    out.add(f,
            fmt::format("CPU feature '{}' is not in this host's libvirt CPU map ({}): libvirt refuses the domain", name,
                        kLibvirtX86Features),
            close.empty() ? "remove the <feature>, or use a name from that file"
                          : fmt::format("name='{}' (or remove the <feature>)", close));
  }
}

}  // namespace vfioctl::lint
