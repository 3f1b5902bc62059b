// vfioctl topo: the CPU topology as passthrough planning sees it.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <set>

#include "cli.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/json.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

// "0,12" for a core, with a P/E mark and '*' for isolated CPUs.
std::string core_text(const CpuTopology& topo, const std::vector<int>& core) {
  std::vector<std::string> parts;
  for (int c : core) parts.push_back(std::to_string(c));
  std::string s = join(parts, ",");
  const Cpu* first = topo.find(core.front());
  if (first && first->kind == CoreKind::performance) s += "P";
  if (first && first->kind == CoreKind::efficiency) s += "E";
  if (first && first->isolated) s += "*";
  return s;
}

void print_text(const CpuTopology& topo, const Style& st) {
  auto online = topo.online();
  auto cores = topo.cores();
  std::set<int> packages;
  size_t max_threads = 1;
  for (const auto& c : topo.cpus) {
    if (c.online && c.package) packages.insert(*c.package);
  }
  for (const auto& core : cores) max_threads = std::max(max_threads, core.size());
  std::cout << st.bold(fmt::format("{} CPUs online ({} known), {} cores, {} package{}, {} L3 domain{}, {} NUMA node{}",
                                   online.size(), topo.cpus.size(), cores.size(), packages.size(),
                                   packages.size() == 1 ? "" : "s", topo.l3.size(), topo.l3.size() == 1 ? "" : "s",
                                   topo.nodes.size(), topo.nodes.size() == 1 ? "" : "s"))
            << "\n";
  std::cout << fmt::format("SMT: {} thread{} per core at most; hybrid: {}\n", max_threads, max_threads == 1 ? "" : "s",
                           topo.hybrid ? "yes (P = performance, E = efficiency)" : "no");
  std::cout << "\n";
  // One line per (package, die, node, L3) domain, listing its cores.
  using Key = std::tuple<int, int, int, int>;
  std::map<Key, std::vector<std::vector<int>>> domains;
  for (const auto& core : cores) {
    const Cpu* c = topo.find(core.front());
    Key k{c->package.value_or(-1), c->die.value_or(-1), c->node.value_or(-1), c->l3.value_or(-1)};
    domains[k].push_back(core);
  }
  std::cout << st.dim("package die node  L3          cores (SMT siblings together)") << "\n";
  for (const auto& [k, list] : domains) {
    auto [pkg, die, node, l3] = k;
    std::string l3s = "-";
    if (l3 >= 0) {
      const auto& d = topo.l3[static_cast<size_t>(l3)];
      l3s = std::to_string(l3) + (d.size_kib ? fmt::format(" ({}K)", *d.size_kib) : "");
    }
    std::vector<std::string> parts;
    for (const auto& core : list) parts.push_back(core_text(topo, core));
    std::cout << fmt::format("{:<7} {:<3} {:<5} {:<11} {}\n", pkg < 0 ? "?" : std::to_string(pkg),
                             die < 0 ? "?" : std::to_string(die), node < 0 ? "?" : std::to_string(node), l3s,
                             join(parts, " "));
  }
  std::vector<int> offline;
  for (const auto& c : topo.cpus) {
    if (!c.online) offline.push_back(c.id);
  }
  std::cout << "\n";
  if (!offline.empty()) std::cout << "offline: " << format_cpulist(offline) << "\n";
  std::cout << "isolated: " << (topo.isolated.empty() ? "none" : format_cpulist(topo.isolated) + " (marked *)") << "\n";
  std::cout << "nohz_full: " << (topo.nohz_full.empty() ? "none" : format_cpulist(topo.nohz_full)) << "\n";
}

}  // namespace

void add_topo(CLI::App& app, GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand("topo", "CPU topology: packages, L3 domains, cores and SMT siblings, P/E kinds");
  cmd->description(
      "Show the CPU topology read from sysfs: packages, dies, NUMA nodes, L3 domains (AMD CCX/CCD),\n"
      "physical cores with their SMT siblings (as the kernel numbers them: never assumed), P/E core\n"
      "kinds on hybrid Intel parts, isolated and nohz_full CPUs. Guests get whole cores from this map.");
  cmd->footer(
      "\nExamples:\n  vfioctl topo\n  vfioctl topo --json\n  vfioctl --root tests/hosts/intel-hybrid-13700k topo");
  cmd->callback([&g]() {
    Root root = open_root(g);
    Host host = read_host(root, HostPart::cpu);
    if (g.json) {
      JsonWriter w(std::cout);
      w.begin_object();
      write_json(w, host.cpu);
      w.key("notes");
      write_json(w, host.notes);
      w.end_object();
      w.finish();
      return;
    }
    print_text(host.cpu, make_style(g));
    print_notes(host.notes);
  });
}

}  // namespace vfioctl::cli
