// The day-one part of a guest plan: what a person needs right after the CPU
// and memory plan for the guest to install and work (docs/design.md, "Day one
// of a guest"). Pure: host facts come in Host and GuestEnv.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

using Kind = Root::FileInfo::Kind;

[[noreturn]] void fail_at(const SpecPos& pos, const std::string& msg) { throw input_error(pos.str() + ": " + msg); }

// On a host tree (--root) what the spec names but the tree lacks is not an
// error: a snapshot carries host facts, not the user's images or sockets,
// and a fixture may lack whole kinds (no network interfaces, no USB). What
// the tree did capture (`captured`: it lists interfaces, USB devices) is
// checked as on the live host. Returns true (and says so) when `what` is
// not checked.
bool unchecked_because(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& why,
                       bool captured = false) {
  if (!env.snapshot || captured) return false;
  plan.warnings.push_back(fmt::format("{}: not checked: {}", pos.str(), why));
  return true;
}

bool unchecked(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& what,
               bool captured = false) {
  return unchecked_because(env, plan, pos,
                           what + " is not in this host tree (--root); it must exist on the host the guest runs on",
                           captured);
}

const FileFact* fact(const GuestEnv& env, const std::string& path) {
  auto it = env.files.find(path);
  return it == env.files.end() ? nullptr : &it->second;
}

std::string mib_text(long long mib) {
  if (mib % (1024LL * 1024) == 0) return fmt::format("{}T", mib / (1024LL * 1024));
  if (mib % 1024 == 0) return fmt::format("{}G", mib / 1024);
  return fmt::format("{}M", mib);
}

std::string bytes_text(unsigned long long bytes) {
  if (bytes % (1ULL << 20) == 0) return mib_text(static_cast<long long>(bytes >> 20));
  return fmt::format("{} bytes", bytes);
}

// The virtio-win folder for an OS id: "w11", "2k22", ...
std::string virtio_win_os_dir(const std::string& os) {
  if (starts_with(os, "win2k")) {
    std::string v = os.substr(3);  // "2k22", "2k12r2"
    if (ends_with(v, "r2")) v = v.substr(0, v.size() - 2) + "R2";
    return v;
  }
  if (starts_with(os, "win")) return "w" + os.substr(3);
  return os;
}

// What exists instead of a missing file: its neighbours of the same kind,
// or that its directory is missing too.
std::string instead(const FileFact& f, const std::string& path) {
  std::string dir(dir_name(path));
  if (!f.parent_is_dir) return fmt::format("(the directory {} does not exist either)", dir);
  if (f.siblings.empty()) return fmt::format("(nothing like it in {})", dir);
  return fmt::format("({} has {})", dir, join(f.siblings, ", "));
}

// One iothread per virtio-blk disk and one for the virtio-scsi controller,
// all on the CPU plan's iothread CPUs (a housekeeping core), at most one per
// CPU there: more would only take turns on the same CPUs. Disks beyond that
// share them in turn. One iothread stays when no disk uses any.
void plan_iothreads(GuestPlan& plan) {
  int users = 0;
  bool scsi = false;
  for (const PlannedDisk& d : plan.disks) {
    if (d.cdrom) continue;
    if (d.bus == DiskBus::virtio_blk) ++users;
    if (d.bus == DiskBus::virtio_scsi && !scsi) {
      scsi = true;
      ++users;
    }
  }
  int cpus = std::max(1, static_cast<int>(plan.cpu.iothread.size()));
  plan.iothreads = std::clamp(users, 1, cpus);
  int next = 0;
  auto take = [&] { return next++ % plan.iothreads + 1; };
  for (PlannedDisk& d : plan.disks) {
    if (d.cdrom) continue;
    if (d.bus == DiskBus::virtio_blk) d.iothread = take();
    if (d.bus == DiskBus::virtio_scsi && plan.scsi_iothread == 0) plan.scsi_iothread = take();
  }
  if (users > 1) {
    std::string why = fmt::format("{} iothreads for {} virtio disk controllers", plan.iothreads, users);
    if (users > plan.iothreads)
      why += fmt::format(" (at most one per iothread CPU: {} share them in turn)", users);
    else
      why += " (one each)";
    if (!plan.cpu.iothread.empty()) why += ", all on CPUs " + format_cpulist(plan.cpu.iothread);
    plan.reasons.push_back(why);
  }
}

