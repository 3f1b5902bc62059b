// The rule table: ids, names, titles, levels and reasons. docs/rules.md has a
// section per id; a unit test keeps the two in step.
#include <fmt/format.h>

#include "vfioctl/lint/rule.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

void Emitter::add(pugi::xml_node at, std::string message, std::string fix) {
  add(at, m_rule.severity, std::move(message), std::move(fix));
}

void Emitter::add(pugi::xml_node at, std::string message, std::string fix, const EditSet& edits) {
  add(at, m_rule.severity, std::move(message), std::move(fix));
  with_edits(edits);
}

void Emitter::with_edits(const EditSet& edits) {
  if (!m_out.empty()) m_out.back().edits = edits.take();
}

void Emitter::add(pugi::xml_node at, Severity severity, std::string message, std::string fix, std::string why) {
  LintFinding f;
  f.finding.id = std::string(m_rule.id);
  f.finding.title = std::string(m_rule.title);
  f.finding.severity = severity;
  f.finding.message = clamp_message(message);
  f.finding.why = why.empty() ? std::string(m_rule.why) : std::move(why);
  f.finding.fix = clamp_message(fix);
  f.finding.section = m_rule.needs_host ? "host" : "guest";
  f.line = m_domain.line_or_root(at);
  m_out.push_back(std::move(f));
}

const char* lint_severity_name(Severity s) {
  switch (s) {
    case Severity::fail: return "error";
    case Severity::warn: return "warning";
    case Severity::pass:
    case Severity::info:
    case Severity::skip: break;
  }
  return "info";
}

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::fail: return "error";
    case Severity::warn: return "warning";
    case Severity::pass:
    case Severity::info:
    case Severity::skip: break;
  }
  return "note";
}

