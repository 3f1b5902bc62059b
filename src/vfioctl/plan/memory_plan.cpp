#include "vfioctl/plan/memory_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl {

namespace {

std::string page_text(long long kib) { return size_text_kib(kib, {.fit = Fit::reaches}); }

}  // namespace

std::string HugepageBoot::args_text() const {
  std::vector<std::string> words;
  for (const auto& a : args) words.push_back(a.value ? a.key + "=" + *a.value : a.key);
  return join(words, " ");
}

HugepageBoot hugepage_boot(long long page_kib, long long pages, bool openrc) {
  HugepageBoot b;
  bool gig = page_kib >= 1048576;
  std::string size = page_text(page_kib);
  b.args.push_back({"hugepagesz", size});
  b.args.push_back({"hugepages", std::to_string(pages)});
  if (openrc) {
    // A directory of vfioctl's: one under /dev would not exist yet when
    // localmount mounts fstab, and busybox mount cannot create it.
    b.mount_dir = gig ? "/var/lib/vfioctl/hugepages1G" : "/var/lib/vfioctl/hugepages";
    b.fstab = fmt::format("hugetlbfs {} hugetlbfs pagesize={} 0 0", b.mount_dir, size);
  } else if (gig) {
    b.mount_dir = "/dev/hugepages1G";
    b.fstab = "hugetlbfs1g /dev/hugepages1G hugetlbfs pagesize=1G 0 0";
  } else {
    b.mount_dir = "/dev/hugepages";  // systemd's dev-hugepages.mount
  }
  return b;
}

long long host_reserve_mib(long long total_mib) { return std::max(2048LL, total_mib / 8); }

