// Elements libvirt silently ignores: known elements in the wrong place, and
// second copies of elements it reads once.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/lint/rules/checks.h"

namespace vfioctl::lint {

namespace {

struct Placement {
  const char* element;
  const char* parent;  // where libvirt reads it
  const char* path;    // how to say it
};

// Elements with one home each: anywhere else libvirt drops them.
const std::vector<Placement>& placements() {
  static const std::vector<Placement> table = {
      {"hyperv", "features", "<features>"},
      {"kvm", "features", "<features>"},
      {"smm", "features", "<features>"},
      {"vmport", "features", "<features>"},
      {"ioapic", "features", "<features>"},
      {"pmu", "features", "<features>"},
      {"vmcoreinfo", "features", "<features>"},
      {"pvspinlock", "features", "<features>"},
      {"hap", "features", "<features>"},
      {"msrs", "features", "<features>"},
      {"relaxed", "hyperv", "<features><hyperv>"},
      {"vapic", "hyperv", "<features><hyperv>"},
      {"spinlocks", "hyperv", "<features><hyperv>"},
      {"vpindex", "hyperv", "<features><hyperv>"},
      {"synic", "hyperv", "<features><hyperv>"},
      {"stimer", "hyperv", "<features><hyperv>"},
      {"vendor_id", "hyperv", "<features><hyperv>"},
      {"frequencies", "hyperv", "<features><hyperv>"},
      {"reenlightenment", "hyperv", "<features><hyperv>"},
      {"tlbflush", "hyperv", "<features><hyperv>"},
      {"evmcs", "hyperv", "<features><hyperv>"},
      {"avic", "hyperv", "<features><hyperv>"},
      {"hidden", "kvm", "<features><kvm>"},
      {"hint-dedicated", "kvm", "<features><kvm>"},
      {"poll-control", "kvm", "<features><kvm>"},
      {"pv-ipi", "kvm", "<features><kvm>"},
      {"dirty-ring", "kvm", "<features><kvm>"},
      {"vcpupin", "cputune", "<cputune>"},
      {"emulatorpin", "cputune", "<cputune>"},
      {"iothreadpin", "cputune", "<cputune>"},
      {"vcpusched", "cputune", "<cputune>"},
      {"hugepages", "memoryBacking", "<memoryBacking>"},
      {"nosharepages", "memoryBacking", "<memoryBacking>"},
      {"locked", "memoryBacking", "<memoryBacking>"},
      {"topology", "cpu", "<cpu>"},
      {"timer", "clock", "<clock>"},
      {"hostdev", "devices", "<devices>"},
      {"memballoon", "devices", "<devices>"},
      {"shmem", "devices", "<devices>"},
  };
  return table;
}

// The placements of each element name, in the table's order: every element
// of every domain is looked up here.
const std::map<std::string_view, std::vector<const Placement*>>& placements_by_name() {
  static const auto index = [] {
    std::map<std::string_view, std::vector<const Placement*>> m;
    for (const auto& p : placements()) m[p.element].push_back(&p);
    return m;
  }();
  return index;
}

bool foreign(pugi::xml_node n) { return std::string_view(n.name()).find(':') != std::string_view::npos; }

// Where libvirt reads an element whose home is `parent`; null when absent.
pugi::xml_node home(const Domain& d, std::string_view parent) {
  if (parent == "hyperv" || parent == "kvm") return d.features.child(std::string(parent).c_str());
  if (parent == "features") return d.features;
  return d.root().child(std::string(parent).c_str());
}

// The element `home` already holds in n's place: same name and, for the
// elements that come several times, the same vCPU, iothread or name.
bool has_copy(pugi::xml_node target, pugi::xml_node n) {
  std::string_view name = n.name();
  const char* key = name == "vcpupin"                    ? "vcpu"
                    : name == "iothreadpin"              ? "iothread"
                    : name == "timer" || name == "shmem" ? "name"
                                                         : nullptr;
  if (key) return !target.find_child_by_attribute(n.name(), key, n.attribute(key).value()).empty();
  return !target.child(n.name()).empty();
}

void walk_misplaced(const Domain& d, pugi::xml_node parent, Emitter& out) {
  for (pugi::xml_node n : parent.children()) {
    if (n.type() != pugi::node_element || foreign(n)) continue;
    std::string_view name = n.name();
    if (name == "metadata") continue;  // free-form
    const auto& index = placements_by_name();
    auto found = index.find(name);
    for (const Placement* pp : found == index.end() ? std::vector<const Placement*>{} : found->second) {
      const Placement& p = *pp;
      if (std::string_view(parent.name()) == p.parent) continue;
      EditSet edits;
      pugi::xml_node target = home(d, p.parent);
      // A <hostdev> is moved by hand: which guest it belongs to is the user's call.
      if (!target || has_copy(target, n) || name == "hostdev")
        edits.fail();
      else
        edits.add(d.editor().move(n, target));
      out.add(n, fmt::format("<{}> inside <{}> is ignored: libvirt reads it only in {}", name, parent.name(), p.path),
              fmt::format("move it into {}", p.path), edits);
      break;
    }
    walk_misplaced(d, n, out);
  }
}

struct Singletons {
  const char* parent;                // element whose children are checked
  std::set<std::string_view> names;  // empty: every child name
};

const std::vector<Singletons>& singletons() {
  static const std::vector<Singletons> table = {
      {"domain",
       {"name",      "uuid",          "genid",     "title",       "description",   "metadata", "maxMemory",
        "memory",    "currentMemory", "blkiotune", "memtune",     "memoryBacking", "vcpu",     "vcpus",
        "iothreads", "iothreadids",   "cputune",   "numatune",    "resource",      "os",       "idmap",
        "features",  "cpu",           "clock",     "on_poweroff", "on_reboot",     "on_crash", "on_lockfailure",
        "pm",        "perf",          "devices",   "keywrap",     "launchSecurity"}},
      {"os",
       {"type", "loader", "nvram", "kernel", "initrd", "cmdline", "dtb", "bootmenu", "smbios", "bios", "firmware"}},
      {"features", {}},
      {"hyperv", {}},
      {"kvm", {}},
      {"cpu", {"topology", "model", "vendor", "cache", "numa"}},
      {"memoryBacking", {"hugepages", "nosharepages", "locked", "source", "access", "allocation", "discard"}},
      {"cputune",
       {"emulatorpin", "shares", "period", "quota", "global_period", "global_quota", "emulator_period",
        "emulator_quota", "iothread_period", "iothread_quota"}},
      {"devices", {"emulator"}},
  };
  return table;
}

void duplicates_in(pugi::xml_node parent, const Singletons& s, Emitter& out, const Domain& d) {
  std::map<std::string_view, pugi::xml_node> first;
  for (pugi::xml_node n : parent.children()) {
    if (n.type() != pugi::node_element) continue;
    std::string_view name = n.name();
    if (!s.names.empty() && !s.names.count(name)) continue;
    auto [it, fresh] = first.emplace(name, n);
    if (fresh) continue;
    out.add(n,
            fmt::format("second <{}> in <{}> (the first is at line {}): libvirt reads one and ignores the other", name,
                        parent.name(), d.line(it->second)),
            fmt::format("keep one <{}> and merge into it what the other says", name));
  }
}

}  // namespace

// L019
void check_misplaced(const Domain& d, const Host*, Emitter& out) { walk_misplaced(d, d.root(), out); }

std::vector<std::string_view> domain_children_before(std::string_view name) {
  static const std::vector<std::string_view> order = {
      "name",           "uuid",    "genid",         "title",           "description", "metadata",
      "maxMemory",      "memory",  "currentMemory", "blkiotune",       "memtune",     "memoryBacking",
      "vcpu",           "vcpus",   "iothreads",     "iothreadids",     "cputune",     "numatune",
      "resource",       "sysinfo", "bootloader",    "bootloader_args", "os",          "idmap",
      "features",       "cpu",     "clock",         "on_poweroff",     "on_reboot",   "on_crash",
      "on_lockfailure", "pm",      "perf",          "devices"};
  auto it = std::find(order.begin(), order.end(), name);
  return {order.begin(), it};
}

void feature_on_edits(const Domain& d, const char* name, EditSet& edits) {
  const XmlEditor& ed = d.editor();
  if (pugi::xml_node f = d.features.child(name)) {
    edits.add(ed.set_attr(f, "state", "on"));
  } else if (d.features) {
    edits.add(ed.append(d.features, NewElement{name, {{"state", "on"}}, {}, {}}));
  } else {
    edits.add(ed.insert(d.root(), NewElement{"features", {}, {NewElement{name, {{"state", "on"}}, {}, {}}}, {}},
                        domain_children_before("features")));
  }
}

// L020
void check_duplicates(const Domain& d, const Host*, Emitter& out) {
  std::map<std::string_view, const Singletons*> by_parent;
  for (const auto& s : singletons()) by_parent[s.parent] = &s;
  // The domain's own children, then the singletons' parents where libvirt
  // reads them (the first of each).
  duplicates_in(d.root(), *by_parent["domain"], out, d);
  for (const char* parent : {"os", "features", "cpu", "memoryBacking", "cputune", "devices"}) {
    duplicates_in(d.root().child(parent), *by_parent[parent], out, d);
  }
  duplicates_in(d.features.child("hyperv"), *by_parent["hyperv"], out, d);
  duplicates_in(d.features.child("kvm"), *by_parent["kvm"], out, d);
  // Clock timers: one per name.
  std::map<std::string, pugi::xml_node> timers;
  for (pugi::xml_node t : d.root().child("clock").children("timer")) {
    auto [it, fresh] = timers.emplace(t.attribute("name").value(), t);
    if (fresh) continue;
    out.add(t,
            fmt::format("second <timer name='{}'> (the first is at line {}): libvirt reads one and ignores the other",
                        it->first, d.line(it->second)),
            "keep one timer of each name");
  }
}

}  // namespace vfioctl::lint
