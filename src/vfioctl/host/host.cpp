#include "vfioctl/host/host.h"

#include <algorithm>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

const PciDevice* Host::device(const PciAddress& addr) const {
  auto it = std::lower_bound(pci.begin(), pci.end(), addr,
                             [](const PciDevice& d, const PciAddress& a) { return d.address < a; });
  return it != pci.end() && it->address == addr ? &*it : nullptr;
}

const IommuGroup* Host::group(int id) const {
  for (const auto& g : groups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

Host read_host(const Root& root, HostPart parts) {
  Host host;
  if (has_part(parts, HostPart::pci)) {
    host.groups = read_iommu_groups(root, host.notes);
    host.pci = read_pci_devices(root, host.notes, &host.groups);
  }
  if (has_part(parts, HostPart::cpu)) host.cpu = read_cpu_topology(root, host.notes);
  if (has_part(parts, HostPart::memory)) host.memory = read_memory(root, host.notes);
  if (has_part(parts, HostPart::kernel)) host.kernel = read_kernel(root, host.notes);
  if (has_part(parts, HostPart::platform)) host.platform = read_platform(root, host.notes);
  if (has_part(parts, HostPart::system)) {
    // Module files live under the running kernel's release.
    std::optional<std::string> release = host.kernel.release;
    if (!has_part(parts, HostPart::kernel)) {
      if (auto t = root.read("/proc/sys/kernel/osrelease")) release = std::string(trim(*t));
    }
    host.system = read_system(root, release, host.notes);
  }
  // Files the root would not read (a device node, a FIFO, an oversized file)
  // are "unknown" to the readers; the note says why.
  // A reader that noted the file as missing said what is unknown: the note
  // keeps that and says why instead.
  for (const Note& r : root.refused()) {
    auto it = std::find_if(host.notes.begin(), host.notes.end(), [&](const Note& n) { return n.path == r.path; });
    if (it == host.notes.end()) {
      host.notes.push_back(r);
      continue;
    }
    size_t semi = it->message.find("; ");
    it->message = r.message + (semi == std::string::npos ? "" : it->message.substr(semi));
  }
  return host;
}

}  // namespace vfioctl
