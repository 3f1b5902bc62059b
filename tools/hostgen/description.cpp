#include "description.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "pci_tree.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::hostgen {

namespace fs = std::filesystem;

namespace {

const char* const kIntelBase =
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx "
    "fxsr sse sse2 ss ht tm pbe syscall nx rdtscp lm constant_tsc arch_perfmon pebs bts rep_good "
    "nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl est tm2 ssse3 "
    "sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave "
    "avx f16c rdrand lahf_lm abm";
const char* const kAmdBase =
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
    "sse2 ht syscall nx mmxext fxsr_opt rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid "
    "extd_apicid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes "
    "xsave avx f16c rdrand lahf_lm cmp_legacy extapic cr8_legacy abm sse4a misalignsse "
    "3dnowprefetch osvw topoext";

// A TOML table read key by key; unknown keys are errors naming file:line.
class Section {
 public:
  Section(const toml::table& table, std::string file, std::string name)
      : m_table(table), m_file(std::move(file)), m_name(std::move(name)) {}
  ~Section() = default;

  InputError error(const toml::node* node, const std::string& why) const {
    int line = node ? static_cast<int>(node->source().begin.line) : static_cast<int>(m_table.source().begin.line);
    return InputError(fmt::format("{}:{}: {}", m_file, line, why));
  }
  const toml::node* get(const std::string& key) {
    m_used.insert(key);
    return m_table.get(key);
  }
  template <typename T>
  std::optional<T> value(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    auto v = n->value<T>();
    if (!v) throw error(n, fmt::format("[{}] {}: wrong type", m_name, key));
    return *v;
  }
  std::optional<std::string> text(const std::string& key) { return value<std::string>(key); }
  std::optional<long long> integer(const std::string& key) { return value<int64_t>(key); }
  std::optional<double> number(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (auto i = n->value_exact<int64_t>()) return static_cast<double>(*i);
    if (auto d = n->value<double>()) return *d;
    throw error(n, fmt::format("[{}] {}: not a number", m_name, key));
  }
  std::vector<std::string> strings(const std::string& key) {
    std::vector<std::string> out;
    const toml::node* n = get(key);
    if (!n) return out;
    if (auto s = n->value<std::string>()) {
      for (auto w : split_ws(*s)) out.emplace_back(w);
      return out;
    }
    const toml::array* a = n->as_array();
    if (!a) throw error(n, fmt::format("[{}] {}: expected a list of strings", m_name, key));
    for (const auto& e : *a) {
      auto s = e.value<std::string>();
      if (!s) throw error(&e, fmt::format("[{}] {}: expected strings", m_name, key));
      out.push_back(*s);
    }
    return out;
  }
  std::vector<int> cpus(const std::string& key) {
    auto s = text(key);
    if (!s) return {};
    auto list = parse_cpulist(*s);
    if (!list) throw error(get(key), fmt::format("[{}] {}: '{}' is not a CPU list", m_name, key, *s));
    return *list;
  }
  std::optional<Section> sub(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->as_table()) throw error(n, fmt::format("[{}] {}: expected a table", m_name, key));
    return Section(*n->as_table(), m_file, m_name.empty() ? key : m_name + "." + key);
  }
  const toml::table& table() const { return m_table; }
  const std::string& file() const { return m_file; }
  // Throws for the first key nobody asked for.
  void finish() const {
    for (const auto& [k, v] : m_table) {
      if (!m_used.count(std::string(k.str()))) {
        throw error(&v, fmt::format("unknown key '{}' in [{}]", k.str(), m_name.empty() ? "top level" : m_name));
      }
    }
  }

 private:
  const toml::table& m_table;
  std::string m_file;
  std::string m_name;
  std::set<std::string> m_used;
};

std::optional<std::pair<uint16_t, uint16_t>> id_pair(Section& s, const std::string& key) {
  auto t = s.text(key);
  if (!t) return std::nullopt;
  auto parts = split(*t, ':');
  auto a = parts.size() == 2 && parts[0].size() == 4 ? parse_hex(parts[0]) : std::nullopt;
  auto b = parts.size() == 2 && parts[1].size() == 4 ? parse_hex(parts[1]) : std::nullopt;
  if (!a || !b) throw s.error(s.get(key), fmt::format("{}: '{}' is not vvvv:dddd", key, *t));
  return std::make_pair(static_cast<uint16_t>(*a), static_cast<uint16_t>(*b));
}

