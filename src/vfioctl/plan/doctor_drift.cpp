// doctor's drift checks: what the host's configuration asks for and the
// running kernel does not do (H023-H027). The configuration is the kernel
// command line and modprobe.d; what is in effect is sysfs, the module lists
// and, on the live host, the initramfs image.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/plan/doctor_checks.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl::doctor_detail {

namespace {

const char* const kCmdline = "the kernel command line";

std::string page_size(long long kib) {
  return size_text_kib(kib, {.smallest = Unit::M, .spelled = true, .fit = Fit::reaches});
}

bool is_vfio(const std::optional<std::string>& driver) { return driver && module_name(*driver) == "vfio_pci"; }

std::string device_text(const PciDevice& d) {
  return fmt::format("{} [{}]{}", d.address.short_str(), d.id_pair(), d.device_name.empty() ? "" : " " + d.device_name);
}

// The modules a device needs: those whose alias matches its modalias when
// modules.alias is readable, else the module of its driver; empty when
// neither is known.
std::vector<std::string> needed_modules(const Host& host, const PciDevice& d) {
  if (host.system.aliases_known && d.modalias) {
    auto m = modules_for_alias(host.system, *d.modalias);
    if (!m.empty()) return m;
  }
  if (d.driver) return {module_name(*d.driver)};
  return {};
}

// Whether a modprobe.d softdep loads vfio-pci before `mod`.
bool softdep_vfio_first(const Host& host, const std::string& mod) {
  bool softdep = false;
  for (const auto& l : host.system.modprobe.lines) {
    if (l.kind != ModprobeLine::Kind::softdep || l.module != mod) continue;
    bool pre = false;
    for (const auto& a : l.args) {
      if (a == "pre:")
        pre = true;
      else if (a == "post:")
        pre = false;
      else if (pre && module_name(a) == "vfio_pci")
        softdep = true;
    }
  }
  return softdep;
}

}  // namespace

std::vector<VfioId> HostFacts::vfio_ids() const {
  std::vector<VfioId> ids;
  auto add_list = [&](const std::string& list, const std::string& where, const std::string& path) {
    for (auto id : split(list, ',')) {
      id = trim(id);
      if (!id.empty()) ids.push_back({to_lower(id), where, path});
    }
  };
  for (const auto& a : host.kernel.args) {
    auto dot = a.key.find('.');
    if (a.value && dot != std::string::npos && module_name(a.key.substr(0, dot)) == "vfio_pci" &&
        a.key.substr(dot + 1) == "ids") {
      add_list(*a.value, kCmdline, "");
    }
  }
  for (const auto& l : host.system.modprobe.lines) {
    if (l.kind != ModprobeLine::Kind::options || l.module != "vfio_pci") continue;
    if (auto v = option_value(l, "ids")) add_list(*v, l.at.str(), l.at.path);
  }
  return ids;
}

const VfioId* vfio_id_for(const std::vector<VfioId>& ids, const PciDevice& dev) {
  if (!dev.vendor_id || !dev.device_id) return nullptr;
  // vendor:device[:subvendor:subdevice...]; ffffffff is any (PCI_ANY_ID).
  auto field_matches = [](std::string_view f, std::optional<uint16_t> have) {
    if (f.empty() || to_lower(f) == "ffffffff") return true;
    auto v = parse_hex(f);
    return v && have && *v == *have;
  };
  for (const auto& id : ids) {
    auto f = split(id.text, ':');
    if (f.size() < 2) continue;
    if (!field_matches(f[0], dev.vendor_id) || !field_matches(f[1], dev.device_id)) continue;
    if (f.size() >= 3 && !field_matches(f[2], dev.subsystem_vendor_id)) continue;
    if (f.size() >= 4 && !field_matches(f[3], dev.subsystem_device_id)) continue;
    return &id;
  }
  return nullptr;
}