const std::vector<Rule>& rules() {
  static const std::vector<Rule> table = {
      {"L001", "vcpupin-unknown-vcpu", "vcpupin for a vCPU that does not exist, or twice", Severity::fail, false,
       "libvirt refuses a domain whose vcpupin names a vCPU at or above the <vcpu> count, or pins one vCPU twice.",
       check_vcpupin_range, kFixable},
      {"L002", "emulator-on-vcpu-cpus", "Emulator or I/O thread on the vCPUs' host CPUs", Severity::warn, false,
       "The emulator and I/O threads do the guest's device work; on a vCPU's host CPU they preempt that vCPU, "
       "which the guest sees as stutter and latency spikes.",
       check_thread_overlap, kNoFix},
      {"L003", "vcpus-partly-pinned", "Some vCPUs pinned, others not", Severity::warn, false,
       "Unpinned vCPUs float over every host CPU, the pinned vCPUs' included, so pinning the rest isolates "
       "nothing; usually a vcpupin list left short after <vcpu> was raised.",
       check_partial_pinning, kNoFix},
      {"L004", "vcpus-share-host-cpu", "Two vCPUs pinned to one host CPU", Severity::warn, false,
       "Two vCPUs on one host CPU take turns on it: each runs at most half the time, and a guest spinning on a "
       "lock held by the other stalls.",
       check_shared_host_cpu, kNoFix},
      {"L005", "undeclared-iothread", "Reference to an undeclared iothread", Severity::fail, false,
       "libvirt refuses a domain whose iothreadpin, disk or controller names an iothread that <iothreads> or "
       "<iothreadids> does not declare.",
       check_iothread_refs, kNoFix},
      {"L006", "topology-vcpu-mismatch", "CPU topology does not match the vCPU count", Severity::fail, false,
       "libvirt refuses a domain whose sockets x dies x clusters x cores x threads differs from <vcpu>.",
       check_topology_count, kNoFix},
      {"L007", "io-native-cache", "io='native' without cache='none' or 'directsync'", Severity::fail, false,
       "Linux native AIO needs O_DIRECT: QEMU refuses io='native' on a cached disk (older versions silently fell "
       "back to threads).",
       check_io_native_cache, kFixable},
      {"L008", "queues-exceed-vcpus", "More virtio queues than vCPUs", Severity::warn, false,
       "A virtio queue per vCPU is the most that helps; more only cost interrupt vectors and memory.", check_queues,
       kFixable},
      {"L009", "balloon-with-hostdev", "Memory balloon in a passthrough guest", Severity::warn, false,
       "A passed-through device can DMA into any guest page, so all guest memory stays pinned: QEMU disables "
       "ballooning and the balloon only costs a PCI slot and a driver.",
       check_balloon, kFixable},
      {"L010", "hostdev-without-hugepages", "Passthrough guest without hugepages", Severity::warn, false,
       "VFIO pins and maps all guest memory for DMA: on 4 KiB pages that is millions of IOMMU and page-table "
       "entries, slower to start and slower to run than hugepages.",
       check_hugepages, kNoFix},
      {"L011", "locked-without-hugepages", "Locked memory without hugepages", Severity::warn, false,
       "<locked/> pins every guest page and lifts the locked-memory limit of the whole QEMU process: with "
       "hugepages that costs nothing more, on 4 KiB pages it takes gigabytes the host can never reclaim or compact.",
       check_locked, kNoFix},
      {"L012", "memory-not-page-multiple", "Memory not a multiple of the hugepage size", Severity::warn, false,
       "Hugepages back the guest in whole pages: QEMU rounds the size up, so the guest takes one page more than "
       "its memory says and a pool sized from the XML comes up short.",
       check_page_multiple, kFixable},
      {"L013", "hostdev-cpu-not-passthrough", "Passthrough guest without host-passthrough CPU", Severity::warn, false,
       "GPU drivers and games read the CPU's features and caches: a named or host-model CPU hides some (invtsc, "
       "cache topology) and costs speed; host-passthrough gives the guest the real CPU.",
       check_cpu_mode, kFixable},
      {"L014", "windows-hyperv", "Windows guest without the Hyper-V enlightenments", Severity::warn, false,
       "Windows runs much faster as a Hyper-V guest: relaxed timing, virtual APIC, spinlock hints, synthetic "
       "timers (vpindex, synic, stimer) and the Hyper-V clock cut idle CPU use and interrupt cost.",
       check_windows_hyperv, kFixable},
      {"L015", "windows-clock-utc", "Windows guest with a UTC clock", Severity::warn, false,
       "Windows reads the real-time clock as local time: with offset='utc' its clock is off by the time zone "
       "unless it was set to keep UTC.",
       check_windows_clock, kFixable},
      {"L016", "windows-hpet", "Windows guest with an HPET", Severity::warn, false,
       "Windows uses an HPET as its clock source when it has one, and every read of the emulated HPET traps into "
       "QEMU: host CPU time even when the guest is idle. The Hyper-V clock is read without leaving the guest.",
       check_windows_hpet, kFixable},
      {"L017", "hyperv-vendor-id-length", "Hyper-V vendor_id longer than 12 characters", Severity::fail, false,
       "The Hyper-V vendor id is a 12-byte CPUID field: libvirt refuses a longer value.", check_vendor_id, kFixable},
      {"L018", "hyperv-spinlocks-retries", "Hyper-V spinlocks retries below 4095", Severity::fail, false,
       "libvirt refuses Hyper-V spinlocks without a retries count of at least 4095 (8191 is usual).", check_spinlocks,
       kFixable},
      {"L019", "misplaced-element", "Element where libvirt does not read it", Severity::warn, false,
       "libvirt silently drops elements it does not expect where they are, so a <kvm> or <hyperv> outside "
       "<features> (or a vcpupin outside <cputune>) does nothing, and disappears at the next save.",
       check_misplaced, kFixable},
      {"L020", "duplicate-element", "Element given twice", Severity::warn, false,
       "libvirt reads one copy of an element it expects once and ignores the other, so an edit to the wrong copy "
       "does nothing.",
       check_duplicates, kNoFix},
      {"L021", "split-device-functions", "Functions of one device on separate guest slots", Severity::warn, false,
       "Guest drivers expect a GPU's video and audio (and USB-C) functions on one slot as in the real card; split "
       "over several slots, HDMI audio, resets and some drivers misbehave.",
       check_function_slots, kNoFix},
      {"L022", "suspend-with-hostdev", "Suspend enabled in a passthrough guest", Severity::warn, false,
       "Passed-through devices, GPUs above all, seldom survive the guest's sleep: on resume the GPU often fails "
       "to reinitialise, and the guest or the device hangs until the host reboots.",
       check_suspend, kFixable},
      {"L023", "looking-glass-size", "Looking Glass shared memory size", Severity::warn, false,
       "Looking Glass passes each frame through this memory: it needs width x height x 4 x 2 bytes plus 10 MiB, "
       "rounded up to a power of two (32 MiB for 1920x1080).",
       check_looking_glass, kFixable},
      {"L024", "secure-boot-without-smm", "Secure Boot without SMM", Severity::fail, false,
       "Secure Boot firmware keeps its variables safe only behind System Management Mode; libvirt refuses a "
       "secure loader without <smm state='on'/>.",
       check_secure_boot, kFixable},
      {"L025", "qemu-cpu-override", "-cpu in <qemu:commandline>", Severity::warn, false,
       "QEMU takes the last -cpu on its command line: one in <qemu:commandline> replaces the whole -cpu libvirt builds "
       "from <cpu> and <features>, so the Hyper-V, KVM and CPU feature settings there do nothing.",
       check_qemu_cpu, kNoFix},
      {"L026", "topoext-on-intel", "topoext required on an Intel CPU", Severity::warn, false,
       "topoext (topology extensions) exists only on AMD CPUs: on an Intel CPU QEMU leaves it out with a warning, and "
       "libvirt refuses to start a guest whose CPU it checks against the host. Guides for AMD hosts carry it; copied "
       "to an Intel host it does nothing or breaks the start.",
       check_topoext_intel, kNoFix},
      {"L027", "qemu-vfio-device", "PCI device passed by a raw QEMU argument", Severity::warn, false,
       "A '-device vfio-pci' in <qemu:commandline> goes around libvirt: it does not detach the device from its host "
       "driver or give it back, check its IOMMU group, or grant QEMU the device files (permissions, cgroup ACL, "
       "AppArmor/SELinux labels), and lint's passthrough rules other than L013 cannot count it.",
       check_qemu_vfio_device, kNoFix},
      {"L028", "iothreads-count-mismatch", "<iothreads> count differs from <iothreadids>", Severity::warn, false,
       "libvirt starts max(<iothreads>, listed ids) iothreads: a lower count is ignored, a higher one adds iothreads "
       "with ids of libvirt's choosing, so the count and the list say different things.",
       check_iothread_count, kFixable},
      {"L029", "hyperv-dependencies", "Hyper-V enlightenment without what it needs", Severity::fail, false,
       "QEMU checks the dependencies between Hyper-V enlightenments and refuses to start a guest that turns one on "
       "without the others: synthetic timers need SynIC, the VP index and the Hyper-V clock; SynIC, IPIs and TLB "
       "flushes need the VP index; enlightened VMCS needs the virtual APIC. libvirt passes them on unchecked.",
       check_hyperv_dependencies, kFixable},
      {"L030", "vcpus-as-sockets", "Windows guest with its vCPUs on more than 2 sockets", Severity::warn, false,
       "Without <topology> libvirt presents each vCPU as a socket of its own. Windows 10 and 11 Pro use at most two "
       "sockets and Home one: the other vCPUs sit idle.",
       check_vcpu_sockets, kFixable},
      {"L031", "rom-on-audio-function", "GPU ROM file on another function of the card", Severity::warn, false,
       "A video BIOS belongs to the card's display function. Copied to its audio (or USB) function as well, that "
       "function exposes a ROM it never had, which guest drivers may try to run.",
       check_rom_on_function, kFixable},
      {"L032", "nvram-in-template", "UEFI variables in the firmware package's template", Severity::warn, false,
       "<nvram> names the file the guest writes its UEFI variables to. The OVMF_VARS files under /usr/share are the "
       "package's templates: every guest copies from them, they are read-only on some hosts, and an update "
       "replaces them.",
       check_nvram_template, kFixable},
      {"L033", "unused-iothreads", "iothreads no disk or controller uses", Severity::warn, false,
       "An iothread does work only for the disks and controllers that name it: declared (often pinned) but named by "
       "none, it idles while the virtio disks' I/O stays in QEMU's main thread beside the device emulation.",
       check_unused_iothreads, kNoFix},
      {"L034", "nic-model-qemu-name", "NIC model given by QEMU's device name", Severity::warn, false,
       "libvirt knows the virtio NIC as type='virtio'. 'virtio-net-pci' is passed to QEMU as an unknown model: the "
       "NIC works, but without vhost-net, multiqueue or any virtio <driver> option.",
       check_nic_model, kFixable},
      {"L035", "installer-iso-as-disk", "Install ISO attached as a writable hard disk", Severity::warn, false,
       "An .iso file attached with device='disk' is a writable hard disk to the guest: it can write to the install "
       "medium, and installers that look for a CD-ROM do not boot or find it.",
       check_iso_as_disk, kFixable},
      {"L036", "open-console", "VNC or SPICE open to the network without a password", Severity::warn, false,
       "A VNC or SPICE console is the guest's keyboard, mouse and screen: listening beyond this host without a "
       "password, it is open to anyone who reaches the port.",
       check_open_console, kNoFix},
      {"L037", "malformed-uuid", "UUID that is not one", Severity::fail, false,
       "libvirt parses <uuid> as 32 hexadecimal digits (dashes and spaces between them allowed) and refuses the "
       "domain otherwise.",
       check_uuid, kNoFix},
      {"L038", "sysinfo-not-used", "<sysinfo> without <smbios mode='sysinfo'/>", Severity::warn, false,
       "libvirt passes <sysinfo type='smbios'> to the guest only when <os> says <smbios mode='sysinfo'/>: without "
       "it the SMBIOS strings written there (often to look like real hardware) do nothing.",
       check_sysinfo_mode, kFixable},
      {"L039", "bios-date-format", "SMBIOS BIOS date libvirt refuses", Severity::fail, false,
       "libvirt accepts the SMBIOS BIOS date only as mm/dd/yy or mm/dd/yyyy (a year from 1900) and refuses the "
       "domain otherwise.",
       check_bios_date, kNoFix},
      {"L040", "stray-qemu-arg", "QEMU argument that follows no option", Severity::fail, false,
       "QEMU reads an argument that is neither an option nor an option's value as the disk image to boot: a stray "
       "word in <qemu:commandline> makes it look for that file and refuse to start.",
       check_stray_qemu_arg, kNoFix},
      {"L101", "pinned-cpu-missing", "Pinned host CPU that does not exist", Severity::fail, true,
       "A pin to a CPU the host lacks (or has offline) makes libvirt fail to start the guest.", check_host_cpus_exist,
       kNoFix},
      {"L102", "threads-not-smt-siblings", "Guest threads of one core not on SMT siblings", Severity::warn, true,
       "The guest schedules as if the vCPUs of one core shared it, as SMT siblings do; on separate host cores "
       "that is wrong in both directions and wastes the cores' siblings.",
       check_smt_siblings, kNoFix},
      {"L103", "vcpu-on-host-first-core", "vCPU on the host's first core", Severity::warn, true,
       "The host keeps work on CPU 0 that cannot move (timers, some interrupts, housekeeping): vCPUs there get "
       "preempted, and the host loses its natural place for the emulator.",
       check_first_core, kNoFix},
      {"L104", "iommu-group-not-viable", "IOMMU group with devices left on host drivers", Severity::fail, true,
       "An IOMMU group goes to guests whole: VFIO refuses a device while any other endpoint of its group is bound "
       "to a host driver.",
       check_iommu_groups, kNoFix},
      {"L105", "hostdev-missing", "Host device that does not exist", Severity::fail, true,
       "libvirt cannot start a guest whose hostdev names a PCI address the host does not have; often an XML "
       "copied from another machine or left from an older card.",
       check_hostdev_exists, kNoFix},
      {"L106", "smt-threads-on-e-cores", "Guest SMT threads on E-cores", Severity::warn, true,
       "E-cores have no SMT: two vCPUs that the guest takes for the threads of one core run on two separate E-cores "
       "(or a P-core and an E-core), so the guest's scheduler packs work onto what it thinks are siblings and leaves "
       "real cores idle.",
       check_ecore_threads, kNoFix},
      {"L107", "smt-siblings-hidden", "Host SMT siblings presented as separate cores", Severity::warn, true,
       "Two vCPUs on the SMT siblings of one host core share that core; with threads='1' the guest believes they are "
       "separate cores and runs two busy threads on them at half speed while other cores idle.",
       check_hidden_siblings, kNoFix},
      {"L108", "pins-span-domains", "vCPUs over more L3 domains or NUMA nodes than needed", Severity::info, true,
       "Threads that share data run fastest within one L3 cache and one NUMA node: spread over more than the vCPU "
       "count needs, the guest pays cross-cache and cross-node latency for nothing.",
       check_span, kNoFix},
      {"L109", "vcpus-not-isolated", "vCPUs on host CPUs that are not isolated", Severity::info, true,
       "The host isolates some CPUs (isolcpus, nohz_full) to keep its own work off the guest; vCPUs pinned elsewhere "
       "share their CPUs with host tasks and timer ticks, while the isolated CPUs may sit idle.",
       check_isolation, kNoFix},
      {"L110", "hugepage-pool-short", "Fewer free hugepages than the guest needs", Severity::warn, true,
       "libvirt backs the guest from the host's hugepage pool when it starts: with fewer free pages than the guest "
       "needs, the start fails unless something reserves them first. A running guest's own pages count as used.",
       check_hugepage_pool, kNoFix},
      {"L111", "cpu-feature-unknown", "CPU feature this host's libvirt does not know", Severity::fail, true,
       "libvirt checks every <cpu><feature name=...> against its CPU map and refuses a domain that names a feature "
       "it does not know, whatever the policy: a misspelling, or a name from a newer libvirt.",
       check_cpu_feature_names, kNoFix},
  };
  return table;
}

const Rule* find_rule(std::string_view id) {
  std::string want = to_lower(id);
  for (const auto& r : rules()) {
    if (to_lower(r.id) == want) return &r;
  }
  return nullptr;
}

}  // namespace vfioctl::lint
