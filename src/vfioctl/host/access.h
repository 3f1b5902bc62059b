// Who may open what, for `vfioctl doctor --guest`: libvirt's qemu.conf
// (the QEMU user, cgroup_device_acl), accounts from /etc/passwd and
// /etc/group, file modes along a path, AppArmor/SELinux and the denials
// they logged. All through Root.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vfioctl {

class Root;

struct QemuConf {
  bool present = false;                                       // /etc/libvirt/qemu.conf readable
  std::optional<std::vector<std::string>> cgroup_device_acl;  // uncommented, else libvirt's default applies
  int acl_line = 0;
  std::optional<std::string> user, group;  // "libvirt-qemu", "+1000"
};

// Parses qemu.conf's syntax: NAME = "string" | [ "a", "b", ... ] (lists may
// span lines), '#' comments.
QemuConf parse_qemu_conf(const std::string& text);
QemuConf read_qemu_conf(const Root& root);

// libvirt's built-in cgroup_device_acl (what applies while qemu.conf leaves
// it commented out).
const std::vector<std::string>& default_cgroup_device_acl();

struct Account {
  std::string name;
  unsigned uid = 0, gid = 0;
  std::vector<unsigned> groups;  // supplementary, from /etc/group
};

// An account by name or "+UID" (qemu.conf's numeric form); nullopt when
// /etc/passwd has none.
std::optional<Account> find_account(const Root& root, const std::string& name);

// The user QEMU runs as under libvirt: qemu.conf's `user`, else the
// distribution's (libvirt-qemu on Debian and Ubuntu, qemu on Fedora).
std::optional<Account> qemu_account(const Root& root, const QemuConf& conf);

enum class Access { yes, no, missing };

// Whether `who` may read (and with `write`, write) `path`: search
// permission on every directory up to it, then the file's own bits. Root
// (uid 0) may always. `why` gets the first component that refuses.
Access can_access(const Root& root, const std::string& path, const Account& who, bool write, std::string* why);

struct MacFacts {
  bool apparmor = false;             // /sys/module/apparmor/parameters/enabled = Y
  bool selinux_enforcing = false;    // /sys/fs/selinux/enforce = 1
  std::vector<std::string> denials;  // log lines that deny this guest something
};

// Denials that name the guest's libvirt profile or label (libvirt-UUID,
// svirt) in /var/log/audit/audit.log, /var/log/kern.log and /var/log/syslog.
MacFacts read_mac(const Root& root, const std::string& uuid);

}  // namespace vfioctl

namespace vfioctl {

// What a guest's domain XML asks of the host (guest/needs.h reads it).
struct GuestNeeds {
  std::string name, uuid;
  std::vector<std::string> evdev;          // <input type='evdev'> sources
  std::vector<std::string> evdev_cmdline;  // input-linux evdev= paths in <qemu:commandline>
  std::vector<std::string> audio_sockets;  // <audio type='pulseaudio' serverName=...>
  std::vector<std::string> roms;           // <rom file=...>
  std::vector<std::string> shmems;         // <shmem name=...>: /dev/shm/NAME
  long long hugepage_kib = 0;              // <hugepages><page size=...>; 0 without hugepages
  bool hugepages_default_size = false;     // <hugepages/> without a page: the default size
  bool locked = false;                     // <memoryBacking><locked/>
  long long memory_kib = 0;
  std::string nested;                     // "vmx" or "svm" when the CPU asks for it
  bool virtio_net = false;                // a virtio <interface> (vhost-net)
  bool kvm = false;                       // <domain type='kvm'>: QEMU opens /dev/kvm
  bool tune = false;                      // <vfioctl:tune> in <metadata>: the hook tunes the host
  std::vector<std::string> tune_actions;  // its actions
};

// The libvirt hook `vfioctl hook install` writes (libvirt 6.5 and later run
// every program in qemu.d/), and the line that marks the file as vfioctl's.
inline constexpr const char* kLibvirtHookDir = "/etc/libvirt/hooks/qemu.d";
inline constexpr const char* kLibvirtHookFile = "/etc/libvirt/hooks/qemu.d/vfioctl";
inline constexpr const char* kLibvirtHookMarker = "# vfioctl hook dispatcher";

struct HookInstall {
  bool present = false;     // kLibvirtHookFile exists
  bool ours = false;        // it carries kLibvirtHookMarker
  bool executable = false;  // libvirt skips a hook that is not
};

struct HugetlbfsMount {
  std::string path;
  long long page_kib = 0;
};

// The host's side of each need, read through Root.
struct GuestAccess {
  QemuConf conf;
  std::optional<Account> qemu;  // the QEMU user
  struct PathAccess {
    std::string path;
    Access access = Access::missing;
    std::string why;
  };
  std::vector<PathAccess> audio, roms, shmems;  // in the needs' order
  std::vector<HugetlbfsMount> hugetlbfs;        // from /proc/mounts
  long long default_hugepage_kib = 0;           // /proc/meminfo Hugepagesize
  bool openrc = false;                          // boots_openrc(): who mounts hugetlbfs
  std::optional<std::string> nested_param;      // /sys/module/kvm_intel|kvm_amd/parameters/nested
  bool vhost_net = false;                       // /dev/vhost-net
  std::optional<PathAccess> kvm;                // /dev/kvm, for a type='kvm' guest whose QEMU user is known
  std::string kvm_mode;                         // its mode and owner: "600 root:root"
  HookInstall hook;                             // read when the guest opts into tuning
  MacFacts mac;
};

GuestAccess read_guest_access(const Root& root, const GuestNeeds& needs);

}  // namespace vfioctl