// Windows has no virtio-input driver of its own: until it has one, it reads
// the evdev keyboard and mouse through the emulated PS/2 devices.
std::string input_driver_step(const GuestPlan& plan, const std::optional<std::string>& drivers) {
  std::string folder = fmt::format("vioinput\\{}\\amd64", virtio_win_os_dir(plan.spec.os));
  if (drivers)
    return fmt::format(
        "install the virtio-input driver for the evdev keyboard and mouse: folder {} on the virtio-win CD-ROM "
        "({}; virtio-win-guest-tools.exe installs it too); without it Windows reads them through the emulated "
        "PS/2 devices",
        folder, *drivers);
  return fmt::format(
      "install the virtio-input driver for the evdev keyboard and mouse from the virtio-win ISO (folder {}, or "
      "virtio-win-guest-tools.exe); without it Windows reads them through the emulated PS/2 devices",
      folder);
}

void plan_disks(const GuestEnv& env, GuestPlan& plan) {
  const GuestSpec& spec = plan.spec;
  for (const auto& d : spec.disks) {
    PlannedDisk p;
    p.source = d.source;
    p.role = d.cdrom ? DiskRole::media : DiskRole::disk;
    p.bus = d.bus;
    p.bus_pos = d.bus_pos;
    p.format = d.format.empty() ? "raw" : d.format;
    p.block = starts_with(d.source, "/dev/");
    p.cdrom = d.cdrom;
    bool created = false;
    if (const FileFact* f = env.known ? fact(env, d.source) : nullptr) {
      if (!f->exists() && unchecked(env, plan, d.source_pos, "disk.source " + d.source)) {
        // planned as written; an image to create is created only on the live host
        if (!p.block && d.size_mib) {
          created = true;
          plan.images.push_back(ImageToCreate{d.source, p.format, *d.size_mib});
        }
      } else if (p.block || f->kind == Kind::block) {
        if (!f->exists()) {
          plan.warnings.push_back(
              fmt::format("{}: disk {} is not on this host now; attach it before the guest "
                          "starts",
                          d.source_pos.str(), d.source));
        } else if (f->kind != Kind::block) {
          fail_at(d.source_pos, fmt::format("disk.source {} is not a block device", d.source));
        }
      } else if (!f->exists()) {
        if (f->dangling_link)
          fail_at(d.source_pos, fmt::format("disk.source {} is a link to a missing file: qemu-img would create the "
                                            "file it points to; give the file's own path, or remove the link",
                                            d.source));
        if (!d.size_mib) {
          fail_at(d.source_pos, fmt::format("disk.source {} does not exist {}; {}", d.source, instead(*f, d.source),
                                            d.cdrom ? "put the image there"
                                                    : "add size = \"64G\" to create it when the guest is written"));
        }
        if (!f->parent_is_dir)
          fail_at(d.source_pos, fmt::format("disk.source {}: the directory {} does not exist; create it first",
                                            d.source, dir_name(d.source)));
        created = true;
        plan.images.push_back(ImageToCreate{d.source, p.format, *d.size_mib});
      } else if (f->kind != Kind::regular) {
        fail_at(d.source_pos, fmt::format("disk.source {} is not a file or a block device", d.source));
      } else if (d.size_mib) {
        unsigned long long want = static_cast<unsigned long long>(*d.size_mib) << 20;
        if (p.format == "qcow2" && !f->qcow2_size)
          fail_at(d.source_pos, fmt::format("disk.source {} exists and is not a qcow2 image (format = \"qcow2\"); "
                                            "nothing is created over an existing file: choose another path",
                                            d.source));
        if (p.format == "raw" && f->qcow2_size)
          fail_at(d.source_pos,
                  fmt::format("disk.source {} exists and is a qcow2 image: write format = \"qcow2\"", d.source));
        unsigned long long have = f->qcow2_size ? *f->qcow2_size : f->size;
        if (have != want)
          fail_at(d.size_pos, fmt::format("disk.size {}: {} exists with {} (nothing is created over an existing "
                                          "file); write size = \"{}\" to use it, or choose another path",
                                          mib_text(*d.size_mib), d.source, bytes_text(have), bytes_text(have)));
      }
    }
    if (!p.cdrom) {
      Backing b = p.block             ? Backing::block_device
                  : p.format == "raw" ? Backing::raw_file
                  : created           ? Backing::qcow2_preallocated
                                      : Backing::qcow2;
      p.io = disk_io(b);
    }
    plan.disks.push_back(p);
  }

  // [install]: the installer and the drivers as SATA CD-ROMs.
  if (spec.install) {
    const InstallSpec& in = *spec.install;
    auto media = [&](const std::string& path, const SpecPos& pos, const char* key) {
      if (!env.known) return;
      const FileFact* f = fact(env, path);
      if (f && f->kind == Kind::regular) return;
      if (!f) return;
      if (!f->exists() && unchecked(env, plan, pos, fmt::format("{} {}", key, path))) return;
      if (f->exists()) fail_at(pos, fmt::format("{} {} is not a file", key, path));
      fail_at(pos, fmt::format("{} {} does not exist {}", key, path, instead(*f, path)));
    };
    media(in.iso, in.iso_pos, "install.iso");
    PlannedDisk iso;
    iso.source = in.iso;
    iso.role = DiskRole::installer;
    iso.bus = DiskBus::sata;
    iso.cdrom = true;
    plan.disks.push_back(iso);
    std::optional<std::string> drivers;
    if (in.drivers == InstallSpec::Drivers::path) {
      media(in.drivers_path, in.drivers_pos, "install.drivers");
      drivers = in.drivers_path;
    } else if (in.drivers == InstallSpec::Drivers::automatic && plan.windows && env.virtio_win) {
      drivers = env.virtio_win;
    }
    if (drivers) {
      PlannedDisk d;
      d.source = *drivers;
      d.role = DiskRole::drivers;
      d.bus = DiskBus::sata;
      d.cdrom = true;
      plan.disks.push_back(d);
    }
    bool virtio_disk = std::any_of(plan.disks.begin(), plan.disks.end(), [](const PlannedDisk& d) {
      return !d.cdrom && (d.bus == DiskBus::virtio_scsi || d.bus == DiskBus::virtio_blk);
    });
    if (plan.windows && virtio_disk) {
      if (drivers) {
        bool scsi = std::any_of(plan.disks.begin(), plan.disks.end(),
                                [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::virtio_scsi; });
        plan.next_steps.push_back(fmt::format(
            "Windows Setup shows no disk at first: choose \"Load driver\", browse the virtio-win CD-ROM ({}) and "
            "pick the folder {}\\{}\\amd64",
            *drivers, scsi ? "vioscsi" : "viostor", virtio_win_os_dir(spec.os)));
        plan.next_steps.push_back(
            "after Setup, install the rest from the same CD-ROM (virtio-win-guest-tools.exe: "
            "network, balloon, guest agent)");
      } else if (in.drivers == InstallSpec::Drivers::none) {
        plan.warnings.push_back(
            fmt::format("{}: install.drivers = \"none\": Windows Setup will not see the virtio "
                        "disk; give it the virtio-win ISO (drivers = \"auto\" or a path)",
                        in.drivers_pos.str()));
      } else if (env.known) {
        plan.warnings.push_back(fmt::format(
            "{}: no virtio-win ISO found ({}): Windows Setup will not see the virtio disk; download virtio-win.iso "
            "(https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/) and set drivers = "
            "\"/path/to/virtio-win.iso\"",
            in.pos.str(), join(virtio_win_candidates(), ", ")));
      }
    }
    if (plan.windows && !plan.evdev.empty()) plan.next_steps.push_back(input_driver_step(plan, drivers));
    plan.next_steps.push_back(
        "when the OS is installed: vfioctl new --installed DOMAIN.xml (or the domain's name "
        "with --connect) removes the install media");
  } else if (plan.windows && !plan.evdev.empty()) {
    plan.next_steps.push_back(input_driver_step(plan, std::nullopt));
  }

  // Boot order: the first disk, then the installer and other install media
  // (an empty disk falls through to the CD-ROM; an installed one boots).
  int order = 1;
  for (auto& d : plan.disks) {
    if (!d.cdrom) {
      d.boot = order++;
      break;
    }
  }
  for (auto& d : plan.disks) {
    if (d.role == DiskRole::installer) d.boot = order++;
  }
  for (auto& d : plan.disks) {
    if (d.role == DiskRole::media) d.boot = order++;
  }
  if (plan.legacy) {
    // i440fx has IDE, not AHCI, built in: CD-ROMs go there.
    for (auto& d : plan.disks) {
      if (d.cdrom) d.bus = DiskBus::sata;
    }
  }
}

