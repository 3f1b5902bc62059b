#include "vfioctl/plan/guest_checks.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl {

namespace {

Finding make(const char* id, const char* title, Severity s, std::string message, std::string why, std::string fix,
             const std::string& section) {
  Finding f;
  f.id = id;
  f.title = title;
  f.severity = s;
  f.message = std::move(message);
  f.why = std::move(why);
  f.fix = std::move(fix);
  f.section = section;
  return f;
}

std::string page_text(long long kib) { return size_text_kib(kib, {.smallest = Unit::M, .fit = Fit::reaches}); }

}  // namespace

std::vector<Finding> guest_checks(const GuestNeeds& n, const GuestAccess& a, const Session& session) {
  std::vector<Finding> out;
  const std::string section = "Guest " + (n.name.empty() ? std::string("(no name)") : n.name);
  std::string who = a.qemu ? a.qemu->name : "?";

  // H201: who QEMU runs as.
  if (a.qemu) {
    out.push_back(make("H201", "QEMU user", Severity::pass,
                       fmt::format("QEMU runs as {} (uid {}){}", a.qemu->name, a.qemu->uid,
                                   a.conf.user ? " (qemu.conf user)" : " (the distribution's default)"),
                       "every file the guest opens after start must be open to this user", "", section));
  } else {
    out.push_back(make("H201", "QEMU user", Severity::skip,
                       a.conf.user
                           ? fmt::format("qemu.conf names user {}, which /etc/passwd does not have", *a.conf.user)
                           : "no libvirt-qemu or qemu account in /etc/passwd (is libvirt installed?)",
                       "the file checks below need to know who QEMU is", "", section));
  }

  // H202: evdev devices.
  if (!n.evdev.empty() || !n.evdev_cmdline.empty()) {
    const auto& acl = a.conf.cgroup_device_acl ? *a.conf.cgroup_device_acl : default_cgroup_device_acl();
    std::vector<std::string> missing;
    for (const auto& p : n.evdev_cmdline) {
      if (std::find(acl.begin(), acl.end(), p) == acl.end()) missing.push_back(p);
    }
    if (!missing.empty()) {
      out.push_back(make("H202", "evdev devices", Severity::fail,
                         fmt::format("{} passed through <qemu:commandline> {} not in qemu.conf's cgroup_device_acl",
                                     join(missing, ", "), missing.size() == 1 ? "is" : "are"),
                         "libvirt's device cgroup denies QEMU every device node the list does not name",
                         "add them to cgroup_device_acl in /etc/libvirt/qemu.conf ('vfioctl setup --for SPEC.toml' "
                         "writes it), then restart libvirtd; or use <input type='evdev'>, which libvirt allows itself",
                         section));
    } else {
      out.push_back(
          make("H202", "evdev devices", Severity::pass,
               fmt::format("{} evdev device(s) as <input type='evdev'>{}", n.evdev.size() + n.evdev_cmdline.size(),
                           n.evdev_cmdline.empty() ? ": libvirt allows them in the device cgroup itself"
                                                   : " and in cgroup_device_acl"),
               "QEMU may open only the device nodes its cgroup allows", "", section));
    }
  }

  // H203: the sound server's socket.
  for (const auto& s : a.audio) {
    if (s.access == Access::missing) {
      out.push_back(make("H203", "sound server socket", Severity::warn, s.path + " does not exist",
                         "QEMU plays to that PulseAudio socket; without it the guest has no sound",
                         "start the user's sound server (pipewire-pulse or pulseaudio), logged in as that user",
                         section));
    } else if (s.access == Access::no) {
      std::string uid = s.path.substr(0, s.path.find("/pulse/"));
      uid = uid.substr(uid.rfind('/') + 1);
      out.push_back(make("H203", "sound server socket", Severity::fail,
                         fmt::format("{} may not use {}: {}", who, s.path, s.why),
                         "a user's runtime directory (/run/user/UID) is private to that user",
                         fmt::format("run QEMU as that user: user = \"+{}\" in /etc/libvirt/qemu.conf ('vfioctl setup "
                                     "--for SPEC.toml' writes it), then restart libvirtd",
                                     uid),
                         section));
    } else {
      out.push_back(make("H203", "sound server socket", Severity::pass, fmt::format("{} may use {}", who, s.path),
                         "QEMU plays to that PulseAudio socket", "", section));
    }
  }

  // H204: ROM files.
  for (const auto& r : a.roms) {
    if (r.access == Access::yes) {
      out.push_back(make("H204", "ROM file", Severity::pass, fmt::format("{} may read {}", who, r.path),
                         "QEMU reads the ROM when the guest starts", "", section));
    } else {
      out.push_back(make("H204", "ROM file", Severity::fail,
                         r.access == Access::missing ? r.path + " does not exist" : fmt::format("{}: {}", who, r.why),
                         "QEMU reads the ROM when the guest starts and refuses to start without it",
                         fmt::format("put it under /var/lib/libvirt/vbios/ with mode 0644 (AppArmor's libvirt profile "
                                     "allows that directory): install -m 0644 ROM /var/lib/libvirt/vbios/"),
                         section));
    }
  }

  // H205: a hugetlbfs of the guest's page size.
  if (n.hugepage_kib > 0 || n.hugepages_default_size) {
    long long want = n.hugepage_kib > 0 ? n.hugepage_kib : a.default_hugepage_kib;
    auto it = std::find_if(a.hugetlbfs.begin(), a.hugetlbfs.end(),
                           [&](const HugetlbfsMount& m) { return m.page_kib == want; });
    if (it != a.hugetlbfs.end()) {
      out.push_back(make("H205", "hugetlbfs mount", Severity::pass,
                         fmt::format("hugetlbfs with {} pages at {}", page_text(want), it->path),
                         "libvirt backs the guest's memory with a file there", "", section));
    } else {
      // The mount the host's init system would make, or the fstab line
      // setup writes for it (hugepage_boot(): the same answer setup gives).
      auto boot = hugepage_boot(want, 0, a.openrc);
      std::string fix =
          boot.fstab.empty()
              ? fmt::format(
                    "systemd mounts hugetlbfs of the default size at {} when it boots (dev-hugepages.mount): "
                    "systemctl start dev-hugepages.mount, then restart libvirtd",
                    boot.mount_dir)
              : fmt::format(
                    "mkdir -p {0} && mount -t hugetlbfs -o pagesize={1} hugetlbfs {0}, then restart libvirtd; "
                    "to keep it, /etc/fstab needs the line '{2}' ('vfioctl setup --hugepages-for SPEC --apply' "
                    "writes it with the pages)",
                    boot.mount_dir, page_text(want), boot.fstab);
      out.push_back(make("H205", "hugetlbfs mount", Severity::fail,
                         fmt::format("no hugetlbfs with {} pages is mounted", page_text(want)),
                         "libvirt backs the guest's memory with a file on such a mount, found when libvirtd starts",
                         fix, section));
    }
  }

  // H206: shared memory files (Looking Glass, Scream).
  for (const auto& s : a.shmems) {
    if (s.access == Access::no) {
      out.push_back(make("H206", "shared memory file", Severity::fail, fmt::format("{}: {}", who, s.why),
                         "QEMU opens the file read-write when the guest starts",
                         fmt::format("chown {}:kvm {} && chmod 0660 {} (or a systemd-tmpfiles line: f {} 0660 YOU "
                                     "kvm -)",
                                     who, s.path, s.path, s.path),
                         section));
    } else {
      out.push_back(make("H206", "shared memory file", Severity::info,
                         s.access == Access::missing ? s.path + " does not exist yet: QEMU creates it, owned by " + who
                                                     : fmt::format("{} may use {}", who, s.path),
                         "the host's reader (looking-glass-client, scream) needs read-write access too",
                         fmt::format("systemd-tmpfiles line: f {} 0660 YOU kvm - (you in group kvm)", s.path),
                         section));
    }
  }

  // H207: AppArmor and SELinux.
  if (a.mac.apparmor || a.mac.selinux_enforcing) {
    std::string what = a.mac.apparmor ? "AppArmor" : "SELinux (enforcing)";
    if (a.mac.denials.empty()) {
      out.push_back(make("H207", "AppArmor/SELinux", Severity::pass,
                         what + " is active; no denial for this guest is logged",
                         "a confined QEMU is refused files its profile does not list", "", section));
    } else {
      out.push_back(make("H207", "AppArmor/SELinux", Severity::fail,
                         fmt::format("{} denied this guest {} time(s); the last: {}", what, a.mac.denials.size(),
                                     a.mac.denials.back()),
                         "a confined QEMU is refused files its profile does not list",
                         a.mac.apparmor
                             ? "move the file under a path libvirt's profile allows (/var/lib/libvirt/), or add "
                               "it to /etc/apparmor.d/local/abstractions/libvirt-qemu"
                             : "label the file: chcon -t svirt_image_t FILE (or virt_content_t for read-only)",
                         section));
    }
  } else {
    out.push_back(make("H207", "AppArmor/SELinux", Severity::pass, "neither AppArmor nor enforcing SELinux is active",
                       "nothing confines QEMU beyond file modes", "", section));
  }

  // H208: nested virtualization.
  if (!n.nested.empty()) {
    std::string module = n.nested == "svm" ? "kvm_amd" : "kvm_intel";
    bool on = a.nested_param && (*a.nested_param == "Y" || *a.nested_param == "1");
    if (on) {
      out.push_back(make("H208", "nested virtualization", Severity::pass, module + " nested is on",
                         "the guest asks for " + n.nested, "", section));
    } else {
      out.push_back(make("H208", "nested virtualization", Severity::fail,
                         a.nested_param ? fmt::format("{} nested is {}", module, *a.nested_param)
                                        : module + " is not loaded (no /sys/module/" + module + "/parameters/nested)",
                         "the guest requires " + n.nested + "; libvirt refuses to start it while KVM hides it",
                         fmt::format("echo 'options {} nested=1' > /etc/modprobe.d/kvm-nested.conf; with no guest "
                                     "running: modprobe -r {} && modprobe {}",
                                     module, module, module),
                         section));
    }
  }

  // H209: vhost-net for virtio NICs.
  if (n.virtio_net) {
    out.push_back(a.vhost_net
                      ? make("H209", "vhost-net", Severity::pass, "/dev/vhost-net exists",
                             "the virtio NIC's data path runs in the kernel", "", section)
                      : make("H209", "vhost-net", Severity::warn, "/dev/vhost-net is missing",
                             "without it QEMU moves every packet itself: slower, more CPU",
                             "modprobe vhost_net (and echo vhost_net > /etc/modules-load.d/vhost_net.conf)", section));
  }

  // H210: locked memory for a plain-QEMU start of this guest.
  if (n.locked && session.memlock_bytes) {
    long long need = n.memory_kib * 1024;
    bool enough = *session.memlock_bytes < 0 || *session.memlock_bytes >= need || session.root_user;
    out.push_back(make(
        "H210", "locked memory", enough ? Severity::pass : Severity::warn,
        enough
            ? "this session may lock the guest's memory"
            : fmt::format("RLIMIT_MEMLOCK is {} MiB; the guest locks {} MiB", *session.memlock_bytes >> 20, need >> 20),
        "libvirt raises the limit itself; a plain QEMU start (vfioctl new --qemu-script) needs it",
        enough ? "" : "run the script as root (it starts QEMU as root, then drops to the user)", section));
  }
  // H211: the libvirt hook for a guest that asks to be tuned.
  if (n.tune) {
    const auto& h = a.hook;
    std::string asks = n.tune_actions.empty() ? "<vfioctl:tune> with no actions"
                                              : "<vfioctl:tune> asks for " + join(n.tune_actions, ", ");
    const char* why =
        "libvirt runs the vfioctl hook as the guest starts and stops; it makes the tuning the guest's "
        "<vfioctl:tune> asks for (docs/hook.md)";
    if (!h.present) {
      out.push_back(make("H211", "vfioctl hook", Severity::warn,
                         fmt::format("{}, but {} does not exist: nothing will tune the host", asks, kLibvirtHookFile),
                         why, "vfioctl hook install --apply, then restart libvirtd (or virtqemud)", section));
    } else if (!h.ours) {
      out.push_back(make(
          "H211", "vfioctl hook", Severity::warn,
          fmt::format("{}, but {} was not written by vfioctl", asks, kLibvirtHookFile), why,
          fmt::format("move that file elsewhere in {}, then vfioctl hook install --apply", kLibvirtHookDir), section));
    } else if (!h.executable) {
      out.push_back(make("H211", "vfioctl hook", Severity::fail,
                         fmt::format("{} is not executable: libvirt skips it", kLibvirtHookFile), why,
                         fmt::format("chmod 755 {}", kLibvirtHookFile), section));
    } else {
      out.push_back(make("H211", "vfioctl hook", Severity::pass,
                         fmt::format("{}; the hook is installed ({})", asks, kLibvirtHookFile),
                         std::string(why) + "; libvirtd must have been restarted once after the install", "", section));
    }
  }
  // H212: /dev/kvm for QEMU's user (read for a type='kvm' guest when that user is known).
  if (a.kvm) {
    const char* why =
        "libvirt runs a type='kvm' guest only when its QEMU user may open /dev/kvm; otherwise define and start "
        "fail with 'could not find capabilities for domaintype=kvm', and libvirt, whose own probe as root did "
        "find KVM, probes QEMU again on every call (tens of seconds each)";
    if (a.kvm->access == Access::missing) {
      out.push_back(make("H212", "/dev/kvm for QEMU", Severity::fail, "/dev/kvm does not exist", why,
                         "see H002 in 'vfioctl doctor'", section));
    } else if (a.kvm->access == Access::no) {
      out.push_back(
          make("H212", "/dev/kvm for QEMU", Severity::fail,
               fmt::format("{} may not open /dev/kvm read-write (it is {})", who, a.kvm_mode), why,
               fmt::format("chown root:kvm /dev/kvm && chmod 0660 /dev/kvm, with {} in group kvm (udev's default "
                           "rules set that mode at boot; where udev does not run, as in a container, set it "
                           "at every boot)",
                           who),
               section));
    } else {
      out.push_back(make("H212", "/dev/kvm for QEMU", Severity::pass,
                         fmt::format("{} may open /dev/kvm (it is {})", who, a.kvm_mode), why, "", section));
    }
  }
  return out;
}

}  // namespace vfioctl
