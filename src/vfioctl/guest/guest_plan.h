// GuestPlan: everything decided about a guest, from a spec and the host's
// facts. Pure: the writers (libvirt XML, QEMU script) only render it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/guest/spec.h"
#include "vfioctl/host/guest_env.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/plan/mmio_plan.h"

namespace vfioctl {

// One host PCI function given to the guest, and where it appears there.
struct PassedFunction {
  PciAddress host;
  int guest_bus = 0;       // the pcie-root-port it sits behind (its index)
  int guest_function = 0;  // functions of one host device share one guest slot
  bool multifunction = false;
  bool gpu = false;
  std::optional<std::string> romfile;
};

// What a disk is for: the guest's own disk, install media from [[disk]]
// kind = "cdrom", the OS installer or the driver ISO from [install].
enum class DiskRole { disk, media, installer, drivers };

// Cache and I/O mode for a disk's backing store (docs/spec.md, "Disk I/O").
struct DiskIo {
  const char* cache;  // "none"
  const char* io;     // "native" or "threads"
};
enum class Backing { block_device, raw_file, qcow2_preallocated, qcow2 };
DiskIo disk_io(Backing b);

struct PlannedDisk {
  std::string source;
  DiskRole role = DiskRole::disk;
  DiskBus bus = DiskBus::virtio_scsi;
  std::string format = "raw";
  bool block = false;  // a block device (/dev/...)
  bool cdrom = false;
  DiskIo io{"none", "native"};
  bool discard = true;  // discard='unmap'
  int boot = 0;         // boot order; 0: not a boot device
  int iothread = 0;     // virtio-blk: its iothread (1..); 0: none
  SpecPos bus_pos;      // where the spec chose the bus (errors of the writers)
};

// An image `vfioctl new` creates with qemu-img when it writes the guest.
struct ImageToCreate {
  std::string path;
  std::string format;  // raw or qcow2
  long long size_mib = 0;
  std::vector<std::string> argv() const;  // the qemu-img command line
};

struct PlannedUsb {
  UsbSpec spec;
  UsbDevice host;
  bool by_port = false;  // two devices share the id: pick this one by bus and port
};

struct PlannedNet {
  NetworkSpec::Mode mode = NetworkSpec::Mode::nat;
  std::string source;            // network name, bridge, macvtap dev or PF interface
  std::optional<PciAddress> vf;  // sriov: the VF given to the guest
};

// Something the host must allow for the guest to start and work, shown at
// the end of `vfioctl new` and checked by `vfioctl doctor --guest`.
struct Permission {
  std::string what;  // "evdev keyboard"
  std::string path;  // "/dev/input/by-id/usb-...-event-kbd"
  std::string fix;   // the change that allows it
};

// What the guest is told about the hypervisor ([hide], docs/spec.md).
inline constexpr const char* kHiddenVendorId = "vfioctlguest";  // the Hyper-V vendor id when hidden
struct HidePlan {
  bool kvm_hidden = false;     // <kvm><hidden state='on'/>; -cpu kvm=off
  std::string vendor_id;       // the Hyper-V vendor id; "" leaves libvirt's and QEMU's default
  bool cpuid_bit_off = false;  // the CPU's hypervisor bit cleared (no Hyper-V enlightenments then)
};

struct GuestPlan {
  GuestSpec spec;
  std::string name;
  CpuVendor vendor = CpuVendor::unknown;
  CpuPlan cpu;
  MemoryPlan memory;
  std::vector<PassedFunction> passed;  // by host address
  int root_ports = 0;                  // pcie-root-port controllers to create
  // The 64-bit PCI MMIO window: sized when the passed BARs exceed the
  // firmware's default (never on i440fx + SeaBIOS, which sizes its own).
  MmioPlan mmio;
  std::vector<InputDevice> evdev;   // with event nodes
  long long looking_glass_mib = 0;  // 0: none
  std::string gpu_vendor;           // "nvidia", "amd", "intel", or "" without a GPU
  bool windows = false;
  bool legacy = false;  // i440fx + SeaBIOS (preset legacy-windows)
  std::vector<std::string> warnings;
  HidePlan hide;
  // Iothreads, 1..iothreads, all on cpu.iothread: one per virtio-blk disk and
  // one for the virtio-scsi controller, at most one per CPU there.
  int iothreads = 1;
  int scsi_iothread = 0;             // the virtio-scsi controller's; 0: no controller
  std::vector<std::string> reasons;  // why, beyond the CPUs and memory (--explain)

  // Day one: install media, images, USB, network, sound, display, SMBIOS.
  std::vector<PlannedDisk> disks;     // in device order
  std::vector<ImageToCreate> images;  // created when the guest is written or defined
  std::vector<PlannedUsb> usb;
  PlannedNet net;
  AudioBackend audio = AudioBackend::none;
  std::string audio_socket;  // pulseaudio/pipewire: the user's socket
  long long scream_mib = 0;  // scream: the IVSHMEM size
  bool spice_input = false;  // Looking Glass: SPICE carries its keyboard and mouse
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> sysinfo;  // section -> entries
  std::string uuid;                     // stable, from the name (or the host's with keep_serials)
  std::vector<std::string> next_steps;  // what to do in the installer, in order
  std::vector<Permission> permissions;
};

// What plan_guest needs read from the host for this spec.
EnvRequest env_request(const GuestSpec& spec, std::optional<int> user_uid);

// The memory the spec asks of the host: its size, page size (or none) and
// the pages the host's boot reserves. plan_guest adds the vCPUs' NUMA node
// and whether a device is passed; `setup --hugepages-for` plans with it as
// it is.
MemoryRequest memory_request(const Host& host, const GuestSpec& spec);

// Throws Error(bad_input) naming the spec's file:line when the host cannot
// meet the request (devices in shared groups, too many CPUs, too much memory).
// `env` holds the files, USB devices, interfaces and DMI strings the spec
// names; without it (env.known false) none of those is checked. The host's
// boot GPU goes to the guest only with `force` (the host loses its console,
// or its BMC's, when the guest starts): without, Error(bad_input).
GuestPlan plan_guest(const Host& host, const GuestSpec& spec, const std::vector<InputDevice>& inputs,
                     const GuestEnv& env = {}, bool force = false);

// The day-one part of the plan (day_one.cpp): disks and images, USB,
// network, sound, display, SMBIOS, next steps and permissions.
void plan_day_one(const Host& host, const GuestEnv& env, GuestPlan& plan);

// The serial number of an emulated NVMe disk: stable, made from its source,
// at most 20 characters (NVMe's limit); the XML and the script give the same.
std::string nvme_serial(const std::string& source);

// A stable UUID for a name (the same name gives the same UUID).
std::string name_uuid(const std::string& name);

// Removes the CD-ROMs from a domain XML and renumbers the boot order
// (`vfioctl new --installed`). `removed` gets their sources. Throws
// Error(bad_input) when the text is not a domain.
std::string remove_install_media(const std::string& xml, std::vector<std::string>& removed);

// purpose_vendor_os_arch_chipset_firmware_topology, e.g.
// "game_nvidia_win11_x64_q35_uefi_6c12t".
std::string guest_name(const GuestPlan& plan);

// Looking Glass shared memory for a resolution: w*h*4*2 + 10 MiB, rounded up
// to a power of two, in MiB.
long long looking_glass_mib(int width, int height);

}  // namespace vfioctl