std::string usb_line(const UsbDevice& u) {
  std::string name = join(std::vector<std::string>{u.manufacturer.value_or(""), u.name.value_or("")}, " ");
  return fmt::format("{} {}{}", u.port, u.id(), trim(name).empty() ? "" : " " + std::string(trim(name)));
}

void plan_usb(const GuestEnv& env, GuestPlan& plan) {
  for (const auto& u : plan.spec.usb) {
    PlannedUsb p;
    p.spec = u;
    if (!env.known) {
      p.host.vendor = u.vendor;
      p.host.product = u.product;
      p.host.port = u.port.value_or("");
      plan.usb.push_back(p);
      continue;
    }
    std::vector<const UsbDevice*> same;
    for (const auto& h : env.usb) {
      if (h.vendor == u.vendor && h.product == u.product) same.push_back(&h);
    }
    std::vector<std::string> all;
    for (const auto& h : env.usb) {
      if (!h.hub) all.push_back(usb_line(h));
    }
    std::string have = all.empty() ? "this host has no USB devices (/sys/bus/usb/devices lists none)"
                                   : "this host has: " + join(all, "; ");
    if (same.empty() && unchecked(env, plan, u.pos, "USB device " + u.id(), !env.usb.empty())) {
      p.host.vendor = u.vendor;
      p.host.product = u.product;
      p.host.port = u.port.value_or("");
      plan.usb.push_back(p);
      continue;
    }
    if (same.empty()) fail_at(u.pos, fmt::format("no USB device {} on this host; {}", u.id(), have));
    const UsbDevice* pick = nullptr;
    if (u.port) {
      for (const auto* h : same) {
        if (h->port == *u.port) pick = h;
      }
      if (!pick) {
        std::vector<std::string> ports;
        for (const auto* h : same) ports.push_back(h->port);
        fail_at(u.pos, fmt::format("no USB device {} at port {}; it is at {}", u.id(), *u.port, join(ports, ", ")));
      }
      p.by_port = same.size() > 1;
    } else if (same.size() > 1) {
      std::vector<std::string> ports;
      for (const auto* h : same) ports.push_back(h->port);
      fail_at(u.pos, fmt::format("{} USB devices are {} (ports {}); add port = \"{}\" (or another) to say which",
                                 same.size(), u.id(), join(ports, ", "), ports.front()));
    } else {
      pick = same.front();
    }
    if (pick->hub)
      plan.warnings.push_back(
          fmt::format("{}: {} is a USB hub: only the hub goes to the guest, not what is "
                      "plugged into it; pass its controller instead (passthrough = [\"usb\"])",
                      u.pos.str(), u.id()));
    if (p.by_port)
      plan.warnings.push_back(
          fmt::format("{}: {} is picked by its bus and device number ({} on bus {}): they "
                      "change when it is plugged in again",
                      u.pos.str(), u.id(), pick->devnum.value_or(0), pick->busnum.value_or(0)));
    p.host = *pick;
    plan.usb.push_back(p);
  }
}

