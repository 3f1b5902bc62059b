// Internal to the QEMU script writer. The script has four parts, each in its
// own file:
//   qemu_script.cpp   the paths, the header, the launch and the pinning, and
//                     qemu_script() that puts the parts together
//   qemu_machine.cpp  the argument blocks of the machine itself: identity,
//                     chipset and SMBIOS, CPU, memory, clock, firmware
//   qemu_devices.cpp  the argument blocks of the devices: disks, USB, root
//                     ports, network, passed functions, input, agent, TPM,
//                     sound, shared memory, display, serial, balloon
//   qemu_checks.cpp   what the script checks before it starts QEMU (what
//                     libvirt would otherwise take care of)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/qemu_script.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/units.h"

namespace vfioctl::qemu {

// "256M" for whole MiB, else "262145K".
std::string qemu_size(long long kib);
// hugetlbfs's own spelling of a page size: "2M", "1G".
std::string page_option(long long page_kib);

// The files and sockets one script uses.
struct Paths {
  std::string run, state, qmp, pidfile, serial, swtpm_sock, swtpm_pid, swtpm_log, tpm_state, qga, spice, vars, code,
      vars_template, hugetlbfs;
};

// What the plan and the options decide before any part is written.
struct ScriptContext {
  const GuestPlan& plan;
  const QemuOptions& opt;
  bool kvm = true;      // not TCG
  bool direct = false;  // a kernel booted directly, no firmware
  bool sb = false;      // Secure Boot firmware
  Paths p;
  // The firmware's block formats, how it was found ("" when the host's
  // firmware was not read), and whether anything fitting was found.
  std::string code_format = "raw", vars_format = "raw";
  std::string firmware_how;
  bool firmware_found = true;
};

ScriptContext script_context(const GuestPlan& plan, const QemuOptions& opt);

// The QEMU command line, in blocks with a comment each.
struct ArgBlock {
  std::vector<std::string> comment;
  std::vector<std::vector<std::string>> lines;
};

class Args {
 public:
  ArgBlock& block(std::vector<std::string> comment) {
    m_blocks.push_back({std::move(comment), {}});
    return m_blocks.back();
  }
  const std::vector<ArgBlock>& blocks() const { return m_blocks; }
  ArgBlock& blocks_back() { return m_blocks.back(); }

 private:
  std::vector<ArgBlock> m_blocks;
};

inline void add(ArgBlock& b, std::vector<std::string> words) { b.lines.push_back(std::move(words)); }

// The script's text, one line at a time.
class Script {
 public:
  void line(const std::string& l) { m_text += l + "\n"; }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

// ---- qemu_machine.cpp ----

// Name, QMP, pid file; started paused.
void identity(Args& args, const ScriptContext& c);
// q35 (or i440fx), the UUID and the SMBIOS strings.
void machine(Args& args, const ScriptContext& c);
// -cpu and -smp as pinned.
void cpu(Args& args, const ScriptContext& c);
// -m and the memory backend (hugetlbfs, NUMA node), KSM, locking.
void memory(Args& args, const ScriptContext& c);
void clock(Args& args, const ScriptContext& c);
// A kernel booted directly, or OVMF with this guest's variables (nothing for
// SeaBIOS, QEMU's own).
void firmware(Args& args, const ScriptContext& c);
// One -object iothread per planned iothread: iothread1, iothread2, ...
void iothreads(Args& args, const GuestPlan& plan);

// The -cpu value: host passthrough with the host's caches under KVM (AMD
// needs topoext for SMT, vmx/svm when nested), Hyper-V enlightenments for
// Windows; an Intel model under TCG (the only kind that shows SMT threads).
std::string cpu_value(const GuestPlan& plan, const QemuOptions& opt);

// ---- qemu_devices.cpp ----

// Disks and install media, in the plan's order with its boot indexes.
void disks(Args& args, const GuestPlan& plan);

// The USB controller and the host's USB devices.
void usb(Args& args, const GuestPlan& plan);

// One pcie-root-port per passed host slot.
void root_ports(Args& args, const GuestPlan& plan);

// The guest's MAC: the spec's, or one made from the name (52:54:00 is
// QEMU's prefix) so that a macvtap device can be created with it.
std::string script_mac(const GuestPlan& plan);

// The macvtap interface the script makes: at most 15 characters.
std::string macvtap_name(const GuestPlan& plan);

// The NIC for the plan's network mode.
void network(Args& args, const GuestPlan& plan, const QemuOptions& opt);

// The passed host functions (vfio-pci) on their guest slots.
void passed_functions(Args& args, const GuestPlan& plan);

// evdev keyboard and mouse, the guest agent's channel, the TPM.
void input(Args& args, const GuestPlan& plan);
void guest_agent(Args& args, const ScriptContext& c);
void tpm(Args& args, const ScriptContext& c);

// Sound, and Looking Glass's shared memory.
void sound(Args& args, const GuestPlan& plan);
void looking_glass(Args& args, const GuestPlan& plan);

// Display (none, the passed GPU's, or SPICE), the serial console, the balloon.
void display(Args& args, const ScriptContext& c);
void serial(Args& args, const ScriptContext& c);
void balloon(Args& args, const GuestPlan& plan);

// ---- qemu_checks.cpp ----

// Each writes one part of the script that runs before QEMU, and stops
// with the fix when the host lacks what the guest needs.
void check_run_dir(Script& s, const ScriptContext& c);
void check_programs(Script& s, const ScriptContext& c);
void check_hugepages(Script& s, const ScriptContext& c);
// Whether the script asks `vfioctl tune` for hugepages (it then reserves
// what the pool lacks instead of the script stopping on a shortfall).
bool tunes_hugepages(const GuestPlan& plan);
void check_passed_devices(Script& s, const ScriptContext& c);
void check_files(Script& s, const ScriptContext& c);
void check_network(Script& s, const ScriptContext& c);
void check_uefi(Script& s, const ScriptContext& c);
void start_tpm(Script& s, const ScriptContext& c);
// Who QEMU runs as once it has opened its files.
void privileges(Script& s);

}  // namespace vfioctl::qemu
