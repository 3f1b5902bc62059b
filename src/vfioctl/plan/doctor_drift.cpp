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

}  // namespace

std::vector<VfioId> Checks::vfio_ids() const {
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

const VfioId* Checks::vfio_id_for(const std::vector<VfioId>& ids, const PciDevice& dev) {
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

std::string Checks::regenerate_initramfs() const {
  const std::string& lister = ctx.initramfs.lister;  // when listed already: the fix need not list it
  std::string fam = family();
  if (lister == "lsinitcpio" || (lister.empty() && fam == "arch")) return "mkinitcpio -P";
  if (lister == "lsinitrd" || (lister.empty() && (fam == "fedora" || fam == "suse")))
    return "dracut --regenerate-all -f";
  if (lister == "lsinitramfs" || fam == "debian") return "update-initramfs -u";
  if (fam == "alpine") return "mkinitfs";
  return "rebuild the initramfs (update-initramfs -u, mkinitcpio -P, dracut --regenerate-all -f or mkinitfs)";
}

std::pair<std::string, std::string> Checks::why_not_vfio(const PciDevice& dev, const VfioId& id) const {
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
  if (!softdep) {
    return {head + fmt::format(": {} loaded before vfio-pci, and no softdep orders them", mod),
            fmt::format("add `softdep {} pre: vfio-pci` to /etc/modprobe.d/vfio.conf, then {} and reboot", mod,
                        regenerate_initramfs())};
  }
  return {head + fmt::format(" (a softdep orders vfio-pci before {}; something bound it by hand since boot?)", mod),
          fmt::format("echo {} > /sys/bus/pci/devices/{}/driver/unbind, then echo vfio-pci > "
                      "/sys/bus/pci/devices/{}/driver_override && echo {} > /sys/bus/pci/drivers_probe",
                      where, where, where, where)};
}

void Checks::drift() {
  section = "Configuration in effect";
  initramfs();
  hugepages_configured();
  isolation_cpus();
  blacklisted();
  vfio_claims();
}

void Checks::initramfs() {
  const char* why =
      "Drivers in the initramfs load before the root filesystem is mounted: vfio-pci and its ids must be in the image "
      "the host boots, or a host driver there claims the device first.";
  const auto& k = host.kernel;
  auto ids = vfio_ids();
  bool on_vfio = std::any_of(host.pci.begin(), host.pci.end(), [](const PciDevice& d) { return is_vfio(d.driver); });
  if (!ctx.list_initramfs && ctx.initramfs.status == Initramfs::Status::not_live) {
    add("H023", "vfio-pci in the initramfs", Severity::skip,
        "a host tree (--root) carries no initramfs image: run doctor on the host itself", why);
    return;
  }
  if (ids.empty() && !on_vfio) {
    add("H023", "vfio-pci in the initramfs", Severity::pass,
        "no vfio-pci ids configured and no device on vfio-pci: the initramfs need not hold vfio-pci", why);
    return;
  }
  const auto& ir = ctx.image();  // listed here, only when it matters
  switch (ir.status) {
    case Initramfs::Status::no_image:
      add("H023", "vfio-pci in the initramfs", Severity::skip,
          "no initramfs image of the running kernel found (looked for " + ir.detail + ")", why);
      return;
    case Initramfs::Status::no_lister:
      add("H023", "vfio-pci in the initramfs", Severity::skip,
          "none of lsinitramfs, lsinitcpio and lsinitrd is installed: cannot list " + ir.image, why);
      return;
    case Initramfs::Status::failed:
      add("H023", "vfio-pci in the initramfs", Severity::skip,
          fmt::format("'{} {}' failed: {}", ir.lister, ir.image, ir.detail), why);
      return;
    default: break;
  }
  bool builtin = k.builtin.count("vfio_pci") > 0;
  std::string image = fmt::format("{} (listed with {})", ir.image, ir.lister);
  if (!builtin && !ir.modules.count("vfio_pci")) {
    std::string fam = family();
    std::string fix = ir.lister == "lsinitcpio" || (ir.lister.empty() && fam == "arch")
                          ? "add vfio_pci vfio vfio_iommu_type1 to MODULES=(...) in /etc/mkinitcpio.conf, then "
                      : ir.lister == "lsinitrd"
                          ? "add `force_drivers+=\" vfio_pci vfio vfio_iommu_type1 \"` to "
                            "/etc/dracut.conf.d/vfio.conf, then "
                          : "add vfio_pci, vfio and vfio_iommu_type1 (one a line) to /etc/initramfs-tools/modules, "
                            "then ";
    add("H023", "vfio-pci in the initramfs", Severity::warn, image + " does not hold vfio-pci's module", why,
        fix + regenerate_initramfs() + " and reboot", ir.image);
    return;
  }
  // Ids given only in modprobe.d reach the initramfs' vfio-pci through a
  // copy of their file in the image.
  bool on_cmdline = std::any_of(ids.begin(), ids.end(), [](const VfioId& i) { return i.where == kCmdline; });
  std::vector<std::string> missing;
  if (!on_cmdline && !builtin) {
    for (const auto& i : ids) {
      if (!i.path.empty() && !ir.holds(i.path) && std::find(missing.begin(), missing.end(), i.path) == missing.end()) {
        missing.push_back(i.path);
      }
    }
  }
  if (!missing.empty()) {
    add("H023", "vfio-pci in the initramfs", Severity::warn,
        fmt::format("{} holds vfio-pci but not {}, which sets its ids: vfio-pci there loads without them", image,
                    join(missing, ", ")),
        why, "the image is older than the file: " + regenerate_initramfs() + " and reboot", ir.image);
    return;
  }
  add("H023", "vfio-pci in the initramfs", Severity::pass,
      fmt::format("{} {}{}", image, builtin ? "(vfio-pci is built into the kernel)" : "holds vfio-pci",
                  on_cmdline || builtin || ids.empty() ? "" : " and the modprobe.d file with its ids"),
      why);
}

void Checks::hugepages_configured() {
  const char* why =
      "Pages reserved on the kernel command line back guests that ask for hugepages; pages the kernel did not "
      "reserve make those guests fail to start.";
  const auto& k = host.kernel;
  const auto& mem = host.memory;
  auto wanted = boot_hugepages(k, mem.default_page_kib());
  // hugepagesz=1G on a CPU without 1 GiB pages: the kernel ignores it.
  bool no_1g = false;
  std::string one_g_arg;
  if (!host.platform.flags.empty() && !host.platform.has_flag("pdpe1gb")) {
    for (const auto& a : k.args) {
      if (a.key == "hugepagesz" && a.value && size_kib(*a.value) == 1048576) {
        no_1g = true;
        one_g_arg = "hugepagesz=" + *a.value;
      }
    }
  }
  if (wanted.empty() && !no_1g) {
    add("H024", "Hugepages reserved at boot", Severity::pass, "no hugepages reserved on the kernel command line", why);
    return;
  }
  if (no_1g) {
    long long n = wanted.count(1048576) ? wanted.at(1048576) : 0;
    add("H024", "Hugepages reserved at boot", Severity::warn,
        fmt::format("{} on a CPU without 1 GiB pages (no pdpe1gb): the kernel ignores it and the hugepages= after it{}",
                    one_g_arg, n ? fmt::format(" ({} pages)", n) : ""),
        why,
        remove_kernel_arg(host, one_g_arg) +
            (n ? fmt::format("; reserve 2 MiB pages instead: hugepagesz=2M hugepages={}", n * 512) : ""),
        "/proc/cmdline");
    return;
  }
  if (mem.pools.empty()) {
    add("H024", "Hugepages reserved at boot", Severity::skip,
        "the hugepage pools are unreadable (/sys/kernel/mm/hugepages)", why);
    return;
  }
  std::vector<std::string> shortfall, ok;
  std::string where;
  long long short_kib = 0, short_want = 0;
  for (const auto& [kib, n] : wanted) {
    const HugepagePool* pool = mem.pool(kib);
    if (!pool || !pool->total) {
      shortfall.push_back(fmt::format("{}: hugepages={}, but the kernel has no pool of that size", page_size(kib), n));
    } else if (*pool->total < n) {
      shortfall.push_back(fmt::format("{}: hugepages={}, {} reserved", page_size(kib), n, *pool->total));
      if (where.empty()) {
        where = fmt::format("/sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages", kib);
        short_kib = kib;
        short_want = n;
      }
    } else {
      ok.push_back(fmt::format("{}: hugepages={}, {} reserved", page_size(kib), n, *pool->total));
    }
  }
  if (!shortfall.empty()) {
    std::string fix =
        short_kib ? fmt::format(
                        "the kernel could not find the memory at boot, or pages were freed since: try echo {} > {}; "
                        "to keep it, lower hugepages= on the kernel command line to what the host can spare "
                        "(dmesg | grep -i hugetlb says what boot got)",
                        short_want, where)
                  : "give the hugepages= a page size this kernel offers (hugepagesz=2M, or 1G with pdpe1gb)";
    add("H024", "Hugepages reserved at boot", Severity::warn, "fewer pages than configured: " + join(shortfall, "; "),
        why, fix, where.empty() ? "/proc/cmdline" : where);
    return;
  }
  add("H024", "Hugepages reserved at boot", Severity::pass, join(ok, "; "), why);
}

void Checks::isolation_cpus() {
  const char* why =
      "The kernel rejects an isolation list that names CPUs it cannot have, so nothing is isolated; lists copied "
      "from another machine do this.";
  std::vector<std::string> bad;  // H013 reports these
  auto sets = cmdline_isolation(host.kernel, bad);
  if (sets.empty()) {
    add("H025", "Isolated CPUs exist", Severity::pass, "no isolcpus, nohz_full or rcu_nocbs CPU list to check", why);
    return;
  }
  if (host.cpu.cpus.empty()) {
    add("H025", "Isolated CPUs exist", Severity::skip, "this host's CPUs are unknown (/sys/devices/system/cpu)", why);
    return;
  }
  std::set<int> have;
  for (const auto& c : host.cpu.cpus) have.insert(c.id);
  std::vector<int> all(have.begin(), have.end());
  std::vector<std::string> found, fixes;
  for (const auto& [key, cpus] : sets) {
    std::vector<int> missing, kept;
    for (int c : cpus) (have.count(c) ? kept : missing).push_back(c);
    if (missing.empty()) continue;
    found.push_back(fmt::format("{} names CPU{} {}", key, missing.size() == 1 ? "" : "s", format_cpulist(missing)));
    // Keep isolcpus' flags ("managed_irq,domain,") in front of the list.
    std::string value = *host.kernel.arg(key), flags;
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
    add("H025", "Isolated CPUs exist", Severity::pass,
        fmt::format("{}: every CPU exists (this host has {})", join(desc, ", "), format_cpulist(all)), why);
    return;
  }
  std::string now = host.cpu.isolated.empty() ? "none" : format_cpulist(host.cpu.isolated);
  std::string fix_where;
  const auto& boot = host.system.boot;
  if (boot.grub_line)
    fix_where = fmt::format("in GRUB_CMDLINE_LINUX_DEFAULT (/etc/default/grub:{})", *boot.grub_line);
  else if (boot.kernel_cmdline)
    fix_where = "in /etc/kernel/cmdline";
  else
    fix_where = "on the kernel command line (/etc/default/grub or /etc/kernel/cmdline)";
  add("H025", "Isolated CPUs exist", Severity::warn,
      fmt::format("{} that this host does not have (it has CPUs {}; the kernel isolates: {})", join(found, "; "),
                  format_cpulist(all), now),
      why, fmt::format("{}: {}, regenerate the boot configuration and reboot", fix_where, join(fixes, ", ")),
      "/proc/cmdline");
}

void Checks::blacklisted() {
  const char* why =
      "A blacklisted module does not load for the devices it drives: a device that stays with the host loses its "
      "driver at the next boot.";
  const auto& k = host.kernel;
  // Module -> where it is blacklisted.
  std::map<std::string, std::vector<std::string>> black;
  std::map<std::string, std::string> cmdline_word;
  for (const auto& a : k.args) {
    if (!a.value || (a.key != "modprobe.blacklist" && a.key != "module_blacklist")) continue;
    for (auto m : split(*a.value, ',')) {
      if (m.empty()) continue;
      std::string name = module_name(std::string(m));
      black[name].push_back(kCmdline + std::string(" (") + a.key + "=" + *a.value + ")");
      cmdline_word[name] = a.key + "=" + *a.value;
    }
  }
  std::map<std::string, const ModprobeLine*> black_line;
  for (const auto& l : host.system.modprobe.lines) {
    if (l.kind != ModprobeLine::Kind::blacklist) continue;
    black[l.module].push_back(l.at.str());
    if (!black_line.count(l.module)) black_line[l.module] = &l;
  }
  if (black.empty()) {
    add("H026", "Blacklisted modules", Severity::pass, "no module blacklisted", why);
    return;
  }
  auto ids = vfio_ids();
  std::vector<std::string> found, fixes;
  std::set<std::string> fixed;
  bool unknown = false;
  for (const auto& d : host.pci) {
    if (d.is_bridge() || is_vfio(d.driver) || vfio_id_for(ids, d)) continue;
    auto need = needed_modules(host, d);
    if (need.empty()) {
      unknown = true;
      continue;
    }
    // Built-in modules cannot be blacklisted; another module that is not
    // blacklisted still drives the device, unless the device is on a
    // blacklisted one now.
    std::vector<std::string> blocked;
    bool alternative = false;
    for (const auto& m : need) {
      if (k.builtin.count(m)) {
        alternative = true;
      } else if (black.count(m)) {
        blocked.push_back(m);
      } else {
        alternative = true;
      }
    }
    bool current_blocked =
        d.driver && std::find(blocked.begin(), blocked.end(), module_name(*d.driver)) != blocked.end();
    if (blocked.empty() || (alternative && !current_blocked)) continue;
    for (const auto& m : blocked) {
      found.push_back(
          fmt::format("{} is blacklisted ({}) and {} needs it; it stays with the host (its id is not in "
                      "vfio-pci's ids)",
                      m, join(black[m], ", "), device_text(d)));
      if (!fixed.insert(m).second) continue;
      if (auto it = black_line.find(m); it != black_line.end())
        fixes.push_back(fmt::format("{}: remove `blacklist {}`", it->second->at.str(), m));
      if (auto it = cmdline_word.find(m); it != cmdline_word.end())
        fixes.push_back(remove_kernel_arg(host, it->second));
    }
  }
  if (found.empty()) {
    std::vector<std::string> names;
    for (const auto& [m, where] : black) names.push_back(m);
    add("H026", "Blacklisted modules", Severity::pass,
        fmt::format("{} blacklisted; no device that stays with the host needs {}{}", join(names, ", "),
                    names.size() == 1 ? "it" : "them",
                    unknown ? " (devices without a driver or a modules.alias match are not judged)" : ""),
        why);
    return;
  }
  add("H026", "Blacklisted modules", Severity::warn, join(found, "; "), why,
      join(fixes, "; ") + "; then " + regenerate_initramfs() +
          " (the initramfs keeps a copy of modprobe.d). To keep a module off a passed device only, put the device's "
          "id in vfio-pci's ids with `softdep MODULE pre: vfio-pci` instead of a blacklist",
      "modprobe.d");
}

void Checks::vfio_claims() {
  const char* why =
      "A device whose id is in vfio-pci's ids is meant for guests; bound to another driver, it cannot be passed "
      "and the host uses it.";
  auto ids = vfio_ids();
  if (ids.empty()) {
    add("H027", "Devices meant for vfio-pci", Severity::pass,
        "no vfio-pci ids configured (devices bound by address are not judged here)", why);
    return;
  }
  std::vector<std::string> found, fixes, bound;
  std::string where;
  for (const auto& d : host.pci) {
    const VfioId* id = vfio_id_for(ids, d);
    if (!id || d.is_bridge()) continue;
    if (is_vfio(d.driver)) {
      bound.push_back(d.address.short_str());
      continue;
    }
    auto [message, fix] = why_not_vfio(d, *id);
    found.push_back(message);
    fixes.push_back(fix);
    if (where.empty()) where = d.address.str();
  }
  std::vector<std::string> texts;
  for (const auto& i : ids) texts.push_back(i.text);
  if (found.empty()) {
    add("H027", "Devices meant for vfio-pci", Severity::pass,
        bound.empty() ? fmt::format("vfio-pci's ids {} match no device of this host", join(texts, ","))
                      : fmt::format("{} on vfio-pci", join(bound, ", ")),
        why);
    return;
  }
  fixes.erase(std::unique(fixes.begin(), fixes.end()), fixes.end());
  add("H027", "Devices meant for vfio-pci", Severity::warn, join(found, "; "), why, join(fixes, "; "), where);
}

}  // namespace vfioctl::doctor_detail
