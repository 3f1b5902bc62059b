#include "vfioctl/runtime/tune_checks.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {

void check_tune_host(HostIo& io, const DomainTune& d, const std::string& hugepages) {
  if (auto text = io.read("/sys/devices/system/cpu/online")) {
    if (auto online = parse_cpulist(trim(*text))) {
      for (int c : d.vcpu_cpus)
        if (std::find(online->begin(), online->end(), c) == online->end())
          throw input_error(fmt::format("--cpus: CPU {} is not online here (online: {})", c, trim(*text)));
    }
  }
  if (d.wants("hugepages") && d.hugepage_kib && *d.hugepage_kib > 0) {
    std::string pools = "/sys/kernel/mm/hugepages";
    if (auto sizes = io.list(pools); sizes && !io.exists(fmt::format("{}/hugepages-{}kB", pools, *d.hugepage_kib)))
      throw input_error(fmt::format("--hugepages {}: this host has no pool of {} kB pages (it has: {})", hugepages,
                                    *d.hugepage_kib, sizes->empty() ? std::string("none") : join(*sizes, ", ")));
  }
}

}  // namespace vfioctl::runtime