std::string HostFacts::regenerate_initramfs() const {
  const std::string& lister = ctx.initramfs.lister;  // when listed already: the fix need not list it
  std::string fam = family();
  if (lister == "lsinitcpio" || (lister.empty() && fam == "arch")) return "mkinitcpio -P";
  if (lister == "lsinitrd" || (lister.empty() && (fam == "fedora" || fam == "suse")))
    return "dracut --regenerate-all -f";
  if (lister == "lsinitramfs" || fam == "debian") return "update-initramfs -u";
  if (fam == "alpine") return "mkinitfs";
  return "rebuild the initramfs (update-initramfs -u, mkinitcpio -P, dracut --regenerate-all -f or mkinitfs)";
}

std::pair<std::string, std::string> HostFacts::why_not_vfio(const PciDevice& dev, const VfioId& id) const {
  const auto& k = host.kernel;
  std::string name = device_text(dev);
  std::string where = dev.address.str();
  if (!dev.driver) {
    bool have = k.has_module("vfio_pci");
    return {fmt::format("{} has no driver although its id {} is in vfio-pci's ids ({}){}", name, id.text, id.where,
                        have ? "" : ": vfio_pci is not loaded"),
            have ? fmt::format("echo vfio-pci > /sys/bus/pci/devices/{}/driver_override && echo {} > "
                               "/sys/bus/pci/drivers_probe (or reboot)",
                               where, where)
                 : "modprobe vfio-pci, and load it at boot: " + regenerate_initramfs() +
                       " after adding vfio_pci to the initramfs' modules (vfioctl setup does both)"};
  }
  std::string drv = *dev.driver;
  std::string mod = module_name(drv);
  std::string head =
      fmt::format("{} is bound to {} although its id {} is in vfio-pci's ids ({})", name, drv, id.text, id.where);
  if (k.builtin.count(mod)) {
    return {head + fmt::format(": {} is built into the kernel and probes before any module loads", drv),
            fmt::format("bind by address: set driver_override to vfio-pci for {} in the initramfs, before {} probes "
                        "(a softdep cannot order a built-in driver)",
                        where, drv)};
  }
  if (k.builtin.count("vfio_pci") && id.where != kCmdline) {
    return {head + ": vfio-pci is built into the kernel, and a built-in module takes no options from modprobe.d",
            fmt::format("{}; then the modprobe.d line can go", add_kernel_arg(host, "vfio-pci.ids=" + id.text))};
  }
  if (!k.has_module("vfio_pci")) {
    return {head + ": vfio_pci is not loaded", "load vfio-pci at boot: add vfio_pci to the initramfs' modules, then " +
                                                   regenerate_initramfs() + " (vfioctl setup does both)"};
  }
  const auto& ir = ctx.image();
  if (ir.listed() && ir.modules.count(mod) && !ir.modules.count("vfio_pci")) {
    return {
        head + fmt::format(": the initramfs ({}) holds {} but not vfio-pci, so {} claims it first", ir.image, mod, drv),
        "add vfio_pci (before " + mod + ") to the initramfs' modules, then " + regenerate_initramfs()};
  }
  if (!softdep_vfio_first(host, mod)) {
    return {head + fmt::format(": {} loaded before vfio-pci, and no softdep orders them", mod),
            fmt::format("add `softdep {} pre: vfio-pci` to /etc/modprobe.d/vfio.conf, then {} and reboot", mod,
                        regenerate_initramfs())};
  }
  return {head + fmt::format(" (a softdep orders vfio-pci before {}; something bound it by hand since boot?)", mod),
          fmt::format("echo {} > /sys/bus/pci/devices/{}/driver/unbind, then echo vfio-pci > "
                      "/sys/bus/pci/devices/{}/driver_override && echo {} > /sys/bus/pci/drivers_probe",
                      where, where, where, where)};
}

