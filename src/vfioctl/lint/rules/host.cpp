// Rules judged against the host's facts (--host): CPUs that exist, SMT
// siblings, the host's first core, IOMMU groups, device addresses.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/util/strings.h"

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

// The single host CPU a vCPU is pinned to, if it is pinned to exactly one.
std::map<int, const VcpuPin*> single_pins(const Domain& d) {
  std::map<int, const VcpuPin*> out;
  for (const auto& p : d.vcpupins) {
    if (p.cpus.size() == 1) out.emplace(p.vcpu, &p);
  }
  return out;
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
  if (auto set = parse_cpuset(d.vcpu_node.attribute("cpuset").value())) judge(d.vcpu_node, "<vcpu cpuset>", *set);
  for (const auto& p : d.vcpupins) judge(p.node, fmt::format("vcpupin for vCPU {}", p.vcpu), p.cpus);
  if (d.emulatorpin) judge(d.emulatorpin->node, "emulatorpin", d.emulatorpin->cpus);
  for (const auto& t : d.iothreadpins) judge(t.node, fmt::format("iothreadpin for iothread {}", t.iothread), t.cpus);
}

// L102
void check_smt_siblings(const Domain& d, const Host* host, Emitter& out) {
  pugi::xml_node topo = d.root().child("cpu").child("topology");
  auto threads = parse_number(topo.attribute("threads").value());
  if (!threads || *threads < 2 || !d.vcpus || host->cpu.cpus.empty()) return;
  int t = static_cast<int>(*threads);
  auto pins = single_pins(d);
  std::vector<std::string> bad;
  pugi::xml_node first;
  int cores = 0;
  for (int base = 0; base + t <= *d.vcpus; base += t) {
    ++cores;
    std::vector<int> vcpus, cpus;
    for (int v = base; v < base + t; ++v) {
      auto it = pins.find(v);
      if (it == pins.end()) break;
      vcpus.push_back(v);
      cpus.push_back(it->second->cpus.front());
    }
    if (static_cast<int>(cpus.size()) != t) continue;  // not pinned one to one: nothing to compare
    const std::vector<int>* sib = siblings_of(*host, cpus.front());
    if (!sib) continue;
    bool together = std::all_of(cpus.begin(), cpus.end(), [&](int c) {
      return std::find(sib->begin(), sib->end(), c) != sib->end();
    });
    if (together) continue;
    if (!first) first = pins[base]->node;
    std::vector<std::string> vs, cs;
    for (int v : vcpus) vs.push_back(std::to_string(v));
    for (int c : cpus) cs.push_back(std::to_string(c));
    bad.push_back(fmt::format("vCPUs {} on {}", join(vs, ","), join(cs, ",")));
  }
  if (bad.empty()) return;
  size_t n = bad.size();
  if (n > 3) {
    bad.resize(3);
    bad.push_back("...");
  }
  bool smt = std::any_of(host->cpu.cpus.begin(), host->cpu.cpus.end(), [](const Cpu& c) { return c.siblings.size() > 1; });
  std::string fix = smt ? fmt::format("pin the vCPUs of each guest core to the SMT siblings of one host core "
                                      "(this host's cores: {}), or declare threads='1'",
                                      cores_text(*host, 8))
                        : "this host has no SMT siblings: declare threads='1' and cores equal to the vCPU count";
  out.add(first,
          fmt::format("{} of {} guest cores (threads='{}') run on host CPUs that are not SMT siblings: {}", n, cores, t,
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
                        group->id, addr.short_str(), join(blockers, ", "), blockers.size() == 1 ? "which stays" : "which stay"),
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

}  // namespace vfioctl::lint
