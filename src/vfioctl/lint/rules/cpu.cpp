// vCPU, emulator and I/O thread pinning; guest CPU topology.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

std::string cpus_text(const std::vector<int>& cpus) { return format_cpulist(cpus); }

std::vector<int> intersect(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool attr_is(pugi::xml_node n, const char* attr, std::string_view value) {
  return std::string_view(n.attribute(attr).value()) == value;
}

bool feature_on(pugi::xml_node n) { return n && !attr_is(n, "state", "off"); }

namespace {

// vCPUs pinned to a single host CPU or a set, valid ids only.
std::vector<const VcpuPin*> valid_pins(const Domain& d) {
  std::vector<const VcpuPin*> out;
  for (const auto& p : d.vcpupins) {
    if (p.cpus.empty()) continue;
    if (d.vcpus && p.vcpu >= *d.vcpus) continue;
    out.push_back(&p);
  }
  return out;
}

// Host CPUs no vCPU is pinned to, when the host is known.
std::string free_cpus_hint(const Host* host, const std::vector<int>& vcpu_cpus) {
  if (!host) return "host CPUs that no vCPU uses (CPU 0's core is the usual choice)";
  std::vector<int> free;
  for (int c : host->cpu.online()) {
    if (!std::binary_search(vcpu_cpus.begin(), vcpu_cpus.end(), c)) free.push_back(c);
  }
  if (free.empty()) return "host CPUs that no vCPU uses (every CPU of this host runs a vCPU: leave a core to the host)";
  return fmt::format("host CPUs that no vCPU uses (on this host: {})", cpus_text(free));
}

}  // namespace

// L001
void check_vcpupin_range(const Domain& d, const Host*, Emitter& out) {
  std::map<int, const VcpuPin*> seen;
  for (const auto& p : d.vcpupins) {
    EditSet drop;
    drop.add(d.editor().remove(p.node));
    if (d.vcpus && p.vcpu >= *d.vcpus) {
      out.add(p.node,
              fmt::format("vcpupin for vCPU {}, but the guest has {} vCPU{} (0-{})", p.vcpu, *d.vcpus,
                          *d.vcpus == 1 ? "" : "s", *d.vcpus - 1),
              fmt::format("remove this vcpupin, or raise <vcpu> to {}", p.vcpu + 1), drop);
      continue;
    }
    auto [it, fresh] = seen.emplace(p.vcpu, &p);
    if (!fresh) {
      // Only a copy of the first is dropped: which of two different pins was
      // meant is the user's call.
      if (p.cpus.empty() || p.cpus != it->second->cpus) drop.fail();
      out.add(p.node, fmt::format("vCPU {} is pinned twice (first at line {})", p.vcpu, d.line(it->second->node)),
              "keep one vcpupin per vCPU", drop);
    }
  }
}

// L002
void check_thread_overlap(const Domain& d, const Host* host, Emitter& out) {
  auto pins = valid_pins(d);
  if (pins.empty()) return;
  std::map<int, std::vector<int>> vcpus_on;  // host CPU -> vCPUs pinned there
  for (const VcpuPin* p : pins) {
    for (int c : p->cpus) vcpus_on[c].push_back(p->vcpu);
  }
  std::vector<int> vcpu_cpus;
  for (const auto& [c, v] : vcpus_on) vcpu_cpus.push_back(c);
  auto vcpus_of = [&](const std::vector<int>& cpus) {
    std::set<int> ids;
    for (int c : cpus) ids.insert(vcpus_on[c].begin(), vcpus_on[c].end());
    return std::vector<int>(ids.begin(), ids.end());
  };
  std::string hint = free_cpus_hint(host, vcpu_cpus);

  auto judge = [&](const ThreadPin& t, const std::string& what, const std::string& element) {
    auto shared = intersect(t.cpus, vcpu_cpus);
    if (shared.empty()) return;
    out.add(t.node,
            fmt::format("{} overlaps vCPUs {} (host CPUs {})", what, cpus_text(vcpus_of(shared)), cpus_text(shared)),
            fmt::format("pin {} to {}", element, hint));
  };

  // The emulator: its own pin, else <vcpu cpuset>, else every host CPU.
  if (d.emulatorpin && !d.emulatorpin->cpus.empty()) {
    judge(*d.emulatorpin, "emulatorpin " + d.emulatorpin->cpuset, "the emulator");
  } else if (!d.emulatorpin) {
    std::string vcpu_set = d.vcpu_node.attribute("cpuset").value();
    auto cpus = parse_libvirt_cpuset(vcpu_set);
    if (cpus) {
      auto shared = intersect(*cpus, vcpu_cpus);
      if (!shared.empty()) {
        out.add(d.vcpu_node,
                fmt::format("no <emulatorpin>: the emulator runs on <vcpu cpuset='{}'>, which overlaps vCPUs {} "
                            "(host CPUs {})",
                            vcpu_set, cpus_text(vcpus_of(shared)), cpus_text(shared)),
                fmt::format("add <emulatorpin cpuset='...'/> to <cputune> with {}", hint));
      }
    } else {
      out.add(d.cputune,
              "vCPUs are pinned but the emulator is not: its threads may run on any host CPU, the vCPUs' included",
              fmt::format("add <emulatorpin cpuset='...'/> to <cputune> with {}", hint));
    }
  }

  std::set<int> pinned_threads;
  for (const auto& t : d.iothreadpins) {
    pinned_threads.insert(t.iothread);
    if (!t.cpus.empty())
      judge(t, fmt::format("iothreadpin for iothread {} ({})", t.iothread, t.cpuset), "the iothread");
  }
  std::vector<int> unpinned;
  for (int id : d.iothread_ids) {
    if (!pinned_threads.count(id)) unpinned.push_back(id);
  }
  if (!unpinned.empty()) {
    pugi::xml_node at = d.root().child("iothreads") ? d.root().child("iothreads") : d.root().child("iothreadids");
    bool one = unpinned.size() == 1;
    out.add(at,
            fmt::format("vCPUs are pinned but iothread{} {} {} not: {} may run on any host CPU, the vCPUs' included",
                        one ? "" : "s", cpus_text(unpinned), one ? "is" : "are", one ? "it" : "they"),
            fmt::format("add <iothreadpin iothread='{}' cpuset='...'/> to <cputune> with {}", unpinned.front(), hint));
  }
}

// L003
void check_partial_pinning(const Domain& d, const Host*, Emitter& out) {
  if (!d.vcpus || d.vcpupins.empty()) return;
  std::set<int> pinned;
  for (const auto& p : d.vcpupins) {
    if (p.vcpu < *d.vcpus) pinned.insert(p.vcpu);
  }
  std::vector<int> unpinned;
  for (int v = 0; v < *d.vcpus; ++v) {
    // An offline vCPU (enabled='no', beyond current=) runs nothing until it is plugged.
    if (!pinned.count(v) && d.vcpu_online(v)) unpinned.push_back(v);
  }
  if (unpinned.empty() || pinned.empty()) return;
  out.add(d.cputune,
          fmt::format("vCPU{} {} {} not pinned, while vCPU{} {} {}", unpinned.size() == 1 ? "" : "s",
                      cpus_text(unpinned), unpinned.size() == 1 ? "is" : "are", pinned.size() == 1 ? "" : "s",
                      cpus_text(std::vector<int>(pinned.begin(), pinned.end())), pinned.size() == 1 ? "is" : "are"),
          "add a vcpupin for every vCPU (whole host cores, away from the emulator), or remove them all");
}

// L004
void check_shared_host_cpu(const Domain& d, const Host*, Emitter& out) {
  std::map<int, const VcpuPin*> owner;  // host CPU -> first vCPU pinned to it alone
  for (const VcpuPin* p : valid_pins(d)) {
    if (p->cpus.size() != 1) continue;
    auto [it, fresh] = owner.emplace(p->cpus.front(), p);
    if (!fresh && it->second->vcpu != p->vcpu) {
      out.add(p->node,
              fmt::format("vCPUs {} and {} are both pinned to host CPU {}", it->second->vcpu, p->vcpu, p->cpus.front()),
              "give each vCPU a host CPU of its own");
    }
  }
}

// L005
void check_iothread_refs(const Domain& d, const Host*, Emitter& out) {
  const auto& ids = d.iothread_ids;
  auto declared = [&](int id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  std::string have = ids.empty() ? "declares no iothreads"
                                 : fmt::format("declares iothread{} {}", ids.size() == 1 ? "" : "s", cpus_text(ids));
  auto fix_for = [&](int id) {
    return ids.empty() || id > static_cast<int>(ids.size())
               ? fmt::format("declare it (<iothreads>{}</iothreads>), or name a declared iothread",
                             std::max<int>(id, 1))
               : std::string("name a declared iothread");
  };
  for (const auto& t : d.iothreadpins) {
    if (declared(t.iothread)) continue;
    out.add(t.node, fmt::format("iothreadpin for iothread {}, but the guest {}", t.iothread, have),
            fix_for(t.iothread));
  }
  // Disks and controllers that name an iothread.
  for (pugi::xml_node dev : d.root().child("devices").children()) {
    std::string_view kind = dev.name();
    if (kind != "disk" && kind != "controller") continue;
    pugi::xml_node drv = dev.child("driver");
    std::string_view text = drv.attribute("iothread").value();
    if (text.empty()) continue;
    auto id = parse_number(text);
    if (!id || declared(static_cast<int>(*id))) continue;
    std::string what =
        kind == "disk" ? fmt::format("disk {}", dev.child("target").attribute("dev").value())
                       : fmt::format("{} controller {}", dev.attribute("type").value(), dev.attribute("index").value());
    out.add(drv, fmt::format("{} uses iothread {}, but the guest {}", what, *id, have), fix_for(static_cast<int>(*id)));
  }
}

// L006
void check_topology_count(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node t = d.root().child("cpu").child("topology");
  if (!t || !d.vcpus) return;
  struct Part {
    const char* name;
    long value;
  };
  std::vector<Part> parts;
  long product = 1;
  for (const char* name : {"sockets", "dies", "clusters", "cores", "threads"}) {
    std::string_view text = t.attribute(name).value();
    if (text.empty()) continue;
    auto v = parse_number(text);
    if (!v || *v == 0 || *v > 100000) return;
    parts.push_back({name, static_cast<long>(*v)});
    product *= static_cast<long>(*v);
  }
  if (parts.empty() || product == *d.vcpus) return;
  std::vector<std::string> shown;
  long others = 1;  // everything but cores
  for (const auto& p : parts) {
    shown.push_back(fmt::format("{}={}", p.name, p.value));
    if (std::string_view(p.name) != "cores") others *= p.value;
  }
  std::string fix = "make sockets x dies x clusters x cores x threads equal the vCPU count";
  if (others > 0 && *d.vcpus % others == 0) {
    fix = fmt::format("set cores='{}' (or change <vcpu> to {})", *d.vcpus / others, product);
  } else {
    fix += fmt::format(" (or change <vcpu> to {})", product);
  }
  out.add(t, fmt::format("topology {} makes {} vCPUs, but <vcpu> is {}", join(shown, " "), product, *d.vcpus), fix);
}

// L028
void check_iothread_count(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node count_node = d.root().child("iothreads");
  pugi::xml_node ids_node = d.root().child("iothreadids");
  if (!count_node || !ids_node) return;
  auto count = parse_number(count_node.text().get());
  if (!count) return;
  std::set<int> listed;
  for (pugi::xml_node t : ids_node.children("iothread")) {
    if (auto id = parse_number(t.attribute("id").value()); id && *id > 0 && *id < 100000) {
      listed.insert(static_cast<int>(*id));
    }
  }
  if (listed.empty() || *count == listed.size()) return;
  std::vector<int> ids(listed.begin(), listed.end());
  std::string lists =
      fmt::format("<iothreadids> lists {} (id{} {})", listed.size(), ids.size() == 1 ? "" : "s", cpus_text(ids));
  EditSet edits;
  if (*count < listed.size()) {
    // What libvirt does anyway, written down.
    edits.add(d.editor().set_text(count_node, std::to_string(listed.size())));
    out.add(count_node,
            fmt::format("<iothreads>{}</iothreads>, but {}: libvirt ignores the count and starts {}", *count, lists,
                        listed.size()),
            fmt::format("set <iothreads>{}</iothreads>", listed.size()), edits);
    return;
  }
  std::vector<int> added;
  std::vector<NewElement> listed_too;
  for (int id : d.iothread_ids) {
    if (listed.count(id)) continue;
    added.push_back(id);
    listed_too.push_back(NewElement{"iothread", {{"id", std::to_string(id)}}, {}, {}});
  }
  if (added.empty()) return;
  // The iothreads libvirt adds, listed: nothing changes for the guest.
  edits.add(d.editor().append(ids_node, listed_too));
  bool one = added.size() == 1;
  out.add(count_node,
          fmt::format("<iothreads>{}</iothreads>, but {}: libvirt adds iothread{} {} that no <iothread> names", *count,
                      lists, one ? "" : "s", cpus_text(added)),
          fmt::format("list {} in <iothreadids> (<iothread id='{}'/>), or set <iothreads>{}</iothreads>",
                      one ? "it" : "them", added.front(), listed.size()),
          edits);
}

}  // namespace vfioctl::lint
