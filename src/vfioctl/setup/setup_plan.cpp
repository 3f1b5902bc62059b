#include "vfioctl/setup/setup_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/setup/current.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/host_edits.h"
#include "vfioctl/setup/merge.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/diff.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl::setup {

namespace {

// Major and minor of a release ("6.1.0-18-amd64" -> {6, 1}).
std::optional<std::pair<int, int>> kernel_version(const std::optional<std::string>& release) {
  if (!release) return std::nullopt;
  auto parts = split(*release, '.');
  if (parts.size() < 2) return std::nullopt;
  auto major = parse_int(parts[0]);
  std::string_view minor_text = parts[1];
  size_t end = 0;
  while (end < minor_text.size() && minor_text[end] >= '0' && minor_text[end] <= '9') ++end;
  auto minor = parse_int(minor_text.substr(0, end));
  if (!major || !minor) return std::nullopt;
  return std::make_pair(static_cast<int>(*major), static_cast<int>(*minor));
}

struct Devices {
  std::vector<PciAddress> taken;
  std::vector<std::string> ids;          // vendor:device, in address order, unique
  std::vector<PciAddress> override_for;  // driver_override instead of ids
  bool split_groups = false;             // --unsafe took a group holding other devices
};

void check_host_needs(const Host& host, const PciAddress& a, bool force) {
  if (force) return;
  if (auto why = host_needs(host, a, false)) throw Error(ExitCode::refused, *why + ". Refusing; --force overrides");
}

Devices resolve_devices(const Host& host, const SetupRequest& req, Plan& plan) {
  Devices d;
  std::set<PciAddress> taken;
  for (const auto& text : req.devices) {
    // The host's needs first: a refusal says more than an IOMMU error.
    if (auto sel = parse_selector(text)) {
      for (const auto& dev : host.pci) {
        if (selector_matches(*sel, dev)) check_host_needs(host, dev.address, req.force);
      }
    }
    auto got = take_devices(host, text, "--device", req.unsafe);
    for (const auto& a : got) taken.insert(a);
    // take_devices took a shared group only because of --unsafe: say so.
    for (const auto& a : got) {
      const PciDevice* dev = host.device(a);
      if (!dev || !dev->iommu_group) continue;
      const IommuGroup* g = host.group(*dev->iommu_group);
      if (g && !group_companions(host, *g, a).empty()) {
        d.split_groups = true;
        plan.warnings.push_back(fmt::format(
            "--unsafe: IOMMU group {} holds several devices; all of them go to vfio-pci ({}). Splitting the group "
            "needs pcie_acs_override, which only kernels with the ACS override patch read, and it removes the "
            "isolation between those devices: a guest can reach their memory",
            *dev->iommu_group, a.short_str()));
        break;
      }
    }
  }
  d.taken.assign(taken.begin(), taken.end());

  for (const auto& a : d.taken) {
    const PciDevice* dev = host.device(a);
    check_host_needs(host, a, req.force);
    if (dev && dev->boot_vga == true) {
      plan.warnings.push_back(fmt::format(
          "{} is the host's boot GPU: after the next boot the host has no console on it (use another GPU or a "
          "serial/ssh console for the host)",
          a.short_str()));
    }
  }

  // vfio-pci.ids= claims every device with the id: ids the host keeps a
  // device of need per-address driver_override instead.
  std::set<std::string> seen;
  bool shared = false;
  for (const auto& a : d.taken) {
    const PciDevice* dev = host.device(a);
    if (!dev || !dev->vendor_id || !dev->device_id) continue;
    std::string id = dev->id_pair();
    for (const auto& other : host.pci) {
      if (other.id_pair() == id && !taken.count(other.address) && !other.is_bridge()) {
        shared = true;
        plan.notes.push_back(
            fmt::format("{} has the id {} of {}, which the host keeps: binding by address "
                        "(driver_override) instead of vfio-pci.ids",
                        a.short_str(), id, other.address.short_str()));
      }
    }
    if (seen.insert(id).second) d.ids.push_back(id);
  }
  if (shared) {
    d.override_for = d.taken;
    d.ids.clear();
  }
  return d;
}

std::vector<KernelArg> kernel_args(const Host& host, const SetupRequest& req, const Devices& dev, Plan& plan,
                                   std::string* fstab_body) {
  std::vector<KernelArg> args;
  if (!dev.taken.empty() || req.unsafe) {
    if (host.platform.vendor == CpuVendor::intel) {
      args.push_back({"intel_iommu", "on"});
    } else if (host.platform.vendor == CpuVendor::amd) {
      plan.notes.push_back("AMD: the IOMMU is on by default (amd_iommu=on is not an option the kernel knows)");
    } else {
      plan.warnings.push_back("CPU vendor unknown: no IOMMU switch added; the kernel's default applies");
    }
    args.push_back({"iommu", "pt"});
  }
  if (dev.split_groups) args.push_back({"pcie_acs_override", "downstream,multifunction"});
  if (req.hugepages_mib) {
    long long mib = *req.hugepages_mib;
    long long page = req.hugepage_kib.value_or(host.platform.has_flag("pdpe1gb") && mib % 1024 == 0 ? 1048576 : 2048);
    if (page != 2048 && page != 1048576) {
      throw input_error(fmt::format("--hugepage-size {}: the page sizes are 2M and 1G", size_text_kib(page)));
    }
    if (page == 1048576 && !host.platform.has_flag("pdpe1gb")) {
      throw input_error("--hugepage-size 1G: this CPU has no 1 GiB pages (no pdpe1gb flag); use 2M");
    }
    if ((mib * 1024) % page != 0) {
      throw input_error(fmt::format("--hugepages {}: not a whole number of {} pages; make it a multiple of {}",
                                    size_text_kib(mib * 1024), size_text_kib(page), size_text_kib(page)));
    }
    if (auto total = host.memory.total_kib()) {
      long long total_mib = *total / 1024;
      long long keep = host_reserve_mib(total_mib);
      if (mib > total_mib - keep) {
        throw input_error(
            fmt::format("--hugepages {}: this host has {} MiB and keeps {} MiB for itself; the most it "
                        "can reserve is {}",
                        size_text_kib(mib * 1024), total_mib, keep,
                        size_text_kib(std::max(0LL, (total_mib - keep) / (page / 1024)) * page)));
      }
    }
    long long count = mib * 1024 / page;
    auto boot = hugepage_boot(page, count, host.system.openrc);
    for (const auto& a : boot.args) args.push_back(a);
    *fstab_body = boot.fstab;
    if (!boot.fstab.empty()) {
      plan.notes.push_back(
          fmt::format("{}: /etc/fstab mounts hugetlbfs of that size at {} (libvirt finds hugetlbfs mounts itself)",
                      page == 1048576 ? "1 GiB pages need a hugetlbfs mount of their size"
                                      : "OpenRC (/etc/runlevels): nothing else mounts hugetlbfs for libvirt",
                      boot.mount_dir));
    }
  }
  if (req.isolate) {
    auto cpus = parse_cpulist(*req.isolate);
    if (!cpus || cpus->empty()) {
      throw input_error(fmt::format("--isolate '{}': not a CPU list; write it like 2-7,10-15", *req.isolate));
    }
    auto online = host.cpu.online();
    for (int c : *cpus) {
      if (!online.empty() && std::find(online.begin(), online.end(), c) == online.end()) {
        throw input_error(fmt::format("--isolate '{}': CPU {} does not exist on this host (it has {})", *req.isolate, c,
                                      format_cpulist(online)));
      }
    }
    if (!online.empty() && cpus->size() >= online.size()) {
      throw input_error(
          fmt::format("--isolate '{}' takes every CPU; the host needs at least one core for itself", *req.isolate));
    }
    if (std::find(cpus->begin(), cpus->end(), 0) != cpus->end()) {
      throw input_error(
          fmt::format("--isolate '{}' includes CPU 0, which keeps work that cannot move (timers, "
                      "some interrupts); leave the first core to the host",
                      *req.isolate));
    }
    for (const auto& core : host.cpu.cores()) {
      size_t in = 0;
      for (int c : core) in += std::count(cpus->begin(), cpus->end(), c);
      if (in != 0 && in != core.size()) {
        plan.warnings.push_back(
            fmt::format("--isolate splits the SMT siblings {}: isolate both or neither", format_cpulist(core)));
      }
    }
    std::string list = format_cpulist(*cpus);
    args.push_back({"isolcpus", "managed_irq,domain," + list});
    args.push_back({"nohz_full", list});
    args.push_back({"rcu_nocbs", list});
  }
  return args;
}

// The kernel arguments with vfio-pci.ids=IDS after iommu= (or last), where
// the earlier layout put it.
std::vector<KernelArg> with_ids(const std::vector<KernelArg>& args, const std::vector<std::string>& ids) {
  std::vector<KernelArg> out;
  bool placed = ids.empty();
  for (const auto& a : args) {
    out.push_back(a);
    if (a.key == "iommu" && !placed) {
      out.push_back({"vfio-pci.ids", join(ids, ",")});
      placed = true;
    }
  }
  if (!placed) out.push_back({"vfio-pci.ids", join(ids, ",")});
  return out;
}

// What --remove takes out: ids and driver_override addresses.
struct Removal {
  std::vector<std::string> ids;
  std::vector<PciAddress> addresses;
};

bool looks_like_id(std::string_view s) {
  if (s.size() != 9 || s[4] != ':') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != 4 && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Removal resolve_removal(const Host& host, const std::vector<std::string>& texts) {
  Removal r;
  for (const auto& text : texts) {
    std::set<PciAddress> found;
    if (auto sel = parse_selector(text)) {
      for (const auto& dev : host.pci) {
        if (!selector_matches(*sel, dev)) continue;
        found.insert(dev.address);
        // The whole group went to vfio-pci with it: it comes back whole.
        if (dev.iommu_group) {
          if (const IommuGroup* g = host.group(*dev.iommu_group)) {
            for (const auto& a : g->devices) {
              const PciDevice* other = host.device(a);
              if (other && !other->is_bridge()) found.insert(a);
            }
          }
        }
      }
    }
    if (found.empty() && looks_like_id(text)) {
      r.ids.push_back(to_lower(text));
      continue;
    }
    if (found.empty()) {
      throw input_error(fmt::format(
          "--remove '{}': no device on this host matches; give its address (01:00.0) or the vendor:device id "
          "as the configuration passes it (10de:1b81)",
          text));
    }
    for (const auto& a : found) {
      r.addresses.push_back(a);
      if (const PciDevice* d = host.device(a); d && d->vendor_id && d->device_id) r.ids.push_back(d->id_pair());
    }
  }
  return r;
}

// What setup could not place on a host whose boot chain it does not know:
// it refuses and prints every part to do by hand.
struct ByHand {
  std::vector<std::string> looked_for;  // what was not recognised, and where vfioctl looked
  std::string cmdline;                  // kernel arguments the boot entries lack
  std::vector<std::string> modules;     // to load from the initramfs, first
};

[[noreturn]] void refuse_by_hand(const ByHand& h, const Plan& plan) {
  std::string text = "vfioctl does not know how this host boots, so it changes nothing: " + join(h.looked_for, "; ") +
                     ".\nBy hand, the same setup is:";
  int n = 0;
  if (!h.cmdline.empty()) {
    text += fmt::format("\n{}. The kernel command line, in your boot loader's configuration; add by hand: {}", ++n,
                        h.cmdline);
  }
  // A new file whole; a file that exists as the change to it.
  for (const auto* f : plan.changed()) {
    if (!f->after) continue;
    text += fmt::format("\n{}. {} ({}){}\n", ++n, f->path, f->why, f->before ? ", this change:" : ":");
    std::string body = f->before ? unified_diff(f->path, f->before, f->after) : *f->after;
    for (auto l : split(body, '\n')) {
      if (!l.empty()) text += "     " + std::string(l) + "\n";
    }
    text.pop_back();
  }
  if (!h.modules.empty()) {
    text += fmt::format(
        "\n{}. Initramfs: load {} from it before any GPU driver, with /etc/modprobe.d/vfioctl.conf inside it", ++n,
        join(h.modules, " "));
  }
  for (const auto& c : plan.commands) text += fmt::format("\n{}. Run  {}  ({})", ++n, c.str(), c.why);
  text += fmt::format("\n{}. Rebuild the initramfs and the boot entries the way this host does, then reboot.", ++n);
  throw Error(ExitCode::refused, text);
}

// NixOS builds /etc and the boot entries from its configuration: vfioctl
// edits neither, and says what to put in configuration.nix instead.
[[noreturn]] void refuse_nixos(const Host& host, const SetupRequest& req, const Devices& dev,
                               const std::vector<KernelArg>& args) {
  std::vector<std::string> params;
  for (const auto& a : with_ids(args, dev.ids)) params.push_back("\"" + arg_str(a) + "\"");
  std::vector<std::string> lines;
  if (!params.empty()) lines.push_back("  boot.kernelParams = [ " + join(params, " ") + " ];");
  std::vector<std::string> modprobe;
  if (!dev.taken.empty()) {
    std::vector<std::string> mods;
    for (const auto& m : vfio_modules(host)) mods.push_back("\"" + m + "\"");
    lines.push_back("  boot.initrd.kernelModules = [ " + join(mods, " ") + " ];");
    if (!dev.ids.empty()) modprobe.push_back("options vfio-pci ids=" + join(dev.ids, ","));
    for (const auto& d : competing_drivers(host, dev.taken)) modprobe.push_back("softdep " + d + " pre: vfio-pci");
  }
  if (req.windows) modprobe.push_back("options kvm ignore_msrs=1 report_ignored_msrs=0");
  if (!modprobe.empty()) {
    lines.push_back("  boot.extraModprobeConfig = ''");
    for (const auto& m : modprobe) lines.push_back("    " + m);
    lines.push_back("  '';");
  }
  std::string text =
      "this is NixOS (/etc/NIXOS): it builds /etc and the boot entries from its configuration, so vfioctl edits "
      "neither. Put these lines in /etc/nixos/configuration.nix (or a module it imports), then run "
      "'nixos-rebuild boot' and reboot:\n" +
      join(lines, "\n");
  if (!dev.override_for.empty()) {
    std::vector<std::string> addrs;
    for (const auto& a : dev.override_for) addrs.push_back(a.str());
    text +=
        "\nThe host keeps another device with the same id, so these are bound by address instead of ids: set "
        "driver_override to vfio-pci for " +
        join(addrs, " ") + " in boot.initrd.preDeviceCommands";
  }
  throw Error(ExitCode::refused, text);
}

// The ostree deployment that boots next: the booted one's arguments with
// what vfioctl's applied journal entries changed since (rpm-ostree writes a
// new deployment; it boots after a restart). A second run before the restart
// then neither adds an argument again nor journals it twice.
void pending_kargs(const Root& root, CmdlineTarget& t, Plan& plan) {
  for (const auto& e : Journal(root, real_fs()).list()) {
    if (e.state != "applied" || e.kargs.empty()) continue;
    std::vector<std::string> waiting;
    for (const auto& w : e.kargs.remove) {
      auto it = std::find_if(t.words.begin(), t.words.end(), [&](const CmdWord& c) { return c.text == w; });
      if (it != t.words.end()) t.words.erase(it);
    }
    for (const auto& w : e.kargs.append) {
      if (std::none_of(t.words.begin(), t.words.end(), [&](const CmdWord& c) { return c.text == w; })) {
        t.words.push_back({w, {"journal entry " + e.id, 0}, 0});
        waiting.push_back(w);
      }
    }
    if (!waiting.empty()) {
      plan.notes.push_back(fmt::format("journal entry {} gave the next deployment {}; they take effect after a restart",
                                       e.id, join(waiting, " ")));
    }
  }
}

// The rpm-ostree kargs for an ostree target's merge: a replaced word is
// deleted and its new text appended; additions are appended.
KargsChange plan_kargs(const CmdlineTarget& t, const CmdlineMerge& m) {
  KargsChange k;
  for (const auto& e : m.edits) {
    k.remove.push_back(t.words[e.index].text);
    if (e.text) k.append.push_back(*e.text);
  }
  for (const auto& a : m.add) k.append.push_back(arg_str(a));
  return k;
}

// A module-list argument (Alpine's modules=, dracut's rd.driver.pre=) with
// `needed` joined to what the target's words list already (every
// occurrence, in order; the merge writes the list once, in the first).
KernelArg module_list_arg(const CmdlineTarget& t, const std::string& key, const std::vector<std::string>& needed) {
  std::vector<std::string> out;
  for (const auto& w : t.words) {
    if (!starts_with(w.text, key + "=")) continue;
    for (auto m : split(std::string_view(w.text).substr(key.size() + 1), ',')) {
      if (!m.empty() && std::find(out.begin(), out.end(), m) == out.end()) out.emplace_back(m);
    }
  }
  for (const auto& m : needed) {
    bool listed = std::any_of(out.begin(), out.end(), [&](const std::string& h) { return module_name(h) == m; });
    if (!listed) out.push_back(m);
  }
  return KernelArg{key, join(out, ",")};
}

}  // namespace

std::string Command::str() const {
  std::vector<std::string> words;
  for (const auto& w : argv) words.push_back(shell_quote(w));
  return join(words, " ");
}

Command KargsChange::command() const {
  Command c{{"rpm-ostree", "kargs"}, "change the kernel arguments of the next deployment"};
  for (const auto& w : remove) c.argv.push_back("--delete-if-present=" + w);
  for (const auto& w : append) c.argv.push_back("--append-if-missing=" + w);
  return c;
}

KargsChange KargsChange::inverse() const {
  KargsChange k;
  k.append = remove;
  k.remove = append;
  return k;
}

std::vector<const FileChange*> Plan::changed() const {
  std::vector<const FileChange*> out;
  for (const auto& f : files) {
    if (f.before != f.after) out.push_back(&f);
  }
  return out;
}

std::optional<std::string> host_needs(const Host& host, const PciAddress& a, bool running) {
  if (host.system.root_devices.count(a)) {
    return fmt::format(
        "{} holds the root filesystem ({}): without it the host loses / now, and with it on vfio-pci "
        "at boot the host does not start",
        a.short_str(), host.system.root_source.value_or("?"));
  }
  std::vector<const NetInterface*> wired;
  for (const auto& n : host.system.net) {
    if (n.pci) wired.push_back(&n);
  }
  for (const auto* n : wired) {
    if (n->pci != a) continue;
    if (wired.size() == 1 || (running && n->default_route)) {
      return fmt::format("{} is the network interface {}{}: the host would lose its network (and a remote session)",
                         a.short_str(), n->name, wired.size() == 1 ? ", the only one" : " with the default route");
    }
  }
  return std::nullopt;
}

std::vector<std::string> vfio_modules(const Host& host) {
  std::vector<std::string> out = {"vfio", "vfio_iommu_type1"};
  bool virqfd;
  if (host.system.module_files_known) {
    virqfd = host.system.module_files.count("vfio_virqfd") > 0;
  } else {
    auto v = kernel_version(host.kernel.release);
    virqfd = v && (v->first < 6 || (v->first == 6 && v->second < 2));
  }
  if (virqfd) out.push_back("vfio_virqfd");
  out.push_back("vfio_pci");
  return out;
}

std::vector<std::string> competing_drivers(const Host& host, const std::vector<PciAddress>& devices) {
  std::set<std::string> out;
  for (const auto& a : devices) {
    const PciDevice* d = host.device(a);
    if (!d) continue;
    if (d->driver && *d->driver != "vfio-pci" && *d->driver != "pcieport") out.insert(module_name(*d->driver));
    if (d->is_gpu() && d->vendor_id) {
      switch (*d->vendor_id) {
        case 0x10de: out.insert({"nouveau", "nvidia"}); break;
        case 0x1002: out.insert({"amdgpu", "radeon"}); break;
        case 0x8086: out.insert("i915"); break;
        default: break;
      }
    }
    if (d->is_audio()) out.insert("snd_hda_intel");
    if (d->is_usb()) out.insert("xhci_pci");
    if (d->is_nvme()) out.insert("nvme");
  }
  return {out.begin(), out.end()};
}

Plan plan_setup(const Root& root, const Host& host, const SetupRequest& req) {
  Plan plan;
  bool boot_work = !req.devices.empty() || !req.remove.empty() || req.hugepages_mib || req.isolate || req.windows;
  if (!boot_work && !req.qemu_conf) {
    throw input_error(
        "nothing to set up: give --device SEL (what guests get), --remove SEL, --hugepages SIZE, --isolate CPUS, "
        "--windows or --for SPEC.toml; 'vfioctl setup --help' shows them");
  }
  if (req.qemu_conf) plan_qemu_conf(root, *req.qemu_conf, plan);
  if (!boot_work) return plan;
  Devices dev = resolve_devices(host, req, plan);
  Removal rm = resolve_removal(host, req.remove);
  for (const auto& a : rm.addresses) {
    if (std::find(dev.taken.begin(), dev.taken.end(), a) != dev.taken.end()) {
      throw input_error(fmt::format("{} is both in --device and --remove: give it once", a.short_str()));
    }
  }
  std::string fstab_body;
  auto args = kernel_args(host, req, dev, plan, &fstab_body);
  ByHand by_hand;
  if (root.exists("/etc/NIXOS")) refuse_nixos(host, req, dev, args);

  std::optional<BootLayout> boot;
  std::string boot_error;
  try {
    boot = detect_boot(root);
  } catch (const Error& e) {
    boot_error = e.what();
  }
  InitramfsLayout ir = detect_initramfs(root);
  ModprobeConfig mc = read_modprobe(root);
  Ours ours = read_ours(root);
  std::vector<CmdlineTarget> targets;
  if (boot) targets = read_cmdlines(root, *boot, plan.notes);
  bool ostree = boot && boot->kind == BootLayout::Kind::ostree;
  for (auto& t : targets) {
    if (t.kind == CmdlineTarget::Kind::ostree) pending_kargs(root, t, plan);
  }
  InitramfsModules irm = read_initramfs_modules(root, ir);
  Drafts drafts(root);

  // One vfio-pci id list: what the host passes already, then this request.
  IdPlaces places = find_ids(mc, targets, irm, plan);
  std::vector<PciAddress> override_for = ours.override_for;
  for (const auto& a : dev.override_for) {
    if (std::find(override_for.begin(), override_for.end(), a) == override_for.end()) override_for.push_back(a);
  }
  bool in_override = std::any_of(rm.addresses.begin(), rm.addresses.end(), [&](const PciAddress& a) {
    return std::find(override_for.begin(), override_for.end(), a) != override_for.end();
  });
  for (const auto& id : rm.ids) {
    bool in_ids = std::find(places.ids.begin(), places.ids.end(), id) != places.ids.end();
    if (!in_ids && !in_override) {
      throw input_error(fmt::format("--remove: {} is not passed by this host's configuration (vfio-pci ids: {})", id,
                                    places.ids.empty() ? "none" : join(places.ids, ",")));
    }
  }
  std::erase_if(override_for, [&](const PciAddress& a) {
    return std::find(rm.addresses.begin(), rm.addresses.end(), a) != rm.addresses.end();
  });
  std::vector<std::string> ids = merge_ids(places.ids, dev.ids, rm.ids);
  if (!places.ids.empty()) {
    plan.notes.push_back(
        "vfio-pci ids the host passes already: " + join(places.where, "; ") +
        (ids == places.ids ? "; kept" : "; after this change: " + (ids.empty() ? "none" : join(ids, ","))));
  }
  for (const auto& l : mc.lines) {
    if (l.kind != ModprobeLine::Kind::options || l.module != "vfio_pci" || l.ours) continue;
    for (const auto& a : l.args) {
      if (!starts_with(a, "ids=")) plan.notes.push_back(fmt::format("{}: vfio-pci option {} kept", l.at.str(), a));
    }
  }
  bool no_place = !places.any();
  bool builtin = host.kernel.builtin.count("vfio_pci") > 0;
  // A built-in vfio_pci reads only the command line: the ids go there,
  // and stay in step wherever else the host keeps them.
  // ostree: /etc/modprobe.d is not in the deployment's initramfs, which may
  // hold the GPU's driver: the ids go on the command line.
  bool ids_on_cmdline = places.cmdline || no_place || builtin || ostree;
  bool ids_in_ours = places.user_lines.empty() && (places.ours || no_place);
  if (builtin && !places.cmdline && !no_place && !ids.empty()) {
    plan.notes.push_back(
        "vfio_pci is built into this kernel: it reads its ids only from the command line "
        "(vfio-pci.ids=), not from modprobe.d or the initramfs; they are added there");
  }

  // The kernel command lines.
  // Without a bootloader vfioctl knows, ids go to modprobe.d, unless
  // vfio_pci is built in (then only the command line reaches it).
  bool ids_arg = ids_on_cmdline && (boot || builtin);
  CmdlineWants want;
  want.args = with_ids(args, ids_arg ? ids : std::vector<std::string>{});
  if (ids_arg && ids.empty() && places.cmdline) want.drop.push_back("vfio-pci.ids");
  want.amd = host.platform.vendor == CpuVendor::amd;
  want.iommu = !dev.taken.empty();
  for (const auto& a : want.args) plan.kernel_args.push_back(arg_str(a));
  bool boot_changed = false;
  if (!boot) {
    // No bootloader vfioctl knows: fine when the running kernel has the
    // arguments already and the ids can go to modprobe.d.
    std::vector<CmdWord> running;
    std::string cmdline = host.kernel.cmdline.value_or("");
    for (auto w : split_ws(cmdline)) running.push_back({std::string(w), {"/proc/cmdline", 0}, 0});
    CmdlineWants need = want;
    need.iommu = false;
    auto m = merge_cmdline(running, need);
    if (!m.empty()) {
      std::vector<std::string> lacking;
      for (const auto& a : m.add) lacking.push_back(arg_str(a));
      for (const auto& e : m.edits) lacking.push_back(e.text.value_or("(without " + running[e.index].text + ")"));
      by_hand.looked_for.push_back(boot_error);
      by_hand.cmdline = join(lacking, " ");
    }
    if (!want.args.empty())
      plan.notes.push_back("bootloader: not recognised, and the running kernel has the arguments already: " +
                           join(plan.kernel_args, " "));
    if (ids_on_cmdline) ids_in_ours = places.user_lines.empty();
    ids_on_cmdline = false;
  } else {
    plan.notes.push_back("bootloader: " + boot->describe);
    for (const auto& t : targets) {
      CmdlineWants tw = want;
      if (!dev.taken.empty() && ir.kind == InitramfsLayout::Kind::mkinitfs && !ostree)
        tw.args.push_back(module_list_arg(t, "modules", vfio_modules(host)));
      // The deployment's dracut initramfs loads vfio-pci first when asked.
      if (!dev.taken.empty() && ostree) tw.args.push_back(module_list_arg(t, "rd.driver.pre", {"vfio_pci"}));
      auto m = merge_cmdline(t.words, tw);
      for (auto& n : m.notes) plan.notes.push_back(std::move(n));
      if (t.kind == CmdlineTarget::Kind::ostree) {
        plan.kargs = plan_kargs(t, m);
        continue;
      }
      boot_changed |= edit_cmdline_target(drafts, t, m, boot->grub_var, plan);
    }
    if (boot_changed) {
      for (const auto& c : boot->regenerate) plan.commands.push_back(c);
    }
  }

  // modprobe.d: the ids where they are, softdeps once, vfioctl's own lines kept.
  // modprobe joins every options line and the module keeps the last ids=:
  // the merged list goes in that line; earlier ones are shadowed by it.
  auto set_ids = [&](const ModprobeLine& line) {
    std::string& text = drafts.text(line.at.path, 0644, "vfio-pci ids, merged where the host keeps them");
    for (const auto& a : line.args) {
      if (starts_with(a, "ids=")) edit_ids_word(text, line.at, line.last_line, a, ids, true);
    }
  };
  if (!places.user_lines.empty()) {
    const ModprobeLine* l = places.user_lines.back();
    set_ids(*l);
    for (const auto* other : places.user_lines) {
      if (other == l) continue;
      // A removed id comes out of the shadowed lines too: with the last
      // line emptied, an earlier one would be the one modprobe keeps.
      auto theirs = split_ids(option_value(*other, "ids").value_or(""));
      if (std::any_of(theirs.begin(), theirs.end(),
                      [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) == ids.end(); })) {
        set_ids(*other);
        continue;
      }
      plan.notes.push_back(
          fmt::format("{}: its ids= is shadowed by {} (modprobe keeps the last); the merged list "
                      "there holds its ids",
                      other->at.str(), l->at.str()));
    }
  }
  std::vector<std::string> devices = ours.devices;
  for (const auto& a : dev.taken) {
    if (std::find(devices.begin(), devices.end(), a.short_str()) == devices.end()) devices.push_back(a.short_str());
  }
  std::erase_if(devices, [&](const std::string& d) {
    auto a = PciAddress::parse(d);
    return a && std::find(rm.addresses.begin(), rm.addresses.end(), *a) != rm.addresses.end();
  });
  std::vector<std::string> softdeps;
  auto wanted_softdeps = competing_drivers(host, dev.taken);
  for (const auto& d : ours.softdeps) {
    if (std::find(wanted_softdeps.begin(), wanted_softdeps.end(), d) == wanted_softdeps.end())
      wanted_softdeps.push_back(d);
  }
  plan_softdeps(drafts, mc, wanted_softdeps, softdeps, plan);
  if (!override_for.empty()) {
    for (const auto& l : mc.lines) {
      if (l.kind == ModprobeLine::Kind::install && l.module == "vfio_pci" && !l.ours) {
        plan.warnings.push_back(
            fmt::format("{}: an install command for vfio-pci: modprobe runs only the first one, "
                        "so vfioctl's driver_override script may not run",
                        l.at.str()));
      }
    }
  }
  bool windows = req.windows || ours.windows;
  bool unsafe_irq =
      ours.unsafe_irq || (req.unsafe && host.system.remapped_irq_lines && *host.system.remapped_irq_lines == 0);
  // vfioctl.conf's id list stays as written while it holds the same ids.
  std::vector<std::string> ours_ids = ids_in_ours ? ids : std::vector<std::string>{};
  for (const auto& l : mc.lines) {
    if (!l.ours || l.kind != ModprobeLine::Kind::options || l.module != "vfio_pci") continue;
    if (auto v = option_value(l, "ids"); v && !ours_ids.empty() && same_ids(*v, join(ours_ids, ",")))
      ours_ids = split_ids(*v);
  }
  std::string conf = modprobe_conf(devices, ours_ids, !override_for.empty(), softdeps, windows, unsafe_irq);
  bool conf_has_content = false;
  for (auto l : split(conf, '\n')) conf_has_content |= !l.empty() && l[0] != '#';
  bool conf_exists = std::find(mc.files.begin(), mc.files.end(), kModprobeFile) != mc.files.end();
  if (conf_has_content || conf_exists) {
    drafts.text(kModprobeFile, 0644,
                "vfio-pci options, and vfio-pci loaded before the drivers that would claim the devices") = conf;
  }
  if (!override_for.empty()) {
    drafts.text(kOverrideScript, 0755, "bind these addresses to vfio-pci at boot") = override_script(override_for);
  }
  bool modprobe_changed = drafts.changed_under("/etc/modprobe.d/") || drafts.changed(kOverrideScript);