std::string interfaces_text(const GuestEnv& env) {
  std::vector<std::string> names;
  for (const auto& [n, f] : env.net) {
    names.push_back(n + (f.bridge ? " (bridge)" : f.wireless ? " (Wi-Fi)" : ""));
  }
  return names.empty() ? "this host has no network interface but lo" : "interfaces: " + join(names, ", ");
}

// A wired interface to suggest for macvtap, or "enp5s0".
std::string wired_example(const GuestEnv& env) {
  for (const auto& [n, f] : env.net) {
    if (!f.bridge && !f.wireless && f.pci) return n;
  }
  return "enp5s0";
}

void plan_network(const Host& host, const GuestEnv& env, GuestPlan& plan) {
  const NetworkSpec& net = plan.spec.network;
  PlannedNet& pn = plan.net;
  pn.mode = net.mode;
  switch (net.mode) {
    case NetworkSpec::Mode::none: return;
    case NetworkSpec::Mode::nat:
      pn.source = net.network;
      if (env.known && env.libvirt_config && !env.libvirt_networks.count(net.network)) {
        plan.warnings.push_back(fmt::format(
            "{}: libvirt has no network '{}' on this host; {}", net.source_pos.str(), net.network,
            net.network == "default"
                ? "create it: virsh net-define /usr/share/libvirt/networks/default.xml && virsh net-autostart "
                  "default && virsh net-start default (it needs dnsmasq)"
                : fmt::format("define it (virsh net-define FILE.xml), then virsh net-autostart {} && virsh "
                              "net-start {}",
                              net.network, net.network)));
      } else if (env.known && env.libvirt_networks.count(net.network) && !env.libvirt_autostart.count(net.network)) {
        plan.warnings.push_back(
            fmt::format("{}: libvirt's network '{}' does not start with libvirtd: virsh "
                        "net-autostart {} && virsh net-start {}",
                        net.source_pos.str(), net.network, net.network, net.network));
      }
      return;
    case NetworkSpec::Mode::bridge: {
      pn.source = net.bridge;
      if (!env.known) return;
      auto it = env.net.find(net.bridge);
      if (it == env.net.end() && unchecked(env, plan, net.source_pos, "bridge " + net.bridge, !env.net.empty())) return;
      if (it == env.net.end())
        fail_at(net.source_pos,
                fmt::format("bridge {} does not exist ({}); create it over a wired interface (NetworkManager: nmcli "
                            "connection add type bridge ifname {} ...), or use mode = \"nat\", or mode = "
                            "\"macvtap\" with dev = \"{}\"",
                            net.bridge, interfaces_text(env), net.bridge, wired_example(env)));
      const NetFact& f = it->second;
      if (!f.bridge)
        fail_at(net.source_pos, fmt::format("{} is an interface, not a bridge ({}); use mode = \"macvtap\" with dev "
                                            "= \"{}\", or make a bridge over it",
                                            net.bridge, interfaces_text(env), net.bridge));
      for (const auto& port : f.ports) {
        auto p = env.net.find(port);
        if (p != env.net.end() && p->second.wireless)
          fail_at(net.source_pos,
                  fmt::format("bridge {} holds {}, a Wi-Fi interface: an access point takes frames only from the "
                              "address that joined it, so a guest behind a Wi-Fi bridge gets no network; use mode "
                              "= \"nat\"",
                              net.bridge, port));
      }
      if (f.ports.empty())
        plan.warnings.push_back(
            fmt::format("{}: bridge {} has no port yet: the guest reaches only the host until a "
                        "wired interface joins it",
                        net.source_pos.str(), net.bridge));
      return;
    }
    case NetworkSpec::Mode::macvtap: {
      pn.source = net.dev;
      if (!env.known) return;
      auto it = env.net.find(net.dev);
      if (it == env.net.end() && unchecked(env, plan, net.source_pos, "network.dev " + net.dev, !env.net.empty()))
        return;
      if (it == env.net.end())
        fail_at(net.source_pos, fmt::format("network.dev {} does not exist ({})", net.dev, interfaces_text(env)));
      if (it->second.wireless)
        fail_at(net.source_pos, fmt::format("network.dev {} is Wi-Fi: macvtap gives the guest its own MAC address, "
                                            "which an access point drops; use mode = \"nat\"",
                                            net.dev));
      if (it->second.bridge)
        fail_at(net.source_pos,
                fmt::format("network.dev {} is a bridge: write bridge = \"{}\" instead of macvtap", net.dev, net.dev));
      plan.next_steps.push_back(
          fmt::format("with macvtap the guest and this host cannot reach each other over {} "
                      "(other machines can reach both)",
                      net.dev));
      return;
    }
    case NetworkSpec::Mode::sriov: {
      pn.source = net.pf;
      if (!env.known) return;
      auto it = env.net.find(net.pf);
      if (it == env.net.end())
        fail_at(net.source_pos, fmt::format("network.pf {} does not exist ({})", net.pf, interfaces_text(env)));
      if (!it->second.pci) fail_at(net.source_pos, fmt::format("network.pf {} is not a PCI network card", net.pf));
      const PciDevice* pf = host.device(*it->second.pci);
      std::vector<const PciDevice*> vfs;
      for (const auto& d : host.pci) {
        if (d.physfn && *d.physfn == *it->second.pci) vfs.push_back(&d);
      }
      int total = pf && pf->sriov_totalvfs ? *pf->sriov_totalvfs : 0;
      if (total == 0)
        fail_at(net.source_pos, fmt::format("network.pf {} ({}) has no SR-IOV virtual functions (sriov_totalvfs "
                                            "is 0 or missing); use mode = \"bridge\" or \"macvtap\"",
                                            net.pf, it->second.pci->short_str()));
      if (vfs.empty())
        fail_at(net.source_pos, fmt::format("network.pf {} has no virtual functions enabled (0 of {}); enable "
                                            "some: echo {} > /sys/class/net/{}/device/sriov_numvfs",
                                            net.pf, total, std::min(total, 4), net.pf));
      // A VF with a host interface is in use by the host; take one without.
      const PciDevice* pick = nullptr;
      for (const auto* vf : vfs) {
        bool host_uses = std::any_of(env.net.begin(), env.net.end(),
                                     [&](const auto& kv) { return kv.second.pci && *kv.second.pci == vf->address; });
        if (!host_uses) {
          pick = vf;
          break;
        }
      }
      if (!pick)
        fail_at(net.source_pos,
                fmt::format("every virtual function of {} ({}) has a host interface; enable more: "
                            "echo {} > /sys/class/net/{}/device/sriov_numvfs",
                            net.pf, vfs.size(), std::min<size_t>(vfs.size() + 1, static_cast<size_t>(total)), net.pf));
      if (host.groups.empty() || !pick->iommu_group)
        fail_at(net.source_pos, fmt::format("network.pf {}: VF {} has no IOMMU group: the IOMMU is off ('vfioctl "
                                            "doctor')",
                                            net.pf, pick->address.short_str()));
      pn.vf = pick->address;
      return;
    }
  }
}

