#include "vfioctl/setup/setup_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

constexpr const char* kModprobeFile = "/etc/modprobe.d/vfioctl.conf";
constexpr const char* kOverrideScript = "/etc/vfioctl/vfio-override.sh";
constexpr const char* kInitramfsHook = "/etc/initramfs-tools/hooks/vfioctl";
constexpr const char* kDracutFile = "/etc/dracut.conf.d/vfioctl.conf";
constexpr const char* kBlockTitle = "managed by vfioctl setup; 'vfioctl undo' restores the file";

bool has_tool(const Root& root, const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    if (root.exists(dir + name)) return true;
  }
  return false;
}

std::vector<std::string> loader_entries(const Root& root) {
  std::vector<std::string> out;
  for (const char* dir : {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
    auto names = root.list(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (ends_with(n, ".conf")) out.push_back(std::string(dir) + "/" + n);
    }
  }
  return out;
}

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

std::string size_text(long long kib) {
  if (kib % (1024 * 1024) == 0) return fmt::format("{}G", kib / (1024 * 1024));
  if (kib % 1024 == 0) return fmt::format("{}M", kib / 1024);
  return fmt::format("{}K", kib);
}

// One file edit, recorded only when the file would change or is new.
void add_file(Plan& plan, const std::string& path, const std::optional<std::string>& before, std::string after,
              mode_t mode, std::string why) {
  FileChange c;
  c.path = path;
  c.before = before;
  c.after = std::move(after);
  c.mode.mode = mode;
  c.why = std::move(why);
  plan.files.push_back(std::move(c));
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
  if (!dev.ids.empty()) args.push_back({"vfio-pci.ids", join(dev.ids, ",")});
  if (dev.split_groups) args.push_back({"pcie_acs_override", "downstream,multifunction"});
  if (req.hugepages_mib) {
    long long mib = *req.hugepages_mib;
    long long page = req.hugepage_kib.value_or(host.platform.has_flag("pdpe1gb") && mib % 1024 == 0 ? 1048576 : 2048);
    if (page != 2048 && page != 1048576) {
      throw input_error(fmt::format("--hugepage-size {}: the page sizes are 2M and 1G", size_text(page)));
    }
    if (page == 1048576 && !host.platform.has_flag("pdpe1gb")) {
      throw input_error("--hugepage-size 1G: this CPU has no 1 GiB pages (no pdpe1gb flag); use 2M");
    }
    if ((mib * 1024) % page != 0) {
      throw input_error(fmt::format("--hugepages {}: not a whole number of {} pages; make it a multiple of {}",
                                    size_text(mib * 1024), size_text(page), size_text(page)));
    }
    if (auto total = host.memory.total_kib()) {
      long long total_mib = *total / 1024;
      long long keep = host_reserve_mib(total_mib);
      if (mib > total_mib - keep) {
        throw input_error(
            fmt::format("--hugepages {}: this host has {} MiB and keeps {} MiB for itself; the most it "
                        "can reserve is {}",
                        size_text(mib * 1024), total_mib, keep,
                        size_text(std::max(0LL, (total_mib - keep) / (page / 1024)) * page)));
      }
    }
    long long count = mib * 1024 / page;
    args.push_back({"hugepagesz", size_text(page)});
    args.push_back({"hugepages", std::to_string(count)});
    if (page == 1048576) {
      *fstab_body = "hugetlbfs1g /dev/hugepages1G hugetlbfs pagesize=1G 0 0";
      plan.notes.push_back(
          "1 GiB pages need a hugetlbfs mount of that size: /dev/hugepages1G in /etc/fstab "
          "(libvirt finds hugetlbfs mounts itself)");
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

void plan_boot(const Root& root, const BootLayout& boot, const std::vector<KernelArg>& args, Plan& plan) {
  if (args.empty()) return;
  bool changed = false;
  if (boot.kind == BootLayout::Kind::grub) {
    auto before = root.read(boot.grub_file);
    std::string text = before.value_or("");
    std::string user = without_managed_block(text);
    std::string have =
        shell_value(user, "GRUB_CMDLINE_LINUX").value_or("") + " " + shell_value(user, boot.grub_var).value_or("");
    auto add = missing_args(have, args);
    std::string body;
    if (!add.empty()) {
      std::vector<std::string> words;
      for (const auto& a : add) words.push_back(arg_str(a));
      body = fmt::format("{0}=\"${{{0}}} {1}\"", boot.grub_var, join(words, " "));
    }
    std::string after = set_managed_block(text, kBlockTitle, body);
    if (after != text) changed = true;
    add_file(plan, boot.grub_file, before, after, 0644, "kernel arguments for the GRUB entries");
  }
  if (boot.kernel_cmdline) {
    auto before = root.read("/etc/kernel/cmdline");
    std::string line(trim(before.value_or("")));
    std::string after = edit_cmdline(line, args) + "\n";
    if (after != before) changed = true;
    add_file(plan, "/etc/kernel/cmdline", before, after, 0644, "kernel arguments for kernel-install");
  }
  for (const auto& e : boot.entries) {
    auto before = root.read(e);
    if (!before) continue;
    std::string after = edit_entry_options(*before, args);
    if (after != *before) changed = true;
    add_file(plan, e, before, after, 0644, "kernel arguments of this boot entry");
  }
  if (changed) {
    for (const auto& c : boot.regenerate) plan.commands.push_back(c);
  }
}

std::string modprobe_conf(const Host& host, const SetupRequest& req, const Devices& dev,
                          const std::vector<std::string>& softdeps) {
  std::vector<std::string> lines;
  lines.push_back("# Written by vfioctl setup; 'vfioctl undo' restores what was here before.");
  if (!dev.taken.empty()) {
    std::vector<std::string> names;
    for (const auto& a : dev.taken) names.push_back(a.short_str());
    lines.push_back("# Devices for guests: " + join(names, " "));
  }
  if (!dev.ids.empty()) lines.push_back("options vfio-pci ids=" + join(dev.ids, ","));
  if (!dev.override_for.empty()) {
    lines.push_back(fmt::format("install vfio-pci /bin/sh {}; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS",
                                kOverrideScript));
  }
  for (const auto& d : softdeps) lines.push_back(fmt::format("softdep {} pre: vfio-pci", d));
  if (req.windows) lines.push_back("options kvm ignore_msrs=1 report_ignored_msrs=0");
  if (req.unsafe && host.system.remapped_irq_lines && *host.system.remapped_irq_lines == 0) {
    lines.push_back("options vfio_iommu_type1 allow_unsafe_interrupts=1");
  }
  return join(lines, "\n") + "\n";
}

std::string override_script(const std::vector<PciAddress>& devices) {
  std::vector<std::string> addrs;
  for (const auto& a : devices) addrs.push_back(a.str());
  return fmt::format(
      "#!/bin/sh\n"
      "# Written by vfioctl setup: hands these devices to vfio-pci by address before\n"
      "# their host drivers load (the host keeps other devices with the same ids).\n"
      "for dev in {}; do\n"
      "  [ -e /sys/bus/pci/devices/$dev/driver_override ] && echo vfio-pci > "
      "/sys/bus/pci/devices/$dev/driver_override\n"
      "done\n"
      "exit 0\n",
      join(addrs, " "));
}

void plan_initramfs(const Root& root, const Host& host, const InitramfsLayout& ir, const Devices& dev, Plan& plan,
                    bool modprobe_changed) {
  bool changed = modprobe_changed;
  auto modules = vfio_modules(host);
  bool script = !dev.override_for.empty();
  switch (ir.kind) {
    case InitramfsLayout::Kind::initramfs_tools: {
      const std::string path = "/etc/initramfs-tools/modules";
      auto before = root.read(path);
      std::string after = set_managed_block(before.value_or(""), kBlockTitle, join(modules, "\n"));
      changed |= after != before;
      add_file(plan, path, before, after, 0644, "load the vfio modules from the initramfs, before GPU drivers");
      if (script) {
        auto hb = root.read(kInitramfsHook);
        std::string hook = fmt::format(
            "#!/bin/sh\n"
            "# Written by vfioctl setup: puts the driver_override script in the initramfs.\n"
            "PREREQ=\"\"\n"
            "prereqs() {{ echo \"$PREREQ\"; }}\n"
            "case \"$1\" in prereqs) prereqs; exit 0 ;; esac\n"
            ". /usr/share/initramfs-tools/hook-functions\n"
            "copy_file script {}\n",
            kOverrideScript);
        changed |= hook != hb;
        add_file(plan, kInitramfsHook, hb, hook, 0755, "copy the driver_override script into the initramfs");
      }
      break;
    }
    case InitramfsLayout::Kind::mkinitcpio: {
      const std::string path = "/etc/mkinitcpio.conf";
      auto before = root.read(path);
      std::string after = prepend_to_array(before.value_or(""), "MODULES", modules);
      if (script) {
        auto files = array_words(after, "FILES").value_or(std::vector<std::string>{});
        if (std::find(files.begin(), files.end(), kOverrideScript) == files.end()) {
          std::vector<std::string> front = {kOverrideScript};
          after = prepend_to_array(after, "FILES", front);
        }
      }
      auto hooks = array_words(after, "HOOKS");
      if (hooks && std::find(hooks->begin(), hooks->end(), "modconf") == hooks->end()) {
        plan.warnings.push_back(
            "mkinitcpio.conf HOOKS has no 'modconf': the initramfs will not read "
            "/etc/modprobe.d, so vfio-pci gets no ids there; add modconf to HOOKS");
      }
      changed |= after != before;
      add_file(plan, path, before, after, 0644, "load the vfio modules from the initramfs, before GPU drivers");
      break;
    }
    case InitramfsLayout::Kind::dracut: {
      auto before = root.read(kDracutFile);
      std::string after =
          "# Written by vfioctl setup; 'vfioctl undo' restores what was here before.\n"
          "force_drivers+=\" " +
          join(modules, " ") + " \"\n";
      if (script) after += fmt::format("install_items+=\" {} \"\n", kOverrideScript);
      changed |= after != before;
      add_file(plan, kDracutFile, before, after, 0644, "load the vfio modules from the initramfs, before GPU drivers");
      break;
    }
    case InitramfsLayout::Kind::none: break;
  }
  if (changed) {
    for (const auto& c : ir.regenerate) plan.commands.push_back(c);
  }
}

}  // namespace

std::string Command::str() const {
  std::vector<std::string> words;
  for (const auto& w : argv) words.push_back(shell_quote(w));
  return join(words, " ");
}

std::string shell_quote(const std::string& word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
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

BootLayout detect_boot(const Root& root) {
  BootLayout b;
  auto entries = loader_entries(root);
  bool kernel_cmdline = root.exists("/etc/kernel/cmdline");
  bool grub_cfg = root.exists("/boot/grub/grub.cfg") || root.exists("/boot/grub2/grub.cfg");
  bool grub_tool = has_tool(root, "update-grub") || has_tool(root, "grub-mkconfig") || has_tool(root, "grub2-mkconfig");
  if (auto grub = root.read("/etc/default/grub"); grub && (grub_cfg || grub_tool)) {
    b.kind = BootLayout::Kind::grub;
    b.grub_file = "/etc/default/grub";
    std::string user = without_managed_block(*grub);
    b.grub_var = shell_value(user, "GRUB_CMDLINE_LINUX_DEFAULT") ? "GRUB_CMDLINE_LINUX_DEFAULT" : "GRUB_CMDLINE_LINUX";
    // GRUB with Boot Loader Spec entries (Fedora, RHEL): each entry carries
    // its own options line, which grubby would edit; the entries are edited
    // here the same way, so that undo restores them byte for byte.
    if (shell_value(user, "GRUB_ENABLE_BLSCFG") == "true") b.entries = entries;
    if (has_tool(root, "update-grub")) {
      b.regenerate.push_back({{"update-grub"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = "GRUB (/etc/default/grub, update-grub)";
    } else if (has_tool(root, "grub2-mkconfig") || root.exists("/boot/grub2")) {
      b.regenerate.push_back(
          {{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = b.entries.empty()
                       ? "GRUB (/etc/default/grub, grub2-mkconfig)"
                       : "GRUB with BLS entries (/etc/default/grub, /boot/loader/entries, grub2-mkconfig)";
    } else {
      b.regenerate.push_back(
          {{"grub-mkconfig", "-o", "/boot/grub/grub.cfg"}, "rebuild grub.cfg from /etc/default/grub"});
      b.describe = "GRUB (/etc/default/grub, grub-mkconfig)";
    }
    return b;
  }
  if (!entries.empty() || kernel_cmdline) {
    b.kind = BootLayout::Kind::systemd_boot;
    b.entries = entries;
    b.kernel_cmdline = kernel_cmdline;
    if (kernel_cmdline && has_tool(root, "kernel-install")) {
      b.regenerate.push_back({{"kernel-install", "add-all"}, "reinstall the kernels with /etc/kernel/cmdline"});
    }
    b.describe =
        kernel_cmdline ? "systemd-boot / kernel-install (/etc/kernel/cmdline)" : "systemd-boot (loader entries)";
    return b;
  }
  throw Error(ExitCode::refused,
              "no bootloader configuration recognised: looked for /etc/default/grub with /boot/grub*/grub.cfg (GRUB), "
              "loader entries in /boot/loader/entries, /efi/loader/entries or /boot/efi/loader/entries "
              "(systemd-boot) and /etc/kernel/cmdline (kernel-install). vfioctl does not guess where the kernel "
              "command line lives");
}

InitramfsLayout detect_initramfs(const Root& root) {
  InitramfsLayout l;
  if (root.exists("/etc/initramfs-tools") || has_tool(root, "update-initramfs")) {
    l.kind = InitramfsLayout::Kind::initramfs_tools;
    l.regenerate.push_back({{"update-initramfs", "-u", "-k", "all"}, "rebuild the initramfs images"});
    l.describe = "initramfs-tools (/etc/initramfs-tools/modules, update-initramfs)";
  } else if (root.exists("/etc/mkinitcpio.conf")) {
    l.kind = InitramfsLayout::Kind::mkinitcpio;
    l.regenerate.push_back({{"mkinitcpio", "-P"}, "rebuild the initramfs images of every preset"});
    l.describe = "mkinitcpio (/etc/mkinitcpio.conf, mkinitcpio -P)";
  } else if (root.exists("/etc/dracut.conf") || root.exists("/etc/dracut.conf.d") || has_tool(root, "dracut")) {
    l.kind = InitramfsLayout::Kind::dracut;
    l.regenerate.push_back({{"dracut", "--regenerate-all", "--force"}, "rebuild the initramfs images"});
    l.describe = "dracut (/etc/dracut.conf.d, dracut --regenerate-all)";
  }
  return l;
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
  bool boot_work = !req.devices.empty() || req.hugepages_mib || req.isolate || req.windows;
  if (!boot_work && !req.qemu_conf) {
    throw input_error(
        "nothing to set up: give --device SEL (what guests get), --hugepages SIZE, --isolate CPUS, "
        "--windows or --for SPEC.toml; 'vfioctl setup --help' shows them");
  }
  if (req.qemu_conf) plan_qemu_conf(root, *req.qemu_conf, plan);
  if (!boot_work) return plan;
  Devices dev = resolve_devices(host, req, plan);
  std::string fstab_body;
  auto args = kernel_args(host, req, dev, plan, &fstab_body);
  for (const auto& a : args) plan.kernel_args.push_back(arg_str(a));

  BootLayout boot;
  try {
    boot = detect_boot(root);
  } catch (const Error& e) {
    if (plan.kernel_args.empty()) throw;
    throw Error(e.code(), std::string(e.what()) + "; add these kernel arguments to your boot entry by hand: " +
                              join(plan.kernel_args, " "));
  }
  plan.notes.push_back("bootloader: " + boot.describe);
  plan_boot(root, boot, args, plan);

  bool modprobe_changed = false;
  if (!dev.taken.empty() || req.windows) {
    auto softdeps = competing_drivers(host, dev.taken);
    auto before = root.read(kModprobeFile);
    std::string after = modprobe_conf(host, req, dev, softdeps);
    modprobe_changed = after != before;
    add_file(plan, kModprobeFile, before, after, 0644,
             "vfio-pci options, and vfio-pci loaded before the drivers that would claim the devices");
  }
  if (!dev.override_for.empty()) {
    auto before = root.read(kOverrideScript);
    std::string after = override_script(dev.override_for);
    modprobe_changed |= after != before;
    add_file(plan, kOverrideScript, before, after, 0755, "bind these addresses to vfio-pci at boot");
  }
  if (!dev.taken.empty()) {
    bool builtin = host.kernel.builtin.count("vfio_pci") > 0;
    InitramfsLayout ir = detect_initramfs(root);
    if (ir.kind == InitramfsLayout::Kind::none && !builtin) {
      throw Error(ExitCode::refused,
                  "no initramfs system recognised (looked for /etc/initramfs-tools, /etc/mkinitcpio.conf, "
                  "/etc/dracut.conf*): vfio-pci must load from the initramfs to claim the devices before their "
                  "drivers do. vfioctl does not guess; configure the initramfs by hand with the modules " +
                      join(vfio_modules(host), " "));
    }
    if (ir.kind != InitramfsLayout::Kind::none) plan.notes.push_back("initramfs: " + ir.describe);
    plan_initramfs(root, host, ir, dev, plan, modprobe_changed);
  }
  if (!fstab_body.empty()) {
    auto before = root.read("/etc/fstab");
    std::string after = set_managed_block(before.value_or(""), kBlockTitle, fstab_body);
    add_file(plan, "/etc/fstab", before, after, 0644, "a hugetlbfs mount for 1 GiB pages");
  }
  return plan;
}

}  // namespace vfioctl::setup
