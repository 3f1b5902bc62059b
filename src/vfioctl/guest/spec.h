// GuestSpec: what a person asks for, in a few lines of TOML (docs/spec.md).
// The parser checks keys, types and values and reports mistakes with the
// file:line and the nearest valid choice; the planners judge the request
// against the host.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vfioctl {

enum class Preset { windows_gaming, windows_workstation, linux_desktop, linux_server, legacy_windows };

// "windows-gaming", ...
const char* preset_name(Preset p);
bool preset_is_windows(Preset p);

// Where a value came from, for messages ("win11.toml:4").
struct SpecPos {
  std::string file;
  int line = 0;
  std::string str() const;  // "file:line", or "file" when line is 0
};

enum class DiskBus { virtio_scsi, virtio_blk, sata, nvme };
const char* disk_bus_name(DiskBus b);  // "virtio-scsi", "virtio-blk", "sata", "nvme"

struct DiskSpec {
  std::string source;            // block device (/dev/...) or image path
  SpecPos source_pos, size_pos;  // lines of `source` and `size`
  SpecPos bus_pos;               // the line of `bus` (the table's when bus is left out)
  DiskBus bus = DiskBus::virtio_scsi;
  std::optional<long long> size_mib;  // for a new image: size = "100G"
  std::string format;                 // "raw" or "qcow2"; when not given: raw for devices, by extension for files
  bool cdrom = false;                 // install media: kind = "cdrom"
  SpecPos pos;
};

struct NetworkSpec {
  enum class Mode { nat, bridge, macvtap, sriov, none } mode = Mode::nat;
  std::string bridge;               // mode bridge: "br0"
  std::string dev;                  // mode macvtap: the host's wired interface, "enp5s0"
  std::string pf;                   // mode sriov: the physical function's interface, "enp5s0f0"
  std::string network = "default";  // libvirt network for nat
  std::optional<std::string> mac;   // "52:54:00:..."
  SpecPos pos;
  SpecPos source_pos;  // the line of bridge, dev, pf or network
};

struct InputSpec {
  // "auto": every keyboard and mouse in /dev/input/by-id; "none"; or
  // "paths" when the spec lists them (in `devices`).
  std::string evdev = "none";
  std::vector<std::string> devices;  // explicit by-id paths
  std::string grab_toggle = "ctrl-ctrl";
  SpecPos pos;
};

struct LookingGlassSpec {
  int width = 0, height = 0;  // resolution = "2560x1440"
  SpecPos pos;
};

// [install]: the OS installer and the virtio drivers it needs.
struct InstallSpec {
  std::string iso;  // absolute path of the installer ISO
  enum class Drivers { automatic, path, none } drivers = Drivers::automatic;
  std::string drivers_path;  // with Drivers::path
  SpecPos pos, iso_pos, drivers_pos;
};

// [[usb]]: one host USB device by vendor:product, and its port (the sysfs
// name, "1-4.2") when two share the id.
struct UsbSpec {
  unsigned vendor = 0, product = 0;
  std::optional<std::string> port;
  SpecPos pos;
  std::string id() const;  // "046d:c52b"
};

// [audio]: where the guest's sound goes.
enum class AudioBackend { none, pipewire, pulseaudio, scream };
const char* audio_backend_name(AudioBackend b);

struct AudioSpec {
  AudioBackend backend = AudioBackend::none;
  SpecPos pos;
};

// [smbios]: the host's DMI strings for the guest's firmware tables.
struct SmbiosSpec {
  bool from_host = false;
  bool keep_serials = false;
  SpecPos pos;
};

// [hide]: what the guest is told about the hypervisor under it.
struct HideSpec {
  // hypervisor = "auto" | true | false: KVM's signature hidden and, for
  // Windows, a Hyper-V vendor id of vfioctl's. Auto: on for a Windows preset
  // with a passed NVIDIA GPU (resolved by the planner).
  enum class Mode { automatic, on, off } hypervisor = Mode::automatic;
  bool cpuid_bit = true;                 // false: the CPU's hypervisor bit cleared too
  std::optional<std::string> vendor_id;  // 1 to 12 letters and digits
  SpecPos pos, cpuid_bit_pos, vendor_id_pos;
};

struct GuestSpec {
  std::string file;  // the spec file as given (for messages)
  Preset preset = Preset::linux_desktop;
  std::string os;  // libosinfo-like short id: "win11", "win10", "linux", "debian12"...
  std::optional<std::string> name;

  // memory = "16G" (MiB after parsing).
  long long memory_mib = 0;
  SpecPos memory_pos;
  // hugepages = "auto" | "2M" | "1G" | "off"; page size in KiB, 0 = off, nullopt = auto.
  std::optional<long long> hugepage_kib;
  bool hugepages_off = false;

  // cpus = "6c12t" | "auto", or cores = 6 and threads = 2.
  bool cpus_auto = true;
  int cores = 0;    // physical cores requested (0 with cpus_auto)
  int threads = 0;  // threads per core requested (0: as the host has)
  SpecPos cpus_pos;

  std::vector<std::string> passthrough;  // selectors as in `vfioctl list`
  SpecPos passthrough_pos;
  std::optional<std::string> romfile;  // GPU ROM file

  std::vector<DiskSpec> disks;
  NetworkSpec network;
  InputSpec input;
  std::optional<LookingGlassSpec> looking_glass;
  std::optional<InstallSpec> install;
  std::vector<UsbSpec> usb;
  AudioSpec audio;
  SmbiosSpec smbios;
  HideSpec hide;
  bool nested = false;  // vmx/svm for the guest's own guests
  SpecPos nested_pos;

  bool secure_boot = false;  // default: on for win11
  bool tpm = false;          // default: on for win11

  // [tune] actions: what the libvirt hook does while the guest runs. Not
  // given: every action (hugepages only when the memory is on hugepages).
  std::optional<std::vector<std::string>> tune_actions;
  SpecPos tune_pos;
};

// Parses and validates a spec. Throws Error(bad_input) with "FILE:LINE: what
// is wrong; nearest valid choice" on unknown keys, wrong types or values.
GuestSpec parse_guest_spec(const std::string& text, const std::string& file);
GuestSpec load_guest_spec(const std::string& path);  // reads the file, then parses

// "16G", "512M", "1.5G", "16GiB", "2048" (MiB) -> MiB; nullopt when malformed.
std::optional<long long> parse_size_mib(const std::string& text);

}  // namespace vfioctl