void plan_audio(const GuestEnv& env, GuestPlan& plan) {
  const AudioSpec& a = plan.spec.audio;
  plan.audio = a.backend;
  switch (a.backend) {
    case AudioBackend::none: return;
    case AudioBackend::scream:
      // Scream's default ring: 2 MiB of IVSHMEM (the receiver's -m option).
      plan.scream_mib = 2;
      plan.next_steps.push_back(
          "install the Scream driver in the guest (IVSHMEM mode: registry value "
          "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Scream\\Options\\UseIVSHMEM = 2), and run "
          "scream -m /dev/shm/scream-ivshmem on the host");
      return;
    case AudioBackend::pipewire:
    case AudioBackend::pulseaudio: {
      if (!env.known) {
        plan.audio_socket = pulse_socket(1000);
        return;
      }
      if ((!env.user_uid || *env.user_uid == 0) &&
          unchecked_because(env, plan, a.pos,
                            fmt::format("audio.backend \"{}\" plays to a user's sound server, and vfioctl runs as "
                                        "root (not through sudo): {} (uid 1000) is assumed; on the host, run vfioctl "
                                        "through sudo from that user",
                                        audio_backend_name(a.backend), pulse_socket(1000)))) {
        plan.audio_socket = pulse_socket(1000);
        return;
      }
      if (!env.user_uid || *env.user_uid == 0)
        fail_at(a.pos, fmt::format("audio.backend \"{}\" plays to a user's sound server, but vfioctl runs as root "
                                   "without sudo: run it as that user, or through sudo",
                                   audio_backend_name(a.backend)));
      plan.audio_socket = pulse_socket(*env.user_uid);
      const FileFact* f = fact(env, plan.audio_socket);
      if (f && !f->exists())
        plan.warnings.push_back(
            fmt::format("{}: no sound server socket at {}: is {} running for user {}?", a.pos.str(), plan.audio_socket,
                        a.backend == AudioBackend::pipewire ? "pipewire-pulse" : "pulseaudio", *env.user_uid));
      return;
    }
  }
}

