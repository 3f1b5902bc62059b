// doctor's tables of checks and its entry points: each check's id, title,
// the worst level it reports, why it matters and its function (in
// doctor_host.cpp, doctor_drift.cpp and doctor_device.cpp). docs/rules.md has
// a section per id; a unit test keeps the two in step.
#include "vfioctl/plan/doctor.h"

#include "vfioctl/plan/doctor_checks.h"
#include "vfioctl/util/json_writer.h"

namespace vfioctl {

const char* severity_label(Severity s) {
  switch (s) {
    case Severity::pass: return "PASS";
    case Severity::info: return "INFO";
    case Severity::warn: return "WARN";
    case Severity::fail: return "FAIL";
    case Severity::skip: return "SKIP";
  }
  return "?";
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::pass: return "pass";
    case Severity::info: return "info";
    case Severity::warn: return "warn";
    case Severity::fail: return "fail";
    case Severity::skip: return "skip";
  }
  return "?";
}

void write_json(JsonWriter& w, const Finding& f) {
  w.begin_object();
  w.field("id", f.id);
  w.field("title", f.title);
  w.field("result", severity_name(f.severity));
  w.field("section", f.section);
  w.field("message", f.message);
  w.field("why", f.why);
  if (f.fix.empty())
    w.field("fix", nullptr);
  else
    w.field("fix", f.fix);
  if (f.where.empty())
    w.field("where", nullptr);
  else
    w.field("where", f.where);
  w.end_object();
}

