#include "vfioctl/plan/memory_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/util/error.h"

namespace vfioctl {

namespace {

std::string size_text(long long mib) {
  if (mib % 1024 == 0) return fmt::format("{}G", mib / 1024);
  return fmt::format("{}M", mib);
}

std::string page_text(long long kib) {
  if (kib >= 1048576) return fmt::format("{}G", kib / 1048576);
  if (kib >= 1024) return fmt::format("{}M", kib / 1024);
  return fmt::format("{}K", kib);
}

}  // namespace

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
                      size_text(req.mib), total, host_reserve_mib(total), room > 0 ? size_text(room) : "0"));
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
                                    size_text(req.mib), page_text(page), page_text(page)));
    }
  } else {
    bool gib = plan.kib % 1048576 == 0 && platform.has_flag("pdpe1gb") && offered(1048576);
    page = gib ? 1048576 : 2048;
    if (!offered(page)) {
      plan.reasons.push_back("the kernel offers no hugepage pool: ordinary pages");
      return plan;
    }
    if (plan.kib % page != 0) {
      throw input_error(fmt::format("memory = \"{}\" is not a whole number of 2 MiB pages; make it a multiple of 2M",
                                    size_text(req.mib)));
    }
    plan.reasons.push_back(gib ? "1 GiB pages: the CPU has them and the size is whole GiB"
                               : "2 MiB pages" + std::string(platform.has_flag("pdpe1gb")
                                                                 ? " (the size is not whole GiB)"
                                                                 : " (no 1 GiB pages on this CPU)"));
  }
  plan.page_kib = page;
  plan.pages = plan.kib / page;

  // Is the pool large enough now? Per node when the guest has one.
  const HugepagePool* pool = req.node ? mem.pool(page, req.node) : nullptr;
  if (!pool) pool = mem.pool(page);
  long long free = pool && pool->free ? *pool->free : 0;
  if (free < plan.pages) {
    if (page == 1048576) {
      plan.warnings.push_back(
          fmt::format("{} free 1 GiB pages, {} needed: reserve them at boot (kernel arguments default_hugepagesz=1G "
                      "hugepagesz=1G hugepages={}; 'vfioctl setup --hugepages-for SPEC' writes them)",
                      free, plan.pages, plan.pages));
    } else {
      std::string where =
          req.node ? fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages", *req.node)
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
