// What the host must allow for one guest: the table of checks H201-H212
// (id, title, the worst level, why it matters) and one small function each.
// docs/rules.md has a section per id; a unit test keeps the two in step.
#include "vfioctl/plan/guest_checks.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl {

namespace {

std::string page_text(long long kib) { return size_text_kib(kib, {.smallest = Unit::M, .fit = Fit::reaches}); }

// H201: who QEMU runs as.
void check_qemu_user(const GuestFacts& f, CheckOut& out) {
  const auto& a = f.access;
  if (a.qemu) {
    out.add(Severity::pass, fmt::format("QEMU runs as {} (uid {}){}", a.qemu->name, a.qemu->uid,
                                        a.conf.user ? " (qemu.conf user)" : " (the distribution's default)"));
  } else {
    out.add_why(Severity::skip,
                a.conf.user ? fmt::format("qemu.conf names user {}, which /etc/passwd does not have", *a.conf.user)
                            : "no libvirt-qemu or qemu account in /etc/passwd (is libvirt installed?)",
                "the file checks below need to know who QEMU is");
  }
}

// H202: evdev devices, in the device cgroup.
void check_evdev(const GuestFacts& f, CheckOut& out) {
  const auto& n = f.needs;
  const auto& a = f.access;
  if (n.evdev.empty() && n.evdev_cmdline.empty()) return;
  const auto& acl = a.conf.cgroup_device_acl ? *a.conf.cgroup_device_acl : default_cgroup_device_acl();
  std::vector<std::string> missing;
  for (const auto& p : n.evdev_cmdline) {
    if (std::find(acl.begin(), acl.end(), p) == acl.end()) missing.push_back(p);
  }
  if (!missing.empty()) {
    out.add(Severity::fail,
            fmt::format("{} passed through <qemu:commandline> {} not in qemu.conf's cgroup_device_acl",
                        join(missing, ", "), missing.size() == 1 ? "is" : "are"),
            "add them to cgroup_device_acl in /etc/libvirt/qemu.conf ('vfioctl setup --for SPEC.toml' writes it), "
            "then restart libvirtd; or use <input type='evdev'>, which libvirt allows itself");
  } else {
    out.add_why(Severity::pass,
                fmt::format("{} evdev device(s) as <input type='evdev'>{}", n.evdev.size() + n.evdev_cmdline.size(),
                            n.evdev_cmdline.empty() ? ": libvirt allows them in the device cgroup itself"
                                                    : " and in cgroup_device_acl"),
                "QEMU may open only the device nodes its cgroup allows");
  }
}

// H203: the sound server's socket.
void check_audio(const GuestFacts& f, CheckOut& out) {
  for (const auto& s : f.access.audio) {
    if (s.access == Access::missing) {
      out.add(Severity::warn, s.path + " does not exist",
              "start the user's sound server (pipewire-pulse or pulseaudio), logged in as that user");
    } else if (s.access == Access::no) {
      std::string uid = s.path.substr(0, s.path.find("/pulse/"));
      uid = uid.substr(uid.rfind('/') + 1);
      out.add_why(Severity::fail, fmt::format("{} may not use {}: {}", f.who, s.path, s.why),
                  "a user's runtime directory (/run/user/UID) is private to that user",
                  fmt::format("run QEMU as that user: user = \"+{}\" in /etc/libvirt/qemu.conf ('vfioctl setup "
                              "--for SPEC.toml' writes it), then restart libvirtd",
                              uid));
    } else {
      out.add_why(Severity::pass, fmt::format("{} may use {}", f.who, s.path), "QEMU plays to that PulseAudio socket");
    }
  }
}

// H204: ROM files.
void check_roms(const GuestFacts& f, CheckOut& out) {
  for (const auto& r : f.access.roms) {
    if (r.access == Access::yes) {
      out.add_why(Severity::pass, fmt::format("{} may read {}", f.who, r.path),
                  "QEMU reads the ROM when the guest starts");
    } else {
      out.add(Severity::fail,
              r.access == Access::missing ? r.path + " does not exist" : fmt::format("{}: {}", f.who, r.why),
              "put it under /var/lib/libvirt/vbios/ with mode 0644 (AppArmor's libvirt profile allows that "
              "directory): install -m 0644 ROM /var/lib/libvirt/vbios/");
    }
  }
}

// H205: a hugetlbfs of the guest's page size.
void check_hugetlbfs(const GuestFacts& f, CheckOut& out) {
  const auto& n = f.needs;
  const auto& a = f.access;
  if (n.hugepage_kib <= 0 && !n.hugepages_default_size) return;
  long long want = n.hugepage_kib > 0 ? n.hugepage_kib : a.default_hugepage_kib;
  auto it =
      std::find_if(a.hugetlbfs.begin(), a.hugetlbfs.end(), [&](const HugetlbfsMount& m) { return m.page_kib == want; });
  if (it != a.hugetlbfs.end()) {
    out.add_why(Severity::pass, fmt::format("hugetlbfs with {} pages at {}", page_text(want), it->path),
                "libvirt backs the guest's memory with a file there");
    return;
  }
  // The mount the host's init system would make, or the fstab line setup
  // writes for it (hugepage_boot(): the same answer setup gives).
  auto boot = hugepage_boot(want, 0, a.openrc);
  std::string fix = boot.fstab.empty()
                        ? fmt::format(
                              "systemd mounts hugetlbfs of the default size at {} when it boots (dev-hugepages.mount): "
                              "systemctl start dev-hugepages.mount, then restart libvirtd",
                              boot.mount_dir)
                        : fmt::format(
                              "mkdir -p {0} && mount -t hugetlbfs -o pagesize={1} hugetlbfs {0}, then restart "
                              "libvirtd; to keep it, /etc/fstab needs the line '{2}' ('vfioctl setup --hugepages-for "
                              "SPEC --apply' writes it with the pages)",
                              boot.mount_dir, page_text(want), boot.fstab);
  out.add(Severity::fail, fmt::format("no hugetlbfs with {} pages is mounted", page_text(want)), fix);
}

// H206: shared memory files (Looking Glass, Scream).
void check_shmem(const GuestFacts& f, CheckOut& out) {
  const std::string& who = f.who;
  for (const auto& s : f.access.shmems) {
    if (s.access == Access::no) {
      out.add(Severity::fail, fmt::format("{}: {}", who, s.why),
              fmt::format("chown {}:kvm {} && chmod 0660 {} (or a systemd-tmpfiles line: f {} 0660 YOU kvm -)", who,
                          s.path, s.path, s.path));
    } else {
      out.add_why(Severity::info,
                  s.access == Access::missing ? s.path + " does not exist yet: QEMU creates it, owned by " + who
                                              : fmt::format("{} may use {}", who, s.path),
                  "the host's reader (looking-glass-client, scream) needs read-write access too",
                  fmt::format("systemd-tmpfiles line: f {} 0660 YOU kvm - (you in group kvm)", s.path));
    }
  }
}

// H207: AppArmor and SELinux.
void check_mac(const GuestFacts& f, CheckOut& out) {
  const auto& mac = f.access.mac;
  if (!mac.apparmor && !mac.selinux_enforcing) {
    out.add_why(Severity::pass, "neither AppArmor nor enforcing SELinux is active",
                "nothing confines QEMU beyond file modes");
    return;
  }
  std::string what = mac.apparmor ? "AppArmor" : "SELinux (enforcing)";
  if (mac.denials.empty()) {
    out.add(Severity::pass, what + " is active; no denial for this guest is logged");
  } else {
    out.add(Severity::fail,
            fmt::format("{} denied this guest {} time(s); the last: {}", what, mac.denials.size(), mac.denials.back()),
            mac.apparmor ? "move the file under a path libvirt's profile allows (/var/lib/libvirt/), or add it to "
                           "/etc/apparmor.d/local/abstractions/libvirt-qemu"
                         : "label the file: chcon -t svirt_image_t FILE (or virt_content_t for read-only)");
  }
}

// H208: nested virtualization.
void check_nested(const GuestFacts& f, CheckOut& out) {
  const auto& n = f.needs;
  const auto& param = f.access.nested_param;
  if (n.nested.empty()) return;
  std::string module = n.nested == "svm" ? "kvm_amd" : "kvm_intel";
  if (param && (*param == "Y" || *param == "1")) {
    out.add_why(Severity::pass, module + " nested is on", "the guest asks for " + n.nested);
    return;
  }
  out.add_why(Severity::fail,
              param ? fmt::format("{} nested is {}", module, *param)
                    : module + " is not loaded (no /sys/module/" + module + "/parameters/nested)",
              "the guest requires " + n.nested + "; libvirt refuses to start it while KVM hides it",
              fmt::format("echo 'options {} nested=1' > /etc/modprobe.d/kvm-nested.conf; with no guest running: "
                          "modprobe -r {} && modprobe {}",
                          module, module, module));
}

// H209: vhost-net for virtio NICs.
void check_vhost_net(const GuestFacts& f, CheckOut& out) {
  if (!f.needs.virtio_net) return;
  if (f.access.vhost_net) {
    out.add_why(Severity::pass, "/dev/vhost-net exists", "the virtio NIC's data path runs in the kernel");
  } else {
    out.add(Severity::warn, "/dev/vhost-net is missing",
            "modprobe vhost_net (and echo vhost_net > /etc/modules-load.d/vhost_net.conf)");
  }
}

// H210: locked memory for a plain-QEMU start of this guest.
void check_locked(const GuestFacts& f, CheckOut& out) {
  const auto& s = f.session;
  if (!f.needs.locked || !s.memlock_bytes) return;
  long long need = f.needs.memory_kib * 1024;
  if (*s.memlock_bytes < 0 || *s.memlock_bytes >= need || s.root_user) {
    out.add(Severity::pass, "this session may lock the guest's memory");
  } else {
    out.add(Severity::warn,
            fmt::format("RLIMIT_MEMLOCK is {} MiB; the guest locks {} MiB", *s.memlock_bytes >> 20, need >> 20),
            "run the script as root (it starts QEMU as root, then drops to the user)");
  }
}

// H211: the libvirt hook for a guest that asks to be tuned.
void check_hook(const GuestFacts& f, CheckOut& out) {
  const auto& n = f.needs;
  const auto& h = f.access.hook;
  if (!n.tune) return;
  std::string asks = n.tune_actions.empty() ? "<vfioctl:tune> with no actions"
                                            : "<vfioctl:tune> asks for " + join(n.tune_actions, ", ");
  if (!h.present) {
    out.add(Severity::warn,
            fmt::format("{}, but {} does not exist: nothing will tune the host", asks, kLibvirtHookFile),
            "vfioctl hook install --apply, then restart libvirtd (or virtqemud)");
  } else if (!h.ours) {
    out.add(Severity::warn, fmt::format("{}, but {} was not written by vfioctl", asks, kLibvirtHookFile),
            fmt::format("move that file elsewhere in {}, then vfioctl hook install --apply", kLibvirtHookDir));
  } else if (!h.executable) {
    out.add(Severity::fail, fmt::format("{} is not executable: libvirt skips it", kLibvirtHookFile),
            fmt::format("chmod 755 {}", kLibvirtHookFile));
  } else {
    out.add_why(Severity::pass, fmt::format("{}; the hook is installed ({})", asks, kLibvirtHookFile),
                std::string(out.why()) + "; libvirtd must have been restarted once after the install");
  }
}

// H212: /dev/kvm for QEMU's user (read for a type='kvm' guest when that user
// is known).
void check_kvm(const GuestFacts& f, CheckOut& out) {
  const auto& a = f.access;
  if (!a.kvm) return;
  if (a.kvm->access == Access::missing) {
    out.add(Severity::fail, "/dev/kvm does not exist", "see H002 in 'vfioctl doctor'");
  } else if (a.kvm->access == Access::no) {
    out.add(Severity::fail, fmt::format("{} may not open /dev/kvm read-write (it is {})", f.who, a.kvm_mode),
            fmt::format("chown root:kvm /dev/kvm && chmod 0660 /dev/kvm, with {} in group kvm (udev's default rules "
                        "set that mode at boot; where udev does not run, as in a container, set it at every boot)",
                        f.who));
  } else {
    out.add(Severity::pass, fmt::format("{} may open /dev/kvm (it is {})", f.who, a.kvm_mode));
  }
}

}  // namespace