namespace {

// Why the initramfs image could not be listed; empty when it was.
std::string unlisted(const Initramfs& ir) {
  switch (ir.status) {
    case Initramfs::Status::no_image:
      return "no initramfs image of the running kernel found (looked for " + ir.detail + ")";
    case Initramfs::Status::no_lister:
      return "none of lsinitramfs, lsinitcpio and lsinitrd is installed: cannot list " + ir.image;
    case Initramfs::Status::failed: return fmt::format("'{} {}' failed: {}", ir.lister, ir.image, ir.detail);
    default: return {};
  }
}

// How to put vfio-pci's modules in the image, by the tool that builds it (the
// start of a fix that goes on with the rebuild).
std::string add_vfio_modules(const HostFacts& f, const Initramfs& ir) {
  if (ir.lister == "lsinitcpio" || (ir.lister.empty() && f.family() == "arch"))
    return "add vfio_pci vfio vfio_iommu_type1 to MODULES=(...) in /etc/mkinitcpio.conf, then ";
  if (ir.lister == "lsinitrd")
    return "add `force_drivers+=\" vfio_pci vfio vfio_iommu_type1 \"` to /etc/dracut.conf.d/vfio.conf, then ";
  return "add vfio_pci, vfio and vfio_iommu_type1 (one a line) to /etc/initramfs-tools/modules, then ";
}

// The modprobe.d files that set `ids` and are not in the image, once each.
std::vector<std::string> files_not_in(const std::vector<VfioId>& ids, const Initramfs& ir) {
  std::vector<std::string> missing;
  for (const auto& i : ids) {
    if (!i.path.empty() && !ir.holds(i.path) && std::find(missing.begin(), missing.end(), i.path) == missing.end()) {
      missing.push_back(i.path);
    }
  }
  return missing;
}

}  // namespace

void check_initramfs(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  auto ids = f.vfio_ids();
  bool on_vfio =
      std::any_of(f.host.pci.begin(), f.host.pci.end(), [](const PciDevice& d) { return is_vfio(d.driver); });
  if (!f.ctx.list_initramfs && f.ctx.initramfs.status == Initramfs::Status::not_live) {
    out.add(Severity::skip, "a host tree (--root) carries no initramfs image: run doctor on the host itself");
    return;
  }
  if (ids.empty() && !on_vfio) {
    out.add(Severity::pass,
            "no vfio-pci ids configured and no device on vfio-pci: the initramfs need not hold vfio-pci");
    return;
  }
  const auto& ir = f.ctx.image();  // listed here, only when it matters
  if (std::string why = unlisted(ir); !why.empty()) {
    out.add(Severity::skip, why);
    return;
  }
  bool builtin = k.builtin.count("vfio_pci") > 0;
  std::string image = fmt::format("{} (listed with {})", ir.image, ir.lister);
  if (!builtin && !ir.modules.count("vfio_pci")) {
    out.add(Severity::warn, image + " does not hold vfio-pci's module",
            add_vfio_modules(f, ir) + f.regenerate_initramfs() + " and reboot", ir.image);
    return;
  }
  // Ids given only in modprobe.d reach the initramfs' vfio-pci through a
  // copy of their file in the image.
  bool on_cmdline = std::any_of(ids.begin(), ids.end(), [](const VfioId& i) { return i.where == kCmdline; });
  std::vector<std::string> missing;
  if (!on_cmdline && !builtin) missing = files_not_in(ids, ir);
  if (!missing.empty()) {
    out.add(Severity::warn,
            fmt::format("{} holds vfio-pci but not {}, which sets its ids: vfio-pci there loads without them", image,
                        join(missing, ", ")),
            "the image is older than the file: " + f.regenerate_initramfs() + " and reboot", ir.image);
    return;
  }
  out.add(Severity::pass,
          fmt::format("{} {}{}", image, builtin ? "(vfio-pci is built into the kernel)" : "holds vfio-pci",
                      on_cmdline || builtin || ids.empty() ? "" : " and the modprobe.d file with its ids"));
}