  // The initramfs: the vfio modules first, the ids where it has them.
  if (ostree && (!dev.taken.empty() || modprobe_changed)) {
    plan.notes.push_back(
        "initramfs: the deployment's own (built with the image); vfioctl leaves dracut's files alone there. "
        "rd.driver.pre=vfio_pci loads vfio-pci from it first");
  } else if (!dev.taken.empty() || places.initramfs || modprobe_changed) {
    if (!dev.taken.empty() && ir.kind == InitramfsLayout::Kind::none && !builtin) {
      by_hand.looked_for.push_back(
          "no initramfs system recognised: looked for /etc/initramfs-tools, /etc/mkinitcpio.conf, /etc/dracut.conf* "
          "and /etc/mkinitfs/mkinitfs.conf; vfio-pci must load from the initramfs to claim the devices before "
          "their drivers do");
      by_hand.modules = vfio_modules(host);
    }
    if (ir.kind != InitramfsLayout::Kind::none) {
      plan.notes.push_back("initramfs: " + ir.describe);
      if (!dev.taken.empty() || places.initramfs) {
        plan_initramfs(drafts, host, ir, irm, dev.taken, ids, places.initramfs, !override_for.empty(), plan);
      }
      bool ir_changed = modprobe_changed;
      for (const auto& f : ir.files) ir_changed |= drafts.changed(f);
      ir_changed |= drafts.changed(kInitramfsHook) || drafts.changed(kDracutFile) || drafts.changed(kMkinitfsModules) ||
                    drafts.changed(kMkinitfsFiles);
      if (ir_changed) {
        for (const auto& c : ir.regenerate) plan.commands.push_back(c);
      }
    }
  }
  // Without systemd (OpenRC: Alpine, Gentoo) the pool is mounted on a
  // directory of vfioctl's (hugepage_boot()), which the transaction creates
  // (its marker file) and undo removes.
  if (!fstab_body.empty() && host.system.openrc) {
    std::string dir(split_ws(fstab_body).at(1));
    drafts.text(dir + "/.mountpoint", 0644, "the hugetlbfs mount point (hidden by the mount)") =
        "Written by vfioctl setup: this directory is the mount point of the hugetlbfs line in /etc/fstab.\n";
  }
  if (!fstab_body.empty()) {
    std::string& text = drafts.text("/etc/fstab", 0644, "a hugetlbfs mount for the hugepages");
    text = set_managed_block(text, kBlockTitle, fstab_body);
  }
  drafts.into(plan);
  if (!by_hand.looked_for.empty()) refuse_by_hand(by_hand, plan);
  return plan;
}

}  // namespace vfioctl::setup
