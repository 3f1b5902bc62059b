#include "vfioctl/plan/cpu_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

struct Core {
  std::vector<int> cpus;  // SMT siblings, ascending
  int l3 = -1;
  int node = -1;
  CoreKind kind = CoreKind::unknown;
  bool has_cpu0 = false;
};

int kind_rank(CoreKind k) {
  switch (k) {
    case CoreKind::performance: return 0;
    case CoreKind::unknown: return 1;
    case CoreKind::efficiency: return 2;
  }
  return 1;
}

std::string cpus_text(const std::vector<int>& cpus) { return format_cpulist(cpus); }

// The online cores, each with its siblings, cache, node and kind.
std::vector<Core> cores_of(const CpuTopology& topo) {
  std::vector<Core> cores;
  for (const auto& sib : topo.cores()) {
    Core c;
    c.cpus = sib;
    std::sort(c.cpus.begin(), c.cpus.end());
    const Cpu* first = topo.find(c.cpus.front());
    if (first) {
      c.l3 = first->l3.value_or(-1);
      c.node = first->node.value_or(-1);
      c.kind = first->kind;
    }
    c.has_cpu0 = c.cpus.front() == 0;
    cores.push_back(std::move(c));
  }
  return cores;
}

// Threads per core: as asked, or what the preferred cores have.
int threads_per_core(const std::vector<Core>& cores, const CpuRequest& req) {
  int total = static_cast<int>(cores.size());
  if (total == 0) throw input_error("no online CPU is known (/sys/devices/system/cpu unreadable): cannot plan vCPUs");
  if (total < 2)
    throw input_error("the host has a single core: nothing can be given to a guest while the host keeps one");
  if (req.threads < 0 || req.threads > 2)
    throw input_error(fmt::format("threads = {}: a core has 1 or 2 threads", req.threads));
  int width = 1;
  for (const auto& c : cores) {
    if (c.kind != CoreKind::efficiency) width = std::max(width, static_cast<int>(c.cpus.size()));
  }
  int threads = req.threads > 0 ? req.threads : width;
  if (threads > width) {
    throw input_error(
        fmt::format("threads = {}: this host's cores have {} thread{} (SMT off or absent); ask for threads = {}",
                    threads, width, width == 1 ? "" : "s", width));
  }
  return threads;
}

bool isolated_core(const Core& c, const std::vector<int>& iso) {
  return std::all_of(c.cpus.begin(), c.cpus.end(),
                     [&](int cpu) { return std::binary_search(iso.begin(), iso.end(), cpu); });
}

// The cores a guest may get, and what decided them.
struct Candidates {
  std::vector<const Core*> eligible;
  const Core* core0 = nullptr;  // CPU 0's core, which stays with the host
  bool isolating = false;       // the eligible cores are the host's isolated ones
};

// Cores a guest may get: not CPU 0's, with enough threads; on hybrid
// hosts without an explicit one-thread request, P-cores only (a guest
// topology cannot mix 2-thread and 1-thread cores).
// With isolation, only cores whose every CPU is isolated: a vCPU beside
// a housekeeping sibling shares its core with host work.
Candidates candidates(const std::vector<Core>& cores, const CpuRequest& req, int threads, bool hybrid, CpuPlan& plan) {
  Candidates out;
  const auto& iso = req.isolation.cpus;
  auto fits = [&](const Core& c) {
    if (static_cast<int>(c.cpus.size()) < threads) return false;
    return !(hybrid && threads > 1 && c.kind == CoreKind::efficiency);
  };
  for (const auto& c : cores) {
    if (c.has_cpu0) {
      out.core0 = &c;
      continue;
    }
    if (!iso.empty() && !isolated_core(c, iso)) continue;
    if (fits(c)) out.eligible.push_back(&c);
  }
  out.isolating = !iso.empty() && !out.eligible.empty();
  if (!iso.empty() && out.eligible.empty()) {
    // Nothing whole to give: place as on a host without isolation, and say so.
    plan.warnings.push_back(fmt::format(
        "the host isolates CPUs {} ({}), which hold no whole core a guest can use: vCPUs are placed as if nothing were "
        "isolated; isolate whole cores (both SMT siblings, never core 0) to keep host work off them",
        format_cpulist(iso), req.isolation.text()));
    for (const auto& c : cores) {
      if (!c.has_cpu0 && fits(c)) out.eligible.push_back(&c);
    }
  }
  return out;
}