MemoryPlan plan_memory(const Memory& mem, const Platform& platform, const MemoryRequest& req) {
  if (req.mib <= 0) throw input_error("memory: give the guest's size, e.g. memory = \"16G\"");
  MemoryPlan plan;
  plan.kib = req.mib * 1024;
  plan.node = req.node;
  // Locked only with passthrough: VFIO pins all guest memory anyway and
  // libvirt sizes the limit for it. Hugepages cannot be swapped, and a
  // <locked/> without a device makes libvirt lift QEMU's memlock limit to
  // unlimited, which an unprivileged or capability-less libvirtd cannot do.
  plan.locked = req.passthrough;
  plan.balloon = !req.passthrough;

  if (auto total_kib = mem.total_kib()) {
    long long total = *total_kib / 1024;
    long long room = total - host_reserve_mib(total);
    if (req.mib > room) {
      throw input_error(
          fmt::format("memory = \"{}\" is more than this host can give: it has {} MiB and keeps {} MiB; "
                      "at most {} for a guest",
                      size_text_mib(req.mib), total, host_reserve_mib(total), room > 0 ? size_text_mib(room) : "0"));
    }
  }
  // libvirt binds the memory strictly (<numatune mode="strict">): a node
  // that cannot hold the guest beside its own kernel's share would fail
  // the start, so such a guest takes memory from every node.
  if (req.node) {
    auto it = mem.node_total_kib.find(*req.node);
    if (it != mem.node_total_kib.end()) {
      long long node_mib = it->second / 1024;
      long long room = node_mib - host_reserve_mib(node_mib);
      if (req.mib > room) {
        plan.node.reset();
        plan.warnings.push_back(fmt::format(
            "memory not bound to NUMA node {}: it has {} MiB and keeps {} for the host, the guest needs {}; the "
            "guest's memory comes from every node (slower for the vCPUs on node {})",
            *req.node, node_mib, host_reserve_mib(node_mib), req.mib, *req.node));
      } else {
        plan.reasons.push_back(
            fmt::format("memory from NUMA node {} ({} MiB there), where the vCPUs run", *req.node, node_mib));
      }
    }
  }
  if (req.hugepages_off) {
    plan.reasons.push_back("hugepages = off: ordinary pages");
    return plan;
  }

  auto sizes = mem.page_sizes();
  auto offered = [&](long long kib) { return std::find(sizes.begin(), sizes.end(), kib) != sizes.end(); };
  long long page = 0;
  if (req.page_kib) {
    page = *req.page_kib;
    if (page == 1048576 && !platform.flags.empty() && !platform.has_flag("pdpe1gb")) {
      throw input_error("hugepages = \"1G\": this CPU has no 1 GiB pages (no pdpe1gb flag); use \"2M\" or \"auto\"");
    }
    if (!offered(page)) {
      throw input_error(
          fmt::format("hugepages = \"{}\": the kernel offers no {} pool (/sys/kernel/mm/hugepages); "
                      "use \"auto\" or \"off\"",
                      page_text(page), page_text(page)));
    }
    if (plan.kib % page != 0) {
      throw input_error(fmt::format("memory = \"{}\" is not a whole number of {} pages; make it a multiple of {}",
                                    size_text_mib(req.mib), page_text(page), page_text(page)));
    }
  } else {
    // 1 GiB pages only where they exist: free now, or reserved at boot.
    // Otherwise the guest could not start before a reboot, where 2 MiB
    // pages can be reserved while the host runs.
    bool gib_fits = plan.kib % 1048576 == 0 && platform.has_flag("pdpe1gb") && offered(1048576);
    long long gib_pages = plan.kib / 1048576;
    const HugepagePool* gib_pool = plan.node ? mem.pool(1048576, plan.node) : nullptr;
    if (!gib_pool) gib_pool = mem.pool(1048576);
    long long gib_free = gib_pool && gib_pool->free ? *gib_pool->free : 0;
    auto booted = req.boot_pages.find(1048576);
    long long gib_boot = booted == req.boot_pages.end() ? 0 : booted->second;
    bool gib = gib_fits && (gib_free >= gib_pages || gib_boot >= gib_pages);
    page = gib ? 1048576 : 2048;
    if (!offered(page)) {
      plan.reasons.push_back("the kernel offers no hugepage pool: ordinary pages");
      return plan;
    }
    if (plan.kib % page != 0) {
      throw input_error(fmt::format("memory = \"{}\" is not a whole number of 2 MiB pages; make it a multiple of 2M",
                                    size_text_mib(req.mib)));
    }
    if (gib) {
      plan.reasons.push_back(
          gib_free >= gib_pages
              ? fmt::format("1 GiB pages: {} free now, {} needed", gib_free, gib_pages)
              : fmt::format("1 GiB pages: the kernel command line reserves {} (hugepagesz=1G hugepages={}), {} needed",
                            gib_boot, gib_boot, gib_pages));
    } else if (gib_fits) {
      plan.reasons.push_back(fmt::format(
          "2 MiB pages: 1 GiB pages would need {} reserved at boot ({} free, {} on the kernel command line); 2 MiB "
          "pages can be reserved while the host runs. Reserve 1 GiB pages ('vfioctl setup --hugepages {}G "
          "--hugepage-size 1G', a reboot) and write hugepages = \"1G\" to use them",
          gib_pages, gib_free, gib_boot, gib_pages));
    } else {
      plan.reasons.push_back("2 MiB pages" + std::string(!platform.has_flag("pdpe1gb") ? " (no 1 GiB pages on this CPU)"
                                                         : plan.kib % 1048576 != 0
                                                             ? " (the size is not whole GiB)"
                                                             : " (the kernel offers no 1 GiB pool)"));
    }
  }
  plan.page_kib = page;
  plan.pages = plan.kib / page;

  // Is the pool large enough now? Per node when the guest has one.
  const HugepagePool* pool = plan.node ? mem.pool(page, plan.node) : nullptr;
  if (!pool) pool = mem.pool(page);
  long long free = pool && pool->free ? *pool->free : 0;
  if (free < plan.pages) {
    if (page == 1048576) {
      auto boot = hugepage_boot(page, plan.pages, false);
      plan.warnings.push_back(
          fmt::format("{} free 1 GiB pages, {} needed: reserve them at boot (kernel arguments {}; 'vfioctl setup "
                      "--hugepages-for SPEC' writes them)",
                      free, plan.pages, boot.args_text()));
    } else {
      std::string where =
          plan.node ? fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages", *plan.node)
                    : "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
      plan.warnings.push_back(
          fmt::format("{} free 2 MiB pages, {} needed: reserve them before the guest starts (echo {} > {}), or let the "
                      "vfioctl libvirt hook do it",
                      free, plan.pages, plan.pages + (pool && pool->total ? *pool->total - free : 0), where));
    }
  }
  return plan;
}

}  // namespace vfioctl