const std::vector<GuestCheck>& guest_check_table() {
  static const std::vector<GuestCheck> table = {
      {"H201", "QEMU user", Severity::skip, "every file the guest opens after start must be open to this user",
       check_qemu_user},
      {"H202", "evdev devices", Severity::fail,
       "libvirt's device cgroup denies QEMU every device node the list does not name", check_evdev},
      {"H203", "sound server socket", Severity::fail,
       "QEMU plays to that PulseAudio socket; without it the guest has no sound", check_audio},
      {"H204", "ROM file", Severity::fail, "QEMU reads the ROM when the guest starts and refuses to start without it",
       check_roms},
      {"H205", "hugetlbfs mount", Severity::fail,
       "libvirt backs the guest's memory with a file on such a mount, found when libvirtd starts", check_hugetlbfs},
      {"H206", "shared memory file", Severity::fail, "QEMU opens the file read-write when the guest starts",
       check_shmem},
      {"H207", "AppArmor/SELinux", Severity::fail, "a confined QEMU is refused files its profile does not list",
       check_mac},
      {"H208", "nested virtualization", Severity::fail,
       "libvirt refuses to start a guest that requires vmx or svm while KVM hides it", check_nested},
      {"H209", "vhost-net", Severity::warn, "without it QEMU moves every packet itself: slower, more CPU",
       check_vhost_net},
      {"H210", "locked memory", Severity::warn,
       "libvirt raises the limit itself; a plain QEMU start (vfioctl new --qemu-script) needs it", check_locked},
      {"H211", "vfioctl hook", Severity::fail,
       "libvirt runs the vfioctl hook as the guest starts and stops; it makes the tuning the guest's "
       "<vfioctl:tune> asks for (docs/hook.md)",
       check_hook},
      {"H212", "/dev/kvm for QEMU", Severity::fail,
       "libvirt runs a type='kvm' guest only when its QEMU user may open /dev/kvm; otherwise define and start fail "
       "with 'could not find capabilities for domaintype=kvm', and libvirt, whose own probe as root did find KVM, "
       "probes QEMU again on every call (tens of seconds each)",
       check_kvm},
  };
  return table;
}

std::vector<Finding> guest_checks(const GuestNeeds& needs, const GuestAccess& access, const Session& session) {
  GuestFacts facts{needs, access, session, access.qemu ? access.qemu->name : "?"};
  return run_checks(guest_check_table(), facts,
                    "Guest " + (needs.name.empty() ? std::string("(no name)") : needs.name));
}

}  // namespace vfioctl
