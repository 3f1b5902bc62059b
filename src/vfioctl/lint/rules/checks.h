// The check function of every lint rule (registry.cpp holds their ids and
// texts), and small helpers the rule files share.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/lint/rule.h"

namespace vfioctl::lint {

// cpu.cpp: vCPU and thread pinning, topology.
void check_vcpupin_range(const Domain&, const Host*, Emitter&);    // L001
void check_thread_overlap(const Domain&, const Host*, Emitter&);   // L002
void check_partial_pinning(const Domain&, const Host*, Emitter&);  // L003
void check_shared_host_cpu(const Domain&, const Host*, Emitter&);  // L004
void check_iothread_refs(const Domain&, const Host*, Emitter&);    // L005
void check_topology_count(const Domain&, const Host*, Emitter&);   // L006
void check_iothread_count(const Domain&, const Host*, Emitter&);   // L028

// devices.cpp: disks, controllers, balloon, host device layout, shared memory.
void check_io_native_cache(const Domain&, const Host*, Emitter&);  // L007
void check_queues(const Domain&, const Host*, Emitter&);           // L008
void check_balloon(const Domain&, const Host*, Emitter&);          // L009
void check_function_slots(const Domain&, const Host*, Emitter&);   // L021
void check_suspend(const Domain&, const Host*, Emitter&);          // L022
void check_looking_glass(const Domain&, const Host*, Emitter&);    // L023

// memory.cpp: hugepages.
void check_hugepages(const Domain&, const Host*, Emitter&);      // L010
void check_locked(const Domain&, const Host*, Emitter&);         // L011
void check_page_multiple(const Domain&, const Host*, Emitter&);  // L012

// guest_os.cpp: CPU model, Windows, Hyper-V, firmware.
void check_cpu_mode(const Domain&, const Host*, Emitter&);             // L013
void check_windows_hyperv(const Domain&, const Host*, Emitter&);       // L014
void check_windows_clock(const Domain&, const Host*, Emitter&);        // L015
void check_windows_hpet(const Domain&, const Host*, Emitter&);         // L016
void check_vendor_id(const Domain&, const Host*, Emitter&);            // L017
void check_spinlocks(const Domain&, const Host*, Emitter&);            // L018
void check_secure_boot(const Domain&, const Host*, Emitter&);          // L024
void check_topoext_intel(const Domain&, const Host*, Emitter&);        // L026 (uses host facts when given)
void check_hyperv_dependencies(const Domain&, const Host*, Emitter&);  // L029

// copied.cpp: what people copy wrong into a guest.
void check_vcpu_sockets(const Domain&, const Host*, Emitter&);      // L030
void check_rom_on_function(const Domain&, const Host*, Emitter&);   // L031
void check_nvram_template(const Domain&, const Host*, Emitter&);    // L032
void check_unused_iothreads(const Domain&, const Host*, Emitter&);  // L033
void check_nic_model(const Domain&, const Host*, Emitter&);         // L034
void check_iso_as_disk(const Domain&, const Host*, Emitter&);       // L035
void check_open_console(const Domain&, const Host*, Emitter&);      // L036
void check_uuid(const Domain&, const Host*, Emitter&);              // L037
void check_sysinfo_mode(const Domain&, const Host*, Emitter&);      // L038
void check_bios_date(const Domain&, const Host*, Emitter&);         // L039
void check_stray_qemu_arg(const Domain&, const Host*, Emitter&);    // L040

// devices.cpp: raw QEMU arguments in <qemu:commandline>.
void check_qemu_cpu(const Domain&, const Host*, Emitter&);          // L025
void check_qemu_vfio_device(const Domain&, const Host*, Emitter&);  // L027

// structure.cpp: elements libvirt ignores.
void check_misplaced(const Domain&, const Host*, Emitter&);   // L019
void check_duplicates(const Domain&, const Host*, Emitter&);  // L020

// host.cpp: against host facts.
void check_host_cpus_exist(const Domain&, const Host*, Emitter&);  // L101
void check_smt_siblings(const Domain&, const Host*, Emitter&);     // L102
void check_first_core(const Domain&, const Host*, Emitter&);       // L103
void check_iommu_groups(const Domain&, const Host*, Emitter&);     // L104
void check_hostdev_exists(const Domain&, const Host*, Emitter&);   // L105

// host.cpp: where the vCPUs sit on the host.
void check_ecore_threads(const Domain&, const Host*, Emitter&);    // L106
void check_hidden_siblings(const Domain&, const Host*, Emitter&);  // L107
void check_span(const Domain&, const Host*, Emitter&);             // L108
void check_isolation(const Domain&, const Host*, Emitter&);        // L109

// memory.cpp, against the host's pools.
void check_hugepage_pool(const Domain&, const Host*, Emitter&);      // L110
void check_cpu_feature_names(const Domain&, const Host*, Emitter&);  // L111 (host.cpp)

// Helpers.

// QEMU's dependencies between Hyper-V enlightenments (the "Requires:" of
// QEMU's docs/system/i386/hyperv.rst): QEMU refuses to start a guest that
// turns one on without the others. Names are QEMU's hv-* flags without the
// prefix, '-' as '_'; "time" is libvirt's <timer name='hypervclock'/>,
// "stimer_direct" <stimer><direct/>, "tlbflush_direct" and "tlbflush_ext"
// <tlbflush><direct/> and <extended/>.
struct HypervDependency {
  std::string_view feature;
  std::vector<std::string_view> needs;
};
const std::vector<HypervDependency>& hyperv_dependencies();
// The enlightenments a guest turns on, by those names: from <hyperv>
// (mode='custom'; nullopt for mode='passthrough', which turns on all), or,
// under a -cpu override, from the override's hv-* flags.
std::optional<std::set<std::string>> hyperv_enabled(const Domain& d);
// What the enabled ones need and lack, in table order, each once.
std::vector<std::string> hyperv_missing(const std::set<std::string>& on);

// The vCPUs of one guest core (`threads` consecutive vCPUs from a multiple of
// `threads`), each pinned to exactly one host CPU.
struct GuestCore {
  std::vector<int> vcpus;
  std::vector<int> cpus;  // host CPU of each vCPU, same order
  pugi::xml_node first;   // the first vCPU's vcpupin
};
// Guest cores whose vCPUs are all pinned one to one; the others are left out.
std::vector<GuestCore> guest_cores(const Domain& d, int threads);
// Whether any of the core's host CPUs is an E-core.
bool on_efficiency_core(const Host& host, const GuestCore& c);
// <topology threads>: 1 without a topology or attribute; nullopt when unreadable.
std::optional<int> declared_threads(const Domain& d);

// The children of <domain> that libvirt writes before `name` (for fixes that
// add a top-level element where libvirt would put it).
std::vector<std::string_view> domain_children_before(std::string_view name);
// Edits that switch on a <features> child (<smm state='on'/>): in place,
// appended to <features>, or with a new <features>.
void feature_on_edits(const Domain& d, const char* name, EditSet& edits);

std::string cpus_text(const std::vector<int>& cpus);                               // "0-3,8"
std::vector<int> intersect(const std::vector<int>& a, const std::vector<int>& b);  // both sorted
bool attr_is(pugi::xml_node n, const char* attr, std::string_view value);
// <features> child switched on: present and state not "off" (state='on' or no state).
bool feature_on(pugi::xml_node n);

}  // namespace vfioctl::lint