// How many cores the guest gets: as asked, or as many as the host isolates
// or can spare.
int cores_wanted(int total, const Candidates& cand, const CpuRequest& req, int threads, bool hybrid, CpuPlan& plan) {
  const auto& iso = req.isolation.cpus;
  int eligible = static_cast<int>(cand.eligible.size());
  int keep = host_cores_to_keep(total);
  int want = req.cores;
  if (want < 0) throw input_error(fmt::format("cores = {}: ask for 1 or more", want));
  if (cand.isolating && want == 0) {
    want = eligible;
    plan.reasons.push_back(fmt::format("cpus = auto: the {} whole core{} the host isolates ({})", want,
                                       want == 1 ? "" : "s", req.isolation.text()));
  }
  if (cand.isolating && want > eligible) {
    throw input_error(fmt::format(
        "{} cores asked, but the host isolates {} whole core{} a guest can use (CPUs {}: {}): ask for at most {}, "
        "or isolate more cores on the kernel command line (vfioctl setup --isolate)",
        want, eligible, eligible == 1 ? "" : "s", format_cpulist(iso), req.isolation.text(), eligible));
  }
  if (want == 0) {
    want = std::min(total - keep, eligible);
    if (want <= 0) {
      throw input_error(fmt::format("the host has {} core{}: none can be spared for a guest while it keeps {}", total,
                                    total == 1 ? "" : "s", keep));
    }
    plan.reasons.push_back(fmt::format("cpus = auto: {} of {} cores, the host keeps {}", want, total, total - want));
  }
  if (want > eligible) {
    if (hybrid && threads > 1) {
      throw input_error(fmt::format(
          "{} cores with {} threads asked, but the host can give {} performance cores (core 0 stays with the host; "
          "E-cores have one thread: ask threads = 1 to use them too)",
          want, threads, eligible));
    }
    throw input_error(
        fmt::format("{} cores asked, but the host has {} and keeps at least one (the core of CPU 0): "
                    "at most {} can be given",
                    want, total, eligible));
  }
  if (!cand.isolating && total - want < keep) {
    plan.warnings.push_back(
        fmt::format("the host keeps only {} core{} ({} recommended on a {}-core host): expect host stutter under load",
                    total - want, total - want == 1 ? "" : "s", keep, total));
  }
  return want;
}

// The eligible cores by L3 domain, each list P-cores first, then by CPU.
using ByL3 = std::map<int, std::vector<const Core*>>;

ByL3 by_l3_domain(const std::vector<const Core*>& eligible) {
  ByL3 by_l3;
  for (const Core* c : eligible) by_l3[c->l3].push_back(c);
  for (auto& [l3, list] : by_l3) {
    std::stable_sort(list.begin(), list.end(), [](const Core* a, const Core* b) {
      return std::make_tuple(kind_rank(a->kind), a->cpus.front()) <
             std::make_tuple(kind_rank(b->kind), b->cpus.front());
    });
  }
  return by_l3;
}

// The L3 domains in the order they are tried: the devices' node, P-cores,
// away from CPU 0.
std::vector<int> domain_order(const ByL3& by_l3, const CpuRequest& req, const Core* core0) {
  auto score = [&](int l3) {
    const auto& list = by_l3.at(l3);
    int node = list.front()->node;
    bool near = req.near_node && node == *req.near_node;
    int best_kind = kind_rank(list.front()->kind);
    bool with_cpu0 = core0 && core0->l3 == l3 && l3 >= 0;
    return std::make_tuple(req.near_node && !near ? 1 : 0, best_kind, with_cpu0 ? 1 : 0, l3);
  };
  std::vector<int> order;
  for (const auto& [l3, list] : by_l3) order.push_back(l3);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return score(a) < score(b); });
  return order;
}

// One NUMA node when one holds the guest (the devices' first); within
// it, or across all, as few domains as hold the guest: the largest
// first (ties in the order above: the devices' node, P-cores, away
// from CPU 0).
std::vector<const Core*> spread_cores(const std::vector<const Core*>& eligible, const ByL3& by_l3,
                                      std::vector<int> order, int want) {
  std::map<int, int> node_cores;
  for (const Core* c : eligible) ++node_cores[c->node];
  std::optional<int> node;
  for (int l3 : order) {
    int n = by_l3.at(l3).front()->node;
    if (node_cores[n] >= want) {
      node = n;
      break;
    }
  }
  if (node) {
    order.erase(std::remove_if(order.begin(), order.end(), [&](int l3) { return by_l3.at(l3).front()->node != *node; }),
                order.end());
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return by_l3.at(a).size() > by_l3.at(b).size(); });
  std::vector<const Core*> chosen;
  for (int l3 : order) {
    for (const Core* c : by_l3.at(l3)) {
      if (static_cast<int>(chosen.size()) < want) chosen.push_back(c);
    }
  }
  return chosen;
}