PciAddress address(Section& s, const toml::node* node, const std::string& text) {
  auto a = PciAddress::parse(text);
  if (!a) throw s.error(node, fmt::format("'{}' is not a PCI address (BB:DD.F)", text));
  return *a;
}

void load_caches(Section& s, const std::string& key, CacheSizes& out) {
  auto c = s.sub(key);
  if (!c) return;
  out.l1d = static_cast<int>(c->integer("l1d").value_or(out.l1d));
  out.l1i = static_cast<int>(c->integer("l1i").value_or(out.l1i));
  out.l2 = static_cast<int>(c->integer("l2").value_or(out.l2));
  out.l3 = static_cast<int>(c->integer("l3").value_or(out.l3));
  c->finish();
}

void load_cpu(Section& top, const fs::path& dir, CpuFacts& cpu) {
  auto s = top.sub("cpu");
  if (!s) throw top.error(nullptr, "missing [cpu]");
  cpu.vendor_id = s->text("vendor_id").value_or("GenuineIntel");
  cpu.family = static_cast<int>(s->integer("family").value_or(6));
  cpu.model = static_cast<int>(s->integer("model").value_or(0));
  cpu.stepping = static_cast<int>(s->integer("stepping").value_or(0));
  cpu.model_name = s->text("model_name").value_or("");
  if (cpu.model_name.empty()) throw s->error(nullptr, "[cpu] needs model_name");
  for (auto f : split_ws(cpu.vendor_id == "AuthenticAMD" ? kAmdBase : kIntelBase)) cpu.flags.emplace_back(f);
  for (auto& f : s->strings("flags")) {
    if (std::find(cpu.flags.begin(), cpu.flags.end(), f) == cpu.flags.end()) cpu.flags.push_back(f);
  }
  cpu.base_mhz = s->number("base_mhz").value_or(0);
  cpu.e_base_mhz = s->number("e_base_mhz").value_or(0);
  load_caches(*s, "cache_kib", cpu.cache);
  cpu.e_cache = cpu.cache;
  load_caches(*s, "e_cache_kib", cpu.e_cache);
  cpu.p_cpus = s->cpus("p_cpus");
  cpu.e_cpus = s->cpus("e_cpus");
  auto max_mhz = s->number("max_mhz");
  auto min_mhz = s->number("min_mhz");
  auto lscpu = s->text("lscpu");
  auto shape = s->sub("shape");
  if (lscpu && shape) throw s->error(s->get("shape"), "[cpu] takes either lscpu or [cpu.shape], not both");
  if (lscpu) {
    cpu.table_source = *lscpu;
    cpu.table = parse_lscpu(read_text_file(dir / *lscpu), *lscpu);
  } else if (shape) {
    CpuShape sh;
    sh.sockets = static_cast<int>(shape->integer("sockets").value_or(1));
    sh.cores_per_socket = static_cast<int>(shape->integer("cores_per_socket").value_or(4));
    sh.threads_per_core = static_cast<int>(shape->integer("threads_per_core").value_or(2));
    auto numbering = shape->text("numbering").value_or("split");
    if (numbering != "split" && numbering != "adjacent")
      throw shape->error(shape->get("numbering"), "numbering is 'split' or 'adjacent'");
    sh.split = numbering == "split";
    sh.cores_per_l3 = static_cast<int>(shape->integer("cores_per_l3").value_or(0));
    sh.numa_nodes = static_cast<int>(shape->integer("numa_nodes").value_or(1));
    shape->finish();
    cpu.table_source = "synthetic";
    cpu.table = build_cpu_table(sh, fmt::format("{}:{}", top.file(), shape->table().source().begin.line));
  } else {
    throw s->error(nullptr, "[cpu] needs lscpu = \"cpus/FILE\" or a [cpu.shape] table");
  }
  for (auto& r : cpu.table.rows) {
    if (!r.max_mhz && max_mhz) r.max_mhz = *max_mhz;
    if (!r.min_mhz && min_mhz) r.min_mhz = *min_mhz;
  }
  s->finish();
}