void plan_display(GuestPlan& plan) {
  bool gpu = std::any_of(plan.passed.begin(), plan.passed.end(), [](const PassedFunction& f) { return f.gpu; });
  plan.spice_input = gpu && plan.looking_glass_mib > 0;
  if (plan.looking_glass_mib > 0) {
    plan.next_steps.push_back(
        fmt::format("Looking Glass: install its host application in the guest; on this host "
                    "run looking-glass-client (shared memory /dev/shm/looking-glass, {} MiB; "
                    "keyboard and mouse through SPICE)",
                    plan.looking_glass_mib));
  }
}

// SMBIOS types 0-3 from the host's DMI strings.
void plan_smbios(const GuestEnv& env, GuestPlan& plan) {
  const SmbiosSpec& sm = plan.spec.smbios;
  if (!sm.from_host || !env.known) return;
  if (!env.dmi.present &&
      unchecked_because(env, plan, sm.pos,
                        "smbios.from_host: this host tree (--root) has no DMI tables (/sys/class/dmi/id), so the "
                        "guest gets none here; on the host itself it gets the host's"))
    return;
  if (!env.dmi.present)
    fail_at(sm.pos,
            "smbios.from_host: this host has no DMI tables (/sys/class/dmi/id is missing: a virtual machine "
            "without SMBIOS, or a board without it); remove [smbios]");
  const auto& f = env.dmi.fields;
  auto value = [&](const std::string& field) -> std::optional<std::string> {
    auto it = f.find(field);
    if (it == f.end()) return std::nullopt;
    if (dmi_is_serial(field) && !sm.keep_serials) return std::string("Default string");
    return it->second;
  };
  struct Map {
    const char* section;
    const char* entry;
    const char* field;
  };
  const Map kMap[] = {
      {"bios", "vendor", "bios_vendor"},
      {"bios", "version", "bios_version"},
      {"bios", "date", "bios_date"},
      {"system", "manufacturer", "sys_vendor"},
      {"system", "product", "product_name"},
      {"system", "version", "product_version"},
      {"system", "serial", "product_serial"},
      {"system", "sku", "product_sku"},
      {"system", "family", "product_family"},
      {"baseBoard", "manufacturer", "board_vendor"},
      {"baseBoard", "product", "board_name"},
      {"baseBoard", "version", "board_version"},
      {"baseBoard", "serial", "board_serial"},
      {"baseBoard", "asset", "board_asset_tag"},
      {"chassis", "manufacturer", "chassis_vendor"},
      {"chassis", "version", "chassis_version"},
      {"chassis", "serial", "chassis_serial"},
      {"chassis", "asset", "chassis_asset_tag"},
  };
  for (const auto& m : kMap) {
    auto v = value(m.field);
    if (!v) continue;
    // libvirt takes a BIOS date as mm/dd/yyyy only.
    if (std::string(m.entry) == "date" && !(v->size() == 10 && (*v)[2] == '/' && (*v)[5] == '/')) continue;
    auto sec =
        std::find_if(plan.sysinfo.begin(), plan.sysinfo.end(), [&](const auto& s) { return s.first == m.section; });
    if (sec == plan.sysinfo.end()) {
      plan.sysinfo.push_back({m.section, {}});
      sec = plan.sysinfo.end() - 1;
    }
    sec->second.push_back({m.entry, *v});
  }
  if (sm.keep_serials) {
    auto it = f.find("product_uuid");
    if (it != f.end() && it->second.size() == 36) plan.uuid = to_lower(it->second);
  }
}