namespace {

// hugepagesz=1G on a CPU without 1 GiB pages, which the kernel ignores (the
// last one); empty when there is none.
std::string ignored_1g_arg(const Host& host) {
  std::string arg;
  if (host.platform.flags.empty() || host.platform.has_flag("pdpe1gb")) return arg;
  for (const auto& a : host.kernel.args) {
    if (a.key == "hugepagesz" && a.value && size_kib(*a.value) == 1048576) arg = "hugepagesz=" + *a.value;
  }
  return arg;
}

// The pools against the pages the command line reserves: those short (the
// first short pool's file, size and count) and those that are not.
struct PoolComparison {
  std::vector<std::string> shortfall, ok;
  std::string where;
  long long short_kib = 0, short_want = 0;
};

PoolComparison compare_pools(const Memory& mem, const std::map<long long, long long>& wanted) {
  PoolComparison c;
  for (const auto& [kib, n] : wanted) {
    const HugepagePool* pool = mem.pool(kib);
    if (!pool || !pool->total) {
      c.shortfall.push_back(
          fmt::format("{}: hugepages={}, but the kernel has no pool of that size", page_size(kib), n));
    } else if (*pool->total < n) {
      c.shortfall.push_back(fmt::format("{}: hugepages={}, {} reserved", page_size(kib), n, *pool->total));
      if (c.where.empty()) {
        c.where = fmt::format("/sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages", kib);
        c.short_kib = kib;
        c.short_want = n;
      }
    } else {
      c.ok.push_back(fmt::format("{}: hugepages={}, {} reserved", page_size(kib), n, *pool->total));
    }
  }
  return c;
}

}  // namespace

void check_boot_hugepages(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const auto& mem = f.host.memory;
  auto wanted = boot_hugepages(k, mem.default_page_kib());
  std::string one_g_arg = ignored_1g_arg(f.host);
  bool no_1g = !one_g_arg.empty();
  if (wanted.empty() && !no_1g) {
    out.add(Severity::pass, "no hugepages reserved on the kernel command line");
    return;
  }
  if (no_1g) {
    long long n = wanted.count(1048576) ? wanted.at(1048576) : 0;
    out.add(
        Severity::warn,
        fmt::format("{} on a CPU without 1 GiB pages (no pdpe1gb): the kernel ignores it and the hugepages= after it{}",
                    one_g_arg, n ? fmt::format(" ({} pages)", n) : ""),
        remove_kernel_arg(f.host, one_g_arg) +
            (n ? fmt::format("; reserve 2 MiB pages instead: hugepagesz=2M hugepages={}", n * 512) : ""),
        "/proc/cmdline");
    return;
  }
  if (mem.pools.empty()) {
    out.add(Severity::skip, "the hugepage pools are unreadable (/sys/kernel/mm/hugepages)");
    return;
  }
  auto c = compare_pools(mem, wanted);
  if (!c.shortfall.empty()) {
    std::string fix =
        c.short_kib ? fmt::format(
                          "the kernel could not find the memory at boot, or pages were freed since: try echo {} > {}; "
                          "to keep it, lower hugepages= on the kernel command line to what the host can spare "
                          "(dmesg | grep -i hugetlb says what boot got)",
                          c.short_want, c.where)
                    : "give the hugepages= a page size this kernel offers (hugepagesz=2M, or 1G with pdpe1gb)";
    out.add(Severity::warn, "fewer pages than configured: " + join(c.shortfall, "; "), fix,
            c.where.empty() ? "/proc/cmdline" : c.where);
    return;
  }
  out.add(Severity::pass, join(c.ok, "; "));
}