void load_kernel(Section& top, const std::optional<std::string>& listed_cmdline, KernelFacts& k) {
  auto s = top.sub("kernel");
  if (!s) throw top.error(nullptr, "missing [kernel]");
  k.release = s->text("release").value_or("");
  if (k.release.empty()) throw s->error(nullptr, "[kernel] needs release");
  auto cmdline = s->text("cmdline");
  if (!cmdline && !listed_cmdline) throw s->error(nullptr, "[kernel] needs cmdline (the listing has none)");
  k.cmdline = cmdline ? *cmdline : *listed_cmdline;
  k.modules = s->strings("modules");
  k.builtin = s->strings("builtin");
  k.isolated = s->cpus("isolated");
  k.nohz_full = s->cpus("nohz_full");
  k.kvm = s->value<bool>("kvm").value_or(true);
  if (auto p = s->sub("params")) {
    for (const auto& [mod, node] : p->table()) {
      auto m = p->sub(std::string(mod.str()));
      for (const auto& [key, v] : m->table()) {
        auto val = m->text(std::string(key.str()));
        k.params[std::string(mod.str())][std::string(key.str())] = *val;
      }
    }
  }
  s->finish();
}

void load_pci(Section& top, PciFacts& pci) {
  auto s = top.sub("pci");
  if (!s) return;
  if (auto b = s->text("boot_vga")) {
    if (*b == "none")
      pci.no_boot_vga = true;
    else
      pci.boot_vga = address(*s, s->get("boot_vga"), *b);
  }
  pci.reset_methods = s->value<bool>("reset_methods").value_or(true);
  for (auto& bus : s->strings("root_buses")) {
    auto v = parse_hex(bus);
    if (!v || *v > 0xff) throw s->error(s->get("root_buses"), fmt::format("root bus '{}' is not hex 00-ff", bus));
    pci.root_buses.push_back(static_cast<unsigned>(*v));
  }
  pci.numa_node = static_cast<int>(s->integer("numa_node").value_or(-1));
  pci.subsystem = id_pair(*s, "subsystem");
  if (auto up = s->sub("upstream")) {
    for (const auto& [bus, node] : up->table()) {
      auto v = parse_hex(bus.str());
      auto target = up->text(std::string(bus.str()));
      if (!v || *v > 0xff) throw up->error(&node, fmt::format("bus '{}' is not hex 00-ff", bus.str()));
      pci.upstream[static_cast<unsigned>(*v)] = address(*up, &node, *target);
    }
  }
  if (auto devs = s->sub("devices")) {
    for (const auto& [addr, node] : devs->table()) {
      PciAddress a = address(*devs, &node, std::string(addr.str()));
      auto d = devs->sub(std::string(addr.str()));
      DeviceFacts f;
      if (auto drv = d->text("driver")) f.driver = *drv == "none" ? std::string() : *drv;
      f.reset_method = d->text("reset_method");
      if (auto v = d->integer("sriov_totalvfs")) f.sriov_totalvfs = static_cast<int>(*v);
      if (auto v = d->integer("sriov_numvfs")) f.sriov_numvfs = static_cast<int>(*v);
      if (auto v = d->integer("numa_node")) f.numa_node = static_cast<int>(*v);
      f.subsystem = id_pair(*d, "subsystem");
      f.bars = d->strings("bars");
      if (const toml::node* n = d->get("resizable_bars")) {
        const toml::array* arr = n->as_array();
        if (!arr) throw d->error(n, "resizable_bars must be a list of BAR numbers");
        for (const auto& e : *arr) {
          auto v = e.value<int64_t>();
          if (!v || *v < 0 || *v > 5) throw d->error(&e, "a BAR number is 0-5");
          f.resizable_bars.push_back(static_cast<int>(*v));
        }
      }
      for (const auto& b : f.bars) {
        if (!parse_region(b)) throw d->error(d->get("bars"), fmt::format("'{}' is not an lspci region line", b));
      }
      d->finish();
      pci.devices[a] = f;
    }
  }
  s->finish();
}

