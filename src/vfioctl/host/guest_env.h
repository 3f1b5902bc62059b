// What a guest spec meets on the host beyond the hardware: the files it
// names (images, ISOs), USB devices, network interfaces and bridges,
// libvirt's networks, the virtio-win ISO, DMI strings and the user whose
// sound server the guest plays to. Read through Root, so a fixture tree can
// stand in for all of it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vfioctl/host/dmi.h"
#include "vfioctl/host/notes.h"
#include "vfioctl/host/pci.h"
#include "vfioctl/host/root.h"
#include "vfioctl/host/usb.h"

namespace vfioctl {

struct FileFact {
  Root::FileInfo::Kind kind = Root::FileInfo::Kind::missing;
  unsigned long long size = 0;                   // bytes, regular files
  std::optional<unsigned long long> qcow2_size;  // virtual size from a qcow2 header
  bool parent_is_dir = false;                    // whether the directory exists (to create the file)
  // A missing file's neighbours with the same extension (".iso"), sorted:
  // what exists instead.
  std::vector<std::string> siblings;
  bool dangling_link = false;           // missing, but a link stands there (to a missing target)
  std::optional<std::string> resolved;  // host path with every link resolved, when it exists
  bool exists() const { return kind != Root::FileInfo::Kind::missing; }
};

struct NetFact {
  std::string name;
  bool bridge = false;             // /sys/class/net/NAME/bridge
  bool wireless = false;           // /sys/class/net/NAME/wireless or phy80211
  std::vector<std::string> ports;  // a bridge's ports (brif/)
  std::optional<PciAddress> pci;   // the PCI function behind it
};

struct GuestEnv {
  bool known = false;  // false: nothing was read (plans for tests); the planner checks nothing
  // Read from a host tree (--root: a snapshot or fixture), not the live
  // host: a file, device, interface or socket the tree lacks is noted as
  // not checked rather than refused (a snapshot holds host facts, not the
  // user's images, sockets or USB devices).
  bool snapshot = false;
  std::map<std::string, FileFact> files;  // every path the spec names, and the virtio-win candidates
  std::vector<UsbDevice> usb;
  Dmi dmi;
  std::map<std::string, NetFact> net;  // every interface in /sys/class/net but lo
  // libvirt's persistent networks (/etc/libvirt/qemu/networks/NAME.xml),
  // and which of them start with libvirtd (autostart/).
  std::set<std::string> libvirt_networks, libvirt_autostart;
  bool libvirt_config = false;            // /etc/libvirt/qemu exists
  std::optional<std::string> virtio_win;  // the first virtio-win ISO found where distributions put it
  bool vhost_net = false;                 // /dev/vhost-net
  // The user whose sound server the guest uses (the one who ran sudo), and
  // their runtime directory (/run/user/UID).
  std::optional<int> user_uid;
};

// Where distributions and guides put the virtio-win ISO, in the order
// "auto" looks.
const std::vector<std::string>& virtio_win_candidates();

// What to read: the guest planner says (guest/guest_plan.h: env_request).
struct EnvRequest {
  std::vector<std::string> files;  // images, ISOs, ROM files, sockets
  bool virtio_win = false;         // look for the virtio-win ISO
  bool usb = false;
  bool dmi = false;
  std::optional<int> user_uid;  // the invoking user (SUDO_UID, or the caller)
};

GuestEnv read_guest_env(const Root& root, const EnvRequest& req, Notes& notes);

// The PulseAudio socket of a user (PipeWire serves the same one through
// pipewire-pulse): /run/user/UID/pulse/native.
std::string pulse_socket(int uid);

// A file's fact as read (for paths read_guest_env did not see: unknown).
FileFact read_file_fact(const Root& root, const std::string& path);

}  // namespace vfioctl