void check_isolated_cpus_exist(const HostFacts& f, CheckOut& out) {
  std::vector<std::string> bad;  // H013 reports these
  auto sets = cmdline_isolation(f.host.kernel, bad);
  if (sets.empty()) {
    out.add(Severity::pass, "no isolcpus, nohz_full or rcu_nocbs CPU list to check");
    return;
  }
  if (f.host.cpu.cpus.empty()) {
    out.add(Severity::skip, "this host's CPUs are unknown (/sys/devices/system/cpu)");
    return;
  }
  std::set<int> have;
  for (const auto& c : f.host.cpu.cpus) have.insert(c.id);
  std::vector<int> all(have.begin(), have.end());
  std::vector<std::string> found, fixes;
  for (const auto& [key, cpus] : sets) {
    std::vector<int> missing, kept;
    for (int c : cpus) (have.count(c) ? kept : missing).push_back(c);
    if (missing.empty()) continue;
    found.push_back(fmt::format("{} names CPU{} {}", key, missing.size() == 1 ? "" : "s", format_cpulist(missing)));
    // Keep isolcpus' flags ("managed_irq,domain,") in front of the list.
    std::string value = *f.host.kernel.arg(key), flags;
    for (auto part : split(value, ',')) {
      if (!part.empty() && !std::isdigit(static_cast<unsigned char>(part[0]))) flags += std::string(part) + ",";
    }
    std::string old_arg = key + "=" + value;
    fixes.push_back(kept.empty() ? fmt::format("drop {}", old_arg)
                                 : fmt::format("{} -> {}={}{}", old_arg, key, flags, format_cpulist(kept)));
  }
  if (found.empty()) {
    std::vector<std::string> desc;
    for (const auto& [key, cpus] : sets) desc.push_back(key + "=" + format_cpulist(cpus));
    out.add(Severity::pass,
            fmt::format("{}: every CPU exists (this host has {})", join(desc, ", "), format_cpulist(all)));
    return;
  }
  std::string now = f.host.cpu.isolated.empty() ? "none" : format_cpulist(f.host.cpu.isolated);
  std::string fix_where;
  const auto& boot = f.host.system.boot;
  if (boot.grub_line)
    fix_where = fmt::format("in GRUB_CMDLINE_LINUX_DEFAULT (/etc/default/grub:{})", *boot.grub_line);
  else if (boot.kernel_cmdline)
    fix_where = "in /etc/kernel/cmdline";
  else
    fix_where = "on the kernel command line (/etc/default/grub or /etc/kernel/cmdline)";
  out.add(Severity::warn,
          fmt::format("{} that this host does not have (it has CPUs {}; the kernel isolates: {})", join(found, "; "),
                      format_cpulist(all), now),
          fmt::format("{}: {}, regenerate the boot configuration and reboot", fix_where, join(fixes, ", ")),
          "/proc/cmdline");
}

namespace {

// The blacklisted modules: where each is blacklisted, the word of the kernel
// command line and the first modprobe.d line that do it.
struct Blacklist {
  std::map<std::string, std::vector<std::string>> where;
  std::map<std::string, std::string> cmdline_word;
  std::map<std::string, const ModprobeLine*> line;
};

Blacklist read_blacklist(const Host& host) {
  Blacklist b;
  for (const auto& a : host.kernel.args) {
    if (!a.value || (a.key != "modprobe.blacklist" && a.key != "module_blacklist")) continue;
    for (auto m : split(*a.value, ',')) {
      if (m.empty()) continue;
      std::string name = module_name(std::string(m));
      b.where[name].push_back(kCmdline + std::string(" (") + a.key + "=" + *a.value + ")");
      b.cmdline_word[name] = a.key + "=" + *a.value;
    }
  }
  for (const auto& l : host.system.modprobe.lines) {
    if (l.kind != ModprobeLine::Kind::blacklist) continue;
    b.where[l.module].push_back(l.at.str());
    if (!b.line.count(l.module)) b.line[l.module] = &l;
  }
  return b;
}

// The blacklisted modules of `need` that leave `d` without a driver; none
// when another module drives it (built-in modules cannot be blacklisted),
// unless `d` is on a blacklisted one now.
std::vector<std::string> blocking(const Kernel& k, const Blacklist& b, const std::vector<std::string>& need,
                                  const PciDevice& d) {
  std::vector<std::string> blocked;
  bool alternative = false;
  for (const auto& m : need) {
    if (k.builtin.count(m)) {
      alternative = true;
    } else if (b.where.count(m)) {
      blocked.push_back(m);
    } else {
      alternative = true;
    }
  }
  bool current_blocked = d.driver && std::find(blocked.begin(), blocked.end(), module_name(*d.driver)) != blocked.end();
  if (alternative && !current_blocked) blocked.clear();
  return blocked;
}

}  // namespace