// [numa] root_buses = { "00" = 0, "40" = 1 }: the NUMA node of every device
// under each root bus (a socket's or a die's root complex). The bus must be
// a root bus of the listing and the node one the CPU topology has.
void load_numa(Section& top, HostDescription& d) {
  auto s = top.sub("numa");
  if (!s) return;
  if (auto buses = s->sub("root_buses")) {
    auto nodes = d.cpu.table.nodes();
    std::set<unsigned> roots;
    for (const auto& p : place_devices(d.listing, d.pci)) roots.insert(p.root_bus);
    for (const auto& [key, node] : buses->table()) {
      std::string bus_text(key.str());
      auto bus = bus_text.size() == 2 ? parse_hex(bus_text) : std::nullopt;
      if (!bus) throw buses->error(&node, fmt::format("[numa.root_buses] '{}' is not a bus (hex 00-ff)", bus_text));
      auto n = buses->integer(bus_text);
      if (!n || *n < 0) throw buses->error(&node, fmt::format("[numa.root_buses] {}: a node number >= 0", bus_text));
      if (!roots.count(static_cast<unsigned>(*bus)))
        throw buses->error(&node,
                           fmt::format("[numa.root_buses] bus {} is not a root bus of {}", bus_text, d.listing_path));
      if (std::find(nodes.begin(), nodes.end(), static_cast<int>(*n)) == nodes.end())
        throw buses->error(&node, fmt::format("[numa.root_buses] {}: node {} is not a node of the CPU topology ({})",
                                              bus_text, *n, format_cpulist(nodes)));
      d.pci.root_bus_nodes[static_cast<unsigned>(*bus)] = static_cast<int>(*n);
    }
    buses->finish();
  }
  s->finish();
}

}  // namespace

std::string read_text_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HostDescription load_description(const fs::path& file) {
  HostDescription d;
  d.name = file.stem().string();
  std::string name = file.string();
  toml::table root;
  try {
    root = toml::parse(read_text_file(file), name);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}:{}: {}", name, e.source().begin.line, e.description()));
  }
  Section top(root, name, "");
  d.source = top.text("source").value_or("");
  if (trim(d.source).empty()) throw top.error(nullptr, "needs source = \"...\" (the fixture README text)");
  auto listing = top.text("listing");
  if (!listing) throw top.error(nullptr, "needs listing = \"listings/FILE\"");
  d.listing_path = *listing;
  fs::path dir = file.parent_path();
  d.listing = parse_listing(read_text_file(dir / *listing), *listing);
  d.inputs = {file, dir / *listing};
  load_cpu(top, dir, d.cpu);
  if (d.cpu.table_source != "synthetic") d.inputs.push_back(dir / d.cpu.table_source);
  load_kernel(top, d.listing.cmdline, d.kernel);
  if (auto m = top.sub("memory")) {
    d.memory.total_mib = m->integer("total_mib").value_or(d.memory.total_mib);
    d.memory.hugepages_2m = m->integer("hugepages_2m").value_or(0);
    d.memory.hugepages_1g = m->integer("hugepages_1g").value_or(0);
    d.memory.thp = m->text("thp").value_or(d.memory.thp);
    d.memory.thp_defrag = m->text("thp_defrag").value_or(d.memory.thp_defrag);
    m->finish();
  }
  if (auto i = top.sub("iommu")) {
    d.iommu_units = static_cast<int>(i->integer("units").value_or(1));
    i->finish();
  }
  load_pci(top, d.pci);
  load_numa(top, d);
  top.finish();
  if (d.pci.boot_vga && !d.listing.find(d.pci.boot_vga->str())) {
    throw InputError(
        fmt::format("{}: [pci] boot_vga {}: no such device in {}", name, d.pci.boot_vga->short_str(), *listing));
  }
  for (const auto& [addr, f] : d.pci.devices) {
    if (!d.listing.find(addr.str()))
      throw InputError(fmt::format("{}: [pci.devices.\"{}\"]: no such device in {}", name, addr.short_str(), *listing));
  }
  return d;
}

}  // namespace vfioctl::hostgen