// The guest's cores, in CPU order: one L3 domain when one holds them.
std::vector<const Core*> choose_cores(const Candidates& cand, int want, const CpuRequest& req, CpuPlan& plan) {
  ByL3 by_l3 = by_l3_domain(cand.eligible);
  std::vector<int> order = domain_order(by_l3, req, cand.core0);
  std::vector<const Core*> chosen;
  for (int l3 : order) {
    if (static_cast<int>(by_l3[l3].size()) >= want) {
      chosen.assign(by_l3[l3].begin(), by_l3[l3].begin() + want);
      if (l3 >= 0 && by_l3.size() > 1) {
        plan.reasons.push_back(fmt::format("all {} cores in one L3 domain ({}): they share a cache", want, l3));
      }
      break;
    }
  }
  if (chosen.empty()) {
    chosen = spread_cores(cand.eligible, by_l3, order, want);
    plan.reasons.push_back(fmt::format("no L3 domain has {} free cores: the guest spans several", want));
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const Core* a, const Core* b) { return a->cpus.front() < b->cpus.front(); });
  return chosen;
}

// The vCPUs on the chosen cores' first `threads` siblings; the plan's
// threads, L3 domains and node. Returns the CPUs the vCPUs use.
std::set<int> assign_vcpus(const std::vector<const Core*>& chosen, int threads, CpuPlan& plan) {
  std::set<int> used, idle;
  std::set<int> l3s, nodes;
  for (const Core* c : chosen) {
    for (int t = 0; t < static_cast<int>(c->cpus.size()); ++t) {
      if (t < threads) {
        plan.vcpus.push_back(c->cpus[static_cast<size_t>(t)]);
        used.insert(c->cpus[static_cast<size_t>(t)]);
      } else {
        idle.insert(c->cpus[static_cast<size_t>(t)]);
      }
    }
    if (c->l3 >= 0) l3s.insert(c->l3);
    nodes.insert(c->node);
  }
  if (!idle.empty()) {
    plan.warnings.push_back(
        fmt::format("threads = 1 on SMT cores: their siblings ({}) stay idle, so no host work shares a guest core",
                    cpus_text(std::vector<int>(idle.begin(), idle.end()))));
  }
  plan.threads = threads;
  plan.l3.assign(l3s.begin(), l3s.end());
  if (nodes.size() == 1 && *nodes.begin() >= 0) plan.node = *nodes.begin();
  return used;
}

// Why the node, or a warning when the guest does not fit on the devices'.
void explain_node(const CpuRequest& req, CpuPlan& plan) {
  if (!req.near_node) return;
  if (plan.node == req.near_node) {
    plan.reasons.push_back(fmt::format("NUMA node {}: the node of the passed device{}", *req.near_node,
                                       req.near_why.empty() ? "" : "s " + req.near_why));
  } else {
    plan.warnings.push_back(fmt::format(
        "the passed device{} on NUMA node {}, but the guest's cores do not all fit there: memory and DMA cross "
        "between the nodes",
        req.near_why.empty() ? " sits" : "s " + req.near_why + " sit", *req.near_node));
  }
}

// Emulator and I/O thread: one host core, near the guest, not CPU 0's
// when another is free (CPU 0 takes most host interrupts).
void place_helpers(const std::vector<Core>& cores, const std::vector<const Core*>& chosen, const CpuRequest& req,
                   bool isolating, CpuPlan& plan) {
  std::vector<const Core*> host_cores;
  for (const auto& c : cores) {
    if (std::find(chosen.begin(), chosen.end(), &c) != chosen.end()) continue;
    // Isolated cores hold other guests' vCPUs, or none: host threads go to
    // housekeeping cores.
    if (isolating && isolated_core(c, req.isolation.cpus)) continue;
    host_cores.push_back(&c);
  }
  const Core* helper = nullptr;
  auto helper_score = [&](const Core* c) {
    bool same_l3 = c->l3 >= 0 && std::binary_search(plan.l3.begin(), plan.l3.end(), c->l3);
    bool same_node = plan.node && c->node == *plan.node;
    return std::make_tuple(c->has_cpu0 ? 1 : 0, same_node ? 0 : 1, same_l3 ? 0 : 1, kind_rank(c->kind),
                           c->cpus.front());
  };
  for (const Core* c : host_cores) {
    if (!helper || helper_score(c) < helper_score(helper)) helper = c;
  }
  if (helper) {
    plan.emulator = helper->cpus;
    plan.iothread = helper->cpus;
    plan.reasons.push_back(fmt::format("emulator and iothread on CPUs {}, {}", cpus_text(helper->cpus),
                                       isolating ? "a housekeeping core (not isolated)" : "which no vCPU uses"));
  }
}

}  // namespace