namespace doctor_detail {

namespace {

// The headings the host-wide checks are printed under.
constexpr std::string_view kVirtualization = "Virtualization";
constexpr std::string_view kIommu = "IOMMU";
constexpr std::string_view kKernel = "Kernel";
constexpr std::string_view kMemoryCpu = "Memory and CPU";
constexpr std::string_view kSoftware = "Software";
constexpr std::string_view kGuestFeatures = "Guest features";
constexpr std::string_view kDrift = "Configuration in effect";

}  // namespace

const std::vector<HostCheck>& host_check_table() {
  static const std::vector<HostCheck> table = {
      {"H001", "CPU virtualization extensions", Severity::fail,
       "KVM runs guests at native speed only with the CPU's virtualization extensions.", check_cpu_virtualization,
       kVirtualization},
      {"H002", "/dev/kvm", Severity::fail,
       "QEMU and libvirt open /dev/kvm for hardware-accelerated guests; without it they fall back to slow emulation.",
       check_kvm_device, kVirtualization},
      {"H003", "IOMMU enabled", Severity::fail,
       "Passthrough needs the IOMMU: it confines each device's DMA to its guest's memory.", check_iommu_enabled,
       kIommu},
      {"H004", "IOMMU kernel arguments", Severity::warn,
       "Only some IOMMU arguments exist; the others are silently ignored and hide the real setting.", check_iommu_args,
       kIommu},
      {"H005", "iommu=pt", Severity::info,
       "iommu=pt maps the host's own devices 1:1, avoiding translation overhead for them; guests are unaffected.",
       check_iommu_pt, kIommu},
      {"H006", "Interrupt remapping", Severity::warn,
       "Without interrupt remapping a guest can forge interrupts (MSI) to the host; VFIO then refuses devices unless "
       "allow_unsafe_interrupts is set.",
       check_interrupt_remapping, kIommu},
      {"H007", "VFIO modules", Severity::fail,
       "vfio-pci claims devices for guests; vfio_iommu_type1 maps guest memory for their DMA.", check_vfio_modules,
       kKernel},
      {"H008", "ACS override", Severity::warn,
       "The ACS override makes the kernel pretend devices are isolated when the hardware does not say so: devices in a "
       "split group can still reach each other by DMA.",
       check_acs_override, kKernel},
      {"H009", "Unsafe interrupts", Severity::warn,
       "allow_unsafe_interrupts lets VFIO assign devices without interrupt remapping: a guest can then inject "
       "interrupts into the host.",
       check_unsafe_interrupts, kKernel},
      {"H010", "Obsolete options", Severity::info,
       "Options for features removed from the kernel are ignored; they suggest a setup copied from an outdated guide.",
       check_obsolete_options, kKernel},
      {"H011", "Hugepages", Severity::info,
       "Hugepages back guest memory with fewer TLB misses and keep it from being swapped or moved.", check_hugepages,
       kMemoryCpu},
      {"H012", "Transparent hugepages", Severity::info,
       "Without reserved hugepages, transparent hugepages ('always' or 'madvise', which QEMU asks for) are what backs "
       "guest memory with large pages.",
       check_thp, kMemoryCpu},
      {"H013", "CPU isolation", Severity::fail,
       "isolcpus, nohz_full and rcu_nocbs keep host work off guest cores; the host must keep CPU 0 and the sets should "
       "agree.",
       check_isolation, kMemoryCpu},
      {"H014", "kvm.ignore_msrs", Severity::info,
       "Windows guests can crash on model-specific registers KVM does not emulate; ignore_msrs makes KVM ignore them "
       "instead.",
       check_ignore_msrs, kKernel},
      {"H015", "OVMF (UEFI firmware)", Severity::fail,
       "Passthrough guests boot with UEFI firmware (OVMF); GPUs expect it, and Windows 11 requires it.", check_ovmf,
       kSoftware},
      {"H016", "swtpm (TPM emulator)", Severity::warn, "swtpm emulates the TPM 2.0 that Windows 11 requires.",
       check_swtpm, kSoftware},
      {"H017", "libvirt", Severity::warn,
       "libvirt defines, starts and pins guests and sets their memory limits; vfioctl writes its XML.", check_libvirt,
       kSoftware},
      {"H018", "QEMU", Severity::fail, "QEMU runs the guest.", check_qemu, kSoftware},
      {"H019", "Locked-memory limit", Severity::warn,
       "VFIO pins all guest memory; a plain QEMU process needs a locked-memory limit as large as the guest (libvirt "
       "raises it itself).",
       check_memlock, kMemoryCpu},
      {"H020", "CPU frequency governor", Severity::info,
       "Frequency scaling adds latency when a guest core wakes; 'performance' keeps cores at speed.", check_governor,
       kMemoryCpu},
      {"H021", "vhost-net", Severity::warn,
       "vhost-net moves a virtio NIC's packets in the kernel; without it QEMU does, slower.", check_vhost_net,
       kGuestFeatures},
      {"H022", "nested virtualization", Severity::info,
       "A guest with nested = true runs guests of its own: KVM must pass vmx/svm on to it.", check_nested,
       kGuestFeatures},
      {"H023", "vfio-pci in the initramfs", Severity::warn,
       "Drivers in the initramfs load before the root filesystem is mounted: vfio-pci and its ids must be in the image "
       "the host boots, or a host driver there claims the device first.",
       check_initramfs, kDrift},
      {"H024", "Hugepages reserved at boot", Severity::warn,
       "Pages reserved on the kernel command line back guests that ask for hugepages; pages the kernel did not reserve "
       "make those guests fail to start.",
       check_boot_hugepages, kDrift},
      {"H025", "Isolated CPUs exist", Severity::warn,
       "The kernel rejects an isolation list that names CPUs it cannot have, so nothing is isolated; lists copied from "
       "another machine do this.",
       check_isolated_cpus_exist, kDrift},
      {"H026", "Blacklisted modules", Severity::warn,
       "A blacklisted module does not load for the devices it drives: a device that stays with the host loses its "
       "driver at the next boot.",
       check_blacklisted, kDrift},
      {"H027", "Devices meant for vfio-pci", Severity::warn,
       "A device whose id is in vfio-pci's ids is meant for guests; bound to another driver, it cannot be passed and "
       "the host uses it.",
       check_vfio_claims, kDrift},
  };
  return table;
}

const std::vector<DeviceCheck>& device_check_table() {
  static const std::vector<DeviceCheck> table = {
      {"H101", "IOMMU group", Severity::fail,
       "An IOMMU group leaves the host whole: every endpoint in it must be given up by the host.", check_iommu_group},
      {"H102", "Driver", Severity::warn, "vfio-pci must own the device before any host driver grabs it at boot.",
       check_driver},
      {"H103", "Boot VGA", Severity::warn,
       "The firmware initialised the boot GPU and the host console runs on it; its ROM may be shadowed.",
       check_boot_vga},
      {"H104", "Reset", Severity::warn,
       "A guest reboot resets the device; without a working reset it can come back hung (the 'reset bug').",
       check_reset},
      {"H105", "Identical devices", Severity::warn,
       "vfio-pci.ids= claims every device with the id, including ones the host keeps.", check_identical_devices},
      {"H106", "Root filesystem", Severity::fail,
       "Passing the controller of the root filesystem takes the host's own disk away.", check_root_filesystem},
      {"H107", "Network", Severity::fail,
       "Passing the host's only network interface cuts it off the network, remote sessions included.", check_network},
      {"H108", "Large BAR", Severity::warn,
       "OVMF puts 64-bit prefetchable BARs in a 64-bit MMIO window of 32 GiB unless told otherwise; BARs that do not "
       "fit stay unassigned (no picture, error 12 or 43, or the guest does not start).",
       check_large_bar},
  };
  return table;
}

}  // namespace doctor_detail

std::vector<Finding> host_checks(const Host& host, const DoctorContext& ctx) {
  return run_checks(doctor_detail::host_check_table(), doctor_detail::HostFacts{host, ctx});
}

std::vector<Finding> device_checks(const Host& host, const PciDevice& dev, const DoctorContext& ctx) {
  std::string name = dev.address.short_str();
  std::string section =
      "Device " + name + " [" + dev.id_pair() + "]" + (dev.device_name.empty() ? "" : " " + dev.device_name);
  doctor_detail::DeviceFacts facts{{host, ctx}, dev, name, dev.address.str()};
  return run_checks(doctor_detail::device_check_table(), facts, section);
}

}  // namespace vfioctl
