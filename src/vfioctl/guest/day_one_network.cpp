// The guest's network (docs/design.md, "Day one of a guest"): libvirt's NAT
// network, a bridge, macvtap over an interface, or an SR-IOV virtual
// function, each checked against the host's interfaces.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::day_one {

namespace {

std::string interfaces_text(const GuestEnv& env) {
  std::vector<std::string> names;
  for (const auto& [n, f] : env.net) {
    names.push_back(n + (f.bridge ? " (bridge)" : f.wireless ? " (Wi-Fi)" : ""));
  }
  return names.empty() ? "this host has no network interface but lo" : "interfaces: " + join(names, ", ");
}

// A wired interface to suggest for macvtap, or "enp5s0".
std::string wired_example(const GuestEnv& env) {
  for (const auto& [n, f] : env.net) {
    if (!f.bridge && !f.wireless && f.pci) return n;
  }
  return "enp5s0";
}

void plan_nat(const GuestEnv& env, const NetworkSpec& net, GuestPlan& plan) {
  PlannedNet& pn = plan.net;
  pn.source = net.network;
  if (env.known && env.libvirt_config && !env.libvirt_networks.count(net.network)) {
    plan.warnings.push_back(
        fmt::format("{}: libvirt has no network '{}' on this host; {}", net.source_pos.str(), net.network,
                    net.network == "default"
                        ? "create it: virsh net-define /usr/share/libvirt/networks/default.xml && virsh net-autostart "
                          "default && virsh net-start default (it needs dnsmasq)"
                        : fmt::format("define it (virsh net-define FILE.xml), then virsh net-autostart {} && virsh "
                                      "net-start {}",
                                      net.network, net.network)));
  } else if (env.known && env.libvirt_networks.count(net.network) && !env.libvirt_autostart.count(net.network)) {
    plan.warnings.push_back(
        fmt::format("{}: libvirt's network '{}' does not start with libvirtd: virsh "
                    "net-autostart {} && virsh net-start {}",
                    net.source_pos.str(), net.network, net.network, net.network));
  }
}

void plan_bridge(const GuestEnv& env, const NetworkSpec& net, GuestPlan& plan) {
  PlannedNet& pn = plan.net;
  pn.source = net.bridge;
  if (!env.known) return;
  auto it = env.net.find(net.bridge);
  if (it == env.net.end() && unchecked(env, plan, net.source_pos, "bridge " + net.bridge, !env.net.empty())) return;
  if (it == env.net.end())
    fail_at(net.source_pos,
            fmt::format("bridge {} does not exist ({}); create it over a wired interface (NetworkManager: nmcli "
                        "connection add type bridge ifname {} ...), or use mode = \"nat\", or mode = "
                        "\"macvtap\" with dev = \"{}\"",
                        net.bridge, interfaces_text(env), net.bridge, wired_example(env)));
  const NetFact& f = it->second;
  if (!f.bridge)
    fail_at(net.source_pos, fmt::format("{} is an interface, not a bridge ({}); use mode = \"macvtap\" with dev "
                                        "= \"{}\", or make a bridge over it",
                                        net.bridge, interfaces_text(env), net.bridge));
  for (const auto& port : f.ports) {
    auto p = env.net.find(port);
    if (p != env.net.end() && p->second.wireless)
      fail_at(net.source_pos,
              fmt::format("bridge {} holds {}, a Wi-Fi interface: an access point takes frames only from the "
                          "address that joined it, so a guest behind a Wi-Fi bridge gets no network; use mode "
                          "= \"nat\"",
                          net.bridge, port));
  }
  if (f.ports.empty())
    plan.warnings.push_back(
        fmt::format("{}: bridge {} has no port yet: the guest reaches only the host until a "
                    "wired interface joins it",
                    net.source_pos.str(), net.bridge));
}

void plan_macvtap(const GuestEnv& env, const NetworkSpec& net, GuestPlan& plan) {
  PlannedNet& pn = plan.net;
  pn.source = net.dev;
  if (!env.known) return;
  auto it = env.net.find(net.dev);
  if (it == env.net.end() && unchecked(env, plan, net.source_pos, "network.dev " + net.dev, !env.net.empty())) return;
  if (it == env.net.end())
    fail_at(net.source_pos, fmt::format("network.dev {} does not exist ({})", net.dev, interfaces_text(env)));
  if (it->second.wireless)
    fail_at(net.source_pos, fmt::format("network.dev {} is Wi-Fi: macvtap gives the guest its own MAC address, "
                                        "which an access point drops; use mode = \"nat\"",
                                        net.dev));
  if (it->second.bridge)
    fail_at(net.source_pos,
            fmt::format("network.dev {} is a bridge: write bridge = \"{}\" instead of macvtap", net.dev, net.dev));
  plan.next_steps.push_back(
      fmt::format("with macvtap the guest and this host cannot reach each other over {} "
                  "(other machines can reach both)",
                  net.dev));
}

// A VF with a host interface is in use by the host; take one without.
const PciDevice* free_vf(const GuestEnv& env, const std::vector<const PciDevice*>& vfs) {
  for (const auto* vf : vfs) {
    bool host_uses = std::any_of(env.net.begin(), env.net.end(),
                                 [&](const auto& kv) { return kv.second.pci && *kv.second.pci == vf->address; });
    if (!host_uses) return vf;
  }
  return nullptr;
}

void plan_sriov(const Host& host, const GuestEnv& env, const NetworkSpec& net, GuestPlan& plan) {
  PlannedNet& pn = plan.net;
  pn.source = net.pf;
  if (!env.known) return;
  auto it = env.net.find(net.pf);
  if (it == env.net.end())
    fail_at(net.source_pos, fmt::format("network.pf {} does not exist ({})", net.pf, interfaces_text(env)));
  if (!it->second.pci) fail_at(net.source_pos, fmt::format("network.pf {} is not a PCI network card", net.pf));
  const PciDevice* pf = host.device(*it->second.pci);
  std::vector<const PciDevice*> vfs;
  for (const auto& d : host.pci) {
    if (d.physfn && *d.physfn == *it->second.pci) vfs.push_back(&d);
  }
  int total = pf && pf->sriov_totalvfs ? *pf->sriov_totalvfs : 0;
  if (total == 0)
    fail_at(net.source_pos, fmt::format("network.pf {} ({}) has no SR-IOV virtual functions (sriov_totalvfs "
                                        "is 0 or missing); use mode = \"bridge\" or \"macvtap\"",
                                        net.pf, it->second.pci->short_str()));
  if (vfs.empty())
    fail_at(net.source_pos, fmt::format("network.pf {} has no virtual functions enabled (0 of {}); enable "
                                        "some: echo {} > /sys/class/net/{}/device/sriov_numvfs",
                                        net.pf, total, std::min(total, 4), net.pf));
  const PciDevice* pick = free_vf(env, vfs);
  if (!pick)
    fail_at(net.source_pos,
            fmt::format("every virtual function of {} ({}) has a host interface; enable more: "
                        "echo {} > /sys/class/net/{}/device/sriov_numvfs",
                        net.pf, vfs.size(), std::min<size_t>(vfs.size() + 1, static_cast<size_t>(total)), net.pf));
  if (host.groups.empty() || !pick->iommu_group)
    fail_at(net.source_pos, fmt::format("network.pf {}: VF {} has no IOMMU group: the IOMMU is off ('vfioctl "
                                        "doctor')",
                                        net.pf, pick->address.short_str()));
  pn.vf = pick->address;
}

}  // namespace

void plan_network(const Host& host, const GuestEnv& env, GuestPlan& plan) {
  const NetworkSpec& net = plan.spec.network;
  plan.net.mode = net.mode;
  switch (net.mode) {
    case NetworkSpec::Mode::none: return;
    case NetworkSpec::Mode::nat: plan_nat(env, net, plan); return;
    case NetworkSpec::Mode::bridge: plan_bridge(env, net, plan); return;
    case NetworkSpec::Mode::macvtap: plan_macvtap(env, net, plan); return;
    case NetworkSpec::Mode::sriov: plan_sriov(host, env, net, plan); return;
  }
}

}  // namespace vfioctl::day_one