// What the host must allow for the guest: shown by `vfioctl new`, checked
// by `vfioctl doctor --guest`.
void plan_permissions(GuestPlan& plan) {
  if (!plan.audio_socket.empty()) {
    std::string uid = plan.audio_socket.substr(10, plan.audio_socket.find("/pulse/") - 10);
    plan.permissions.push_back({"sound socket", plan.audio_socket,
                                fmt::format("QEMU's user must reach it: user = \"+{}\" in /etc/libvirt/qemu.conf "
                                            "('vfioctl setup --for SPEC.toml')",
                                            uid)});
  }
  for (const auto& f : plan.passed) {
    if (f.romfile) {
      plan.permissions.push_back({"ROM file", *f.romfile,
                                  "readable by QEMU's user (mode 0644; under "
                                  "/var/lib/libvirt/vbios/ for AppArmor)"});
      break;
    }
  }
  if (plan.memory.page_kib) {
    plan.permissions.push_back({"hugetlbfs", plan.memory.page_kib >= 1048576 ? "/dev/hugepages1G" : "/dev/hugepages",
                                fmt::format("mounted with pagesize={} before libvirtd starts",
                                            plan.memory.page_kib >= 1048576 ? "1G" : "2M")});
  }
  if (plan.looking_glass_mib > 0)
    plan.permissions.push_back({"Looking Glass", "/dev/shm/looking-glass",
                                "read-write for you and QEMU's user: systemd-tmpfiles line f /dev/shm/looking-glass "
                                "0660 YOU kvm -"});
  if (plan.scream_mib > 0)
    plan.permissions.push_back({"Scream", "/dev/shm/scream-ivshmem",
                                "read-write for you and QEMU's user: systemd-tmpfiles line f /dev/shm/scream-ivshmem "
                                "0660 YOU kvm -"});
  if (plan.spec.nested) {
    const char* module = plan.vendor == CpuVendor::amd ? "kvm_amd" : "kvm_intel";
    plan.permissions.push_back({"nested KVM", fmt::format("/sys/module/{}/parameters/nested", module),
                                fmt::format("Y or 1: options {} nested=1 in /etc/modprobe.d/", module)});
  }
}

}  // namespace

