// Guest memory: hugepages for passthrough guests, locked memory, page-size
// multiples.
#include <fmt/format.h>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"

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
            fix);
  }
}

}  // namespace vfioctl::lint
