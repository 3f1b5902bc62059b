// Guest memory: hugepages for passthrough guests, locked memory, page-size
// multiples.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/tune_contract.h"

namespace vfioctl::lint {

namespace {

constexpr unsigned long long kDefaultPageKib = 2048;  // x86-64's default hugepage size

// The host's default hugepage size when known (Hugepagesize in meminfo).
unsigned long long default_page_kib(const Host* host) {
  if (host) {
    auto it = host->memory.meminfo_kib.find("Hugepagesize");
    if (it != host->memory.meminfo_kib.end() && it->second > 0) return static_cast<unsigned long long>(it->second);
  }
  return kDefaultPageKib;
}

// <memory> (and <currentMemory>) rounded up to whole pages, in KiB. Not
// with guest NUMA cells: their sizes make up the memory, and which cell
// grows is the user's call.
EditSet round_up_edits(const Domain& d, unsigned long long page_kib, unsigned long long up) {
  EditSet edits;
  if (d.root().child("cpu").child("numa")) {
    edits.fail();
    return edits;
  }
  const XmlEditor& ed = d.editor();
  auto set_kib = [&](pugi::xml_node n, unsigned long long kib) {
    edits.add(ed.set_text(n, std::to_string(kib)));
    if (n.attribute("unit")) edits.add(ed.set_attr(n, "unit", "KiB"));
  };
  set_kib(d.memory_node, up);
  pugi::xml_node current = d.root().child("currentMemory");
  if (current) {
    auto bytes = parse_scaled(current.text().get(), current.attribute("unit").value(), 1024);
    if (!bytes) {
      edits.fail();
    } else if (*bytes / 1024 % page_kib != 0 || *bytes % 1024 != 0) {
      set_kib(current, std::min(up, (*bytes / 1024 + page_kib - 1) / page_kib * page_kib));
    }
  }
  return edits;
}

}  // namespace

// L010
void check_hugepages(const Domain& d, const Host*, Emitter& out) {
  if (d.pci_hostdevs.empty() || d.hugepages) return;
  std::string fix = "add <hugepages/> to <memoryBacking>";
  if (d.memory_kib && *d.memory_kib % kDefaultPageKib == 0) {
    fix += fmt::format(" and reserve {} 2 MiB pages for the guest's {}", *d.memory_kib / kDefaultPageKib,
                       format_kib(*d.memory_kib));
  }
  pugi::xml_node at = d.memory_backing ? d.memory_backing : d.memory_node;
  out.add(at, "guest with passed-through PCI devices on ordinary 4 KiB pages (no <hugepages/>)", fix);
}

// L011
void check_locked(const Domain& d, const Host*, Emitter& out) {
  if (!d.locked || d.hugepages) return;
  out.add(d.locked, "<locked/> without <hugepages/>: every 4 KiB page of the guest is locked in host memory",
          "add <hugepages/> to <memoryBacking>, or remove <locked/>");
}

// L012
void check_page_multiple(const Domain& d, const Host* host, Emitter& out) {
  if (!d.hugepages || !d.memory_kib) return;
  std::vector<HugepageSize> sizes;
  for (const auto& s : d.page_sizes) {
    // A <page> for some NUMA nodes backs only them; judged on the whole size
    // only when it applies to all memory.
    if (!s.node.attribute("nodeset")) sizes.push_back(s);
  }
  bool implicit = d.page_sizes.empty();
  if (implicit) sizes.push_back({default_page_kib(host), d.hugepages});
  for (const auto& s : sizes) {
    if (*d.memory_kib % s.kib == 0) continue;
    unsigned long long down = *d.memory_kib / s.kib * s.kib;
    unsigned long long up = down + s.kib;
    std::string fix = down > 0 ? fmt::format("set <memory unit='KiB'>{}</memory> ({}) or {} ({})", down,
                                             format_kib(down), up, format_kib(up))
                               : fmt::format("set <memory unit='KiB'>{}</memory> ({})", up, format_kib(up));
    out.add(s.node,
            fmt::format("memory of {} KiB ({}) is not a multiple of the {}hugepage size, {}", *d.memory_kib,
                        format_kib(*d.memory_kib), implicit ? "default " : "", format_kib(s.kib)),
            fix, round_up_edits(d, s.kib, up));
  }
}

// Whether the domain opts into the vfioctl hook's hugepage reservation:
// <metadata><PREFIX:tune xmlns:PREFIX="urn:vfioctl:tune:1" actions="... hugepages ..."/>.
bool hook_reserves_pages(const Domain& d) {
  for (pugi::xml_node e : d.root().child("metadata").children()) {
    if (!is_tune_element(e)) continue;
    for (auto a : split_ws(e.attribute("actions").value())) {
      if (a == "hugepages") return true;
    }
  }
  return false;
}

// L110
void check_hugepage_pool(const Domain& d, const Host* host, Emitter& out) {
  if (!d.hugepages || !d.memory_kib || host->memory.pools.empty()) return;
  pugi::xml_node root = d.root();
  // Guest NUMA cells and the host nodes <numatune> binds them to.
  std::map<int, unsigned long long> cells;  // cell id -> KiB
  for (pugi::xml_node c : root.child("cpu").child("numa").children("cell")) {
    auto id = parse_number(c.attribute("id").value());
    auto bytes = parse_scaled(c.attribute("memory").value(), c.attribute("unit").value(), 1024);
    if (id && bytes) cells[static_cast<int>(*id)] = *bytes / 1024;
  }
  pugi::xml_node numatune = root.child("numatune");
  std::vector<int> all_nodes =
      parse_libvirt_cpuset(numatune.child("memory").attribute("nodeset").value()).value_or(std::vector<int>{});
  std::map<int, std::vector<int>> cell_nodes;
  for (pugi::xml_node m : numatune.children("memnode")) {
    auto cell = parse_number(m.attribute("cellid").value());
    auto nodes = parse_libvirt_cpuset(m.attribute("nodeset").value());
    if (cell && nodes) cell_nodes[static_cast<int>(*cell)] = *nodes;
  }
  auto nodes_of = [&](int cell) {
    auto it = cell_nodes.find(cell);
    return it != cell_nodes.end() ? it->second : all_nodes;
  };

  struct Need {
    unsigned long long kib = 0;
    pugi::xml_node at;
  };
  std::map<std::pair<unsigned long long, std::vector<int>>, Need> needs;  // (page size, host nodes) -> memory
  auto need = [&](unsigned long long page, const std::vector<int>& nodes, unsigned long long kib, pugi::xml_node at) {
    Need& n = needs[{page, nodes}];
    n.kib += kib;
    if (!n.at) n.at = at;
  };
  HugepageSize rest{default_page_kib(host), d.hugepages};
  std::set<int> covered;
  for (const auto& s : d.page_sizes) {
    std::string_view nodeset = s.node.attribute("nodeset").value();
    if (nodeset.empty()) {
      rest = s;
      continue;
    }
    for (int cell : parse_libvirt_cpuset(nodeset).value_or(std::vector<int>{})) {
      auto it = cells.find(cell);
      if (it == cells.end() || !covered.insert(cell).second) continue;
      need(s.kib, nodes_of(cell), it->second, s.node);
    }
  }
  if (cells.empty()) {
    need(rest.kib, all_nodes, *d.memory_kib, rest.node);
  } else {
    for (const auto& [cell, kib] : cells) {
      if (!covered.count(cell)) need(rest.kib, nodes_of(cell), kib, rest.node);
    }
  }

  auto sizes = host->memory.page_sizes();
  std::vector<std::string> offered;
  for (long long k : sizes) offered.push_back(format_kib(static_cast<unsigned long long>(k)));
  for (const auto& [key, n] : needs) {
    const auto& [page, nodes] = key;
    unsigned long long pages = (n.kib + page - 1) / page;
    std::string size = format_kib(page);
    if (std::find(sizes.begin(), sizes.end(), static_cast<long long>(page)) == sizes.end()) {
      out.add(n.at, fmt::format("the guest asks for {} pages, which this host does not offer", size),
              fmt::format("use a page size the host has ({})", offered.empty() ? "none" : join(offered, ", ")));
      continue;
    }
    // The pools that serve it: the nodes' own when the guest is bound to
    // nodes and the host counts per node, else the system-wide one.
    long long free = 0, total = 0;
    bool known = true;
    std::vector<const HugepagePool*> pools;
    for (int node : nodes) pools.push_back(host->memory.pool(static_cast<long long>(page), node));
    if (nodes.empty() || std::find(pools.begin(), pools.end(), nullptr) != pools.end()) {
      pools = {host->memory.pool(static_cast<long long>(page))};
    }
    for (const HugepagePool* p : pools) {
      if (!p || !p->free || !p->total) {
        known = false;
        break;
      }
      free += *p->free;
      total += *p->total;
    }
    if (!known || static_cast<unsigned long long>(free) >= pages) continue;
    bool per_node = pools.size() == nodes.size() && !nodes.empty() && pools.front()->node;
    std::string where =
        per_node ? fmt::format(" on NUMA node{} {}", nodes.size() == 1 ? "" : "s", cpus_text(nodes)) : "";
    long long want = total + static_cast<long long>(pages) - free;
    std::string keep = page == default_page_kib(host)
                           ? fmt::format(", vm.nr_hugepages={} in /etc/sysctl.d/ to keep it", want)
                           : std::string();
    std::string fix;
    bool hook = hook_reserves_pages(d);
    if (page >= 1024ULL * 1024) {
      fix = fmt::format(
          "reserve them at boot: {} on the kernel command line (1 GiB pages are seldom found free after boot{})",
          hugepage_boot(static_cast<long long>(page), want, false).args_text(),
          hook ? "; the vfioctl hook this guest opts into cannot reserve them and refuses to start it" : "");
    } else if (hook) {
      fix = fmt::format(
          "nothing to do if the vfioctl hook is installed ('vfioctl hook install'): the guest's <vfioctl:tune "
          "actions=\"hugepages\"> has it raise the pool by {} pages when the guest starts, and give them back when "
          "it stops",
          static_cast<long long>(pages) - free);
    } else if (per_node && nodes.size() == 1) {
      fix = fmt::format(
          "raise the pool to {} pages: echo {} > /sys/devices/system/node/node{}/hugepages/hugepages-{}kB/"
          "nr_hugepages (or let a start hook reserve them)",
          want, want, nodes.front(), page);
    } else {
      fix = fmt::format(
          "raise the pool to {} pages: echo {} > /sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages{} "
          "(or let a start hook reserve them)",
          want, want, page, keep);
    }
    out.add(
        n.at,
        fmt::format("the guest needs {} pages of {} ({}){}; this host has {} free (of {} reserved){}", pages, size,
                    format_kib(n.kib), where, free, total,
                    hook && page < 1024ULL * 1024 ? ": the vfioctl hook reserves the rest when the guest starts" : ""),
        fix);
  }
}

}  // namespace vfioctl::lint