DiskIo disk_io(Backing b) {
  switch (b) {
    case Backing::block_device: return {"none", "native"};
    case Backing::raw_file: return {"none", "native"};
    case Backing::qcow2_preallocated: return {"none", "native"};
    case Backing::qcow2: return {"none", "threads"};
  }
  return {"none", "threads"};
}

std::vector<std::string> ImageToCreate::argv() const {
  std::vector<std::string> a = {"qemu-img", "create", "-q", "-f", format, "-o"};
  a.push_back(format == "qcow2" ? "preallocation=metadata,cluster_size=2M" : "preallocation=falloc");
  a.push_back(path);
  a.push_back(mib_text(size_mib));
  return a;
}

std::string nvme_serial(const std::string& source) {
  unsigned h = 2166136261u;
  for (unsigned char c : source) h = (h ^ c) * 16777619u;
  return fmt::format("vfioctl{:08x}", h);
}

std::string name_uuid(const std::string& name) {
  // Two 64-bit FNV-1a hashes with different bases, shaped as a version 4
  // (random-looking) UUID: stable for a name, distinct between names.
  auto fnv = [&](unsigned long long h) {
    for (unsigned char c : name) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    return h;
  };
  unsigned long long a = fnv(14695981039346656037ULL);
  unsigned long long b = fnv(a ^ 0x9e3779b97f4a7c15ULL);
  a = (a & 0xffffffffffff0fffULL) | 0x4000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                     b & 0xffffffffffffULL);
}

void plan_day_one(const Host& host, const GuestEnv& env, GuestPlan& plan) {
  plan.uuid = name_uuid(plan.name);
  plan_disks(env, plan);
  plan_iothreads(plan);
  plan_usb(env, plan);
  plan_network(host, env, plan);
  plan_audio(env, plan);
  plan_display(plan);
  plan_smbios(env, plan);
  plan_permissions(plan);
}

}  // namespace vfioctl
