// The tuner's hugepages: reserving what a starting guest lacks, and giving
// exactly that back.
#include "vfioctl/runtime/tuner_impl.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {

using nlohmann::json;
using tuner_detail::read_int;
using tuner_detail::state_path;

std::optional<long long> Tuner::Impl::default_page_kib() {
  auto meminfo = io.read("/proc/meminfo");
  if (!meminfo) return std::nullopt;
  for (const auto& l : split(*meminfo, '\n')) {
    if (!starts_with(l, "Hugepagesize:")) continue;
    auto words = split_ws(l.substr(13));
    if (!words.empty()) return parse_int(words[0]);
  }
  return std::nullopt;
}

Tuner::Impl::Pool Tuner::Impl::pool_for(long long kib, std::optional<int> node) {
  std::string size = fmt::format("hugepages-{}kB", kib);
  int nodes = 0;
  for (const auto& n : io.list("/sys/devices/system/node").value_or(std::vector<std::string>{}))
    if (starts_with(n, "node") && parse_int(n.substr(4))) ++nodes;
  if (node && nodes > 1) {
    std::string dir = fmt::format("/sys/devices/system/node/node{}/hugepages/{}", *node, size);
    if (io.exists(dir)) return {dir, true};
  }
  return {"/sys/kernel/mm/hugepages/" + size, false};
}

long long Tuner::Impl::available(const Pool& p) {
  long long free = read_int(io, p.dir + "/free_hugepages").value_or(0);
  long long resv = p.node ? 0 : read_int(io, p.dir + "/resv_hugepages").value_or(0);
  return std::max(0LL, free - resv);
}

