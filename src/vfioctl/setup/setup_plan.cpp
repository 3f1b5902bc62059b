#include "vfioctl/setup/setup_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/setup/current.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/host_edits.h"
#include "vfioctl/setup/merge.h"
#include "vfioctl/setup/setup_parts.h"
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

// One run of plan_setup(): the request resolved against the host, what the
// host's files say now, and the drafts of their edits. run() takes the steps
// in order; each reads what the ones before it left.
struct SetupRun {
  SetupRun(const Root& r, const Host& h, const SetupRequest& q, Plan& p)
      : root(r), host(h), req(q), plan(p), drafts(r) {}

  const Root& root;
  const Host& host;
  const SetupRequest& req;
  Plan& plan;

  // The request against the host.
  Devices dev;
  Removal rm;
  std::vector<KernelArg> args;
  std::string fstab_body;

  // What the host's files say now.
  std::optional<BootLayout> boot;
  std::string boot_error;  // why the bootloader is not one vfioctl knows
  InitramfsLayout ir;
  ModprobeConfig mc;
  Ours ours;
  std::vector<CmdlineTarget> targets;
  InitramfsModules irm;
  bool ostree = false;

  // The one vfio-pci id list and where it goes.
  IdPlaces places;
  std::vector<std::string> ids;
  std::vector<PciAddress> override_for;
  bool builtin = false;  // vfio_pci is built into the kernel
  bool ids_on_cmdline = false;
  bool ids_in_ours = false;

  Drafts drafts;
  bool modprobe_changed = false;
  ByHand by_hand;

  void run();
  void resolve_request();
  void read_host_files();
  void plan_id_list();
  void check_removal() const;
  void plan_cmdlines();
  void cmdline_without_bootloader(const CmdlineWants& want);
  void cmdlines_of_bootloader(const CmdlineWants& want);
  void plan_modprobe_ids();
  void plan_modprobe_file();
  void plan_initramfs_files();
  void plan_fstab();
};

void SetupRun::run() {
  resolve_request();
  read_host_files();
  plan_id_list();
  plan_cmdlines();
  plan_modprobe_ids();
  plan_modprobe_file();
  plan_initramfs_files();
  plan_fstab();
  drafts.into(plan);
  if (!by_hand.looked_for.empty()) refuse_by_hand(by_hand, plan);
}

void SetupRun::resolve_request() {
  dev = resolve_devices(host, req, plan);
  rm = resolve_removal(host, req.remove);
  for (const auto& a : rm.addresses) {
    if (std::find(dev.taken.begin(), dev.taken.end(), a) != dev.taken.end()) {
      throw input_error(fmt::format("{} is both in --device and --remove: give it once", a.short_str()));
    }
  }
  args = kernel_args(host, req, dev, plan, &fstab_body);
  if (root.exists("/etc/NIXOS")) refuse_nixos(host, req, dev, args);
}

void SetupRun::read_host_files() {
  try {
    boot = detect_boot(root);
  } catch (const Error& e) {
    boot_error = e.what();
  }
  ir = detect_initramfs(root);
  mc = read_modprobe(root);
  ours = read_ours(root);
  if (boot) targets = read_cmdlines(root, *boot, plan.notes);
  ostree = boot && boot->kind == BootLayout::Kind::ostree;
  for (auto& t : targets) {
    if (t.kind == CmdlineTarget::Kind::ostree) pending_kargs(root, t, plan);
  }
  irm = read_initramfs_modules(root, ir);
}

// One vfio-pci id list: what the host passes already, then this request.
void SetupRun::plan_id_list() {
  places = find_ids(mc, targets, irm, plan);
  override_for = ours.override_for;
  for (const auto& a : dev.override_for) {
    if (std::find(override_for.begin(), override_for.end(), a) == override_for.end()) override_for.push_back(a);
  }
  check_removal();
  std::erase_if(override_for, [&](const PciAddress& a) {
    return std::find(rm.addresses.begin(), rm.addresses.end(), a) != rm.addresses.end();
  });
  ids = merge_ids(places.ids, dev.ids, rm.ids);
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
  builtin = host.kernel.builtin.count("vfio_pci") > 0;
  // A built-in vfio_pci reads only the command line: the ids go there,
  // and stay in step wherever else the host keeps them.
  // ostree: /etc/modprobe.d is not in the deployment's initramfs, which may
  // hold the GPU's driver: the ids go on the command line.
  ids_on_cmdline = places.cmdline || no_place || builtin || ostree;
  ids_in_ours = places.user_lines.empty() && (places.ours || no_place);
  if (builtin && !places.cmdline && !no_place && !ids.empty()) {
    plan.notes.push_back(
        "vfio_pci is built into this kernel: it reads its ids only from the command line "
        "(vfio-pci.ids=), not from modprobe.d or the initramfs; they are added there");
  }
}

// Every id --remove names is one the host's configuration passes.
void SetupRun::check_removal() const {
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
}

// The kernel command lines.
// Without a bootloader vfioctl knows, ids go to modprobe.d, unless
// vfio_pci is built in (then only the command line reaches it).
void SetupRun::plan_cmdlines() {
  bool ids_arg = ids_on_cmdline && (boot || builtin);
  CmdlineWants want;
  want.args = with_ids(args, ids_arg ? ids : std::vector<std::string>{});
  if (ids_arg && ids.empty() && places.cmdline) want.drop.push_back("vfio-pci.ids");
  want.amd = host.platform.vendor == CpuVendor::amd;
  want.iommu = !dev.taken.empty();
  for (const auto& a : want.args) plan.kernel_args.push_back(arg_str(a));
  if (!boot) {
    cmdline_without_bootloader(want);
  } else {
    cmdlines_of_bootloader(want);
  }
}

// No bootloader vfioctl knows: fine when the running kernel has the
// arguments already and the ids can go to modprobe.d.
void SetupRun::cmdline_without_bootloader(const CmdlineWants& want) {
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
}

void SetupRun::cmdlines_of_bootloader(const CmdlineWants& want) {
  bool boot_changed = false;
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
void SetupRun::plan_modprobe_ids() {
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
}

// vfioctl's own modprobe.d file (devices, ids, softdeps, options) and the
// driver_override script.
void SetupRun::plan_modprobe_file() {
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
  modprobe_changed = drafts.changed_under("/etc/modprobe.d/") || drafts.changed(kOverrideScript);
}

// The initramfs: the vfio modules first, the ids where it has them.
void SetupRun::plan_initramfs_files() {
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
}

void SetupRun::plan_fstab() {
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
}

}  // namespace

std::string Command::str() const {
  std::vector<std::string> words;
  for (const auto& w : argv) words.push_back(shell_quote(w));
  return join(words, " ");
}

std::vector<const FileChange*> Plan::changed() const {
  std::vector<const FileChange*> out;
  for (const auto& f : files) {
    if (f.before != f.after) out.push_back(&f);
  }
  return out;
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
  SetupRun(root, host, req, plan).run();
  return plan;
}

}  // namespace vfioctl::setup