void check_blacklisted(const HostFacts& f, CheckOut& out) {
  const auto b = read_blacklist(f.host);
  const auto& black = b.where;
  if (black.empty()) {
    out.add(Severity::pass, "no module blacklisted");
    return;
  }
  auto ids = f.vfio_ids();
  std::vector<std::string> found, fixes;
  std::set<std::string> fixed;
  bool unknown = false;
  for (const auto& d : f.host.pci) {
    if (d.is_bridge() || is_vfio(d.driver) || vfio_id_for(ids, d)) continue;
    auto need = needed_modules(f.host, d);
    if (need.empty()) {
      unknown = true;
      continue;
    }
    for (const auto& m : blocking(f.host.kernel, b, need, d)) {
      found.push_back(
          fmt::format("{} is blacklisted ({}) and {} needs it; it stays with the host (its id is not in "
                      "vfio-pci's ids)",
                      m, join(black.at(m), ", "), device_text(d)));
      if (!fixed.insert(m).second) continue;
      if (auto it = b.line.find(m); it != b.line.end())
        fixes.push_back(fmt::format("{}: remove `blacklist {}`", it->second->at.str(), m));
      if (auto it = b.cmdline_word.find(m); it != b.cmdline_word.end())
        fixes.push_back(remove_kernel_arg(f.host, it->second));
    }
  }
  if (found.empty()) {
    std::vector<std::string> names;
    for (const auto& [m, where] : black) names.push_back(m);
    out.add(Severity::pass,
            fmt::format("{} blacklisted; no device that stays with the host needs {}{}", join(names, ", "),
                        names.size() == 1 ? "it" : "them",
                        unknown ? " (devices without a driver or a modules.alias match are not judged)" : ""));
    return;
  }
  out.add(
      Severity::warn, join(found, "; "),
      join(fixes, "; ") + "; then " + f.regenerate_initramfs() +
          " (the initramfs keeps a copy of modprobe.d). To keep a module off a passed device only, put the device's "
          "id in vfio-pci's ids with `softdep MODULE pre: vfio-pci` instead of a blacklist",
      "modprobe.d");
}

void check_vfio_claims(const HostFacts& f, CheckOut& out) {
  auto ids = f.vfio_ids();
  if (ids.empty()) {
    out.add(Severity::pass, "no vfio-pci ids configured (devices bound by address are not judged here)");
    return;
  }
  std::vector<std::string> found, fixes, bound;
  std::string where;
  for (const auto& d : f.host.pci) {
    const VfioId* id = vfio_id_for(ids, d);
    if (!id || d.is_bridge()) continue;
    if (is_vfio(d.driver)) {
      bound.push_back(d.address.short_str());
      continue;
    }
    auto [message, fix] = f.why_not_vfio(d, *id);
    found.push_back(message);
    fixes.push_back(fix);
    if (where.empty()) where = d.address.str();
  }
  std::vector<std::string> texts;
  for (const auto& i : ids) texts.push_back(i.text);
  if (found.empty()) {
    out.add(Severity::pass, bound.empty()
                                ? fmt::format("vfio-pci's ids {} match no device of this host", join(texts, ","))
                                : fmt::format("{} on vfio-pci", join(bound, ", ")));
    return;
  }
  fixes.erase(std::unique(fixes.begin(), fixes.end()), fixes.end());
  out.add(Severity::warn, join(found, "; "), join(fixes, "; "), where);
}

}  // namespace vfioctl::doctor_detail