void Tuner::Impl::prepare(const DomainTune& d, json& st) {
  if (!d.hugepage_kib) {
    log("prepare: the guest's memory is not backed by hugepages: nothing to reserve");
    return;
  }
  long long kib = *d.hugepage_kib;
  if (kib == 0) {
    auto def = default_page_kib();
    if (!def)
      throw Error(ExitCode::refused, "prepare: /proc/meminfo has no Hugepagesize: this kernel has no hugepages");
    kib = *def;
  }
  Pool pool = pool_for(kib, d.node);
  std::string nr_path = pool.dir + "/nr_hugepages";
  auto before = read_int(io, nr_path);
  if (!before)
    throw Error(ExitCode::refused,
                fmt::format("prepare: {} cannot be read: the kernel has no {} pages{}", nr_path, page_name(kib),
                            kib >= 1024 * 1024 ? " (1 GiB pages need the CPU flag pdpe1gb)" : ""));
  long long need = (d.memory_kib + kib - 1) / kib;
  long long have = available(pool);
  std::string where = pool.node ? fmt::format(" on NUMA node {}", *d.node) : "";
  if (have >= need) {
    log(fmt::format("prepare: {} {} pages needed, {} free{}: the pool is large enough", need, page_name(kib), have,
                    where));
    return;
  }
  long long short_by = need - have;
  if (kib >= 1024 * 1024)
    throw Error(
        ExitCode::refused,
        fmt::format(
            "prepare: the guest needs {} 1 GiB pages{}, {} are free, and 1 GiB pages can only be reserved at boot: "
            "run 'vfioctl setup --hugepages-for SPEC --apply --regenerate' (or add {} to the kernel command line) "
            "and reboot",
            need, where, have, hugepage_boot(kib, *before + short_by, false).args_text()));
  // Write-ahead: the pool as it was and the goal, before the kernel
  // changes anything; `added` follows once it is known.
  st["hugepages"] = {{"size_kib", kib},   {"node", pool.node ? json(*d.node) : json()},
                     {"pool", nr_path},   {"need", need},
                     {"before", *before}, {"target", *before + short_by},
                     {"added", nullptr}};
  io.save(state_path(d.name), st.dump(2) + "\n");

  double t0 = io.now();
  long long now_nr = *before;
  int attempts = 0;
  while (now_nr < *before + short_by) {
    if (attempts > 0 && io.now() - t0 > opt.budgets.hugepages) break;
    if (attempts == 2) break;
    ++attempts;
    // Compaction makes contiguous 2 MiB blocks out of fragmented free memory.
    if (io.exists("/proc/sys/vm/compact_memory")) {
      try {
        io.write("/proc/sys/vm/compact_memory", "1");
      } catch (const IoError& e) {
        log(fmt::format("prepare: compacting memory failed ({}); reserving anyway", e.what()));
      }
    }
    try {
      io.write(nr_path, std::to_string(*before + short_by));
    } catch (const IoError& e) {
      log(fmt::format("prepare: writing {} failed: {}", nr_path, e.what()));
    }
    now_nr = read_int(io, nr_path).value_or(*before);
  }
  checkpoint("hugepages");
  long long added = std::max(0LL, now_nr - *before);
  double took = io.now() - t0;
  if (now_nr < *before + short_by) {
    // Give back what did arrive: the guest will not start anyway.
    if (added > 0) {
      try {
        io.write(nr_path, std::to_string(*before));
      } catch (const IoError& e) {
        log(fmt::format("prepare: giving back {} pages failed: {}", added, e.what()));
        st["hugepages"]["added"] = added;
        io.save(state_path(d.name), st.dump(2) + "\n");
        throw;
      }
    }
    st.erase("hugepages");
    io.save(state_path(d.name), st.dump(2) + "\n");
    throw Error(
        ExitCode::refused,
        fmt::format(
            "prepare: the guest needs {} more {} pages{} but the kernel found only {} after compacting memory "
            "(free memory is short or fragmented); the pool is back at {}. Free memory, or reserve the pages at boot: "
            "'vfioctl setup --hugepages-for SPEC --apply --regenerate'",
            short_by, page_name(kib), where, added, *before));
  }
  st["hugepages"]["added"] = added;
  io.save(state_path(d.name), st.dump(2) + "\n");
  log(fmt::format("prepare: reserved {} more {} pages{} (pool {} -> {}) in {:.2f} s", added, page_name(kib), where,
                  *before, now_nr, took));
  over_budget("prepare: the hugepage reservation", took, opt.budgets.hugepages,
              "reserve these pages at boot instead (vfioctl setup --hugepages-for SPEC)");
}

void Tuner::Impl::give_back_pages(json& st) {
  if (!st.contains("hugepages")) return;
  auto& hp = st["hugepages"];
  std::string nr_path = hp.value("pool", "");
  auto now_nr = read_int(io, nr_path);
  if (!now_nr) {
    log(fmt::format("release: {} cannot be read: the pages added for this guest stay reserved", nr_path));
    return;
  }
  long long added;
  if (hp["added"].is_number()) {
    added = hp["added"].get<long long>();
  } else {
    // The hook stopped between its write and its record: what the pool
    // gained, but never more than it asked for.
    long long before = hp.value("before", 0LL), target = hp.value("target", 0LL);
    added = std::clamp(*now_nr - before, 0LL, std::max(0LL, target - before));
  }
  if (added <= 0) {
    st.erase("hugepages");
    return;
  }
  long long want = std::max(0LL, *now_nr - added);
  try {
    io.write(nr_path, std::to_string(want));
  } catch (const IoError& e) {
    log(fmt::format("release: giving back {} pages failed: {}", added, e.what()));
    throw Error(ExitCode::refused, fmt::format("release: {}", e.what()));
  }
  auto after = read_int(io, nr_path).value_or(want);
  log(fmt::format("release: gave back {} {} pages (pool {} -> {}{})", added, page_name(hp.value("size_kib", 0LL)),
                  *now_nr, after,
                  after > want ? fmt::format("; {} are still in use and leave as they are freed", after - want) : ""));
  st.erase("hugepages");
}

}  // namespace vfioctl::runtime