int host_cores_to_keep(int total_cores) { return total_cores <= 4 ? 1 : 2; }

std::vector<std::pair<std::string, std::vector<int>>> cmdline_isolation(const Kernel& k,
                                                                        std::vector<std::string>& bad) {
  std::vector<std::pair<std::string, std::vector<int>>> sets;
  for (const char* key : {"isolcpus", "nohz_full", "rcu_nocbs"}) {
    auto v = k.arg(key);
    if (!v) continue;
    // isolcpus may start with flags: "domain,managed_irq,2-7".
    std::string list;
    bool flags_ok = true;
    for (auto part : split(*v, ',')) {
      if (!part.empty() && std::isdigit(static_cast<unsigned char>(part[0]))) {
        if (!list.empty()) list += ',';
        list += std::string(part);
      } else if (std::string_view(key) != "isolcpus" || (part != "domain" && part != "managed_irq" && part != "nohz")) {
        flags_ok = false;
      }
    }
    auto cpus = flags_ok ? parse_cpulist(list) : std::nullopt;
    if (!cpus) {
      bad.push_back(v->empty() ? key : std::string(key) + "=" + *v);
      continue;
    }
    sets.emplace_back(key, *cpus);
  }
  return sets;
}

std::string Isolation::text() const { return join(sources, ", "); }

Isolation host_isolation(const CpuTopology& topo, const Kernel& k) {
  Isolation iso;
  std::set<int> all;
  std::vector<std::string> bad;
  std::set<std::string> named;
  for (const auto& [key, cpus] : cmdline_isolation(k, bad)) {
    if (key == "rcu_nocbs") continue;  // offloads callbacks; schedules nothing away
    all.insert(cpus.begin(), cpus.end());
    iso.sources.push_back(key + "=" + format_cpulist(cpus));
    named.insert(key);
  }
  // What the kernel reports: the same lists, or the only ones in a snapshot
  // without /proc/cmdline.
  auto add_reported = [&](const std::vector<int>& cpus, const std::string& key) {
    if (cpus.empty()) return;
    all.insert(cpus.begin(), cpus.end());
    if (!named.count(key)) iso.sources.push_back(key + "=" + format_cpulist(cpus));
  };
  add_reported(topo.isolated, "isolcpus");
  add_reported(topo.nohz_full, "nohz_full");
  if (!topo.partition_isolated.empty()) {
    all.insert(topo.partition_isolated.begin(), topo.partition_isolated.end());
    iso.sources.push_back(fmt::format("isolated cpuset partition{} {}: {}",
                                      topo.isolated_partitions.size() == 1 ? "" : "s",
                                      join(topo.isolated_partitions, ", "), format_cpulist(topo.partition_isolated)));
  }
  iso.cpus.assign(all.begin(), all.end());
  return iso;
}

CpuPlan plan_cpus(const CpuTopology& topo, const CpuRequest& req) {
  std::vector<Core> cores = cores_of(topo);
  int threads = threads_per_core(cores, req);
  CpuPlan plan;
  bool hybrid = topo.hybrid;
  Candidates cand = candidates(cores, req, threads, hybrid, plan);
  int want = cores_wanted(static_cast<int>(cores.size()), cand, req, threads, hybrid, plan);
  std::vector<const Core*> chosen = choose_cores(cand, want, req, plan);
  std::set<int> used = assign_vcpus(chosen, threads, plan);
  plan.cores = want;
  explain_node(req, plan);
  if (hybrid) {
    bool all_p =
        std::all_of(chosen.begin(), chosen.end(), [](const Core* c) { return c->kind == CoreKind::performance; });
    if (all_p) plan.reasons.push_back("performance cores only (E-cores stay with the host)");
  }
  place_helpers(cores, chosen, req, cand.isolating, plan);
  if (cand.isolating) {
    plan.reasons.push_back(
        fmt::format("vCPUs on isolated CPUs only ({}): the kernel keeps host work off them", req.isolation.text()));
  }
  for (int cpu : topo.online()) {
    if (!used.count(cpu)) plan.host.push_back(cpu);
  }
  if (cand.core0)
    plan.reasons.push_back(fmt::format("core 0 (CPUs {}) stays with the host", cpus_text(cand.core0->cpus)));
  return plan;
}

}  // namespace vfioctl
